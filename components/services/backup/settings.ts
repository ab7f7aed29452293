/**
 * The `backup` setting: continuous WAL archiving and periodic base backups of db, on a retained volume (on by
 * default). What it keeps and how a restore uses it: `backup.ts` and `archive.ts`.
 */
import { flag, integer, object, text } from "../../schema/fields";
import {
  forcePathStyleOf,
  s3AccessKey,
  s3BucketName,
  s3Endpoint,
  s3ForcePathStyle,
  s3KeyPairCheck,
  s3Region,
} from "../../schema/s3";
import { defineSetting, type SettingsValues } from "../../schema/setting";

/**
 * The defaults: a base backup a day, the newest seven kept; the off-site copy brought up to date every minute, in the
 * region AWS S3 answers for when none is named.
 */
export const BACKUP_DEFAULTS = {
  baseBackupHours: 24,
  keepBaseBackups: 7,
  uploadSeconds: 60,
  region: "us-east-1",
} as const;

/** `backup.s3`: the bucket the archive is copied to, as it is on the volume, by the `backup-s3` service. */
const offsiteBucket = object(
  {
    bucket: s3BucketName(" with backup.s3").meta({ "x-default": "required with `s3`" }).describe("the bucket"),
    prefix: text(
      {
        pattern: /^[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*$/,
        expected: "a key prefix of letters, digits, . _ - separated by single slashes, without a slash at either end",
        type: "key prefix",
      },
      { required: " with backup.s3: where in the bucket this stack's archive goes, e.g. prod/supabase" },
    )
      .meta({ "x-default": "required with `s3`" })
      .describe("where in the bucket the archive goes (`<prefix>/<system id>/…`): one prefix per stack"),
    endpoint: s3Endpoint()
      .meta({ "x-default": "AWS S3", "x-type": "http(s) URL, no path" })
      .describe("an S3-compatible store (MinIO, R2, Ceph, …)"),
    region: s3Region()
      .meta({ "x-default": `\`${BACKUP_DEFAULTS.region}\`` })
      .describe("the bucket's region (requests are signed for it)"),
    forcePathStyle: s3ForcePathStyle().describe(
      "path-style addressing (`endpoint/bucket/key`), which most S3-compatible stores want",
    ),
    accessKeyId: s3AccessKey(false)
      .meta({ "x-default": "none (the host's AWS credentials: an instance role)" })
      .describe("with `secretAccessKey`, or neither"),
    secretAccessKey: s3AccessKey(true)
      .meta({ "x-default": "none (the host's AWS credentials: an instance role)" })
      .describe("with `accessKeyId`, or neither; set it with `--secret`"),
    uploadSeconds: integer({ min: 10, max: 3600 })
      .default(BACKUP_DEFAULTS.uploadSeconds)
      .describe(
        "seconds between uploads: what a lost host may lose at most beyond the volume (the WAL segment being " +
          "written is uploaded too)",
      ),
  },
  "{bucket: my-backups, endpoint: https://s3.example.com}",
)
  .superRefine(s3KeyPairCheck, { when: () => true })
  .transform((s3) => ({
    ...s3,
    region: s3.region ?? BACKUP_DEFAULTS.region,
    forcePathStyle: forcePathStyleOf(s3),
  }));

/** Every setting of the backup service. */
export const BACKUP_SETTINGS = [
  defineSetting({
    key: "backup",
    schema: object(
      {
        enabled: flag()
          .default(true)
          .describe(
            "run the backup service: WAL streamed continuously (any moment can be restored) and base backups on a " +
              "schedule, on the retained volume `<instanceName>-backups`",
          ),
        baseBackupHours: integer({ min: 1, max: 24 * 30 })
          .default(BACKUP_DEFAULTS.baseBackupHours)
          .describe(
            "hours between base backups (a restore replays the WAL since the base backup it starts from: more " +
              "often means faster restores and more space)",
          ),
        keepBaseBackups: integer({ min: 1, max: 1000 })
          .default(BACKUP_DEFAULTS.keepBaseBackups)
          .describe("how many base backups are kept (the newest); older ones and their WAL are deleted"),
        keepDays: integer({ min: 1, max: 3650 })
          .optional()
          .describe(
            "also keep every base backup younger than this many days (and the WAL since the oldest kept): the " +
              "window a point-in-time restore can reach",
          ),
        s3: offsiteBucket
          .optional()
          .describe(
            "also copy the archive to an S3-compatible bucket (the `backup-s3` service, rclone): base backups, WAL " +
              "and the segment being written, with the same retention; `npm run restore -- --from s3` restores " +
              "from it when the host's volume is lost",
          ),
      },
      "{enabled: true, baseBackupHours: 24, keepBaseBackups: 7}",
    )
      .prefault({})
      .superRefine((backup, ctx) => {
        if (backup.s3 !== undefined && !backup.enabled) {
          ctx.addIssue({
            code: "custom",
            path: ["s3"],
            message: "copies the backups off site, and backup.enabled is false: turn backups on or remove backup.s3",
          });
        }
      }),
    doc:
      "continuous WAL archiving plus base backups of the database on a retained volume, for `npm run restore -- " +
      "--to <time>`, copied to an S3 bucket with `s3`; off with `enabled: false`",
    details: "#backups-and-restore",
  }),
] as const;

/** The validated backup settings. */
export type BackupConfig = SettingsValues<typeof BACKUP_SETTINGS>["backup"];
/** The off-site bucket of the backups (`backup.s3`), validated, with its defaults. */
export type OffsiteBucketConfig = NonNullable<BackupConfig["s3"]>;
