/** meta (postgres-meta), the database API studio uses; runs only with studio. */
import { POSTGRES } from "../db/db";
import { after, defineService, reads, required } from "../service";

const META_PORT = 8080;

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
  managedEnv: {
    "PG_META_DB_*": "the stack's database and its superuser password (postgresPassword)",
    CRYPTO_KEY: "a generated secret (studio encrypts connection strings with it)",
    PG_META_PORT: "the stack network (studio, the gateway and the health check call this port)",
  },
  env: reads({
    secrets: ["postgresPassword", "metaCryptoKey"],
    build: ({ secrets }) => ({
      PG_META_PORT: String(META_PORT),
      PG_META_DB_HOST: POSTGRES.host,
      PG_META_DB_PORT: String(POSTGRES.port),
      PG_META_DB_NAME: POSTGRES.database,
      PG_META_DB_USER: "postgres",
      PG_META_DB_PASSWORD: secrets.postgresPassword,
      CRYPTO_KEY: required(secrets.metaCryptoKey, "metaCryptoKey"),
    }),
  }),
});
