/**
 * The backup archive as `backup.sh` lays it out on the backups volume, and what a restore does with it: which base
 * backup a point in time starts from, how it is unpacked into an empty data directory, and the `restore_command`
 * that hands the archived WAL to Postgres. Pure: text in, text out.
 *
 * Postgres facts relied on (postgres/postgres, doc/src/sgml/backup.sgml "Recovering Using a Continuous Archive
 * Backup"): a base backup is restored by unpacking it into an empty data directory with `recovery.signal`; recovery
 * asks `restore_command` for each WAL file by name (`%f`) and where to put it (`%p`), and a non-zero exit means
 * "not archived"; with `recovery_target_time` it stops at the first commit after that time, and with
 * `recovery_target_action = promote` it then opens the database on a new timeline.
 */

/** Where the backups volume is mounted in the backup service (and in every restore container). */
export const BACKUP_ROOT = "/backups";

/** Where the service's script is uploaded: `/usr/local/bin` exists in every Postgres image. */
export const BACKUP_SCRIPT_PATH = "/usr/local/bin/supabase-backup";

/** The replication role the backup service logs in as, and its replication slot on db. */
export const BACKUP_ROLE = "supabase_backup";
export const BACKUP_SLOT = "supabase_backup";

/** Where Postgres keeps its data in the db image (`PGDATA` of supabase/postgres's Dockerfile). */
export const PGDATA = "/var/lib/postgresql/data";

/** One base backup, as `supabase-backup list` prints it. */
export interface BaseBackup {
  /** Its directory name, the UTC time it started: `20260101T120000Z`. */
  stamp: string;
  /** The database cluster's system identifier: a restore keeps it, a new data volume gets a new one. */
  system: string;
  timeline: number;
  /** The first WAL file it needs. */
  startWal: string;
  /** When it finished: the earliest moment it can restore to. */
  finished: Date;
  bytes: number;
}

/** Parses `key=value` words. */
function fields(line: string): Record<string, string> {
  return Object.fromEntries(
    line
      .trim()
      .split(/\s+/)
      .filter((word) => word.includes("="))
      .map((word) => [word.slice(0, word.indexOf("=")), word.slice(word.indexOf("=") + 1)]),
  );
}

/** The base backups in `supabase-backup list` output (lines that are not one are ignored), oldest first. */
export function parseBaseBackups(text: string): BaseBackup[] {
  return text
    .split("\n")
    .map(fields)
    .filter((f) => f.stamp && f.system && f.timeline && f.start_wal && f.finished)
    .map((f) => ({
      stamp: f.stamp,
      system: f.system,
      timeline: Number(f.timeline),
      startWal: f.start_wal,
      finished: new Date(f.finished),
      bytes: Number(f.bytes ?? 0),
    }))
    .filter((b) => !Number.isNaN(b.finished.getTime()))
    .sort((a, b) => a.finished.getTime() - b.finished.getTime());
}

/** What `npm run restore -- --to` accepts: `latest`, or a moment. */
export type RestoreTarget = "latest" | Date;

/**
 * Reads `--to`: `latest`, or an ISO 8601 time with a zone (`2026-01-01T12:00:00Z`, `…+02:00`); a time without a
 * zone is refused, since the server's and the operator's clocks may be in different ones.
 */
export function parseRestoreTarget(text: string): RestoreTarget {
  if (text === "latest") return "latest";
  if (!/^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/.test(text)) {
    throw new Error(`--to must be latest or an ISO time with a zone such as 2026-01-01T12:00:00Z, got ${text}`);
  }
  const date = new Date(text);
  if (Number.isNaN(date.getTime())) throw new Error(`--to ${text} is not a valid time`);
  return date;
}

/**
 * The base backup a restore to `target` starts from: the newest of `system`'s that finished before the target
 * (for `latest`, the newest). Throws, naming what there is, when none fits.
 */
export function chooseBaseBackup(backups: readonly BaseBackup[], target: RestoreTarget, system?: string): BaseBackup {
  const systems = [...new Set(backups.map((b) => b.system))];
  const mine = backups.filter((b) => b.system === (system ?? systems[systems.length - 1]));
  if (mine.length === 0) {
    throw new Error(
      `no base backup of the database${system ? ` (system ${system})` : ""}; the archive holds ` +
        (backups.length ? `systems ${systems.join(", ")}` : "none: take one with npm run backup -- now"),
    );
  }
  const fitting = target === "latest" ? mine : mine.filter((b) => b.finished.getTime() <= target.getTime());
  if (fitting.length === 0) {
    throw new Error(
      `no base backup finished before ${(target as Date).toISOString()}; the oldest finished at ` +
        `${mine[0].finished.toISOString()} (the earliest moment a restore can reach)`,
    );
  }
  return fitting[fitting.length - 1];
}

/**
 * The `restore_command` for a cluster's archive: the WAL file from any timeline's directory, or the segment still
 * being written (`.partial`), which holds the newest commits. Postgres runs it with `/bin/sh -c`.
 */
export function restoreCommand(system: string): string {
  if (!/^\d+$/.test(system)) throw new Error(`not a system identifier: ${system}`);
  const wal = `${BACKUP_ROOT}/${system}/wal`;
  return (
    `for d in ${wal}/*/; do ` +
    `if [ -f "\${d}%f" ]; then exec cp "\${d}%f" "%p"; fi; ` +
    `if [ -f "\${d}%f.partial" ]; then exec cp "\${d}%f.partial" "%p"; fi; ` +
    `done; exit 1`
  );
}

/**
 * The shell commands (run as root in a container of the db image with the backups volume at {@link BACKUP_ROOT} and
 * the new data volume at {@link PGDATA}) that unpack a base backup and ask for archive recovery.
 */
export function unpackCommands(backup: BaseBackup): string {
  const dir = `${BACKUP_ROOT}/${backup.system}/base/${backup.stamp}`;
  return [
    "set -eu",
    `[ -z "$(ls -A ${PGDATA})" ] || { echo "${PGDATA} is not empty" >&2; exit 1; }`,
    `tar -xzf ${dir}/base.tar.gz -C ${PGDATA}`,
    `tar -xzf ${dir}/pg_wal.tar.gz -C ${PGDATA}/pg_wal`,
    `touch ${PGDATA}/recovery.signal`,
    `chown -R postgres:postgres ${PGDATA}`,
    `chmod 700 ${PGDATA}`,
  ].join("\n");
}

/**
 * A moment as `recovery_target_time` takes it on the server's command line: with a numeric zone, since a zone
 * abbreviation such as ISO's `Z` is refused there (the abbreviations are not loaded yet when the command line is
 * read: "invalid value for parameter recovery_target_time", measured on PostgreSQL 17).
 */
export const recoveryTime = (target: Date): string => target.toISOString().replace("T", " ").replace("Z", "+00");

/** The `-c` settings of a recovery run to `target` (Postgres then promotes and opens on a new timeline). */
export function recoverySettings(system: string, target: RestoreTarget): string[] {
  const settings = [`restore_command=${restoreCommand(system)}`, "recovery_target_action=promote"];
  if (target !== "latest") settings.push(`recovery_target_time=${recoveryTime(target)}`);
  return settings.flatMap((setting) => ["-c", setting]);
}

/** What `supabase-backup status` prints, as numbers and names. */
export interface ArchiveStatus {
  system?: string;
  timeline?: number;
  baseBackups: number;
  lastBaseBackup?: BaseBackup;
  lastWalFile?: string;
  archiveBytes?: number;
  serverLsn?: string;
  flushedLsn?: string;
  /** WAL the server has written that the archive has not flushed yet; absent when nothing streams. */
  lagBytes?: number;
}

/** Parses `supabase-backup status`. */
export function parseStatus(text: string): ArchiveStatus {
  const values = Object.fromEntries(
    text
      .split("\n")
      .filter((line) => line.includes("="))
      .map((line) => [line.slice(0, line.indexOf("=")), line.slice(line.indexOf("=") + 1).trim()]),
  );
  const number = (value: string | undefined) => (value === undefined || value === "" ? undefined : Number(value));
  return {
    system: values.system || undefined,
    timeline: number(values.timeline),
    baseBackups: number(values.base_backups) ?? 0,
    lastBaseBackup: values.last_base_backup ? parseBaseBackups(values.last_base_backup)[0] : undefined,
    lastWalFile: values.last_wal_file || undefined,
    archiveBytes: number(values.archive_bytes),
    serverLsn: values.server_lsn || undefined,
    flushedLsn: values.flushed_lsn || undefined,
    lagBytes: number(values.lag_bytes),
  };
}
