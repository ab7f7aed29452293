/**
 * What a Supabase service module declares. Each module in this folder exports one {@link ServiceModule}: everything
 * about its container (image, port, network names, health check, start order, volumes, published ports) and a pure
 * builder of its environment and files. `stack/supabaseStack.ts` turns the list in `index.ts` into Docker resources
 * without knowing any service by name. Pure: plain values in, plain values out.
 */
import type { KeyringValues } from "../keyring/model";
import type { KeyringConfig } from "../keyring/settings";
import type { EnvMap } from "../schema/project";
import type { ServiceDbRole } from "./db/init";
import type { ImageKey } from "./images";
import type { ServicesConfig } from "./settings";

export type { EnvMap };

/** A Docker health check, in the shape of `@pulumi/docker`'s `ContainerHealthcheck`. */
export interface Healthcheck {
  tests: string[];
  interval: string;
  timeout: string;
  retries: number;
  startPeriod?: string;
}

/** The named volumes the stack keeps (those a running service mounts); all are retained on delete. */
export const VOLUME_ROLES = ["db-data", "db-config", "storage-data", "studio-snippets", "functions-cache"] as const;
export type VolumeRole = (typeof VOLUME_ROLES)[number];

/** A named volume mounted into a container. */
export interface VolumeMount {
  volume: VolumeRole;
  containerPath: string;
}

/** One file to place in a container before it first starts (Docker `uploads`). */
export interface UploadedFile {
  /** Absolute path inside the container. */
  file: string;
  content: string;
}

/** A port published on the Docker host; without `ip`, on every interface. */
export interface PublishedPort {
  internal: number;
  external: number;
  ip?: string;
}

/**
 * Environment names the program manages for a service, which `extraEnv` may not set: each maps to what manages it
 * (a config key or the keyring), for the error message. A name ending in `*` stands for every name it starts.
 */
export type ManagedEnv = Readonly<Record<string, string>>;

/**
 * The settings every service may read: the validated stack config without the keyring, plus the two keyring settings
 * a service's environment depends on (the access-token lifetime, and whether the legacy HS256 secret is shared).
 */
export type StackSettings = ServicesConfig & Pick<KeyringConfig, "jwtExpiry" | "legacyHs256">;

/** The secrets the stack generates (`stack/secrets.ts`), by name. Those of studio exist only when it runs. */
export interface StackSecrets {
  /** The superuser password (`postgres`, `supabase_admin`). */
  postgresPassword: string;
  /** Realtime's Phoenix cookie/session secret. */
  realtimeSecretKeyBase: string;
  /** The AES key realtime encrypts its tenant's db password with. */
  realtimeDbEncKey: string;
  /** The key studio and meta share to encrypt connection strings. */
  metaCryptoKey?: string;
  /** The basic-auth password of the dashboard route. */
  dashboardPassword?: string;
  /** Supavisor's Phoenix secret (with the pooler). */
  poolerSecretKeyBase?: string;
  /** The key supavisor encrypts its tenants' passwords with (with the pooler). */
  poolerVaultEncKey?: string;
  /** The access key id S3 clients sign storage's S3-protocol requests with. */
  s3ProtocolAccessKeyId: string;
  /** Its secret. */
  s3ProtocolAccessKeySecret: string;
  /**
   * Each service's own HS256 secret, for a service that insists on one, when `legacyHs256` is off: known to that
   * service alone, so no other service's environment holds a secret it accepts tokens signed with.
   */
  authJwtSecret?: string;
  realtimeJwtSecret?: string;
  storageJwtSecret?: string;
  studioJwtSecret?: string;
  poolerJwtSecret?: string;
}

/** The services' own HS256 secrets (see {@link StackSecrets}), by the secret's name. */
export type OwnHs256Secret =
  "authJwtSecret" | "realtimeJwtSecret" | "storageJwtSecret" | "studioJwtSecret" | "poolerJwtSecret";

/**
 * The HS256 secret a service is given. With `legacyHs256` on, the legacy secret every verifier shares (a migration
 * needs the old HS256 tokens to keep verifying everywhere); otherwise the service's own random secret, which no
 * other service knows, so nobody who can read one service's environment can mint tokens another accepts.
 */
export function hs256Secret(
  settings: Pick<StackSettings, "legacyHs256">,
  legacySecret: string,
  own: string | undefined,
  name: OwnHs256Secret,
): string {
  return settings.legacyHs256 ? legacySecret : required(own, name);
}

/** Everything a builder is given: only the keyring values, secrets and database passwords it asks for. */
export interface ServiceInput<
  K extends keyof KeyringValues = keyof KeyringValues,
  S extends keyof StackSecrets = never,
  D extends ServiceDbRole = never,
> {
  settings: StackSettings;
  keyring: Pick<KeyringValues, K>;
  secrets: Pick<StackSecrets, S>;
  /** The generated password of each database role it logs in as (each service role has its own). */
  dbPasswords: Pick<Record<ServiceDbRole, string>, D>;
  /** The base URL another service answers on inside the stack network, e.g. `http://rest:3000`. */
  url(role: string): string;
}

/**
 * A pure builder of a container's environment or files, with the keyring values, generated secrets and database
 * roles it reads. The stack resolves exactly those, so a change to any other value (or one still unknown during a
 * preview) leaves what it builds, and so the container, alone.
 */
export interface Builder<
  T,
  K extends keyof KeyringValues = keyof KeyringValues,
  S extends keyof StackSecrets = keyof StackSecrets,
  D extends ServiceDbRole = ServiceDbRole,
> {
  keyring: readonly K[];
  secrets: readonly S[];
  dbRoles: readonly D[];
  build(input: ServiceInput<K, S, D>): T;
}

/**
 * Declares a builder; the compiler then refuses a `build` that reads a value its lists do not name. Lists may be
 * left out when empty.
 */
export function reads<
  T,
  K extends keyof KeyringValues = never,
  S extends keyof StackSecrets = never,
  D extends ServiceDbRole = never,
>(builder: {
  keyring?: readonly K[];
  secrets?: readonly S[];
  dbRoles?: readonly D[];
  build(input: ServiceInput<K, S, D>): T;
}): Builder<T, K, S, D> {
  return {
    keyring: builder.keyring ?? [],
    secrets: builder.secrets ?? [],
    dbRoles: builder.dbRoles ?? [],
    build: builder.build,
  };
}

/** The input an environment table's values read, for the keyring values, secrets and roles it names. */
type Input<K extends keyof KeyringValues, S extends keyof StackSecrets, D extends ServiceDbRole> = ServiceInput<
  K,
  S,
  D
>;

/** What sets a managed value, as extraEnv's error names it; the common ones, worded once. */
export const SOURCES = {
  keyring: "the signing keyring",
  jwtSecret: "the service's own HS256 secret (the shared jwtSecret with legacyHs256)",
  network: "the stack network",
  port: "the stack network (the gateway and the health check call this port)",
  database: "the stack's database",
  dbPassword: "the database password (postgresPassword)",
  superuserPassword: "the superuser password (postgresPassword)",
  generated: "a generated secret",
} as const;

/** A value the program manages: extraEnv may not override it. `from` says what sets it, for the error message. */
export interface ManagedValue<I> {
  from: string;
  /** The value; `undefined` leaves the name out of the environment. */
  value: string | ((input: I) => string | undefined);
}

/**
 * Names the program manages together, set by one function: exact names or prefixes ending in `*` (e.g. every
 * `GOTRUE_SMTP_*`). With no `value`, the names are only reserved: the program relies on them being unset.
 */
export interface ManagedGroup<I> {
  from: string;
  names: readonly string[];
  value?(input: I): EnvMap;
}

/**
 * A service's environment as a table, in the order the container gets it: each name with its value, once. A plain
 * text is a default that `extraEnv` may override; {@link managed} and {@link managedGroup} entries are what the
 * program manages, and the list `extraEnv` is checked against is derived from them.
 */
export type EnvTable<I> = Record<string, string | ManagedValue<I> | ManagedGroup<I>>;

/** A value the program manages (see {@link ManagedValue}). */
export const managed = <I>(from: string, value: ManagedValue<I>["value"]): ManagedValue<I> => ({ from, value });

/** Names the program manages together (see {@link ManagedGroup}). */
export const managedGroup = <I>(
  from: string,
  names: readonly string[],
  value?: (input: I) => EnvMap,
): ManagedGroup<I> => ({
  from,
  names,
  ...(value ? { value } : {}),
});

/** An environment builder that also knows which of its names the program manages. */
export interface EnvBuilder<
  K extends keyof KeyringValues = keyof KeyringValues,
  S extends keyof StackSecrets = keyof StackSecrets,
  D extends ServiceDbRole = ServiceDbRole,
> extends Builder<EnvMap, K, S, D> {
  /** What `extraEnv` may not set, each name (or `*` prefix) with what sets it. */
  managed: ManagedEnv;
}

const isGroup = <I>(entry: ManagedValue<I> | ManagedGroup<I>): entry is ManagedGroup<I> => "names" in entry;

/** Whether `name` is one of a group's names (exact, or under a `*` prefix). */
const inGroup = (names: readonly string[], name: string) =>
  names.some((pattern) => (pattern.endsWith("*") ? name.startsWith(pattern.slice(0, -1)) : name === pattern));

/**
 * Declares a service's environment from its table (see {@link EnvTable}); the compiler refuses a value that reads
 * a keyring value, secret or role password the lists do not name.
 */
export function environment<
  K extends keyof KeyringValues = never,
  S extends keyof StackSecrets = never,
  D extends ServiceDbRole = never,
>(spec: {
  keyring?: readonly K[];
  secrets?: readonly S[];
  dbRoles?: readonly D[];
  table: EnvTable<Input<K, S, D>>;
}): EnvBuilder<K, S, D> {
  const entries = Object.entries(spec.table);
  const managedNames: Record<string, string> = {};
  for (const [name, entry] of entries) {
    if (typeof entry === "string") continue;
    if (isGroup(entry)) for (const pattern of entry.names) managedNames[pattern] = entry.from;
    else managedNames[name] = entry.from;
  }
  return {
    ...reads({
      keyring: spec.keyring,
      secrets: spec.secrets,
      dbRoles: spec.dbRoles,
      build: (input: Input<K, S, D>) => {
        const env: EnvMap = {};
        for (const [name, entry] of entries) {
          if (typeof entry === "string") env[name] = entry;
          else if (isGroup(entry)) {
            for (const [member, value] of Object.entries(entry.value?.(input) ?? {})) {
              if (!inGroup(entry.names, member)) throw new Error(`${member} is not among ${entry.names.join(", ")}`);
              env[member] = value;
            }
          } else {
            const value = typeof entry.value === "function" ? entry.value(input) : entry.value;
            if (value !== undefined) env[name] = value;
          }
        }
        return env;
      },
    }),
    managed: managedNames,
  };
}

/** One Supabase service: its container and how its environment and files are made. */
export interface ServiceModule<R extends string = string> {
  /** The service's name: its container is `supabase-<role>`, its resource `<stack>-<role>`. */
  role: R;
  /** Which entry of the `images` config runs it. */
  image: ImageKey;
  /** The port it listens on inside the stack network. */
  port: number;
  /** DNS names on the stack network; the first is the one other services call it by (see `serviceUrl`). */
  aliases: readonly string[];
  healthcheck: Healthcheck;
  /**
   * The services that must exist before this one starts, given the roles of those that run, in start order. A
   * module names only earlier ones: the order of the list in `index.ts` is the start order.
   */
  dependsOn(running: readonly string[]): string[];
  /** Whether it runs with these settings (absent: always). */
  runs?(settings: StackSettings): boolean;
  command?: readonly string[];
  volumes?: readonly VolumeMount[];
  /** Host ports it is published on (absent or empty: none). */
  publishedPorts?(settings: StackSettings): PublishedPort[];
  /** When set, `pulumi up` waits for it to be healthy (up to the timeout), so dependants start only after that. */
  healthyBeforeDependants?: { timeoutSeconds: number };
  /** True when its environment holds a password, key or token: the whole `envs` list is then a Pulumi secret. */
  secretEnv: boolean;
  /**
   * The Linux capabilities its container drops (absent: {@link UNNEEDED_CAPABILITIES}). An image whose process runs
   * as a user other than root drops them all; one that runs as root keeps what its entrypoint may need (chown,
   * file ownership, switching users) and drops the rest of Docker's defaults.
   */
  dropCapabilities?: readonly string[];
  /**
   * The names in its environment whose value is an HS256 secret it accepts tokens (or API calls) signed with: what
   * must stay the service's own, so that no other container can mint what it accepts.
   */
  hs256Secrets?: readonly string[];
  /** Its environment, and the names in it that `extraEnv` may not override (see {@link environment}). */
  env: EnvBuilder;
  /** Files shipped into the container with `uploads` (always a Pulumi secret as a whole). */
  files?: Builder<UploadedFile[]>;
}

/**
 * Docker's default capabilities that none of the services uses: raw sockets, device nodes, audit records, chroot,
 * file capabilities, changing capability sets, and binding ports below 1024 (every service listens above it).
 */
export const UNNEEDED_CAPABILITIES = [
  "AUDIT_WRITE",
  "MKNOD",
  "NET_BIND_SERVICE",
  "NET_RAW",
  "SETFCAP",
  "SETPCAP",
  "SYS_CHROOT",
] as const;

/** Every capability: for an image whose process does not run as root, which needs none. */
export const ALL_CAPABILITIES = ["ALL"] as const;

/** Declares a service module (keeps its role as a literal type, for `ServiceRole`). */
export function defineService<R extends string>(module: ServiceModule<R>): ServiceModule<R> {
  return module;
}

/** The named volumes these services mount, in {@link VOLUME_ROLES} order: the ones the stack declares. */
export function mountedVolumes(services: readonly ServiceModule[]): VolumeRole[] {
  const mounted = new Set(services.flatMap((s) => (s.volumes ?? []).map((v) => v.volume)));
  return VOLUME_ROLES.filter((role) => mounted.has(role));
}

/** A `dependsOn` that starts a service after these (those of them that run). */
export const after =
  (...roles: string[]) =>
  (running: readonly string[]): string[] =>
    roles.filter((role) => running.includes(role));

/** Docker's `envs` form. Keeps the map's order, so equal maps always give byte-equal lists. */
export function toEnvList(env: EnvMap): string[] {
  return Object.entries(env).map(([k, v]) => {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) throw new Error(`invalid environment variable name ${JSON.stringify(k)}`);
    return `${k}=${v}`;
  });
}

/** What manages an environment name of a service (see {@link ManagedEnv}), or undefined when `extraEnv` may set it. */
export function managedBy(managed: ManagedEnv | undefined, name: string): string | undefined {
  for (const [pattern, by] of Object.entries(managed ?? {})) {
    if (pattern.endsWith("*") ? name.startsWith(pattern.slice(0, -1)) : name === pattern) return by;
  }
  return undefined;
}

/**
 * A service's environment with its `extraEnv` merged last. `parseConfig` has refused every name the module
 * manages, so only the program's plain defaults can be overridden here.
 */
export function withExtraEnv(role: string, env: EnvMap, settings: Pick<StackSettings, "extraEnv">): EnvMap {
  return { ...env, ...(settings.extraEnv[role] ?? {}) };
}

/** True when a service's environment must be one Pulumi secret: its own entries hold one, or its `extraEnv` does. */
export function envIsSecret(
  service: Pick<ServiceModule, "role" | "secretEnv">,
  settings: Pick<StackSettings, "extraEnv" | "extraEnvIsSecret">,
): boolean {
  return (
    service.secretEnv || (settings.extraEnvIsSecret && Object.keys(settings.extraEnv[service.role] ?? {}).length > 0)
  );
}

/** A generated secret that exists only under some settings, where a running service needs it. */
export function required<T>(value: T | undefined, name: keyof StackSecrets): T {
  if (value === undefined) throw new Error(`the stack generates no ${name} with these settings`);
  return value;
}
