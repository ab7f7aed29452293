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
import { after, defineService, reads, type EnvMap } from "../service";

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
  managedEnv: {
    ANON_KEY: "the signing keyring",
    SERVICE_KEY: "the signing keyring",
    AUTH_JWT_SECRET: "the signing keyring (jwtSecret)",
    "AUTH_JWT_*": "the signing keyring",
    JWT_JWKS: "the signing keyring",
    "PGRST_JWT_*": "the signing keyring",
    DATABASE_URL: "the database password (postgresPassword)",
    POSTGREST_URL: "the stack network",
    STORAGE_PUBLIC_URL: configKey("apiExternalUrl"),
    FILE_STORAGE_BACKEND_PATH: "the storage volume",
    STORAGE_BACKEND: configKey("storage.backend"),
    "GLOBAL_S3_*": configKey("storage.s3"),
    "AWS_*": configKey("storage.s3"),
    TENANT_ID: configKey("storage.tenantId"),
    REGION: configKey("storage.s3.region"),
    ENABLE_IMAGE_TRANSFORMATION: configKey("storage.imageTransformation"),
    IMGPROXY_URL: configKey("storage.imageTransformation"),
    "S3_PROTOCOL_*": "a generated secret (the S3-protocol key pair, stack outputs storageS3…)",
    PORT: "the stack network (the gateway and the health check call this port)",
    SERVER_PORT: "the stack network (the gateway and the health check call this port)",
  },
  env: reads({
    keyring: ["longestTrustedAnonKey", "longestTrustedServiceRoleKey", "jwtSecret", "verifierJwks"],
    dbRoles: ["supabase_storage_admin"],
    secrets: ["s3ProtocolAccessKeyId", "s3ProtocolAccessKeySecret"],
    build: ({ settings, keyring, dbPasswords, secrets, url }) => ({
      // The longest-trusted key's role JWTs: valid before and after a promotion, so a promotion leaves storage alone.
      ANON_KEY: keyring.longestTrustedAnonKey,
      SERVICE_KEY: keyring.longestTrustedServiceRoleKey,
      POSTGREST_URL: url("rest"),
      AUTH_JWT_SECRET: keyring.jwtSecret,
      JWT_JWKS: JSON.stringify(keyring.verifierJwks),
      DATABASE_URL: postgresUrl("supabase_storage_admin", dbPasswords.supabase_storage_admin),
      STORAGE_PUBLIC_URL: settings.apiExternalUrl,
      REQUEST_ALLOW_X_FORWARDED_PATH: "true",
      FILE_SIZE_LIMIT: "52428800",
      ...storageBackendEnv(settings.storage),
      TENANT_ID: settings.storage.tenantId,
      REGION: storageRegion(settings.storage),
      ...(settings.storage.imageTransformation
        ? { ENABLE_IMAGE_TRANSFORMATION: "true", IMGPROXY_URL: url("imgproxy") }
        : {}),
      // The key pair S3 clients sign requests to `/storage/v1/s3` with (stack outputs `storageS3…`).
      S3_PROTOCOL_ACCESS_KEY_ID: secrets.s3ProtocolAccessKeyId,
      S3_PROTOCOL_ACCESS_KEY_SECRET: secrets.s3ProtocolAccessKeySecret,
    }),
  }),
});
