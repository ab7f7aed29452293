/**
 * rest (PostgREST). `PGRST_JWT_SECRET` is the verifier JWKS object: PostgREST reads it as a JWKS, else as one JWK,
 * and silently uses anything else as an HMAC secret (PostgREST `src/PostgREST/Config.hs`, `parseSecret`), so it is
 * always serialized from the model, never hand-built.
 *
 * rest gets no `PGRST_APP_SETTINGS_JWT_SECRET`: PostgREST would `set_config('app.settings.jwt_secret', …)` on every
 * request (PostgREST `src/PostgREST/Query/PreQuery.hs`), handing the HS256 secret to any SQL a request runs, and
 * with it the power to mint service_role tokens that realtime and storage accept (both always verify HS256 tokens
 * without a kid against that secret). Verifying tokens never reads it,
 * in legacy HS256 mode neither (the `oct` key in the JWKS does that); it only served SQL that signs its own
 * HS256 tokens. The official compose dropped it too (supabase/supabase `docker/docker-compose.yml`).
 */
import { configKey } from "../../schema/project";
import { postgresUrl } from "../db/db";
import { after, defineService, environment, managed, managedGroup, SOURCES } from "../service";

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
  // The JWKS holds the legacy oct key when legacyHs256 is on; the db password always.
  secretEnv: true,
  kubernetes: {
    replicas: {
      default: 2,
      why: "stateless: each pod keeps its own schema cache and pool, so either serves every request",
    },
    image: {
      // PostgREST `nix/tools/docker/default.nix`: `User = "1000"`, the image holds the static binary alone.
      runAsUser: 1000,
      readOnlyRootFilesystem: true,
      why: 'PostgREST `nix/tools/docker/default.nix`: `User = "1000"`; one static binary that writes no file',
    },
    resources: { requests: { cpu: "50m", memory: "64Mi" }, limits: { memory: "256Mi" } },
  },
  env: environment({
    keyring: ["verifierJwks"],
    dbRoles: ["authenticator"],
    table: {
      PGRST_DB_URI: managed(SOURCES.dbPassword, ({ dbPasswords }) =>
        postgresUrl("authenticator", dbPasswords.authenticator),
      ),
      PGRST_DB_SCHEMAS: REST_SCHEMAS,
      PGRST_DB_MAX_ROWS: "1000",
      PGRST_DB_EXTRA_SEARCH_PATH: "public",
      PGRST_DB_ANON_ROLE: "anon",
      // The admin server answers `postgrest --ready` (the health check).
      PGRST_ADMIN_SERVER_PORT: managed("the health check (postgrest --ready asks the admin server)", "3001"),
      PGRST_ADMIN_SERVER_HOST: "localhost",
      PGRST_JWT_SECRET: managed(SOURCES.keyring, ({ keyring }) => JSON.stringify(keyring.verifierJwks)),
      PGRST_DB_USE_LEGACY_GUCS: "false",
      PGRST_APP_SETTINGS_JWT_EXP: managed(configKey("jwtExpiry"), ({ settings }) => String(settings.jwtExpiry)),
      "PGRST_JWT_*": managedGroup(SOURCES.keyring, ["PGRST_JWT_*"]),
      PGRST_SERVER_PORT: managedGroup("the stack network (the gateway and storage call this port)", [
        "PGRST_SERVER_PORT",
      ]),
    },
  }),
});
