/**
 * What a Supabase service module declares. Each module in this folder exports one {@link ServiceModule}: everything
 * about its container (image, port, network names, health check, start order, volumes, published ports) and a pure
 * builder of its environment and files. `targets/docker/supabaseStack.ts` turns the list in `index.ts` into Docker resources
 * without knowing any service by name. Pure: plain values in, plain values out.
 */
import type { EnvMap } from "../schema/project";
import type { Builder, StackSettings } from "./builder";
import type { EnvBuilder } from "./environment";
import type { ImageKey } from "./images";
import type { KubernetesFacts } from "./kubernetes";

export type { EnvMap };
export * from "./builder";
export * from "./environment";
export * from "./kubernetes";

/** A Docker health check, in the shape of `@pulumi/docker`'s `ContainerHealthcheck`. */
export interface Healthcheck {
  tests: string[];
  interval: string;
  timeout: string;
  retries: number;
  startPeriod?: string;
}

/** The named volumes the stack keeps (those a running service mounts); all are retained on delete. */
export const VOLUME_ROLES = [
  "db-data",
  "db-config",
  "storage-data",
  "studio-snippets",
  "functions-cache",
  "tls-data",
  "backups",
] as const;
export type VolumeRole = (typeof VOLUME_ROLES)[number];

/** A named volume mounted into a container. */
export interface VolumeMount {
  volume: VolumeRole;
  containerPath: string;
  /** Mounted read-only (absent: read-write). */
  readOnly?: boolean;
  /**
   * The Docker name the settings give the volume, if any (absent or undefined: `<instanceName>-<volume>`). Only
   * the module that owns the volume says so.
   */
  name?(settings: StackSettings): string | undefined;
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
  /** Replaces the image's entrypoint (absent: the image's own). */
  entrypoint?: readonly string[];
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
  /** How it runs on Kubernetes (see {@link KubernetesFacts}); absent for a service that never runs there. */
  kubernetes?: KubernetesFacts;
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
