/**
 * rest (PostgREST). `PGRST_JWT_SECRET` is the verifier JWKS object: PostgREST reads it as a JWKS, else as one JWK,
 * and silently uses anything else as an HMAC secret (PostgREST `src/PostgREST/Config.hs`, `parseSecret`), so it is
 * always serialized from the model, never hand-built. `PGRST_APP_SETTINGS_JWT_SECRET` only exposes
 * `app.settings.jwt_secret` to SQL and must stay the HS256 secret.
 */
import { postgresUrl } from "./db/db";
import { after, defineService, reads } from "./service";

/** Schemas rest exposes, as the official `.env.example` sets `PGRST_DB_SCHEMAS` (studio reads the same list). */
export const REST_SCHEMAS = "public,storage,graphql_public";

export const rest = defineService({
  role: "rest",
  image: "rest",
  port: 3000,
  aliases: ["rest"],
  healthcheck: { tests: ["CMD", "postgrest", "--ready"], interval: "5s", timeout: "5s", retries: 3 },
  dependsOn: after("db"),
  command: ["postgrest"],
  // The JWKS holds the legacy oct key when legacyHs256 is on; the db password and HS256 secret always.
  secretEnv: true,
  env: reads({
    keyring: ["verifierJwks", "jwtSecret"],
    dbRoles: ["authenticator"],
    build: ({ settings, keyring, dbPasswords }) => ({
      PGRST_DB_URI: postgresUrl("authenticator", dbPasswords.authenticator),
      PGRST_DB_SCHEMAS: REST_SCHEMAS,
      PGRST_DB_MAX_ROWS: "1000",
      PGRST_DB_EXTRA_SEARCH_PATH: "public",
      PGRST_DB_ANON_ROLE: "anon",
      // The admin server answers `postgrest --ready` (the health check).
      PGRST_ADMIN_SERVER_PORT: "3001",
      PGRST_ADMIN_SERVER_HOST: "localhost",
      PGRST_JWT_SECRET: JSON.stringify(keyring.verifierJwks),
      PGRST_DB_USE_LEGACY_GUCS: "false",
      PGRST_APP_SETTINGS_JWT_SECRET: keyring.jwtSecret,
      PGRST_APP_SETTINGS_JWT_EXP: String(settings.jwtExpiry),
    }),
  }),
});
