/**
 * What each Supabase container is given: environment, health check, network names, volumes, start order.
 * Pure: plain values in, plain values out. `supabase.ts` only turns these into Docker resources.
 *
 * The environment follows the official self-hosted compose file (supabase/supabase `docker/docker-compose.yml`),
 * with the JWT wiring of supabase-jwt.md: auth gets the key array, rest/realtime/storage the verifier JWKS object,
 * and the HS256 secret goes only where a service requires it.
 */
import type { ImageKey } from "./images";
import type { Jwk, Jwks } from "./jwks";

/** Every container this program can run, in start order. */
export const SERVICE_ROLES = ["db", "auth", "rest", "realtime", "storage", "meta", "studio", "kong"] as const;
export type ServiceRole = (typeof SERVICE_ROLES)[number];

/** An environment as a map; Docker wants it as a `K=V` list (see {@link toEnvList}). */
export type EnvMap = Record<string, string>;

/** Where the services find Postgres: the db container's network alias and the image's defaults. */
export const POSTGRES = { host: "db", port: 5432, database: "postgres" } as const;

/**
 * Realtime derives its tenant from the first label of the Host header, and the self-hosted tenant is
 * `realtime-dev`; kong must therefore reach realtime under this name.
 */
export const REALTIME_HOST = "realtime-dev.supabase-realtime";

/** The gateway's port inside its container (the host port is `gatewayHttpPort`). */
export const KONG_HTTP_PORT = 8000;

/** Schemas rest exposes, as the official `.env.example` sets `PGRST_DB_SCHEMAS`. */
export const REST_SCHEMAS = "public,storage,graphql_public";

/** Storage's file backend: where files live inside the container (the storage volume is mounted here). */
export const STORAGE_FILE_PATH = "/var/lib/storage";

/** A Docker health check, in the shape of `@pulumi/docker`'s `ContainerHealthcheck`. */
export interface Healthcheck {
  tests: string[];
  interval: string;
  timeout: string;
  retries: number;
  startPeriod?: string;
}

/** The named volumes the stack keeps; all are retained on delete. */
export const VOLUME_ROLES = ["db-data", "db-config", "storage-data"] as const;

/**
 * Label on every volume the stack retains on delete. Policy packs cannot see the `retainOnDelete` option, so this
 * label is how the `db-data-retained` policy recognizes a retained volume; the component sets both together.
 */
export const RETAIN_LABEL = "supabase-selfhosted.retain-on-delete";
export type VolumeRole = (typeof VOLUME_ROLES)[number];

/** Everything about one container except its environment and uploaded files. */
export interface ContainerSpec {
  role: ServiceRole;
  /** `supabase-<role>`. */
  containerName: string;
  /** DNS names on the stack network (kong.yml and the other services use these). */
  aliases: string[];
  image: ImageKey;
  /** The port the service listens on inside the network. */
  internalPort: number;
  healthcheck: Healthcheck;
  /** Containers that must exist (db: be healthy) before this one starts. */
  dependsOn: ServiceRole[];
  command?: string[];
  volumes: Array<{ volume: VolumeRole; containerPath: string }>;
  /** Env keys whose values are secret (passwords, the HS256 secret, role JWTs, key material). */
  secretEnv: string[];
}

/** A `node -e` probe that fails unless `url` answers 200 (the studio image ships Node, not curl). */
function nodeHttpProbe(url: string): string[] {
  return [
    "CMD",
    "node",
    "-e",
    `fetch('${url}').then((r) => { if (r.status !== 200) throw new Error(String(r.status)) })`,
  ];
}

/**
 * Health checks. The probes match upstream's where upstream has one, except realtime: upstream authenticates its
 * probe with the anon JWT, which would put a key-dependent (and secret) value into the health check and recreate
 * realtime on every promote. `/api/ping` needs no token and still fails until the tenant is seeded.
 */
export const HEALTHCHECKS: Record<ServiceRole, Healthcheck> = {
  db: { tests: ["CMD", "pg_isready", "-U", "postgres", "-h", "localhost"], interval: "5s", timeout: "5s", retries: 10 },
  auth: {
    tests: ["CMD", "wget", "--no-verbose", "--tries=1", "--spider", "http://localhost:9999/health"],
    interval: "5s",
    timeout: "5s",
    retries: 3,
  },
  rest: { tests: ["CMD", "postgrest", "--ready"], interval: "5s", timeout: "5s", retries: 3 },
  realtime: {
    tests: ["CMD", "curl", "-sSf", "-o", "/dev/null", "-H", `Host: ${REALTIME_HOST}`, "http://localhost:4000/api/ping"],
    interval: "30s",
    timeout: "5s",
    retries: 3,
    startPeriod: "10s",
  },
  storage: {
    tests: ["CMD", "wget", "--no-verbose", "--tries=1", "--spider", "http://storage:5000/status"],
    interval: "5s",
    timeout: "5s",
    retries: 3,
    startPeriod: "10s",
  },
  // The probe postgres-meta's own Dockerfile declares (its image runs Node).
  meta: {
    tests: [
      "CMD",
      "node",
      "-e",
      "require('http').get('http://localhost:8080/health', (r) => { if (r.statusCode !== 200) throw new Error(String(r.statusCode)) })",
    ],
    interval: "5s",
    timeout: "5s",
    retries: 3,
  },
  studio: {
    tests: nodeHttpProbe("http://localhost:3000/api/platform/profile"),
    interval: "5s",
    timeout: "10s",
    retries: 3,
    startPeriod: "20s",
  },
  kong: { tests: ["CMD", "kong", "health"], interval: "5s", timeout: "5s", retries: 5 },
};

/**
 * The containers to run. `studio: false` drops studio and meta (the dashboard and its database API).
 * Order: db first, kong last, so `dependsOn` only ever points backwards.
 */
export function containerSpecs(options: { studio: boolean }): ContainerSpec[] {
  const specs: ContainerSpec[] = [
    {
      role: "db",
      containerName: "supabase-db",
      aliases: ["db"],
      image: "db",
      internalPort: POSTGRES.port,
      healthcheck: HEALTHCHECKS.db,
      dependsOn: [],
      // The image's own config file; log_min_messages keeps realtime's polling out of the logs (as upstream).
      command: ["postgres", "-c", "config_file=/etc/postgresql/postgresql.conf", "-c", "log_min_messages=fatal"],
      volumes: [
        { volume: "db-data", containerPath: "/var/lib/postgresql/data" },
        // pgsodium's root key: losing it makes vault secrets unreadable after the container is recreated.
        { volume: "db-config", containerPath: "/etc/postgresql-custom" },
      ],
      secretEnv: ["PGPASSWORD", "POSTGRES_PASSWORD"],
    },
    {
      role: "auth",
      containerName: "supabase-auth",
      aliases: ["auth"],
      image: "auth",
      internalPort: 9999,
      healthcheck: HEALTHCHECKS.auth,
      dependsOn: ["db"],
      volumes: [],
      secretEnv: ["GOTRUE_DB_DATABASE_URL", "GOTRUE_JWT_SECRET", "GOTRUE_JWT_KEYS"],
    },
    {
      role: "rest",
      containerName: "supabase-rest",
      aliases: ["rest"],
      image: "rest",
      internalPort: 3000,
      healthcheck: HEALTHCHECKS.rest,
      dependsOn: ["db"],
      command: ["postgrest"],
      volumes: [],
      // The JWKS holds the legacy oct key when legacyHs256 is on.
      secretEnv: ["PGRST_DB_URI", "PGRST_JWT_SECRET", "PGRST_APP_SETTINGS_JWT_SECRET"],
    },
    {
      role: "realtime",
      containerName: "supabase-realtime",
      aliases: [REALTIME_HOST, "realtime"],
      image: "realtime",
      internalPort: 4000,
      healthcheck: HEALTHCHECKS.realtime,
      dependsOn: ["db"],
      volumes: [],
      secretEnv: [
        "DB_PASSWORD",
        "DB_ENC_KEY",
        "API_JWT_SECRET",
        "API_JWT_JWKS",
        "SECRET_KEY_BASE",
        "METRICS_JWT_SECRET",
      ],
    },
    {
      role: "storage",
      containerName: "supabase-storage",
      aliases: ["storage"],
      image: "storage",
      internalPort: 5000,
      healthcheck: HEALTHCHECKS.storage,
      dependsOn: ["db", "rest"],
      volumes: [{ volume: "storage-data", containerPath: STORAGE_FILE_PATH }],
      secretEnv: ["ANON_KEY", "SERVICE_KEY", "AUTH_JWT_SECRET", "JWT_JWKS", "DATABASE_URL"],
    },
  ];
  if (options.studio) {
    specs.push(
      {
        role: "meta",
        containerName: "supabase-meta",
        aliases: ["meta"],
        image: "meta",
        internalPort: 8080,
        healthcheck: HEALTHCHECKS.meta,
        dependsOn: ["db"],
        volumes: [],
        secretEnv: ["PG_META_DB_PASSWORD", "CRYPTO_KEY"],
      },
      {
        role: "studio",
        containerName: "supabase-studio",
        aliases: ["studio"],
        image: "studio",
        internalPort: 3000,
        healthcheck: HEALTHCHECKS.studio,
        dependsOn: ["meta"],
        volumes: [],
        secretEnv: [
          "POSTGRES_PASSWORD",
          "PG_META_CRYPTO_KEY",
          "SUPABASE_ANON_KEY",
          "SUPABASE_SERVICE_KEY",
          "AUTH_JWT_SECRET",
          "SUPABASE_PUBLISHABLE_KEY",
          "SUPABASE_SECRET_KEY",
        ],
      },
    );
  }
  specs.push({
    role: "kong",
    containerName: "supabase-kong",
    aliases: ["kong"],
    image: "kong",
    internalPort: KONG_HTTP_PORT,
    healthcheck: HEALTHCHECKS.kong,
    dependsOn: specs.filter((s) => s.role !== "db").map((s) => s.role),
    volumes: [],
    // kong.yml (uploaded) holds the keys; the environment holds none.
    secretEnv: [],
  });
  return specs;
}

/** A Postgres connection URL for the services on the stack network. */
export function postgresUrl(user: string, password: string, scheme = "postgres"): string {
  return `${scheme}://${encodeURIComponent(user)}:${encodeURIComponent(password)}@${POSTGRES.host}:${POSTGRES.port}/${POSTGRES.database}`;
}

/** Docker's `envs` form. Keeps the map's order, so equal maps always give byte-equal lists. */
export function toEnvList(env: EnvMap): string[] {
  return Object.entries(env).map(([k, v]) => {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) throw new Error(`invalid environment variable name ${JSON.stringify(k)}`);
    return `${k}=${v}`;
  });
}

/** db: the superuser password the image's init uses for `postgres` and `supabase_admin`. */
export function dbEnv(input: { postgresPassword: string }): EnvMap {
  return {
    POSTGRES_HOST: "/var/run/postgresql",
    PGPORT: String(POSTGRES.port),
    POSTGRES_PORT: String(POSTGRES.port),
    PGPASSWORD: input.postgresPassword,
    POSTGRES_PASSWORD: input.postgresPassword,
    PGDATABASE: POSTGRES.database,
    POSTGRES_DB: POSTGRES.database,
  };
}

/** Inputs of {@link authEnv}. */
export interface AuthEnvInput {
  /** Password of `supabase_auth_admin`. */
  dbPassword: string;
  siteUrl: string;
  apiExternalUrl: string;
  jwtExpiry: number;
  /** The legacy HS256 secret; auth requires it even with asymmetric keys. */
  jwtSecret: string;
  /** `GOTRUE_JWT_KEYS`: exactly one signer (the current key), the other trusted keys public. */
  authKeys: Jwk[];
  validMethods: string[];
}

/**
 * auth (GoTrue). Both valid-methods names are set: auth ≤ v2.186.0 reads `GOTRUE_JWT_VALIDMETHODS`, later
 * versions `GOTRUE_JWT_VALID_METHODS`, so an image override in either direction keeps working.
 */
export function authEnv(input: AuthEnvInput): EnvMap {
  const signers = input.authKeys.filter((k) => Array.isArray(k.key_ops) && (k.key_ops as string[]).includes("sign"));
  if (signers.length !== 1) throw new Error(`auth needs exactly one signing key, got ${signers.length}`);
  const methods = input.validMethods.join(",");
  return {
    GOTRUE_API_HOST: "0.0.0.0",
    GOTRUE_API_PORT: "9999",
    API_EXTERNAL_URL: input.apiExternalUrl,
    GOTRUE_DB_DRIVER: "postgres",
    GOTRUE_DB_DATABASE_URL: postgresUrl("supabase_auth_admin", input.dbPassword),
    GOTRUE_SITE_URL: input.siteUrl,
    GOTRUE_DISABLE_SIGNUP: "false",
    GOTRUE_EXTERNAL_EMAIL_ENABLED: "true",
    GOTRUE_JWT_ADMIN_ROLES: "service_role",
    GOTRUE_JWT_AUD: "authenticated",
    GOTRUE_JWT_DEFAULT_GROUP_NAME: "authenticated",
    GOTRUE_JWT_EXP: String(input.jwtExpiry),
    GOTRUE_JWT_ISSUER: input.apiExternalUrl,
    GOTRUE_JWT_SECRET: input.jwtSecret,
    GOTRUE_JWT_KEYS: JSON.stringify(input.authKeys),
    GOTRUE_JWT_VALID_METHODS: methods,
    GOTRUE_JWT_VALIDMETHODS: methods,
  };
}

/** Inputs of {@link restEnv}. */
export interface RestEnvInput {
  /** Password of `authenticator`. */
  dbPassword: string;
  verifierJwks: Jwks;
  jwtSecret: string;
  jwtExpiry: number;
}

/**
 * rest (PostgREST). `PGRST_JWT_SECRET` is the JWKS object: a JWKS that fails to parse would silently become an
 * HMAC secret, so it is always serialized from the model, never hand-built. `PGRST_APP_SETTINGS_JWT_SECRET` only
 * exposes `app.settings.jwt_secret` to SQL and must stay the HS256 secret.
 */
export function restEnv(input: RestEnvInput): EnvMap {
  return {
    PGRST_DB_URI: postgresUrl("authenticator", input.dbPassword),
    PGRST_DB_SCHEMAS: REST_SCHEMAS,
    PGRST_DB_MAX_ROWS: "1000",
    PGRST_DB_EXTRA_SEARCH_PATH: "public",
    PGRST_DB_ANON_ROLE: "anon",
    // The admin server answers `postgrest --ready` (the health check).
    PGRST_ADMIN_SERVER_PORT: "3001",
    PGRST_ADMIN_SERVER_HOST: "localhost",
    PGRST_JWT_SECRET: JSON.stringify(input.verifierJwks),
    PGRST_DB_USE_LEGACY_GUCS: "false",
    PGRST_APP_SETTINGS_JWT_SECRET: input.jwtSecret,
    PGRST_APP_SETTINGS_JWT_EXP: String(input.jwtExpiry),
  };
}

/** Inputs of {@link realtimeEnv}. */
export interface RealtimeEnvInput {
  /** Password of `supabase_admin` (the superuser password: realtime manages replication). */
  dbPassword: string;
  jwtSecret: string;
  verifierJwks: Jwks;
  /** Phoenix's cookie/session secret, ≥ 64 characters. */
  secretKeyBase: string;
  /** AES key realtime encrypts the tenant's db password with: exactly 16 characters. */
  dbEncKey: string;
}

/**
 * realtime. `SEED_SELF_HOST` re-creates the `realtime-dev` tenant from this env at every start, which is how a
 * new JWKS reaches it; `API_JWT_JWKS` must be an object with `keys` (an array fails, supabase/realtime#1269).
 */
export function realtimeEnv(input: RealtimeEnvInput): EnvMap {
  if (input.dbEncKey.length !== 16) throw new Error("realtime's DB_ENC_KEY must be exactly 16 characters");
  if (input.secretKeyBase.length < 64) throw new Error("realtime's SECRET_KEY_BASE must be at least 64 characters");
  return {
    PORT: "4000",
    DB_HOST: POSTGRES.host,
    DB_PORT: String(POSTGRES.port),
    DB_USER: "supabase_admin",
    DB_PASSWORD: input.dbPassword,
    DB_NAME: POSTGRES.database,
    DB_AFTER_CONNECT_QUERY: "SET search_path TO _realtime",
    DB_ENC_KEY: input.dbEncKey,
    API_JWT_SECRET: input.jwtSecret,
    API_JWT_JWKS: JSON.stringify(input.verifierJwks),
    SECRET_KEY_BASE: input.secretKeyBase,
    METRICS_JWT_SECRET: input.jwtSecret,
    ERL_AFLAGS: "-proto_dist inet_tcp",
    DNS_NODES: "''",
    RLIMIT_NOFILE: "10000",
    APP_NAME: "realtime",
    SEED_SELF_HOST: "true",
    RUN_JANITOR: "true",
    DISABLE_HEALTHCHECK_LOGGING: "true",
  };
}

/** Inputs of {@link storageEnv}. */
export interface StorageEnvInput {
  /** Password of `supabase_storage_admin`. */
  dbPassword: string;
  jwtSecret: string;
  verifierJwks: Jwks;
  /** The current key's role JWTs. */
  anonKey: string;
  serviceRoleKey: string;
  apiExternalUrl: string;
}

/**
 * storage, on its file backend. `AUTH_JWT_SECRET` stays even in asymmetric mode: storage signs its signed URLs
 * with it. `TENANT_ID`, `REGION` and `GLOBAL_S3_BUCKET` take the official `.env.example` values (`stub`); with the
 * file backend the bucket is a directory name under `FILE_STORAGE_BACKEND_PATH`.
 */
export function storageEnv(input: StorageEnvInput): EnvMap {
  return {
    ANON_KEY: input.anonKey,
    SERVICE_KEY: input.serviceRoleKey,
    POSTGREST_URL: "http://rest:3000",
    AUTH_JWT_SECRET: input.jwtSecret,
    JWT_JWKS: JSON.stringify(input.verifierJwks),
    DATABASE_URL: postgresUrl("supabase_storage_admin", input.dbPassword),
    STORAGE_PUBLIC_URL: input.apiExternalUrl,
    REQUEST_ALLOW_X_FORWARDED_PATH: "true",
    FILE_SIZE_LIMIT: "52428800",
    STORAGE_BACKEND: "file",
    GLOBAL_S3_BUCKET: "stub",
    FILE_STORAGE_BACKEND_PATH: STORAGE_FILE_PATH,
    TENANT_ID: "stub",
    REGION: "stub",
  };
}

/** Inputs of {@link kongEnv}: what `kong.ts` decides about its own document. */
export interface KongEnvInput {
  /** Plugins kong.yml uses; kong refuses a declarative config naming a plugin it has not enabled. */
  plugins: readonly string[];
  /** Where kong.yml is uploaded. */
  configPath: string;
  /** Any further `KONG_*` settings the document needs (e.g. a router flavor). */
  extra?: EnvMap;
}

/** kong, DB-less: reads the uploaded kong.yml; no keys in its environment (they are in the file). */
export function kongEnv(input: KongEnvInput): EnvMap {
  if (input.plugins.length === 0) throw new Error("kong needs at least one plugin enabled");
  return {
    KONG_DATABASE: "off",
    KONG_DECLARATIVE_CONFIG: input.configPath,
    KONG_DNS_ORDER: "LAST,A,CNAME",
    KONG_DNS_NOT_FOUND_TTL: "1",
    KONG_PLUGINS: input.plugins.join(","),
    KONG_NGINX_PROXY_PROXY_BUFFER_SIZE: "160k",
    KONG_NGINX_PROXY_PROXY_BUFFERS: "64 160k",
    ...(input.extra ?? {}),
  };
}

/** Inputs of {@link metaEnv}. */
export interface MetaEnvInput {
  /** Password of `postgres`. */
  postgresPassword: string;
  /** Key studio and meta share to encrypt connection strings, ≥ 32 characters. */
  cryptoKey: string;
}

/** meta (postgres-meta), the database API studio uses. */
export function metaEnv(input: MetaEnvInput): EnvMap {
  return {
    PG_META_PORT: "8080",
    PG_META_DB_HOST: POSTGRES.host,
    PG_META_DB_PORT: String(POSTGRES.port),
    PG_META_DB_NAME: POSTGRES.database,
    PG_META_DB_USER: "postgres",
    PG_META_DB_PASSWORD: input.postgresPassword,
    CRYPTO_KEY: input.cryptoKey,
  };
}

/** Inputs of {@link studioEnv}. */
export interface StudioEnvInput {
  postgresPassword: string;
  cryptoKey: string;
  /** The current key's role JWTs. */
  anonKey: string;
  serviceRoleKey: string;
  jwtSecret: string;
  publishableKey: string;
  secretKey: string;
  apiExternalUrl: string;
}

/**
 * studio. It needs the role JWTs and the HS256 secret (its storage browser breaks without them after a key
 * migration, supabase/supabase#44055), and the opaque keys to show them to the user.
 */
export function studioEnv(input: StudioEnvInput): EnvMap {
  return {
    HOSTNAME: "0.0.0.0",
    STUDIO_PG_META_URL: "http://meta:8080",
    POSTGRES_PORT: String(POSTGRES.port),
    POSTGRES_HOST: POSTGRES.host,
    POSTGRES_DB: POSTGRES.database,
    POSTGRES_PASSWORD: input.postgresPassword,
    POSTGRES_USER_READ_WRITE: "postgres",
    PG_META_CRYPTO_KEY: input.cryptoKey,
    PGRST_DB_SCHEMAS: REST_SCHEMAS,
    DEFAULT_ORGANIZATION_NAME: "Default Organization",
    DEFAULT_PROJECT_NAME: "Default Project",
    SUPABASE_URL: `http://kong:${KONG_HTTP_PORT}`,
    SUPABASE_PUBLIC_URL: input.apiExternalUrl,
    SUPABASE_ANON_KEY: input.anonKey,
    SUPABASE_SERVICE_KEY: input.serviceRoleKey,
    AUTH_JWT_SECRET: input.jwtSecret,
    SUPABASE_PUBLISHABLE_KEY: input.publishableKey,
    SUPABASE_SECRET_KEY: input.secretKey,
    // The logs pages need the analytics stack, which this program does not run.
    ENABLED_FEATURES_LOGS_ALL: "false",
  };
}
