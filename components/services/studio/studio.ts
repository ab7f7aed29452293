/**
 * studio, the dashboard, served by the gateway at `/` behind basic-auth; runs only with `studio: true`. It needs
 * the role JWTs and the HS256 secret (its storage browser breaks without them after a key migration,
 * supabase/supabase#44055), and the opaque keys to show them to the user.
 */
import { configKey } from "../../schema/project";
import { POSTGRES } from "../db/db";
import { REST_SCHEMAS } from "../rest/rest";
import { after, defineService, reads, required } from "../service";

const STUDIO_PORT = 3000;

/**
 * Where studio keeps the SQL snippets users save (`SNIPPETS_MANAGEMENT_FOLDER`, as the official compose mounts
 * `./volumes/snippets` there): on a retained volume, so recreating studio (a revocation, an image change) keeps them.
 */
export const STUDIO_SNIPPETS_PATH = "/app/snippets";

/** A `node -e` probe that fails unless `url` answers 200 (the studio image ships Node, not curl). */
function nodeHttpProbe(url: string): string[] {
  return [
    "CMD",
    "node",
    "-e",
    `fetch('${url}').then((r) => { if (r.status !== 200) throw new Error(String(r.status)) })`,
  ];
}

export const studio = defineService({
  role: "studio",
  image: "studio",
  port: STUDIO_PORT,
  aliases: ["studio"],
  healthcheck: {
    tests: nodeHttpProbe(`http://localhost:${STUDIO_PORT}/api/platform/profile`),
    interval: "5s",
    timeout: "10s",
    retries: 3,
    startPeriod: "20s",
  },
  dependsOn: after("meta"),
  runs: (settings) => settings.studio,
  volumes: [{ volume: "studio-snippets", containerPath: STUDIO_SNIPPETS_PATH }],
  secretEnv: true,
  managedEnv: {
    POSTGRES_PASSWORD: "the superuser password (postgresPassword)",
    POSTGRES_HOST: "the stack's database",
    POSTGRES_PORT: "the stack's database",
    POSTGRES_DB: "the stack's database",
    PG_META_CRYPTO_KEY: "a generated secret (shared with meta)",
    STUDIO_PG_META_URL: "the stack network",
    SUPABASE_URL: "the stack network",
    SUPABASE_PUBLIC_URL: configKey("apiExternalUrl"),
    SUPABASE_ANON_KEY: "the signing keyring",
    SUPABASE_SERVICE_KEY: "the signing keyring",
    SUPABASE_PUBLISHABLE_KEY: "the signing keyring",
    SUPABASE_SECRET_KEY: "the signing keyring",
    AUTH_JWT_SECRET: "the signing keyring (jwtSecret)",
    SNIPPETS_MANAGEMENT_FOLDER: "the studio-snippets volume",
    HOSTNAME: "the stack network (the gateway and the health check call studio on it)",
  },
  env: reads({
    keyring: ["longestTrustedAnonKey", "longestTrustedServiceRoleKey", "jwtSecret", "publishableKey", "secretKey"],
    secrets: ["postgresPassword", "metaCryptoKey"],
    build: ({ settings, keyring, secrets, url }) => ({
      HOSTNAME: "0.0.0.0",
      STUDIO_PG_META_URL: url("meta"),
      POSTGRES_PORT: String(POSTGRES.port),
      POSTGRES_HOST: POSTGRES.host,
      POSTGRES_DB: POSTGRES.database,
      POSTGRES_PASSWORD: secrets.postgresPassword,
      POSTGRES_USER_READ_WRITE: "postgres",
      PG_META_CRYPTO_KEY: required(secrets.metaCryptoKey, "metaCryptoKey"),
      PGRST_DB_SCHEMAS: REST_SCHEMAS,
      DEFAULT_ORGANIZATION_NAME: "Default Organization",
      DEFAULT_PROJECT_NAME: "Default Project",
      SUPABASE_URL: url("kong"),
      SUPABASE_PUBLIC_URL: settings.apiExternalUrl,
      // The longest-trusted key's role JWTs: valid before and after a promotion, so a promotion leaves studio alone.
      SUPABASE_ANON_KEY: keyring.longestTrustedAnonKey,
      SUPABASE_SERVICE_KEY: keyring.longestTrustedServiceRoleKey,
      AUTH_JWT_SECRET: keyring.jwtSecret,
      SUPABASE_PUBLISHABLE_KEY: keyring.publishableKey,
      SUPABASE_SECRET_KEY: keyring.secretKey,
      // The logs pages need the analytics stack, which this program does not run.
      ENABLED_FEATURES_LOGS_ALL: "false",
      SNIPPETS_MANAGEMENT_FOLDER: STUDIO_SNIPPETS_PATH,
    }),
  }),
});
