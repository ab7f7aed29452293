/**
 * What a service's builders are given and how one is declared: the settings, the generated secrets, the keyring
 * values and database passwords each builder reads. Pure: plain values in, plain values out.
 */
import type { KeyringValues } from "../keyring/model";
import type { KeyringConfig } from "../keyring/settings";
import type { ServiceDbRole } from "./db/init";
import type { ServicesConfig } from "./settings";

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
  /** The backup service's replication role's password (with `backup.enabled`). */
  backupReplicationPassword?: string;
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

/** A generated secret that exists only under some settings, where a running service needs it. */
export function required<T>(value: T | undefined, name: keyof StackSecrets): T {
  if (value === undefined) throw new Error(`the stack generates no ${name} with these settings`);
  return value;
}
