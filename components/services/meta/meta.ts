/** meta (postgres-meta), the database API studio uses; runs only with studio. */
import { POSTGRES } from "../db/db";
import { after, defineService, environment, managed, managedGroup, required } from "../service";

const META_PORT = 8080;

/** What sets meta's database connection, for extraEnv's error. */
const META_DB = "the stack's database and its superuser password (postgresPassword)";

export const meta = defineService({
  role: "meta",
  image: "meta",
  port: META_PORT,
  aliases: ["meta"],
  // The probe postgres-meta's own Dockerfile declares (its image runs Node).
  healthcheck: {
    tests: [
      "CMD",
      "node",
      "-e",
      `require('http').get('http://localhost:${META_PORT}/health', (r) => { if (r.statusCode !== ` +
        `200) throw new Error(String(r.statusCode)) ` +
        `})`,
    ],
    interval: "5s",
    timeout: "5s",
    retries: 3,
  },
  dependsOn: after("db"),
  runs: (settings) => settings.studio,
  secretEnv: true,
  kubernetes: {
    replicas: { default: 1, why: "only the dashboard calls it; stateless, so more pods are safe" },
    image: {
      // supabase/postgres-meta `Dockerfile` (node:slim) declares no USER.
      readOnlyRootFilesystem: false,
      why: "supabase/postgres-meta `Dockerfile` has no USER: it runs as root as upstream runs it",
    },
    resources: { requests: { cpu: "50m", memory: "96Mi" }, limits: { memory: "256Mi" } },
  },
  env: environment({
    secrets: ["postgresPassword", "metaCryptoKey"],
    table: {
      PG_META_PORT: managed(
        "the stack network (studio, the gateway and the health check call this port)",
        String(META_PORT),
      ),
      PG_META_DB_HOST: managed(META_DB, POSTGRES.host),
      PG_META_DB_PORT: managed(META_DB, String(POSTGRES.port)),
      PG_META_DB_NAME: managed(META_DB, POSTGRES.database),
      PG_META_DB_USER: managed(META_DB, "postgres"),
      PG_META_DB_PASSWORD: managed(META_DB, ({ secrets }) => secrets.postgresPassword),
      CRYPTO_KEY: managed("a generated secret (studio encrypts connection strings with it)", ({ secrets }) =>
        required(secrets.metaCryptoKey, "metaCryptoKey"),
      ),
      reserved: managedGroup(META_DB, ["PG_META_DB_*"]),
    },
  }),
});
