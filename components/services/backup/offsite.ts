/**
 * backup-s3 (with `backup.s3`): the off-site copy of the backup archive. It runs rclone (the pinned public
 * rclone/rclone image) with `offsite.sh`, which copies the backups volume, mounted read-only, to the bucket every
 * `uploadSeconds`, and applies the backups' retention to the bucket's own listing, so an emptied or lost volume never
 * empties the bucket. The volume stays where WAL is streamed and what a restore reads first; `npm run restore --
 * --from s3` fetches the bucket's copy into a new volume and restores from that.
 *
 * rclone facts relied on (rclone/rclone docs/content/docs.md "Config file" and "Environment variables"): a remote
 * can be configured entirely from `RCLONE_CONFIG_<NAME>_<OPTION>` variables, and the s3 backend's options
 * (backend/s3/s3.go) are `provider`, `endpoint`, `region`, `force_path_style`, `env_auth` (credentials from the
 * environment or an instance role), `access_key_id`, `secret_access_key` and `no_check_bucket` (do not try to create
 * the bucket, so a key that may only write objects suffices).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { EnvMap } from "../../schema/project";
import { configKey } from "../../schema/project";
import { after, defineService, environment, managedGroup, reads } from "../service";
import { BACKUP_ROOT } from "./archive";
import type { BackupConfig, OffsiteBucketConfig } from "./settings";

/** The service's script (see the file's header). */
export const OFFSITE_SCRIPT = fs.readFileSync(path.join(__dirname, "offsite.sh"), "utf8");

/** Where the script is uploaded in the rclone image. */
export const OFFSITE_SCRIPT_PATH = "/usr/local/bin/supabase-backup-s3";

/** The rclone remote's name: `offsite:` on rclone's command lines, `RCLONE_CONFIG_OFFSITE_*` in the environment. */
const REMOTE_ENV = "RCLONE_CONFIG_OFFSITE_";

/** Where the archive is in the bucket, as people write it: `s3://<bucket>/<prefix>`. */
export const offsiteLocation = (bucket: OffsiteBucketConfig): string => `s3://${bucket.bucket}/${bucket.prefix}`;

/**
 * The environment of rclone and the script for the bucket: the remote, the bucket and prefix, the retention of the
 * backups and the upload interval. Also what `npm run restore -- --from s3` gives the rclone container it fetches with.
 */
export function offsiteEnv(backup: BackupConfig): EnvMap {
  const bucket = backup.s3;
  if (!bucket) return {};
  const credentials: EnvMap =
    bucket.accessKeyId !== undefined && bucket.secretAccessKey !== undefined
      ? {
          [`${REMOTE_ENV}ACCESS_KEY_ID`]: bucket.accessKeyId,
          [`${REMOTE_ENV}SECRET_ACCESS_KEY`]: bucket.secretAccessKey,
        }
      : { [`${REMOTE_ENV}ENV_AUTH`]: "true" };
  return {
    // `--config /dev/null`: a memory-only config (rclone fs/config/config.go, SetConfigPath), so rclone neither
    // looks for a config file nor logs that it found none.
    RCLONE_CONFIG: "/dev/null",
    [`${REMOTE_ENV}TYPE`]: "s3",
    // `Other` is rclone's provider for S3-compatible stores that need no quirks of their own.
    [`${REMOTE_ENV}PROVIDER`]: bucket.endpoint === undefined ? "AWS" : "Other",
    ...(bucket.endpoint !== undefined ? { [`${REMOTE_ENV}ENDPOINT`]: bucket.endpoint } : {}),
    [`${REMOTE_ENV}REGION`]: bucket.region,
    [`${REMOTE_ENV}FORCE_PATH_STYLE`]: String(bucket.forcePathStyle),
    [`${REMOTE_ENV}NO_CHECK_BUCKET`]: "true",
    ...credentials,
    OFFSITE_BUCKET: bucket.bucket,
    OFFSITE_PREFIX: bucket.prefix,
    OFFSITE_INTERVAL_SECONDS: String(bucket.uploadSeconds),
    BACKUP_ROOT,
    BACKUP_KEEP_COUNT: String(backup.keepBaseBackups),
    ...(backup.keepDays !== undefined ? { BACKUP_KEEP_DAYS: String(backup.keepDays) } : {}),
  };
}

/** Docker's default capabilities but DAC_OVERRIDE, which root needs to read the archive's postgres-owned files. */
const ALL_BUT_READING_OTHERS_FILES = [
  "AUDIT_WRITE",
  "CHOWN",
  "FOWNER",
  "FSETID",
  "KILL",
  "MKNOD",
  "NET_BIND_SERVICE",
  "NET_RAW",
  "SETFCAP",
  "SETGID",
  "SETPCAP",
  "SETUID",
  "SYS_CHROOT",
] as const;

export const backupS3 = defineService({
  role: "backup-s3",
  image: "backupS3",
  // It listens on nothing; the port is HTTPS, which it calls the bucket on.
  port: 443,
  aliases: ["backup-s3"],
  healthcheck: {
    // Healthy while uploads succeed (or the first, long one runs).
    tests: ["CMD", "sh", OFFSITE_SCRIPT_PATH, "health"],
    interval: "10s",
    timeout: "10s",
    retries: 3,
    startPeriod: "30s",
  },
  dependsOn: after("backup"),
  runs: (settings) => settings.backup.enabled && settings.backup.s3 !== undefined,
  // The image's entrypoint is rclone itself; the script calls it.
  entrypoint: ["sh", OFFSITE_SCRIPT_PATH],
  command: ["run"],
  volumes: [{ volume: "backups", containerPath: BACKUP_ROOT, readOnly: true }],
  secretEnv: true,
  dropCapabilities: ALL_BUT_READING_OTHERS_FILES,
  env: environment({
    table: {
      rclone: managedGroup(
        configKey("backup.s3"),
        ["RCLONE_CONFIG", REMOTE_ENV + "*", "OFFSITE_*", "BACKUP_ROOT", "BACKUP_KEEP_COUNT", "BACKUP_KEEP_DAYS"],
        ({ settings }) => offsiteEnv(settings.backup),
      ),
    },
  }),
  files: reads({ build: () => [{ file: OFFSITE_SCRIPT_PATH, content: OFFSITE_SCRIPT }] }),
});

/** What the bucket holds for one database cluster, as `offsite.sh status` prints it. */
export interface OffsiteArchive {
  system: string;
  baseBackups: number;
  lastBaseBackup?: string;
  lastWalFile?: string;
  bytes: number;
}

/** `offsite.sh status`, as numbers and names. */
export interface OffsiteStatus {
  archives: OffsiteArchive[];
  intervalSeconds?: number;
  /** When the last upload that succeeded started and finished; absent before the first. */
  lastUpload?: { started: Date; finished: Date };
}

/** Parses `offsite.sh status`. */
export function parseOffsiteStatus(text: string): OffsiteStatus {
  const lines = text.split("\n").map((line) =>
    Object.fromEntries(
      line
        .trim()
        .split(/\s+/)
        .filter((word) => word.includes("="))
        .map((word) => [word.slice(0, word.indexOf("=")), word.slice(word.indexOf("=") + 1)]),
    ),
  );
  const archives = lines
    .filter((f) => /^\d+$/.test(f.system ?? ""))
    .map((f) => ({
      system: f.system,
      baseBackups: Number(f.base_backups ?? 0),
      lastBaseBackup: f.last_base_backup || undefined,
      lastWalFile: f.last_wal_file || undefined,
      bytes: Number(f.bytes ?? 0),
    }));
  const upload = lines.find((f) => f.started !== undefined && f.finished !== undefined);
  const interval = lines.find((f) => f.interval_seconds !== undefined)?.interval_seconds;
  return {
    archives,
    ...(interval !== undefined ? { intervalSeconds: Number(interval) } : {}),
    ...(upload
      ? {
          lastUpload: {
            started: new Date(Number(upload.started) * 1000),
            finished: new Date(Number(upload.finished) * 1000),
          },
        }
      : {}),
  };
}

/** True while the copy is current: the last upload finished within three intervals (as the health check judges). */
export function offsiteCurrent(status: OffsiteStatus, now: Date): boolean {
  if (!status.lastUpload || status.intervalSeconds === undefined) return false;
  return now.getTime() - status.lastUpload.finished.getTime() <= (3 * status.intervalSeconds + 60) * 1000;
}
