/**
 * What `npm run backup` and `npm run restore` print: the plan each shows before it asks for confirmation, and the
 * archive's status. Pure: values in, text out.
 */
import type { ArchiveStatus, BaseBackup, RestoreTarget } from "../../../components/services/backup/archive";
import { offsiteCurrent, type OffsiteStatus } from "../../../components/services/backup/offsite";

/** A compact UTC stamp for names: `20260101t120000z` (Docker names are case-sensitive; lower case reads better). */
export function nameStamp(now: Date): string {
  return now
    .toISOString()
    .replace(/\.\d+Z$/, "z")
    .replace(/[-:]/g, "")
    .replace("T", "t");
}

/** The volume a restore at `now` unpacks into: `<instance>-db-data-<stamp>`. */
export const restoredVolumeName = (instance: string, now: Date): string => `${instance}-db-data-${nameStamp(now)}`;

/** The volume a copy of the bucket's archive is fetched into at `now`: `<instance>-backups-from-s3-<stamp>`. */
export const fetchedArchiveName = (instance: string, now: Date): string =>
  `${instance}-backups-from-s3-${nameStamp(now)}`;

/** Bytes as a short human figure (binary units). */
export function bytesText(bytes: number | undefined): string {
  if (bytes === undefined || Number.isNaN(bytes)) return "unknown";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`;
}

/** How long ago, in the largest unit that fits (`5 min ago`, `3 h ago`). */
export function ageText(then: Date, now: Date): string {
  const seconds = Math.max(0, Math.round((now.getTime() - then.getTime()) / 1000));
  if (seconds < 120) return `${seconds} s ago`;
  if (seconds < 7200) return `${Math.round(seconds / 60)} min ago`;
  if (seconds < 172800) return `${Math.round(seconds / 3600)} h ago`;
  return `${Math.round(seconds / 86400)} days ago`;
}

/** The off-site copy's lines of the status report (with `backup.s3`): what the bucket holds of the current cluster. */
function offsiteLines(
  status: ArchiveStatus,
  offsite: { location: string; status: OffsiteStatus },
  now: Date,
): string[] {
  const archive = offsite.status.archives.find((a) => a.system === status.system);
  const upload = offsite.status.lastUpload;
  return [
    `off-site copy      ${offsite.location}: ` +
      (archive
        ? `${archive.baseBackups} base backups (last ${archive.lastBaseBackup ?? "none"}), WAL up to file ` +
          `${archive.lastWalFile ?? "none"}, ${bytesText(archive.bytes)}`
        : "nothing of this database yet"),
    `last upload        ${upload ? `finished ${ageText(upload.finished, now)}` : "none yet"} (every ${offsite.status.intervalSeconds ?? "?"} s)` +
      (offsiteCurrent(offsite.status, now) ? "" : ": the copy is NOT current"),
  ];
}

/**
 * The status report; `healthy` is false when no WAL streams, there is no base backup, or (with an off-site copy) the
 * last upload is older than three intervals.
 */
export function statusReport(
  status: ArchiveStatus,
  now: Date,
  offsite?: { location: string; status: OffsiteStatus },
): { text: string; healthy: boolean } {
  const last = status.lastBaseBackup;
  const streaming = status.flushedLsn !== undefined;
  const lines = [
    `database system ${status.system ?? "unknown"}, timeline ${status.timeline ?? "unknown"}`,
    last
      ? `last base backup   ${last.stamp}, finished ${last.finished.toISOString()} (${ageText(last.finished, now)}), ${bytesText(last.bytes)}; ${status.baseBackups} kept`
      : "last base backup   none yet (npm run backup -- now takes one)",
    streaming
      ? `WAL received up to ${status.flushedLsn} (file ${status.lastWalFile ?? "none"}); the server is at ${status.serverLsn}`
      : `WAL received up to nothing streams now: the backup service is not connected (last file ${status.lastWalFile ?? "none"})`,
    `lag                ${status.lagBytes === undefined ? "unknown" : bytesText(status.lagBytes)}`,
    `archive size       ${bytesText(status.archiveBytes)}`,
    ...(offsite ? offsiteLines(status, offsite, now) : []),
  ];
  const offsiteOk = offsite === undefined || offsiteCurrent(offsite.status, now);
  return { text: lines.join("\n"), healthy: streaming && last !== undefined && offsiteOk };
}

/** The step that fetches the bucket's archive first, when a command reads it (`--from s3`). */
export interface FetchStep {
  location: string;
  volume: string;
  /** Whether the fetched copy is kept afterwards (a restore) or removed (a verification). */
  kept: boolean;
}

const fetchLine = (fetch: FetchStep) =>
  `  0. copy the base backup below and the WAL since from ${fetch.location} into a new volume ${fetch.volume} (${fetch.kept ? "kept afterwards" : "removed afterwards"}); the rest reads that copy`;

/** What a restore will do, before it asks. */
export function restorePlan(input: {
  stack: string;
  target: RestoreTarget;
  backup: BaseBackup;
  currentVolume: string;
  newVolume: string;
  containers: readonly string[];
  fetch?: FetchStep;
}): string {
  const to = input.target === "latest" ? "the latest archived moment" : input.target.toISOString();
  return [
    `Restore of stack ${input.stack} to ${to}:`,
    ...(input.fetch ? [fetchLine(input.fetch)] : []),
    `  1. unpack base backup ${input.backup.stamp} (finished ${input.backup.finished.toISOString()}, ` +
      `${bytesText(input.backup.bytes)} compressed) into a new volume ${input.newVolume}`,
    `  2. replay the archived WAL up to ${to} in a scratch container without network, and open the database`,
    `  3. stop ${input.containers.join(", ")}`,
    `  4. pulumi config set database.dataVolume ${input.newVolume}; pulumi up (db is recreated on the new volume)`,
    "  5. start the stopped containers again",
    `The current data volume ${input.currentVolume} is kept as it is; to go back, set database.dataVolume to it and run pulumi up.`,
    "Writes made after the restore point are not in the restored database.",
  ].join("\n");
}

/** What a verification will do, before it asks. */
export function verifyPlan(backup: BaseBackup, volume: string, container: string, fetch?: FetchStep): string {
  return [
    ...(fetch ? [fetchLine(fetch)] : []),
    `Verify: restore base backup ${backup.stamp} and the WAL archived since into a scratch volume ${volume},`,
    `recover it in a container ${container} without network, check it, then remove both.`,
    "The stack, its volumes and the backups are only read.",
  ].join("\n");
}
