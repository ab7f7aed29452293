/**
 * realtime. `SEED_SELF_HOST` re-creates the `realtime-dev` tenant from this env at every start, which is how a
 * new JWKS reaches it; `API_JWT_JWKS` must be an object with `keys` (an array fails, supabase/realtime#1269).
 */
import { POSTGRES } from "../db/db";
import { after, defineService, reads } from "../service";

/**
 * Realtime derives its tenant from the first label of the Host header, and the self-hosted tenant is
 * `realtime-dev`; the gateway must therefore reach realtime under this name.
 */
export const REALTIME_HOST = "realtime-dev.supabase-realtime";

const REALTIME_PORT = 4000;

/** What realtime demands of its generated secrets (the stack generates them at these lengths). */
export const REALTIME_SECRET_LENGTHS = {
  /** AES-128 key realtime encrypts the tenant's db password with: exactly 16 characters. */
  dbEncKey: 16,
  /** Phoenix's cookie/session secret: at least 64 characters. */
  secretKeyBase: 64,
} as const;

export const realtime = defineService({
  role: "realtime",
  image: "realtime",
  port: REALTIME_PORT,
  aliases: [REALTIME_HOST, "realtime"],
  // Upstream's probe authenticates with the anon JWT, which would put a key-dependent (and secret) value into the
  // health check and recreate realtime on every promote. `/api/ping` needs no token and still fails until the
  // tenant is seeded (supabase/realtime `lib/realtime_web/router.ex`).
  healthcheck: {
    tests: [
      "CMD",
      "curl",
      "-sSf",
      "-o",
      "/dev/null",
      "-H",
      `Host: ${REALTIME_HOST}`,
      `http://localhost:${REALTIME_PORT}/api/ping`,
    ],
    interval: "30s",
    timeout: "5s",
    retries: 3,
    startPeriod: "10s",
  },
  dependsOn: after("db"),
  // The superuser password: realtime manages replication.
  secretEnv: true,
  managedEnv: {
    "API_JWT_*": "the signing keyring",
    METRICS_JWT_SECRET: "the signing keyring",
    DB_PASSWORD: "the superuser password (postgresPassword)",
    DB_HOST: "the stack's database",
    DB_PORT: "the stack's database",
    DB_USER: "the stack's database",
    DB_NAME: "the stack's database",
    DB_ENC_KEY: "a generated secret (realtime encrypts its tenant's database password with it)",
    SECRET_KEY_BASE: "a generated secret",
    PORT: "the stack network (the gateway and the health check call this port)",
    SEED_SELF_HOST: "the signing keyring (the tenant's JWKS is re-seeded from the environment at every start)",
  },
  env: reads({
    keyring: ["verifierJwks", "jwtSecret"],
    secrets: ["postgresPassword", "realtimeSecretKeyBase", "realtimeDbEncKey"],
    build: ({ keyring, secrets }) => {
      if (secrets.realtimeDbEncKey.length !== REALTIME_SECRET_LENGTHS.dbEncKey) {
        throw new Error(`realtime's DB_ENC_KEY must be exactly ${REALTIME_SECRET_LENGTHS.dbEncKey} characters`);
      }
      if (secrets.realtimeSecretKeyBase.length < REALTIME_SECRET_LENGTHS.secretKeyBase) {
        throw new Error(
          `realtime's SECRET_KEY_BASE must be at least ${REALTIME_SECRET_LENGTHS.secretKeyBase} characters`,
        );
      }
      return {
        PORT: String(REALTIME_PORT),
        DB_HOST: POSTGRES.host,
        DB_PORT: String(POSTGRES.port),
        DB_USER: "supabase_admin",
        DB_PASSWORD: secrets.postgresPassword,
        DB_NAME: POSTGRES.database,
        DB_AFTER_CONNECT_QUERY: "SET search_path TO _realtime",
        DB_ENC_KEY: secrets.realtimeDbEncKey,
        API_JWT_SECRET: keyring.jwtSecret,
        API_JWT_JWKS: JSON.stringify(keyring.verifierJwks),
        SECRET_KEY_BASE: secrets.realtimeSecretKeyBase,
        METRICS_JWT_SECRET: keyring.jwtSecret,
        ERL_AFLAGS: "-proto_dist inet_tcp",
        DNS_NODES: "''",
        RLIMIT_NOFILE: "10000",
        APP_NAME: "realtime",
        SEED_SELF_HOST: "true",
        RUN_JANITOR: "true",
        DISABLE_HEALTHCHECK_LOGGING: "true",
      };
    },
  }),
});
