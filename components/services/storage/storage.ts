/**
 * storage, on its file backend (the storage volume) or an S3 bucket (`storage.backend`). `AUTH_JWT_SECRET` stays
 * even in asymmetric mode: storage signs its signed URLs with it. `TENANT_ID`, `REGION` and `GLOBAL_S3_BUCKET` take
 * the official `.env.example` values (`stub`) unless configured; with the file backend the bucket is a directory
 * name under `FILE_STORAGE_BACKEND_PATH`. The S3 backend's variables are those of upstream's
 * `docker/docker-compose.s3.yml`. With `storage.imageTransformation`, imgproxy (`imgproxy.ts`) renders images.
 */
import { configKey } from "../../schema/project";
import { DEFAULT_STORAGE_REGION, type StorageConfig } from "./settings";
import { postgresUrl } from "../db/db";
import {
  after,
  defineService,
  environment,
  hs256Secret,
  managed,
  managedGroup,
  SOURCES,
  type EnvMap,
} from "../service";

/** Where files live inside the container (the storage volume is mounted here). */
export const STORAGE_FILE_PATH = "/var/lib/storage";

const STORAGE_PORT = 5000;

/** The file backend's directory under the volume, as upstream's `.env.example` names it. */
const FILE_BACKEND_BUCKET = "stub";

/** The region S3-protocol clients sign for (`REGION`): the bucket's with the S3 backend, else upstream's `stub`. */
export function storageRegion(config: StorageConfig): string {
  return config.s3?.region ?? DEFAULT_STORAGE_REGION;
}

/** Where storage keeps the objects: the backend's variables. */
export function storageBackendEnv(config: StorageConfig): EnvMap {
  const s3 = config.s3;
  if (config.backend !== "s3" || !s3) {
    return {
      STORAGE_BACKEND: "file",
      GLOBAL_S3_BUCKET: FILE_BACKEND_BUCKET,
      FILE_STORAGE_BACKEND_PATH: STORAGE_FILE_PATH,
    };
  }
  return {
    STORAGE_BACKEND: "s3",
    GLOBAL_S3_BUCKET: s3.bucket,
    ...(s3.endpoint !== undefined
      ? { GLOBAL_S3_ENDPOINT: s3.endpoint, GLOBAL_S3_PROTOCOL: new URL(s3.endpoint).protocol.slice(0, -1) }
      : {}),
    GLOBAL_S3_FORCE_PATH_STYLE: String(s3.forcePathStyle),
    ...(s3.accessKeyId !== undefined ? { AWS_ACCESS_KEY_ID: s3.accessKeyId } : {}),
    ...(s3.secretAccessKey !== undefined ? { AWS_SECRET_ACCESS_KEY: s3.secretAccessKey } : {}),
  };
}

/** What sets the S3-protocol key pair, for extraEnv's error. */
const S3_PROTOCOL_KEYS = "a generated secret (the S3-protocol key pair, stack outputs storageS3…)";

export const storage = defineService({
  role: "storage",
  image: "storage",
  port: STORAGE_PORT,
  aliases: ["storage"],
  healthcheck: {
    tests: ["CMD", "wget", "--no-verbose", "--tries=1", "--spider", `http://storage:${STORAGE_PORT}/status`],
    interval: "5s",
    timeout: "5s",
    retries: 3,
    startPeriod: "10s",
  },
  dependsOn: after("db", "rest", "imgproxy"),
  volumes: [{ volume: "storage-data", containerPath: STORAGE_FILE_PATH }],
  secretEnv: true,
  hs256Secrets: ["AUTH_JWT_SECRET"],
  kubernetes: {
    replicas: {
      default: (settings) => (settings.storage.backend === "s3" ? 2 : 1),
      why:
        "stateless with the S3 backend (2); with the file backend its objects live on one ReadWriteOnce volume, " +
        "which every pod must share on one node (1)",
    },
    image: {
      // supabase/storage `Dockerfile` (node:alpine) declares no USER: node runs as root and writes the file
      // backend's objects as root.
      readOnlyRootFilesystem: false,
      why: "supabase/storage `Dockerfile` has no USER (root), and the file backend's objects on the volume are root's",
    },
    resources: { requests: { cpu: "50m", memory: "128Mi" }, limits: { memory: "512Mi" } },
  },
  env: environment({
    keyring: ["longestTrustedAnonKey", "longestTrustedServiceRoleKey", "jwtSecret", "verifierJwks"],
    dbRoles: ["supabase_storage_admin"],
    secrets: ["s3ProtocolAccessKeyId", "s3ProtocolAccessKeySecret", "storageJwtSecret"],
    table: {
      // The longest-trusted key's role JWTs: valid before and after a promotion, so a promotion leaves storage alone.
      ANON_KEY: managed(SOURCES.keyring, ({ keyring }) => keyring.longestTrustedAnonKey),
      SERVICE_KEY: managed(SOURCES.keyring, ({ keyring }) => keyring.longestTrustedServiceRoleKey),
      POSTGREST_URL: managed(SOURCES.network, ({ url }) => url("rest")),
      // Storage signs its signed URLs with it, and verifies HS256 tokens without a kid with it (supabase/storage
      // `src/internal/database/tenant.ts`, `src/internal/auth/jwt.ts`).
      AUTH_JWT_SECRET: managed(SOURCES.jwtSecret, ({ settings, keyring, secrets }) =>
        hs256Secret(settings, keyring.jwtSecret, secrets.storageJwtSecret, "storageJwtSecret"),
      ),
      JWT_JWKS: managed(SOURCES.keyring, ({ keyring }) => JSON.stringify(keyring.verifierJwks)),
      DATABASE_URL: managed(SOURCES.dbPassword, ({ dbPasswords }) =>
        postgresUrl("supabase_storage_admin", dbPasswords.supabase_storage_admin),
      ),
      STORAGE_PUBLIC_URL: managed(configKey("apiExternalUrl"), ({ settings }) => settings.apiExternalUrl),
      REQUEST_ALLOW_X_FORWARDED_PATH: "true",
      FILE_SIZE_LIMIT: "52428800",
      backend: managedGroup(
        configKey("storage.backend"),
        ["STORAGE_BACKEND", "GLOBAL_S3_*", "FILE_STORAGE_BACKEND_PATH", "AWS_*"],
        ({ settings }) => storageBackendEnv(settings.storage),
      ),
      TENANT_ID: managed(configKey("storage.tenantId"), ({ settings }) => settings.storage.tenantId),
      REGION: managed(configKey("storage.s3.region"), ({ settings }) => storageRegion(settings.storage)),
      ENABLE_IMAGE_TRANSFORMATION: managed(configKey("storage.imageTransformation"), ({ settings }) =>
        settings.storage.imageTransformation ? "true" : undefined,
      ),
      IMGPROXY_URL: managed(configKey("storage.imageTransformation"), ({ settings, url }) =>
        settings.storage.imageTransformation ? url("imgproxy") : undefined,
      ),
      // The key pair S3 clients sign requests to `/storage/v1/s3` with (stack outputs `storageS3…`).
      S3_PROTOCOL_ACCESS_KEY_ID: managed(S3_PROTOCOL_KEYS, ({ secrets }) => secrets.s3ProtocolAccessKeyId),
      S3_PROTOCOL_ACCESS_KEY_SECRET: managed(S3_PROTOCOL_KEYS, ({ secrets }) => secrets.s3ProtocolAccessKeySecret),
      reserved: managedGroup(SOURCES.keyring, ["AUTH_JWT_*", "PGRST_JWT_*"]),
      ports: managedGroup(SOURCES.port, ["PORT", "SERVER_PORT"]),
    },
  }),
});
