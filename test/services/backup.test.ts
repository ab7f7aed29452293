/**
 * The backup archive: what a restore to a moment starts from, the commands that unpack and recover it, the service's
 * status and listings as the scripts read them, and the service's own retention, run for real on a directory laid
 * out as the service lays it out (with a recording pg_archivecleanup on PATH).
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  chooseBaseBackup,
  parseBaseBackups,
  parseRestoreTarget,
  parseStatus,
  recoverySettings,
  restoreCommand,
  unpackCommands,
} from "../../components/services/backup/archive";
import { parseConfig } from "../../components/config/parse";
import { BACKUP_SCRIPT } from "../../components/services/backup/backup";
import { restorePlan, restoredVolumeName, statusReport } from "../../scripts/lib/backup/plan";

/** The temporary directories the tests lay archives out in, removed when the file's tests are done. */
const tempDirs: string[] = [];
afterAll(() => tempDirs.forEach((dir) => fs.rmSync(dir, { recursive: true, force: true })));
const tempDir = (prefix: string) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  tempDirs.push(dir);
  return dir;
};

const line = (stamp: string, finished: string, system = "7400000000000000001", timeline = 1) =>
  `stamp=${stamp} system=${system} timeline=${timeline} start_wal=0000000${timeline}000000000000000${stamp.slice(7, 8)} finished=${finished} bytes=1048576`;

const LISTING = [
  line("20260101T000000Z", "2026-01-01T00:01:00Z"),
  "supabase-backup: a log line, not a backup",
  line("20260102T000000Z", "2026-01-02T00:01:00Z"),
  line("20260103T000000Z", "2026-01-03T00:01:00Z"),
].join("\n");

describe("choosing the base backup a restore starts from", () => {
  const backups = parseBaseBackups(LISTING);

  it("reads the listing, oldest first, and ignores other lines", () => {
    expect(backups.map((b) => b.stamp)).toEqual(["20260101T000000Z", "20260102T000000Z", "20260103T000000Z"]);
    expect(backups[0]).toMatchObject({ system: "7400000000000000001", timeline: 1, bytes: 1048576 });
  });

  it("takes the newest that finished before the moment, or the newest for latest", () => {
    expect(chooseBaseBackup(backups, new Date("2026-01-02T12:00:00Z")).stamp).toBe("20260102T000000Z");
    expect(chooseBaseBackup(backups, new Date("2026-01-02T00:01:00Z")).stamp).toBe("20260102T000000Z");
    expect(chooseBaseBackup(backups, "latest").stamp).toBe("20260103T000000Z");
  });

  it("refuses a moment before the oldest, naming the earliest it can reach", () => {
    expect(() => chooseBaseBackup(backups, new Date("2025-12-31T00:00:00Z"))).toThrow(
      /no base backup finished before 2025-12-31T00:00:00.000Z; the oldest finished at 2026-01-01T00:01:00.000Z/,
    );
    expect(() => chooseBaseBackup([], "latest")).toThrow(/take one with npm run backup -- now/);
  });

  it("keeps to the newest database cluster when the archive holds two (a new data volume is a new system)", () => {
    const two = parseBaseBackups(
      `${LISTING}\n${line("20260104T000000Z", "2026-01-04T00:01:00Z", "7500000000000000002")}`,
    );
    expect(chooseBaseBackup(two, "latest").system).toBe("7500000000000000002");
    expect(() => chooseBaseBackup(two, new Date("2026-01-03T12:00:00Z"))).toThrow(/no base backup finished before/);
    expect(chooseBaseBackup(two, new Date("2026-01-03T12:00:00Z"), "7400000000000000001").stamp).toBe(
      "20260103T000000Z",
    );
  });

  it("reads --to as latest or a time with a zone, and refuses a time without one", () => {
    expect(parseRestoreTarget("latest")).toBe("latest");
    expect((parseRestoreTarget("2026-01-01T12:00:00+02:00") as Date).toISOString()).toBe("2026-01-01T10:00:00.000Z");
    expect(() => parseRestoreTarget("2026-01-01T12:00:00")).toThrow(/ISO time with a zone/);
    expect(() => parseRestoreTarget("yesterday")).toThrow(/ISO time with a zone/);
  });
});

describe("recovering from the archive", () => {
  const [backup] = parseBaseBackups(LISTING);

  it("hands Postgres the archived WAL of any timeline, the segment being written included, and promotes at the target", () => {
    const command = restoreCommand(backup.system);
    expect(command).toContain(`/backups/${backup.system}/wal/*/`);
    expect(command).toContain(`"${"$"}{d}%f.partial"`);
    expect(recoverySettings(backup.system, new Date("2026-01-02T12:00:00Z"))).toEqual([
      "-c",
      `restore_command=${command}`,
      "-c",
      "recovery_target_action=promote",
      "-c",
      "recovery_target_time=2026-01-02 12:00:00.000+00",
    ]);
    expect(recoverySettings(backup.system, "latest")).not.toContain("recovery_target_time");
    expect(() => restoreCommand("1; rm -rf /")).toThrow(/not a system identifier/);
  });

  it("restore_command finds a segment in any timeline's directory, or its .partial, and fails for one not archived", () => {
    const root = tempDir("archive-");
    const wal = path.join(root, backup.system, "wal");
    fs.mkdirSync(path.join(wal, "00000001"), { recursive: true });
    fs.mkdirSync(path.join(wal, "00000002"), { recursive: true });
    fs.writeFileSync(path.join(wal, "00000001", "000000010000000000000003"), "full");
    fs.writeFileSync(path.join(wal, "00000002", "000000020000000000000004.partial"), "partial");
    const command = restoreCommand(backup.system).replaceAll("/backups", root);
    const fetch = (file: string) => {
      const to = path.join(root, "fetched");
      fs.rmSync(to, { force: true });
      const sh = command.replaceAll("%f", file).replaceAll("%p", to);
      try {
        execFileSync("sh", ["-c", sh]);
        return fs.readFileSync(to, "utf8");
      } catch {
        return "not archived";
      }
    };
    expect(fetch("000000010000000000000003")).toBe("full");
    expect(fetch("000000020000000000000004")).toBe("partial");
    expect(fetch("000000010000000000000009")).toBe("not archived");
  });

  it("unpacks only into an empty data directory, then asks for recovery as postgres's files", () => {
    const commands = unpackCommands(backup);
    expect(commands).toContain(
      `tar -xzf /backups/${backup.system}/base/${backup.stamp}/base.tar.gz -C /var/lib/postgresql/data`,
    );
    expect(commands).toContain("is not empty");
    expect(commands.indexOf("recovery.signal")).toBeGreaterThan(commands.indexOf("pg_wal.tar.gz"));
  });
});

describe("what the commands print", () => {
  it("reports the status, and unhealthy when nothing streams", () => {
    const status = parseStatus(
      [
        "system=7400000000000000001",
        "timeline=2",
        "base_backups=3",
        `last_base_backup=${line("20260103T000000Z", "2026-01-03T00:01:00Z")}`,
        "last_wal_file=000000020000000000000005.partial",
        "archive_bytes=52428800",
        "server_lsn=0/5000100",
        "flushed_lsn=0/5000100",
        "lag_bytes=0",
      ].join("\n"),
    );
    expect(status).toMatchObject({ timeline: 2, baseBackups: 3, lagBytes: 0, archiveBytes: 52428800 });
    const report = statusReport(status, new Date("2026-01-03T01:01:00Z"));
    expect(report.healthy).toBe(true);
    expect(report.text).toMatch(
      /last base backup +20260103T000000Z, finished 2026-01-03T00:01:00.000Z \(60 min ago\), 1.0 MiB; 3 kept/,
    );
    expect(report.text).toMatch(/archive size +50.0 MiB/);
    const idle = statusReport(
      parseStatus("system=1\ntimeline=1\nbase_backups=0\nflushed_lsn=\nlag_bytes="),
      new Date(),
    );
    expect(idle.healthy).toBe(false);
    expect(idle.text).toMatch(/not connected/);
  });

  it("names the new volume by the time and says the old one is kept", () => {
    const volume = restoredVolumeName("supabase", new Date("2026-01-03T04:05:06.789Z"));
    expect(volume).toBe("supabase-db-data-20260103t040506z");
    const plan = restorePlan({
      stack: "prod",
      target: new Date("2026-01-02T12:00:00Z"),
      backup: parseBaseBackups(LISTING)[1],
      currentVolume: "supabase-db-data",
      newVolume: volume,
      containers: ["supabase-db", "supabase-auth"],
    });
    expect(plan).toContain(`database.dataVolume ${volume}`);
    expect(plan).toContain("The current data volume supabase-db-data is kept");
  });
});

describe("the backup service's retention (backup.sh prune, run for real)", () => {
  /** An archive laid out as the service lays it out, with four base backups of one cluster. */
  function archive(): { root: string; system: string; calls: string } {
    const root = tempDir("backups-");
    const system = "7400000000000000001";
    const stamps = ["20260101T000000Z", "20260102T000000Z", "20260103T000000Z", "20260104T000000Z"];
    for (const [i, stamp] of stamps.entries()) {
      const dir = path.join(root, system, "base", stamp);
      fs.mkdirSync(dir, { recursive: true });
      const finished = `${stamp.slice(0, 4)}-${stamp.slice(4, 6)}-${stamp.slice(6, 8)}T00:01:00Z`;
      fs.writeFileSync(
        path.join(dir, "info"),
        `stamp=${stamp} system=${system} timeline=1 start_wal=00000001000000000000000${i + 2} finished=${finished} bytes=1\n`,
      );
    }
    fs.mkdirSync(path.join(root, system, "wal", "00000001"), { recursive: true });
    // A pg_archivecleanup that records what it was asked to clean.
    const bin = path.join(root, "bin");
    fs.mkdirSync(bin);
    const calls = path.join(root, "calls");
    fs.writeFileSync(path.join(bin, "pg_archivecleanup"), `#!/bin/sh\necho "$@" >> ${calls}\n`, { mode: 0o755 });
    return { root, system, calls };
  }

  const prune = (root: string, env: Record<string, string>) => {
    const script = path.join(root, "backup.sh");
    fs.writeFileSync(script, BACKUP_SCRIPT);
    execFileSync("sh", [script, "prune"], {
      env: { PATH: `${path.join(root, "bin")}:${process.env.PATH}`, BACKUP_ROOT: root, ...env },
      stdio: "pipe",
    });
  };

  it("keeps the newest keepBaseBackups and deletes the WAL older than the oldest kept", () => {
    const { root, system, calls } = archive();
    prune(root, { BACKUP_KEEP_COUNT: "2" });
    expect(fs.readdirSync(path.join(root, system, "base")).sort()).toEqual(["20260103T000000Z", "20260104T000000Z"]);
    expect(fs.readFileSync(calls, "utf8").trim()).toBe(
      `${path.join(root, system, "wal", "00000001")}/ 000000010000000000000004`,
    );
  });

  it("also keeps every base backup younger than keepDays", () => {
    const { root, system } = archive();
    // Four backups, the newest two days old at most when keepDays is far in the past: all are younger than 10 years.
    prune(root, { BACKUP_KEEP_COUNT: "1", BACKUP_KEEP_DAYS: "3650" });
    expect(fs.readdirSync(path.join(root, system, "base"))).toHaveLength(4);
    prune(root, { BACKUP_KEEP_COUNT: "1", BACKUP_KEEP_DAYS: "1" });
    expect(fs.readdirSync(path.join(root, system, "base"))).toEqual(["20260104T000000Z"]);
  });
});

describe("backups and the target", () => {
  const K1 = JSON.stringify([{ name: "k1", state: "current" }]);

  it("are on by default on Docker, off on Kubernetes (the service runs on Docker only for now), and refused there", () => {
    expect(parseConfig({ signingKeys: K1 }).backup.enabled).toBe(true);
    expect(parseConfig({ signingKeys: K1, target: "kubernetes" }).backup.enabled).toBe(false);
    expect(() =>
      parseConfig({ signingKeys: K1, target: "kubernetes", backup: JSON.stringify({ enabled: true }) }),
    ).toThrow(/backup\.enabled: backups run on the Docker target only for now/);
    expect(() =>
      parseConfig({
        signingKeys: K1,
        target: "kubernetes",
        backup: JSON.stringify({ s3: { bucket: "backups", prefix: "prod" } }),
      }),
    ).toThrow(/backup\.s3: backups run on the Docker target only for now/);
  });
});
