/**
 * pooler (supavisor), the Postgres connection pooler; runs with `pooler.enabled` (default true, as upstream). Its
 * proxy ports are published on `pooler.host`; clients connect as `postgres.<tenantId>` with the role's own password,
 * which supavisor checks against the database through `pgbouncer.get_auth` as the `pgbouncer` role.
 *
 * Supavisor keeps its tenants in the `_supabase` database (created by the db init SQL, `db/init.ts`). The tenant is
 * registered by a script run before the server starts (`poolerTenantScript`), once: later starts leave an existing
 * tenant as it is, as upstream's `docker/volumes/pooler/pooler.exs` does. Its management API takes only HS* tokens
 * signed with `API_JWT_SECRET` (supabase/supavisor `lib/supavisor/jwt.ex`), so it cannot verify with the JWKS;
 * nothing here calls it, and the secret never changes with the keyring.
 */
import { listensOnEveryAddress } from "../../schema/fields";
import { configKey } from "../../schema/project";
import type { PoolerConfig } from "./settings";
import { POSTGRES, postgresUrl } from "../db/db";
import { SUPABASE_INTERNAL_DATABASE } from "../db/init";
import {
  after,
  defineService,
  environment,
  hs256Secret,
  managed,
  managedGroup,
  reads,
  required,
  SOURCES,
} from "../service";

/** Supavisor's ports inside its container: the management API, then session and transaction pooling. */
export const POOLER_PORTS = { api: 4000, session: 5432, transaction: 6543 } as const;

/** Where the tenant script is uploaded. */
export const POOLER_SCRIPT_PATH = "/etc/pooler/pooler.exs";

/** What supavisor demands of its generated secrets (the stack generates them at these lengths). */
export const POOLER_SECRET_LENGTHS = {
  /** Phoenix's cookie/session secret: at least 64 characters. */
  secretKeyBase: 64,
  /** The AES-256-GCM key supavisor encrypts tenant passwords with: 32 bytes. */
  vaultEncKey: 32,
} as const;

/** Supavisor's `SECRET_KEY_BASE`, refused when shorter than supavisor accepts. */
function checkedSecretKeyBase(value: string | undefined): string {
  const secretKeyBase = required(value, "poolerSecretKeyBase");
  if (secretKeyBase.length < POOLER_SECRET_LENGTHS.secretKeyBase) {
    throw new Error(`supavisor's SECRET_KEY_BASE must be at least ${POOLER_SECRET_LENGTHS.secretKeyBase} characters`);
  }
  return secretKeyBase;
}

/** Supavisor's `VAULT_ENC_KEY`, refused unless it has exactly the AES-256 key's length. */
function checkedVaultEncKey(value: string | undefined): string {
  const vaultEncKey = required(value, "poolerVaultEncKey");
  if (vaultEncKey.length !== POOLER_SECRET_LENGTHS.vaultEncKey) {
    throw new Error(`supavisor's VAULT_ENC_KEY must be exactly ${POOLER_SECRET_LENGTHS.vaultEncKey} characters`);
  }
  return vaultEncKey;
}

/** The connection string of one pooling mode, as a client on the host types it (password left out). */
export function poolerConnectionString(config: PoolerConfig, mode: "session" | "transaction"): string {
  const port = mode === "session" ? config.sessionPort : config.transactionPort;
  // Published on every address: a client on the host reaches it at localhost.
  const host = listensOnEveryAddress(config.host)
    ? "localhost"
    : config.host.includes(":")
      ? `[${config.host}]`
      : config.host;
  return `postgresql://postgres.${config.tenantId}@${host}:${port}/${POSTGRES.database}`;
}

/**
 * The Elixir script `supavisor eval` runs before the server: registers the tenant unless it exists. Every value
 * comes from the environment, so the script itself holds no secret and never changes with the settings.
 */
export function poolerTenantScript(): string {
  return [
    "# Registers this stack's pooler tenant (written by the supabase-selfhosted Pulumi program).",
    "# Clients log in as <user>.<tenant>; supavisor looks the user's password up with the auth query, as pgbouncer.",
    "{:ok, _} = Application.ensure_all_started(:supavisor)",
    "",
    "env = fn name -> System.fetch_env!(name) end",
    'tenant = env.("POOLER_TENANT_ID")',
    "",
    "if Supavisor.Tenants.get_tenant_by_external_id(tenant) do",
    '  IO.puts("pooler tenant #{tenant} exists; left as it is")',
    "else",
    '  %{rows: [[version_text]]} = Supavisor.Repo.query!("select version()")',
    "  {:ok, server_version} = Supavisor.Helpers.parse_pg_version(version_text)",
    "",
    "  {:ok, _} =",
    "    Supavisor.Tenants.create_tenant(%{",
    '      "external_id" => tenant,',
    '      "db_host" => env.("POSTGRES_HOST"),',
    '      "db_port" => env.("POSTGRES_PORT"),',
    '      "db_database" => env.("POSTGRES_DB"),',
    '      "require_user" => false,',
    '      "auth_query" => "SELECT * FROM pgbouncer.get_auth($1)",',
    '      "default_max_clients" => env.("POOLER_MAX_CLIENT_CONN"),',
    '      "default_pool_size" => env.("POOLER_DEFAULT_POOL_SIZE"),',
    '      "default_parameter_status" => %{"server_version" => server_version},',
    '      "users" => [',
    "        %{",
    '          "db_user" => "pgbouncer",',
    '          "db_password" => env.("POOLER_PGBOUNCER_PASSWORD"),',
    '          "mode_type" => env.("POOLER_POOL_MODE"),',
    '          "pool_size" => env.("POOLER_DEFAULT_POOL_SIZE"),',
    '          "is_manager" => true',
    "        }",
    "      ]",
    "    })",
    "",
    '  IO.puts("pooler tenant #{tenant} registered")',
    "end",
    "",
  ].join("\n");
}

export const pooler = defineService({
  role: "pooler",
  image: "pooler",
  port: POOLER_PORTS.api,
  aliases: ["pooler", "supavisor"],
  healthcheck: {
    tests: ["CMD", "curl", "-sSfL", "--head", "-o", "/dev/null", `http://127.0.0.1:${POOLER_PORTS.api}/api/health`],
    interval: "10s",
    timeout: "5s",
    retries: 10,
    startPeriod: "30s",
  },
  dependsOn: after("db"),
  runs: (settings) => settings.pooler.enabled,
  // Supavisor's own migrations, the tenant script, then the server (upstream's sequence).
  command: [
    "/bin/sh",
    "-c",
    `/app/bin/migrate && /app/bin/supavisor eval "$(cat ${POOLER_SCRIPT_PATH})" && /app/bin/server`,
  ],
  publishedPorts: (settings) => [
    { internal: POOLER_PORTS.session, external: settings.pooler.sessionPort, ip: settings.pooler.host },
    { internal: POOLER_PORTS.transaction, external: settings.pooler.transactionPort, ip: settings.pooler.host },
  ],
  secretEnv: true,
  hs256Secrets: ["API_JWT_SECRET", "METRICS_JWT_SECRET"],
  kubernetes: {
    exposedBy: { setting: "pooler", nodePorts: ["sessionNodePort", "transactionNodePort"] },
    replicas: {
      default: 1,
      why:
        "two unclustered supavisor nodes would each keep their own pools (twice defaultPoolSize server connections) " +
        "and each run the tenant setup at start",
    },
    image: {
      // supabase/supavisor `Dockerfile` declares no USER; its entrypoint `limits.sh` sets the open-files limit.
      readOnlyRootFilesystem: false,
      why: "supabase/supavisor `Dockerfile` has no USER: it runs as root as upstream runs it",
    },
    resources: { requests: { cpu: "100m", memory: "256Mi" }, limits: { memory: "1Gi" } },
  },
  env: environment({
    keyring: ["jwtSecret"],
    secrets: ["postgresPassword", "poolerSecretKeyBase", "poolerVaultEncKey", "poolerJwtSecret"],
    dbRoles: ["pgbouncer"],
    table: {
      PORT: managed("the stack network (the health check calls this port)", String(POOLER_PORTS.api)),
      POSTGRES_PORT: managed(SOURCES.database, String(POSTGRES.port)),
      POSTGRES_HOST: managed(SOURCES.database, POSTGRES.host),
      POSTGRES_DB: managed(SOURCES.database, POSTGRES.database),
      DATABASE_URL: managed(SOURCES.superuserPassword, ({ secrets }) =>
        postgresUrl("supabase_admin", secrets.postgresPassword, "ecto", SUPABASE_INTERNAL_DATABASE),
      ),
      CLUSTER_POSTGRES: "true",
      SECRET_KEY_BASE: managed(SOURCES.generated, ({ secrets }) => checkedSecretKeyBase(secrets.poolerSecretKeyBase)),
      VAULT_ENC_KEY: managed("a generated secret (supavisor encrypts its tenants' passwords with it)", ({ secrets }) =>
        checkedVaultEncKey(secrets.poolerVaultEncKey),
      ),
      // Supavisor's management and metrics APIs take HS* tokens signed with these (supabase/supavisor
      // `lib/supavisor/jwt.ex`); nothing in the stack calls them.
      API_JWT_SECRET: managed(SOURCES.jwtSecret, ({ settings, keyring, secrets }) =>
        hs256Secret(settings, keyring.jwtSecret, secrets.poolerJwtSecret, "poolerJwtSecret"),
      ),
      METRICS_JWT_SECRET: managed(SOURCES.jwtSecret, ({ settings, keyring, secrets }) =>
        hs256Secret(settings, keyring.jwtSecret, secrets.poolerJwtSecret, "poolerJwtSecret"),
      ),
      REGION: "local",
      ERL_AFLAGS: "-proto_dist inet_tcp",
      POOLER_TENANT_ID: managed(configKey("pooler.tenantId"), ({ settings }) => settings.pooler.tenantId),
      POOLER_DEFAULT_POOL_SIZE: managed(configKey("pooler.defaultPoolSize"), ({ settings }) =>
        String(settings.pooler.defaultPoolSize),
      ),
      POOLER_MAX_CLIENT_CONN: managed(configKey("pooler.maxClientConnections"), ({ settings }) =>
        String(settings.pooler.maxClientConnections),
      ),
      POOLER_POOL_MODE: "transaction",
      // Supavisor's own connections to its metadata database.
      DB_POOL_SIZE: "5",
      // Read by the tenant script only: upstream gives pgbouncer the superuser's password, here it has its own.
      POOLER_PGBOUNCER_PASSWORD: managed(SOURCES.dbPassword, ({ dbPasswords }) => dbPasswords.pgbouncer),
      database: managedGroup(SOURCES.database, ["POSTGRES_*"]),
      ports: managedGroup("the published ports (pooler.sessionPort, pooler.transactionPort)", ["PROXY_PORT_*"]),
    },
  }),
  files: reads({ build: () => [{ file: POOLER_SCRIPT_PATH, content: poolerTenantScript() }] }),
});
