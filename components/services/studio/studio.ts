/**
 * studio, the dashboard, served by the gateway at `/` behind basic-auth; runs only with `studio: true`. It needs
 * the role JWTs and the HS256 secret (its storage browser breaks without them after a key migration,
 * supabase/supabase#44055), and the opaque keys to show them to the user.
 */
import { configKey } from "../../schema/project";
import { POSTGRES } from "../db/db";
import { REST_SCHEMAS } from "../rest/rest";
import { after, defineService, environment, hs256Secret, managed, required, SOURCES } from "../service";

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
  kubernetes: {
    replicas: {
      default: 1,
      why: "the dashboard: its snippets volume is ReadWriteOnce, so every pod would share one node",
    },
    image: {
      // supabase/supabase `apps/studio/Dockerfile` (node:slim) declares no USER; Next.js writes its cache under .next.
      readOnlyRootFilesystem: false,
      why: "supabase/supabase `apps/studio/Dockerfile` has no USER (root), and Next.js writes its cache in the image",
    },
    resources: { requests: { cpu: "100m", memory: "256Mi" }, limits: { memory: "1Gi" } },
  },
  env: environment({
    keyring: ["longestTrustedAnonKey", "longestTrustedServiceRoleKey", "jwtSecret", "publishableKey", "secretKey"],
    secrets: ["postgresPassword", "metaCryptoKey", "studioJwtSecret"],
    table: {
      HOSTNAME: managed("the stack network (the gateway and the health check call studio on it)", "0.0.0.0"),
      STUDIO_PG_META_URL: managed(SOURCES.network, ({ url }) => url("meta")),
      POSTGRES_PORT: managed(SOURCES.database, String(POSTGRES.port)),
      POSTGRES_HOST: managed(SOURCES.database, POSTGRES.host),
      POSTGRES_DB: managed(SOURCES.database, POSTGRES.database),
      POSTGRES_PASSWORD: managed(SOURCES.superuserPassword, ({ secrets }) => secrets.postgresPassword),
      POSTGRES_USER_READ_WRITE: "postgres",
      PG_META_CRYPTO_KEY: managed("a generated secret (shared with meta)", ({ secrets }) =>
        required(secrets.metaCryptoKey, "metaCryptoKey"),
      ),
      PGRST_DB_SCHEMAS: REST_SCHEMAS,
      DEFAULT_ORGANIZATION_NAME: "Default Organization",
      DEFAULT_PROJECT_NAME: "Default Project",
      SUPABASE_URL: managed(SOURCES.network, ({ url }) => url("kong")),
      SUPABASE_PUBLIC_URL: managed(configKey("apiExternalUrl"), ({ settings }) => settings.apiExternalUrl),
      // The longest-trusted key's role JWTs: valid before and after a promotion, so a promotion leaves studio alone.
      SUPABASE_ANON_KEY: managed(SOURCES.keyring, ({ keyring }) => keyring.longestTrustedAnonKey),
      SUPABASE_SERVICE_KEY: managed(SOURCES.keyring, ({ keyring }) => keyring.longestTrustedServiceRoleKey),
      // Studio shows it as the project's JWT secret (supabase/supabase `apps/studio/lib/api/self-hosted/settings.ts`);
      // without legacyHs256 no service accepts what it would sign with it.
      AUTH_JWT_SECRET: managed(SOURCES.jwtSecret, ({ settings, keyring, secrets }) =>
        hs256Secret(settings, keyring.jwtSecret, secrets.studioJwtSecret, "studioJwtSecret"),
      ),
      SUPABASE_PUBLISHABLE_KEY: managed(SOURCES.keyring, ({ keyring }) => keyring.publishableKey),
      SUPABASE_SECRET_KEY: managed(SOURCES.keyring, ({ keyring }) => keyring.secretKey),
      // The logs pages need the analytics stack, which this program does not run.
      ENABLED_FEATURES_LOGS_ALL: "false",
      SNIPPETS_MANAGEMENT_FOLDER: managed("the studio-snippets volume", STUDIO_SNIPPETS_PATH),
    },
  }),
});
