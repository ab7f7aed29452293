/**
 * realtime. `SEED_SELF_HOST` re-creates the `realtime-dev` tenant from this env at every start, which is how a
 * new JWKS reaches it; `API_JWT_JWKS` must be an object with `keys` (an array fails, supabase/realtime#1269).
 */
import { configKey } from "../../schema/project";
import { POSTGRES } from "../db/db";
import { after, defineService, environment, hs256Secret, managed, managedGroup, SOURCES } from "../service";

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

/** Realtime's `DB_ENC_KEY`, refused unless it has exactly the AES-128 key's length. */
function checkedDbEncKey(value: string): string {
  if (value.length !== REALTIME_SECRET_LENGTHS.dbEncKey) {
    throw new Error(`realtime's DB_ENC_KEY must be exactly ${REALTIME_SECRET_LENGTHS.dbEncKey} characters`);
  }
  return value;
}

/** Realtime's `SECRET_KEY_BASE`, refused when shorter than Phoenix accepts. */
function checkedSecretKeyBase(value: string): string {
  if (value.length < REALTIME_SECRET_LENGTHS.secretKeyBase) {
    throw new Error(`realtime's SECRET_KEY_BASE must be at least ${REALTIME_SECRET_LENGTHS.secretKeyBase} characters`);
  }
  return value;
}

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
  hs256Secrets: ["API_JWT_SECRET", "METRICS_JWT_SECRET"],
  kubernetes: {
    replicas: {
      default: 1,
      why:
        "two unclustered nodes (DNS_NODES is empty) would each stream the tenant's replication slot and keep their " +
        "own presence and broadcast state, so clients on different pods would not see each other",
    },
    image: {
      // supabase/realtime `Dockerfile` declares no USER; `run.sh` runs the migrations and the seed as nobody with
      // `sudo -E -u nobody`, so it starts as root.
      readOnlyRootFilesystem: false,
      why: "supabase/realtime `Dockerfile` has no USER and its `run.sh` switches to nobody with sudo, so it starts as root",
    },
    resources: { requests: { cpu: "100m", memory: "256Mi" }, limits: { memory: "1Gi" } },
  },
  env: environment({
    keyring: ["verifierJwks", "jwtSecret"],
    secrets: ["postgresPassword", "realtimeSecretKeyBase", "realtimeDbEncKey", "realtimeJwtSecret"],
    table: {
      PORT: managed(SOURCES.port, String(REALTIME_PORT)),
      DB_HOST: managed(SOURCES.database, POSTGRES.host),
      DB_PORT: managed(SOURCES.database, String(POSTGRES.port)),
      DB_USER: managed(SOURCES.database, "supabase_admin"),
      DB_PASSWORD: managed(SOURCES.superuserPassword, ({ secrets }) => secrets.postgresPassword),
      DB_NAME: managed(SOURCES.database, POSTGRES.database),
      DB_AFTER_CONNECT_QUERY: "SET search_path TO _realtime",
      DB_ENC_KEY: managed(
        "a generated secret (realtime encrypts its tenant's database password with it)",
        ({ secrets }) => checkedDbEncKey(secrets.realtimeDbEncKey),
      ),
      // The tenant's jwt_secret: realtime verifies HS256 tokens without a kid with it, and it guards the tenant
      // management API (supabase/realtime `priv/repo/seeds.exs`, `config/runtime.exs`).
      API_JWT_SECRET: managed(SOURCES.jwtSecret, ({ settings, keyring, secrets }) =>
        hs256Secret(settings, keyring.jwtSecret, secrets.realtimeJwtSecret, "realtimeJwtSecret"),
      ),
      API_JWT_JWKS: managed(SOURCES.keyring, ({ keyring }) => JSON.stringify(keyring.verifierJwks)),
      SECRET_KEY_BASE: managed(SOURCES.generated, ({ secrets }) => checkedSecretKeyBase(secrets.realtimeSecretKeyBase)),
      METRICS_JWT_SECRET: managed(SOURCES.jwtSecret, ({ settings, keyring, secrets }) =>
        hs256Secret(settings, keyring.jwtSecret, secrets.realtimeJwtSecret, "realtimeJwtSecret"),
      ),
      ERL_AFLAGS: "-proto_dist inet_tcp",
      DNS_NODES: "''",
      RLIMIT_NOFILE: "10000",
      APP_NAME: "realtime",
      SEED_SELF_HOST: managed(
        "the signing keyring (the tenant's JWKS is re-seeded from the environment at every start)",
        "true",
      ),
      RUN_JANITOR: "true",
      DISABLE_HEALTHCHECK_LOGGING: "true",
      jwt: managedGroup(SOURCES.keyring, ["API_JWT_*"]),
    },
  }),
});

/**
 * The first realtime that verifies EdDSA tokens: before supabase/realtime#2060 (tag v2.125.1),
 * `lib/realtime_web/channels/auth/jwt_verification.ex` knew the OKP algorithms only as `Ed25519`/`Ed448`, not as
 * `EdDSA`, the name auth writes, and refused every such token.
 */
export const REALTIME_EDDSA_SINCE = [2, 125, 1] as const;

/** A warning when the current key signs with EdDSA and the realtime image is a tagged version before that. */
export function realtimeAlgorithmWarnings(image: string, currentAlgorithm: string | undefined): string[] {
  const version = /:v?(\d+)\.(\d+)\.(\d+)(?:@|$)/.exec(image)?.slice(1).map(Number);
  if (currentAlgorithm !== "EdDSA" || !version) return [];
  const older = REALTIME_EDDSA_SINCE.findIndex((part, i) => version[i] !== part);
  if (older === -1 || version[older] > REALTIME_EDDSA_SINCE[older]) return [];
  return [
    `${configKey("images.realtime")} is ${image}, older than v${REALTIME_EDDSA_SINCE.join(".")}: it refuses EdDSA ` +
      `tokens, so with an EdDSA key current every realtime channel refuses its users. Use v` +
      `${REALTIME_EDDSA_SINCE.join(".")} or later, or an ES256 or RS256 key.`,
  ];
}
