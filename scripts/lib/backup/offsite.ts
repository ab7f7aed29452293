/**
 * The bucket of `backup.s3` as `npm run backup` and `npm run restore` use it: what the off-site copy holds (read by
 * the backup-s3 container, which has the bucket's credentials), and a copy of the bucket's archive fetched into a new
 * volume, which a restore or verification then reads as it reads the backups volume.
 */
import { BACKUP_ROOT, parseBaseBackups, type BaseBackup } from "../../../components/services/backup/archive";
import {
  OFFSITE_SCRIPT,
  OFFSITE_SCRIPT_PATH,
  offsiteEnv,
  parseOffsiteStatus,
  type OffsiteStatus,
} from "../../../components/services/backup/offsite";
import { RETAIN_LABEL } from "../../../components/targets/docker/naming";
import { offsiteLocation } from "../../../components/services/backup/offsite";
import type { ArchiveSource } from "./cli";
import type { FetchStep } from "./plan";
import { listBaseBackups } from "./recovery";
import { docker, execute, type StackFacts } from "./stack";

/**
 * Where a restore or verification reads the archive (`--from`), and its base backups: the backups volume, or the
 * bucket of `backup.s3` (then the fetch step, into `volume`, kept afterwards or not). Refuses `--from s3` for a stack
 * without a bucket.
 */
export async function archiveSource(
  facts: StackFacts,
  from: ArchiveSource,
  fetch: { volume: string; kept: boolean },
): Promise<{ backups: BaseBackup[]; fetch?: FetchStep }> {
  if (from === "volume") return { backups: await listBaseBackups(facts) };
  const bucket = facts.settings.backup.s3;
  if (!bucket) throw new Error(`stack ${facts.stack} has no backup.s3: there is no bucket to read (--from s3)`);
  return { backups: await bucketBaseBackups(facts), fetch: { location: offsiteLocation(bucket), ...fetch } };
}

/** `offsite.sh status` in the backup-s3 container. */
export async function offsiteStatus(facts: StackFacts): Promise<OffsiteStatus> {
  const { stdout } = await docker(facts, ["exec", facts.names.backupS3, "sh", OFFSITE_SCRIPT_PATH, "status"], {
    timeoutSeconds: 300,
  });
  return parseOffsiteStatus(stdout);
}

/**
 * Runs `offsite.sh <args>` in a throwaway container of the stack's rclone image on the stack's network (where the
 * backup-s3 service reaches the bucket from too), with `volume` at the archive's place when given. The credentials
 * reach the container as `-e NAME` taken from this process's environment, never on a command line.
 */
function inRclone(facts: StackFacts, args: readonly string[], volume?: string, timeoutSeconds = 300) {
  const env = offsiteEnv(facts.settings.backup);
  if (Object.keys(env).length === 0)
    throw new Error(`stack ${facts.stack} has no backup.s3: there is no bucket to read`);
  return execute(
    "docker",
    [
      "run",
      "--rm",
      "-i",
      "--network",
      facts.names.network,
      ...(volume ? ["-v", `${volume}:${BACKUP_ROOT}`] : []),
      ...Object.keys(env).flatMap((name) => ["-e", name]),
      "--entrypoint",
      "sh",
      facts.settings.images.backupS3,
      "-s",
      ...args,
    ],
    { env: { ...facts.env, ...env }, input: OFFSITE_SCRIPT, timeoutSeconds },
  );
}

/** The base backups in the bucket, oldest first (each one's `info`, read without fetching anything else). */
export async function bucketBaseBackups(facts: StackFacts): Promise<BaseBackup[]> {
  return parseBaseBackups((await inRclone(facts, ["list"])).stdout);
}

/**
 * Copies what a restore from `backup` reads (the base backup, the key copy, the WAL from its start) from the bucket
 * into the new volume `volume` (labelled retained); the seconds it took.
 */
export async function fetchFromBucket(
  facts: StackFacts,
  backup: BaseBackup,
  volume: string,
  log: (t: string) => void,
): Promise<number> {
  await docker(facts, ["volume", "create", "--label", `${RETAIN_LABEL}=true`, volume]);
  log(`copying base backup ${backup.stamp} and the WAL since from the bucket into ${volume}`);
  const t0 = performance.now();
  await inRclone(facts, ["fetch", BACKUP_ROOT, backup.system, backup.stamp], volume, 6 * 3600);
  return Math.round((performance.now() - t0) / 100) / 10;
}
