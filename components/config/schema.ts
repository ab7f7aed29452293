/**
 * The stack configuration's schema: the namespace, every key the program reads, the defaults, and the validated
 * shapes the components receive. Pure: no Pulumi, no I/O.
 */
import type { Algorithm } from "../keyring/algorithms";
import type { KeyState } from "../keyring/model";
import type { ImageKey } from "../services/images";
import type { EnvMap } from "../services/service";

/** The Pulumi project name, which is also the config namespace. */
export const PROJECT = "supabase-selfhosted";

/** A config key as users see it in messages and commands, e.g. `supabase-selfhosted:auth.smtp.pass`. */
export const configKey = (name: string): string => `${PROJECT}:${name}`;

/** Key names: they become resource names, so keep them short and URN-safe. */
export const KEY_NAME_PATTERN = /^[a-z0-9-]{1,32}$/;

/** One validated `signingKeys` entry. */
export interface SigningKeyConfig {
  /** Identity of the key in state; renaming means a new key. */
  name: string;
  state: KeyState;
  algorithm: Algorithm;
  /** Imported private JWK, as canonical JSON text (secret). */
  privateJwk?: string;
  /** The imported key's `kid`, when it has one (kept as is). */
  importedKid?: string;
}

/** Everything the keyring needs. */
export interface KeyringConfig {
  signingKeys: SigningKeyConfig[];
  legacyHs256: boolean;
  /** Imported legacy HS256 secret; generated when absent. */
  jwtSecret?: string;
  /**
   * The HS256 deployment's own anon and service_role keys (its `ANON_KEY`/`SERVICE_ROLE_KEY`), imported so the
   * gateway keeps accepting them; only with `legacyHs256` and the `jwtSecret` that signed them.
   */
  legacyApiKeys?: { anon?: string; serviceRole?: string };
  jwtExpiry: number;
  apiKeyLifetimeDays: number;
  /** Skip the rotation guard rails (emergencies only). */
  allowUnsafeRotation: boolean;
  /** How long verifiers may cache the JWKS; a standby key must be published at least this long. */
  jwksCacheSeconds: number;
}

/** An SMTP server auth sends its mail through (`auth.smtp`). */
export interface SmtpConfig {
  host: string;
  port: number;
  user?: string;
  /** The SMTP password (secret). */
  pass?: string;
  /** The sender address of every mail auth sends. */
  adminEmail: string;
  senderName?: string;
}

/** One OAuth provider of auth (`auth.externalProviders.<name>`). */
export interface ExternalProviderConfig {
  clientId: string;
  /** The provider's client secret (secret). */
  secret: string;
  /** Where the provider sends users back; `<apiExternalUrl>/auth/v1/callback` when not set. */
  redirectUri?: string;
  /** The provider's own base URL, for the providers that need one (e.g. keycloak's realm, a GitLab server). */
  url?: string;
}

/** auth's sign-up, mail and provider settings (`auth`), defaults applied. */
export interface AuthConfig {
  disableSignup: boolean;
  /** Confirm new email addresses without sending a mail. */
  mailerAutoconfirm: boolean;
  /** Redirect targets allowed besides `siteUrl` (URLs or auth's globs, e.g. mobile deep links). */
  additionalRedirectUrls: string[];
  anonymousUsers: boolean;
  smtp?: SmtpConfig;
  /** OAuth providers by auth's name for them (`google`, `github`, …). */
  externalProviders: Record<string, ExternalProviderConfig>;
}

/** Access to Postgres from outside the stack network (`database`). */
export interface DatabaseConfig {
  /** Publish Postgres on the Docker host at this address (absent: not published). */
  publish?: { host: string; port: number };
}

/** Everything the containers need besides the keyring. */
export interface ServicesConfig {
  siteUrl: string;
  apiExternalUrl: string;
  gatewayHttpPort: number;
  /** The Docker host address the gateway's port is published on (an IP address; `0.0.0.0`: every address). */
  gatewayHost: string;
  /** Image references, defaults merged with the `images` overrides. */
  images: Record<ImageKey, string>;
  /** Run studio and meta (the dashboard). */
  studio: boolean;
  /** Basic-auth user for the dashboard route. */
  dashboardUsername: string;
  /** auth's settings. */
  auth: AuthConfig;
  /** Environment variables per service role, merged over what the program sets (never over what it manages). */
  extraEnv: Record<string, EnvMap>;
  /** True when `extraEnv` came as a secret config key: every value in it is then treated as a secret. */
  extraEnvIsSecret: boolean;
  /** One password for the superuser and every service role (secret); generated per role when absent. */
  postgresPassword?: string;
  database: DatabaseConfig;
  /** The connection pooler (supavisor). */
  pooler: PoolerConfig;
  /** Edge functions (supabase/edge-runtime). */
  functions: FunctionsConfig;
  /** Storage's backend, tenant and image transformations. */
  storage: StorageConfig;
}

/** The whole validated stack configuration. */
export interface ProgramConfig extends KeyringConfig, ServicesConfig {}

/** Raw config values as Pulumi hands them to a program: text, keyed without the namespace. */
export type RawConfig = Record<string, string | undefined>;

/** Thrown for invalid configuration; `problems` lists each offending key with what is allowed. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(
      `Invalid stack configuration (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n` +
        problems.map((p) => `  - ${p}`).join("\n"),
    );
    this.name = "ConfigError";
  }
}

/** Every config key this program reads; anything else in the namespace is a typo. */
export const CONFIG_KEYS = [
  "signingKeys",
  "legacyHs256",
  "jwtSecret",
  "legacyAnonKey",
  "legacyServiceRoleKey",
  "jwtExpiry",
  "apiKeyLifetimeDays",
  "allowUnsafeRotation",
  "jwksCacheSeconds",
  "siteUrl",
  "apiExternalUrl",
  "gatewayHttpPort",
  "gatewayHost",
  "images",
  "studio",
  "dashboardUsername",
  // auth, pass-through environment and database access
  "auth",
  "extraEnv",
  "postgresPassword",
  "database",
  // the rest of the platform
  "pooler",
  "functions",
  "storage",
] as const;

/**
 * Whether a published port on this host address listens on every address of the Docker host: no address (the
 * docker provider's default), `0.0.0.0` or `::`.
 */
export function listensOnEveryAddress(ip: string | undefined): boolean {
  return ip === undefined || ip === "0.0.0.0" || ip === "::";
}

/** The default of every optional setting; the README's configuration reference lists the same values. */
export const CONFIG_DEFAULTS = {
  jwtExpiry: 3600,
  apiKeyLifetimeDays: 1825,
  jwksCacheSeconds: 1200,
  siteUrl: "http://localhost:3000",
  apiExternalUrl: "http://localhost:8000",
  gatewayHttpPort: 8000,
  /** Every address, as upstream's compose publishes kong (`${KONG_HTTP_PORT}:8000`). */
  gatewayHost: "0.0.0.0",
  dashboardUsername: "supabase",
  /** Where `database.publish` puts Postgres when it names no host or port: the host's loopback, Postgres's port. */
  databasePublish: { host: "127.0.0.1", port: 5432 },
  /** auth's own default SMTP port (supabase/auth `internal/conf/configuration.go`, `SMTPConfiguration`). */
  smtpPort: 587,
} as const;

// Platform services: the pooler, edge functions, storage's backend and image transformations.

/** The connection pooler (supavisor): one tenant, its two proxy ports published on `host`. */
export interface PoolerConfig {
  enabled: boolean;
  /** Host port of session-mode pooling (the container's 5432). */
  sessionPort: number;
  /** Host port of transaction-mode pooling (the container's 6543). */
  transactionPort: number;
  /** The host address both ports are published on. */
  host: string;
  /** The tenant: clients connect as `postgres.<tenantId>`. */
  tenantId: string;
  /** Postgres connections per pool (`POOLER_DEFAULT_POOL_SIZE`). */
  defaultPoolSize: number;
  /** Client connections per pool (`POOLER_MAX_CLIENT_CONN`). */
  maxClientConnections: number;
}

/** One file of the edge functions, by its path relative to the functions directory (`/` separated). */
export interface FunctionFile {
  path: string;
  content: string;
}

/** Edge functions (supabase/edge-runtime). */
export interface FunctionsConfig {
  enabled: boolean;
  /** Whether the main entry refuses calls without a valid JWT (`VERIFY_JWT`). */
  verifyJwt: boolean;
  /** The directory on the deploying machine, as configured; absent: the program's default main entry. */
  dir?: string;
  /** The files shipped into the container: those under `dir`, or the default main entry's (read by `read.ts`). */
  files?: FunctionFile[];
}

/** The S3 bucket storage keeps its objects in (`storage.backend: s3`). */
export interface S3BackendConfig {
  /** An S3-compatible endpoint (MinIO, R2, …); absent: AWS S3. */
  endpoint?: string;
  bucket: string;
  region: string;
  forcePathStyle: boolean;
  accessKeyId?: string;
  /** Secret: set it with `pulumi config set --secret --path storage.s3.secretAccessKey`. */
  secretAccessKey?: string;
}

/** Storage's backend, tenant and image transformations. */
export interface StorageConfig {
  backend: "file" | "s3";
  /** `TENANT_ID`: the prefix of every object key, and the project ref S3 clients sign session tokens for. */
  tenantId: string;
  /** Only with `backend: s3`. */
  s3?: S3BackendConfig;
  /** Run imgproxy and let storage transform images. */
  imageTransformation: boolean;
}

/** The storage backends. */
export const STORAGE_BACKENDS = ["file", "s3"] as const;

/**
 * Defaults of the platform services' settings: the official self-hosted `.env.example`'s values where it has a
 * usable one (its tenant id is a placeholder, `your-tenant-id`).
 */
export const PLATFORM_DEFAULTS = {
  pooler: {
    enabled: true,
    sessionPort: 5432,
    transactionPort: 6543,
    host: "127.0.0.1",
    tenantId: "default",
    defaultPoolSize: 20,
    maxClientConnections: 100,
  },
  // Upstream's .env.example leaves FUNCTIONS_VERIFY_JWT false; calls are verified here unless turned off.
  functions: { enabled: false, verifyJwt: true },
  storage: { backend: "file", tenantId: "stub", region: "stub", imageTransformation: true },
} as const;
