/**
 * What Docker and the Pulumi state say about the deployment, read the way an operator would: `docker inspect`,
 * `docker exec … cat`, `docker volume ls`, `pulumi stack export`.
 */
import { dockerEnv } from "./engine";
import { run } from "../../core/proc";

/** One container as `docker inspect` reports it (the fields read here). */
export interface InspectedContainer {
  id: string;
  name: string;
  image: string;
  env: Record<string, string>;
  running: boolean;
  /** Network name → aliases on it. */
  aliases: Record<string, string[]>;
  /** Volume name → mount path. */
  volumes: Record<string, string>;
  /** Published ports as Docker bound them: `<container port>/tcp` → `<host address>:<host port>` each. */
  ports: Record<string, string[]>;
}

/** Parses a `K=V` environment list (the first `=` separates). */
export function envMap(list: readonly string[]): Record<string, string> {
  return Object.fromEntries(
    list.map((entry) => [entry.slice(0, entry.indexOf("=")), entry.slice(entry.indexOf("=") + 1)]),
  );
}

/** `docker inspect` of the named containers; absent names are left out. */
export async function inspectContainers(host: string, names: string[]): Promise<Record<string, InspectedContainer>> {
  const out: Record<string, InspectedContainer> = {};
  for (const name of names) {
    const r = await run("docker", ["container", "inspect", name], {
      env: dockerEnv(host),
      allowFailure: true,
      timeoutSeconds: 30,
    });
    if (r.status !== 0) continue;
    const [c] = JSON.parse(r.stdout) as Array<{
      Id: string;
      Name: string;
      Config: { Env: string[] | null; Image: string };
      State: { Running: boolean };
      NetworkSettings: { Networks: Record<string, { Aliases: string[] | null }> };
      Mounts: Array<{ Type: string; Name?: string; Destination: string }>;
      HostConfig: { PortBindings: Record<string, Array<{ HostIp: string; HostPort: string }> | null> | null };
    }>;
    out[name] = {
      id: c.Id,
      name: c.Name.replace(/^\//, ""),
      image: c.Config.Image,
      env: envMap(c.Config.Env ?? []),
      running: c.State.Running,
      aliases: Object.fromEntries(Object.entries(c.NetworkSettings.Networks).map(([n, v]) => [n, v.Aliases ?? []])),
      volumes: Object.fromEntries(c.Mounts.filter((m) => m.Type === "volume").map((m) => [m.Name!, m.Destination])),
      ports: Object.fromEntries(
        Object.entries(c.HostConfig.PortBindings ?? {}).map(([port, bindings]) => [
          port,
          (bindings ?? []).map((b) => `${b.HostIp}:${b.HostPort}`),
        ]),
      ),
    };
  }
  return out;
}

/** A file's text inside a running container (`docker exec <name> cat <path>`). */
export async function readContainerFile(host: string, container: string, file: string): Promise<string> {
  return (await run("docker", ["exec", container, "cat", file], { env: dockerEnv(host), timeoutSeconds: 30 })).stdout;
}

/** SQL through `psql` in a container with these connection flags, rows as tab-separated text. */
async function runPsql(
  host: string,
  container: string,
  connection: string[],
  sql: string,
  password?: string,
): Promise<string> {
  const r = await run(
    "docker",
    [
      "exec",
      "-i",
      ...(password === undefined ? [] : ["-e", "PGPASSWORD"]),
      container,
      "psql",
      "-X",
      "-q",
      "-At",
      "-v",
      "ON_ERROR_STOP=1",
      ...connection,
    ],
    {
      env: { ...dockerEnv(host), ...(password === undefined ? {} : { PGPASSWORD: password }) },
      input: sql,
      timeoutSeconds: 60,
    },
  );
  return r.stdout.trim();
}

/** SQL through `psql` inside the db container as postgres (local socket), rows as tab-separated text. */
export function psql(host: string, container: string, sql: string): Promise<string> {
  return runPsql(host, container, ["-U", "postgres", "-d", "postgres"], sql);
}

/**
 * SQL through `psql` inside the db container, logged in over TCP to the host a service uses (the db's own network
 * alias, so the server checks the password as it does for that service: scram-sha-256, not the local trust rule).
 * The password travels in `PGPASSWORD`, never in the process list.
 */
export function psqlAs(
  host: string,
  container: string,
  login: { host: string; port: number; user: string; password: string; database: string },
  sql: string,
): Promise<string> {
  const connection = ["-h", login.host, "-p", String(login.port), "-U", login.user, "-d", login.database];
  return runPsql(host, container, connection, sql, login.password);
}

/** Names of the Docker volumes that exist. */
export async function volumeNames(host: string): Promise<string[]> {
  const r = await run("docker", ["volume", "ls", "--format", "{{.Name}}"], {
    env: dockerEnv(host),
    timeoutSeconds: 30,
  });
  return r.stdout.split("\n").filter(Boolean);
}

/** One resource of a `pulumi stack export` deployment. */
export interface StateResource {
  urn: string;
  type: string;
  id?: string;
  inputs?: Record<string, unknown>;
  outputs?: Record<string, unknown>;
}

/** The resources of a `pulumi stack export` document. */
export function stateResources(exported: string): StateResource[] {
  return (JSON.parse(exported) as { deployment: { resources?: StateResource[] } }).deployment.resources ?? [];
}

/** The engine's marker of a secret value in state (pulumi/pulumi sdk `resource.SecretSig`). */
export const SECRET_SIG = "4dabf18193072939515e22adb298388d";

/** True when a state value is an encrypted secret (`{"4dabf…": "1b47…", "ciphertext": …}`). */
export function isEncryptedSecret(value: unknown): boolean {
  return typeof value === "object" && value !== null && SECRET_SIG in value && "ciphertext" in value;
}

/**
 * A state value with its secrets opened: `pulumi stack export --show-secrets` keeps each secret as
 * `{"4dabf…": "1b47…", "plaintext": "<JSON text>"}`; this returns the values inside, recursively.
 */
export function revealed(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(revealed);
  if (value && typeof value === "object") {
    const obj = value as Record<string, unknown>;
    if (SECRET_SIG in obj && typeof obj.plaintext === "string") return revealed(JSON.parse(obj.plaintext));
    return Object.fromEntries(Object.entries(obj).map(([k, v]) => [k, revealed(v)]));
  }
  return value;
}

/** Every string inside a JSON value, descending into strings that are themselves JSON objects or arrays. */
export function allStrings(value: unknown, out: string[] = []): string[] {
  if (typeof value === "string") {
    out.push(value);
    if (/^\s*[[{]/.test(value)) {
      try {
        allStrings(JSON.parse(value), out);
      } catch {
        // not JSON
      }
    }
  } else if (Array.isArray(value)) {
    for (const v of value) allStrings(v, out);
  } else if (value && typeof value === "object") {
    for (const v of Object.values(value)) allStrings(v, out);
  }
  return out;
}
