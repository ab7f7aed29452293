/**
 * backup: the db image run with another command (`backup.sh`): `pg_receivewal` streams every WAL segment from a
 * replication slot of its own, `pg_basebackup` takes base backups on a schedule, and retention drops what is older
 * than the settings keep; all of it on the retained `backups` volume. It logs in as a replication role of its own
 * (`supabase_backup`, a generated password), which it creates or updates at start as the superuser, so a database
 * made before backups existed gets it too. It reads no key of the keyring, so a rotation never touches it.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { configKey } from "../../schema/project";
import { after, defineService, environment, managed, reads, required, SOURCES } from "../service";
import { BACKUP_ROLE, BACKUP_ROOT, BACKUP_SCRIPT_PATH, BACKUP_SLOT } from "./archive";
import { POSTGRES } from "../db/settings";

/** The service's script (see the file's header for what it keeps where). */
export const BACKUP_SCRIPT = fs.readFileSync(path.join(__dirname, "backup.sh"), "utf8");

/** What sets the backup service's own values, for extraEnv's error. */
const SOURCE = "the backup service (the backup setting)";

export const backup = defineService({
  role: "backup",
  image: "db",
  // It listens on nothing; the port is db's, which it connects to.
  port: POSTGRES.port,
  aliases: ["backup"],
  healthcheck: {
    // Healthy while pg_receivewal runs: WAL is being archived.
    tests: ["CMD", "sh", BACKUP_SCRIPT_PATH, "health"],
    interval: "10s",
    timeout: "5s",
    retries: 10,
    startPeriod: "30s",
  },
  dependsOn: after("db"),
  runs: (settings) => settings.backup.enabled,
  // The image's own entrypoint would initialize a database; this container only runs the script.
  entrypoint: ["sh", BACKUP_SCRIPT_PATH],
  command: ["run"],
  volumes: [
    { volume: "backups", containerPath: BACKUP_ROOT },
    // db's pgsodium root key is copied next to the backups: vault secrets are unreadable without it.
    { volume: "db-config", containerPath: "/etc/postgresql-custom", readOnly: true },
  ],
  secretEnv: true,
  env: environment({
    secrets: ["postgresPassword", "backupReplicationPassword"],
    table: {
      PGHOST: managed(SOURCES.database, POSTGRES.host),
      PGPORT: managed(SOURCES.database, String(POSTGRES.port)),
      PGPASSWORD: managed(SOURCES.generated, ({ secrets }) =>
        required(secrets.backupReplicationPassword, "backupReplicationPassword"),
      ),
      // Used once at start to create or update the replication role, then unset.
      SUPABASE_ADMIN_PASSWORD: managed(SOURCES.superuserPassword, ({ secrets }) => secrets.postgresPassword),
      BACKUP_ROOT: managed(SOURCE, BACKUP_ROOT),
      BACKUP_ROLE: managed(SOURCE, BACKUP_ROLE),
      BACKUP_SLOT: managed(SOURCE, BACKUP_SLOT),
      BACKUP_INTERVAL_SECONDS: managed(configKey("backup.baseBackupHours"), ({ settings }) =>
        String(settings.backup.baseBackupHours * 3600),
      ),
      BACKUP_KEEP_COUNT: managed(configKey("backup.keepBaseBackups"), ({ settings }) =>
        String(settings.backup.keepBaseBackups),
      ),
      BACKUP_KEEP_DAYS: managed(configKey("backup.keepDays"), ({ settings }) =>
        settings.backup.keepDays === undefined ? undefined : String(settings.backup.keepDays),
      ),
    },
  }),
  files: reads({ build: () => [{ file: BACKUP_SCRIPT_PATH, content: BACKUP_SCRIPT }] }),
});
