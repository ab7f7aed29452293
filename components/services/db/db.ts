/**
 * db: Postgres from the `supabase/postgres` image, its data and pgsodium key on retained volumes, and the init SQL
 * (`init.ts`) shipped into its migrations directory.
 */
import { configKey } from "../../schema/project";
import { PGDATA } from "../backup/archive";
import { defineService, environment, managed, reads } from "../service";
import { HBA_FILE, hbaFile } from "./hba";
import { dbInitFiles, SERVICE_DB_ROLES } from "./init";
import { POSTGRES } from "./settings";

export { POSTGRES };

/** A Postgres connection URL for the services on the stack network (the `postgres` database unless told). */
export function postgresUrl(
  user: string,
  password: string,
  scheme = "postgres",
  database: string = POSTGRES.database,
): string {
  const credentials = `${encodeURIComponent(user)}:${encodeURIComponent(password)}`;
  return `${scheme}://${credentials}@${POSTGRES.host}:${POSTGRES.port}/${database}`;
}

/** What sets db's own address and database, for extraEnv's error. */
const DB_SOURCE = "the stack's database (the services connect to db:5432/postgres)";

/** The image's own config file (supabase/postgres's Dockerfile puts it there); a restore's recovery reads it too. */
export const DB_CONFIG_FILE = "/etc/postgresql/postgresql.conf";

/** How db's Postgres is started. */
export const DB_COMMAND = [
  "postgres",
  "-c",
  `config_file=${DB_CONFIG_FILE}`,
  "-c",
  "log_min_messages=fatal",
  "-c",
  `hba_file=${HBA_FILE}`,
] as const;

/** Seconds `pulumi up` waits for Postgres to report healthy; its first start runs every init migration. */
export const DB_HEALTHY_TIMEOUT_SECONDS = 300;

/** db: the superuser password the image's init uses for `postgres` and `supabase_admin`. */
export const db = defineService({
  role: "db",
  image: "db",
  port: POSTGRES.port,
  aliases: [POSTGRES.host],
  healthcheck: {
    tests: ["CMD", "pg_isready", "-U", "postgres", "-h", "localhost"],
    interval: "5s",
    timeout: "5s",
    retries: 10,
  },
  dependsOn: () => [],
  // The image's own config file; log_min_messages keeps realtime's polling out of the logs (as upstream); the
  // program's pg_hba.conf (hba.ts), which lets the backup service stream WAL. The image's postgresql.conf already
  // has what streaming needs (wal_level logical, max_wal_senders 10, max_replication_slots 5; supabase/postgres
  // ansible/files/postgresql_config/postgresql.conf.j2), so no WAL setting is changed.
  command: DB_COMMAND,
  volumes: [
    // The data volume; `database.dataVolume` names another one (a restore's).
    { volume: "db-data", containerPath: PGDATA, name: (settings) => settings.database.dataVolume },
    // pgsodium's root key: losing it makes vault secrets unreadable after the container is recreated.
    { volume: "db-config", containerPath: "/etc/postgresql-custom" },
  ],
  // Only db is awaited: the services' dependsOn then means "after Postgres accepts connections".
  healthyBeforeDependants: { timeoutSeconds: DB_HEALTHY_TIMEOUT_SECONDS },
  // `database.publish`. Connections through a published port come from the Docker bridge, never from the
  // container's own loopback, so the image's pg_hba.conf asks each for its role's password; the host's loopback is
  // the default address so the port is not on the network unless asked for.
  publishedPorts: (settings) => {
    const publish = settings.database.publish;
    return publish ? [{ internal: POSTGRES.port, external: publish.port, ip: publish.host }] : [];
  },
  secretEnv: true,
  kubernetes: {
    workload: "statefulSet",
    replicas: {
      default: 1,
      max: 1,
      why: "one Postgres owns its data directory: a second on the same volume would corrupt it, and this program sets up no replication",
    },
    image: {
      // supabase/postgres `Dockerfile-*`: the entrypoint starts as root to own the data directory, then steps down
      // to postgres with gosu.
      readOnlyRootFilesystem: false,
      why: "supabase/postgres: the entrypoint starts as root to own the data directory and steps down to postgres with gosu",
    },
    resources: { requests: { cpu: "250m", memory: "512Mi" }, limits: { memory: "2Gi" } },
  },
  env: environment({
    secrets: ["postgresPassword"],
    table: {
      POSTGRES_HOST: managed(DB_SOURCE, "/var/run/postgresql"),
      PGPORT: managed(DB_SOURCE, String(POSTGRES.port)),
      POSTGRES_PORT: managed(DB_SOURCE, String(POSTGRES.port)),
      PGPASSWORD: managed(configKey("postgresPassword"), ({ secrets }) => secrets.postgresPassword),
      POSTGRES_PASSWORD: managed(configKey("postgresPassword"), ({ secrets }) => secrets.postgresPassword),
      PGDATABASE: managed(DB_SOURCE, POSTGRES.database),
      POSTGRES_DB: managed(DB_SOURCE, POSTGRES.database),
    },
  }),
  files: reads({
    dbRoles: SERVICE_DB_ROLES,
    secrets: ["postgresPassword"],
    build: ({ dbPasswords, secrets, settings }) =>
      dbInitFiles({
        rolePasswords: dbPasswords,
        // Only an adopted password goes into the roles file, so a stack without one keeps its file as it was.
        ...(settings.postgresPassword !== undefined ? { superuserPassword: secrets.postgresPassword } : {}),
        jwtExpiry: settings.jwtExpiry,
      })
        .map(({ file, content }) => ({ file, content }))
        .concat([{ file: HBA_FILE, content: hbaFile() }]),
  }),
});
