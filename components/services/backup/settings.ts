/**
 * The `backup` setting: continuous WAL archiving and periodic base backups of db, on a retained volume (on by
 * default). What it keeps and how a restore uses it: `backup.ts` and `archive.ts`.
 */
import { flag, integer, object } from "../../schema/fields";
import { defineSetting, type SettingsValues } from "../../schema/setting";

/** The defaults: a base backup a day, the newest seven kept. */
export const BACKUP_DEFAULTS = { baseBackupHours: 24, keepBaseBackups: 7 } as const;

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
      },
      "{enabled: true, baseBackupHours: 24, keepBaseBackups: 7}",
    ).prefault({}),
    doc:
      "continuous WAL archiving plus base backups of the database on a retained volume, for `npm run restore -- " +
      "--to <time>`; off with `enabled: false`",
    details: "#backups-and-restore",
  }),
] as const;

/** The validated backup settings. */
export type BackupConfig = SettingsValues<typeof BACKUP_SETTINGS>["backup"];
