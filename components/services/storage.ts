/**
 * storage, on its file backend. `AUTH_JWT_SECRET` stays even in asymmetric mode: storage signs its signed URLs
 * with it. `TENANT_ID`, `REGION` and `GLOBAL_S3_BUCKET` take the official `.env.example` values (`stub`); with the
 * file backend the bucket is a directory name under `FILE_STORAGE_BACKEND_PATH`.
 */
import { configKey } from "../config/schema";
import { postgresUrl } from "./db/db";
import { after, defineService, reads } from "./service";

/** Where files live inside the container (the storage volume is mounted here). */
export const STORAGE_FILE_PATH = "/var/lib/storage";

const STORAGE_PORT = 5000;

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
  dependsOn: after("db", "rest"),
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
    PORT: "the stack network (the gateway and the health check call this port)",
    SERVER_PORT: "the stack network (the gateway and the health check call this port)",
  },
  env: reads({
    keyring: ["longestTrustedAnonKey", "longestTrustedServiceRoleKey", "jwtSecret", "verifierJwks"],
    dbRoles: ["supabase_storage_admin"],
    build: ({ settings, keyring, dbPasswords, url }) => ({
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
      STORAGE_BACKEND: "file",
      GLOBAL_S3_BUCKET: "stub",
      FILE_STORAGE_BACKEND_PATH: STORAGE_FILE_PATH,
      TENANT_ID: "stub",
      REGION: "stub",
    }),
  }),
});
