/**
 * What Docker says about the deployment, read the way an operator would: `docker inspect`, `docker exec … cat`,
 * `docker volume ls`.
 */
import { dockerEnv } from "./engine";
import { run } from "../../core/proc";

/** One container as `docker inspect` reports it (the fields the suite reads). */
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
  /** How Docker runs it: the log driver and its options, security options, dropped capabilities, memory (bytes). */
  host: { logType: string; logOpts: Record<string, string>; securityOpt: string[]; capDrop: string[]; memory: number };
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
      HostConfig: {
        PortBindings: Record<string, Array<{ HostIp: string; HostPort: string }> | null> | null;
        LogConfig: { Type: string; Config: Record<string, string> | null };
        SecurityOpt: string[] | null;
        CapDrop: string[] | null;
        Memory: number;
      };
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
      host: {
        logType: c.HostConfig.LogConfig.Type,
        logOpts: c.HostConfig.LogConfig.Config ?? {},
        securityOpt: c.HostConfig.SecurityOpt ?? [],
        capDrop: c.HostConfig.CapDrop ?? [],
        memory: c.HostConfig.Memory,
      },
    };
  }
  return out;
}

/** A file's text inside a running container (`docker exec <name> cat <path>`). */
export async function readContainerFile(host: string, container: string, file: string): Promise<string> {
  return (await run("docker", ["exec", container, "cat", file], { env: dockerEnv(host), timeoutSeconds: 30 })).stdout;
}

/** Reads files in containers, each at most once, however many checks look at it (`undefined`: it is not there). */
export type ContainerFiles = (container: string, file: string) => Promise<string | undefined>;

/**
 * A reader of container files for one step: a file read from a container once per step, whichever checks look at
 * it.
 */
export function containerFileReader(host: string): ContainerFiles {
  const read = new Map<string, Promise<string | undefined>>();
  return (container, file) => {
    const key = `${container}:${file}`;
    const text = read.get(key) ?? readContainerFile(host, container, file).catch(() => undefined);
    read.set(key, text);
    return text;
  };
}

/** Names of the Docker volumes that exist. */
export async function volumeNames(host: string): Promise<string[]> {
  const r = await run("docker", ["volume", "ls", "--format", "{{.Name}}"], {
    env: dockerEnv(host),
    timeoutSeconds: 30,
  });
  return r.stdout.split("\n").filter(Boolean);
}
