/**
 * `SupabaseStack`: the Docker resources of one self-hosted Supabase. Declares resources only; every environment,
 * file and health check comes from the pure modules (`services.ts`, `dbInit.ts`, `kong.ts`).
 *
 * The Docker host is the default provider's, configured by the standard `docker:host` stack setting (the local
 * socket by default, `ssh://user@host` for a server); files are shipped with `uploads`, never bind mounts, so a
 * remote host needs nothing on its disk.
 */
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import type { ServicesConfig } from "./config";
import { dbInitFiles, SERVICE_DB_ROLES, type ServiceDbRole } from "./dbInit";
import type { ImageKey } from "./images";
import type { Jwk, Jwks, KeyringView } from "./jwks";
import { KONG_CONFIG_PATH, KONG_PLUGINS, renderKongYaml } from "./kong";
import { asSecret } from "./outputs";
import {
  authEnv,
  containerSpecs,
  dbEnv,
  KONG_HTTP_PORT,
  RETAIN_LABEL,
  kongEnv,
  metaEnv,
  realtimeEnv,
  restEnv,
  storageEnv,
  studioEnv,
  toEnvList,
  VOLUME_ROLES,
  type ContainerSpec,
  type EnvMap,
  type ServiceRole,
  type VolumeRole,
} from "./services";

/** The keyring values the containers consume (what `SigningKeyring` exposes). */
export interface StackKeyring {
  authKeys: pulumi.Output<Jwk[]>;
  verifierJwks: pulumi.Output<Jwks>;
  validMethods: pulumi.Output<string[]>;
  anonKey: pulumi.Output<string>;
  serviceRoleKey: pulumi.Output<string>;
  gatewayTokens: pulumi.Output<KeyringView["gatewayTokens"]>;
  publishableKey: pulumi.Output<string>;
  secretKey: pulumi.Output<string>;
  jwtSecret: pulumi.Output<string>;
}

/** Arguments of a {@link SupabaseStack}. */
export interface SupabaseStackArgs {
  /** The validated services settings plus the access-token lifetime (see `parseConfig`). */
  config: ServicesConfig & { jwtExpiry: number };
  /** The keyring to wire into auth, the verifiers, kong and studio. */
  keyring: StackKeyring;
}

/** Prefix of every Docker object's name (containers are `supabase-<role>`). */
export const DOCKER_PREFIX = "supabase";

/** Seconds `pulumi up` waits for Postgres to report healthy; its first start runs every init migration. */
const DB_WAIT_SECONDS = 300;

/** One Docker `uploads` entry. */
interface Upload {
  file: string;
  content: string;
}

/** Self-hosted Supabase on one Docker host. */
export class SupabaseStack extends pulumi.ComponentResource {
  /** The user network every container joins (stable DNS names = the aliases in `services.ts`). */
  readonly network: docker.Network;
  /** Named volumes, all retained when deleted. */
  readonly volumes: Record<VolumeRole, docker.Volume>;
  /** One pinned image per service that runs. */
  readonly images: Partial<Record<ImageKey, docker.RemoteImage>>;
  /** The containers by role. */
  readonly containers: Partial<Record<ServiceRole, docker.Container>>;
  /** The `envs` handed to each container (secret when any entry is). */
  readonly envs: Partial<Record<ServiceRole, pulumi.Output<string[]>>>;
  /** The `uploads` handed to db and kong (secret). */
  readonly uploads: Partial<Record<ServiceRole, pulumi.Output<Upload[]>>>;
  /** Basic-auth password of the dashboard route (secret); only when studio runs. */
  readonly dashboardPassword?: pulumi.Output<string>;

  constructor(name: string, args: SupabaseStackArgs, opts?: pulumi.ComponentResourceOptions) {
    // Args stay out of super(): the SDK would store them, keyring secrets included, in the component's state.
    super("supabase-selfhosted:index:SupabaseStack", name, {}, opts);
    const { config, keyring } = args;
    const specs = containerSpecs({ studio: config.studio });

    const password = (role: string, length: number) =>
      asSecret(new random.RandomPassword(`${name}-${role}`, { length, special: false }, { parent: this }).result);
    const postgresPassword = password("db-password", 32);
    const rolePasswords = Object.fromEntries(
      SERVICE_DB_ROLES.map((role) => [role, password(`db-password-${role.replace(/_/g, "-")}`, 32)]),
    ) as Record<ServiceDbRole, pulumi.Output<string>>;
    const realtimeSecretKeyBase = password("realtime-secret-key-base", 64);
    const realtimeDbEncKey = password("realtime-db-enc-key", 16);
    const metaCryptoKey = config.studio ? password("meta-crypto-key", 32) : undefined;
    this.dashboardPassword = config.studio ? password("dashboard-password", 32) : undefined;

    this.network = new docker.Network(
      `${name}-network`,
      { name: `${DOCKER_PREFIX}-network`, driver: "bridge" },
      { parent: this },
    );

    this.volumes = Object.fromEntries(
      VOLUME_ROLES.map((role) => [
        role,
        // retainOnDelete: neither a replaced container nor `pulumi destroy` may take the data with it.
        new docker.Volume(
          `${name}-${role}`,
          { name: `${DOCKER_PREFIX}-${role}`, labels: [{ label: RETAIN_LABEL, value: "true" }] },
          { parent: this, retainOnDelete: true },
        ),
      ]),
    ) as Record<VolumeRole, docker.Volume>;

    this.images = {};
    for (const key of [...new Set(specs.map((s) => s.image))]) {
      this.images[key] = new docker.RemoteImage(
        `${name}-image-${key}`,
        { name: config.images[key], keepLocally: true },
        { parent: this },
      );
    }

    // Each container's environment depends on exactly the values it reads, so a change elsewhere (or an unknown
    // value during preview) does not touch it.
    const k = keyring;
    const envMaps: Record<ServiceRole, () => pulumi.Output<EnvMap>> = {
      db: () => postgresPassword.apply((p) => dbEnv({ postgresPassword: p })),
      auth: () =>
        pulumi
          .all([rolePasswords.supabase_auth_admin, k.jwtSecret, k.authKeys, k.validMethods])
          .apply(([dbPassword, jwtSecret, authKeys, validMethods]) =>
            authEnv({
              dbPassword,
              jwtSecret,
              authKeys,
              validMethods,
              siteUrl: config.siteUrl,
              apiExternalUrl: config.apiExternalUrl,
              jwtExpiry: config.jwtExpiry,
            }),
          ),
      rest: () =>
        pulumi
          .all([rolePasswords.authenticator, k.verifierJwks, k.jwtSecret])
          .apply(([dbPassword, verifierJwks, jwtSecret]) =>
            restEnv({ dbPassword, verifierJwks, jwtSecret, jwtExpiry: config.jwtExpiry }),
          ),
      realtime: () =>
        pulumi
          .all([postgresPassword, k.jwtSecret, k.verifierJwks, realtimeSecretKeyBase, realtimeDbEncKey])
          .apply(([dbPassword, jwtSecret, verifierJwks, secretKeyBase, dbEncKey]) =>
            realtimeEnv({ dbPassword, jwtSecret, verifierJwks, secretKeyBase, dbEncKey }),
          ),
      storage: () =>
        pulumi
          .all([rolePasswords.supabase_storage_admin, k.jwtSecret, k.verifierJwks, k.anonKey, k.serviceRoleKey])
          .apply(([dbPassword, jwtSecret, verifierJwks, anonKey, serviceRoleKey]) =>
            storageEnv({
              dbPassword,
              jwtSecret,
              verifierJwks,
              anonKey,
              serviceRoleKey,
              apiExternalUrl: config.apiExternalUrl,
            }),
          ),
      meta: () =>
        pulumi
          .all([postgresPassword, metaCryptoKey!])
          .apply(([p, cryptoKey]) => metaEnv({ postgresPassword: p, cryptoKey })),
      studio: () =>
        pulumi
          .all([
            postgresPassword,
            metaCryptoKey!,
            k.anonKey,
            k.serviceRoleKey,
            k.jwtSecret,
            k.publishableKey,
            k.secretKey,
          ])
          .apply(([p, cryptoKey, anonKey, serviceRoleKey, jwtSecret, publishableKey, secretKey]) =>
            studioEnv({
              postgresPassword: p,
              cryptoKey,
              anonKey,
              serviceRoleKey,
              jwtSecret,
              publishableKey,
              secretKey,
              apiExternalUrl: config.apiExternalUrl,
            }),
          ),
      kong: () => pulumi.output(kongEnv({ plugins: KONG_PLUGINS, configPath: KONG_CONFIG_PATH })),
    };

    const uploadsFor: Partial<Record<ServiceRole, () => pulumi.Output<Upload[]>>> = {
      db: () =>
        pulumi
          .all(rolePasswords)
          .apply((passwords) =>
            dbInitFiles({ rolePasswords: passwords, jwtExpiry: config.jwtExpiry }).map(({ file, content }) => ({
              file,
              content,
            })),
          ),
      kong: () =>
        pulumi
          .all([
            k.publishableKey,
            k.secretKey,
            k.anonKey,
            k.serviceRoleKey,
            k.gatewayTokens,
            this.dashboardPassword ?? "",
          ])
          .apply(([publishableKey, secretKey, anonKey, serviceRoleKey, gatewayTokens, dashboardPassword]) => [
            {
              file: KONG_CONFIG_PATH,
              content: renderKongYaml({
                publishableKey,
                secretKey,
                anonKey,
                serviceRoleKey,
                gatewayTokens,
                dashboard: { username: config.dashboardUsername, password: dashboardPassword },
                studio: config.studio,
              }),
            },
          ]),
    };

    this.envs = {};
    this.uploads = {};
    this.containers = {};
    for (const spec of specs) {
      const envs = envMaps[spec.role]().apply(toEnvList);
      // The whole list is one secret when any entry is: Docker takes it as a single value.
      this.envs[spec.role] = spec.secretEnv.length > 0 ? asSecret(envs) : envs;
      const uploads = uploadsFor[spec.role]?.();
      // Both uploads (the role passwords, kong.yml's keys) hold secrets.
      if (uploads) this.uploads[spec.role] = asSecret(uploads);
      this.containers[spec.role] = this.container(name, spec, config);
    }

    this.registerOutputs({
      network: this.network.name,
      containers: Object.fromEntries(Object.entries(this.containers).map(([role, c]) => [role, c!.name])),
    });
  }

  /** One container from its spec; `envs` and `uploads` must be set for its role already. */
  private container(name: string, spec: ContainerSpec, config: SupabaseStackArgs["config"]): docker.Container {
    const image = this.images[spec.image]!;
    const dependsOn = spec.dependsOn.map((role) => this.containers[role]!);
    return new docker.Container(
      `${name}-${spec.role}`,
      {
        name: spec.containerName,
        image: image.imageId,
        envs: this.envs[spec.role],
        ...(this.uploads[spec.role] ? { uploads: this.uploads[spec.role] } : {}),
        ...(spec.command ? { command: spec.command } : {}),
        restart: "unless-stopped",
        healthcheck: { ...spec.healthcheck },
        networksAdvanced: [{ name: this.network.name, aliases: spec.aliases }],
        volumes: spec.volumes.map((v) => ({ volumeName: this.volumes[v.volume].name, containerPath: v.containerPath })),
        ...(spec.role === "kong" ? { ports: [{ internal: KONG_HTTP_PORT, external: config.gatewayHttpPort }] } : {}),
        // Only db is awaited: the services' `dependsOn` then means "after Postgres accepts connections".
        ...(spec.role === "db" ? { wait: true, waitTimeout: DB_WAIT_SECONDS } : {}),
      },
      {
        parent: this,
        dependsOn,
        // A health check change otherwise updates nothing in Docker (the provider cannot change it in place).
        replaceOnChanges: ["healthcheck"],
        // Fixed container names: the old container must go before its replacement can take the name.
        deleteBeforeReplace: true,
      },
    );
  }
}
