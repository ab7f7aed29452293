/**
 * The off-site copy's script (`offsite.sh`), run for real with a stand-in for rclone on PATH that keeps the bucket in
 * a local directory (`offsite:<bucket>/<key>` is `<buckets>/<bucket>/<key>`; `copy` copies everything and leaves the
 * filters to the real rclone, whose filtering the end-to-end suite proves against a real S3 server). What it shows:
 * an upload replaces a `.partial` segment once the complete one is in the bucket and records itself only when the
 * copy worked, retention judges the bucket's own listing (never the volume, so an emptied volume deletes nothing),
 * and the status names what the bucket holds.
 */
import { execFileSync, spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { parseConfig, settingsWarnings } from "../../components/config/parse";
import { parseBaseBackups } from "../../components/services/backup/archive";
import { offsiteEnv, OFFSITE_SCRIPT, parseOffsiteStatus } from "../../components/services/backup/offsite";
import { parseStatus } from "../../components/services/backup/archive";
import { fetchedArchiveName, restorePlan, statusReport } from "../../scripts/lib/backup/plan";
import { runningServices } from "../../components/services/index";

const SYSTEM = "7400000000000000001";
const OTHER_SYSTEM = "7300000000000000009";
const WAL = (n: number) => `00000001000000000000${n.toString(16).toUpperCase().padStart(4, "0")}`;

let root = "";
afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

/** The rclone stand-in: the subcommands and flags offsite.sh uses, on a directory per bucket. */
const FAKE_RCLONE = `#!/bin/sh
echo "rclone $*" >> "$CALLS"
[ -z "\${FAIL_COPY:-}" ] || [ "$1" != copy ] || exit 1
[ -z "\${SLOW_COPY:-}" ] || [ "$1" != copy ] || { echo $$ > "$SLOW_COPY"; sleep 30; }
local_path() { echo "$BUCKETS/\${1#offsite:}"; }
cmd=$1; shift
case "$cmd" in
lsf) for last; do :; done; dir=$(local_path "$last")
  [ -d "$dir" ] || exit 0
  (cd "$dir" && find . -type f | sed 's#^\\./##' | sort | while read -r f; do echo "$f;$(wc -c < "$f" | tr -d ' ')"; done) ;;
copy) src=$1; dst=$2; shift 2; list=""
  while [ $# -gt 0 ]; do [ "$1" = --files-from-raw ] && list=$2; shift; done
  case "$src" in offsite:*) src=$(local_path "$src") ;; esac
  case "$dst" in offsite:*) dst=$(local_path "$dst") ;; esac
  mkdir -p "$dst"
  if [ -z "$list" ]; then cp -R "$src/." "$dst/"; exit 0; fi
  while read -r f; do mkdir -p "$(dirname "$dst/$f")" && cp "$src/$f" "$dst/$f"; done < "$list" ;;
delete) dir=$(local_path "$1"); list=$3; while read -r f; do rm -f "$dir/$f"; done < "$list" ;;
purge) rm -rf "$(local_path "$1")" ;;
cat) cat "$(local_path "$1")" ;;
*) echo "the stand-in has no $cmd" >&2; exit 2 ;;
esac
`;

/** A backups volume, a bucket and the stand-in; `run` runs a subcommand of the script and returns its output. */
function world(env: Record<string, string> = {}) {
  root = fs.mkdtempSync(path.join(os.tmpdir(), "offsite-"));
  const bin = path.join(root, "bin");
  fs.mkdirSync(bin);
  fs.writeFileSync(path.join(bin, "rclone"), FAKE_RCLONE, { mode: 0o755 });
  const script = path.join(root, "offsite.sh");
  fs.writeFileSync(script, OFFSITE_SCRIPT);
  const volume = path.join(root, "volume");
  const bucket = path.join(root, "buckets", "backups", "prod");
  fs.mkdirSync(volume);
  const fullEnv = {
    PATH: `${bin}:${process.env.PATH}`,
    CALLS: path.join(root, "calls"),
    BUCKETS: path.join(root, "buckets"),
    BACKUP_ROOT: volume,
    OFFSITE_BUCKET: "backups",
    OFFSITE_PREFIX: "prod",
    OFFSITE_STATE_DIR: path.join(root, "state"),
    BACKUP_KEEP_COUNT: "2",
    ...env,
  };
  const start = (...args: string[]) =>
    spawn("sh", [script, ...args], { env: fullEnv, stdio: "ignore", detached: true });
  const run = (...args: string[]) => execFileSync("sh", [script, ...args], { env: fullEnv, stdio: "pipe" }).toString();
  const attempt = (...args: string[]) => spawnSync("sh", [script, ...args], { env: fullEnv, stdio: "pipe" });
  const files = (dir: string) =>
    fs.existsSync(dir)
      ? (fs.readdirSync(dir, { recursive: true, withFileTypes: true }) as fs.Dirent[])
          .filter((d) => d.isFile())
          .map((d) => path.relative(dir, path.join(d.parentPath, d.name)))
          .sort()
      : [];
  return { run, attempt, start, volume, bucket, files, calls: () => fs.readFileSync(fullEnv.CALLS, "utf8") };
}

/** Writes `files` (path → content) under `dir`. */
function write(dir: string, files: Record<string, string>) {
  for (const [file, content] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    fs.writeFileSync(path.join(dir, file), content);
  }
}

/** A base backup's `info`, as backup.sh writes it. */
const info = (stamp: string, startWal: string, system = SYSTEM) =>
  `stamp=${stamp} system=${system} timeline=1 start_wal=${startWal} finished=2026-01-01T00:00:00Z bytes=10\n`;

describe("the off-site copy (offsite.sh)", () => {
  it("uploads with the filters that leave out a base backup in progress, then drops .partial segments now complete", () => {
    const w = world();
    write(w.volume, {
      [`${SYSTEM}/wal/00000001/${WAL(1)}`]: "one",
      [`${SYSTEM}/wal/00000001/${WAL(2)}`]: "two",
      [`${SYSTEM}/wal/00000001/${WAL(3)}.partial`]: "three so far",
      [`${SYSTEM}/base/20260101T000000Z/info`]: info("20260101T000000Z", WAL(1)),
    });
    // The bucket still holds segment 2 as it was when it was being written.
    write(w.bucket, { [`${SYSTEM}/wal/00000001/${WAL(2)}.partial`]: "tw" });
    w.run("upload");
    expect(w.calls()).toContain(
      `rclone copy ${w.volume} offsite:backups/prod --exclude /*/base/.*/** --exclude /*/base-backup-due --include /[0-9]*/** --exclude *`,
    );
    expect(w.files(w.bucket)).toEqual([
      `${SYSTEM}/base/20260101T000000Z/info`,
      `${SYSTEM}/wal/00000001/${WAL(1)}`,
      `${SYSTEM}/wal/00000001/${WAL(2)}`,
      `${SYSTEM}/wal/00000001/${WAL(3)}.partial`,
    ]);
    expect(w.run("health")).toBe("");
    expect(w.run("status")).toContain(
      `system=${SYSTEM} base_backups=1 last_base_backup=20260101T000000Z last_wal_file=${WAL(3)}.partial bytes=`,
    );
  });

  it("stops at SIGTERM, with the upload in progress (docker stop must not wait out its timeout)", async () => {
    const w = world({ SLOW_COPY: path.join(os.tmpdir(), `offsite-copy-${process.pid}.pid`) });
    const pidFile = path.join(os.tmpdir(), `offsite-copy-${process.pid}.pid`);
    const service = w.start("run");
    const exited = new Promise<number | null>((resolve) => service.on("exit", (code) => resolve(code)));
    try {
      for (let i = 0; i < 50 && !fs.existsSync(pidFile); i++) await new Promise((r) => setTimeout(r, 100));
      const copy = Number(fs.readFileSync(pidFile, "utf8"));
      const t0 = performance.now();
      service.kill("SIGTERM");
      expect(await exited).toBe(0);
      expect(performance.now() - t0).toBeLessThan(5000);
      // Gone, or a zombie waiting for init to reap it (its parent, the upload, was stopped too): not running.
      const running = () => {
        try {
          return fs.readFileSync(`/proc/${copy}/stat`, "utf8").split(") ")[1]?.[0] !== "Z";
        } catch {
          return false;
        }
      };
      for (let i = 0; i < 30 && running(); i++) await new Promise((r) => setTimeout(r, 100));
      expect(running()).toBe(false);
    } finally {
      if (service.pid) {
        try {
          process.kill(-service.pid, "SIGKILL");
        } catch {
          // gone
        }
      }
      fs.rmSync(pidFile, { force: true });
    }
  });

  it("records nothing and is unhealthy when the copy fails", () => {
    const w = world({ FAIL_COPY: "1" });
    write(w.volume, { [`${SYSTEM}/wal/00000001/${WAL(1)}`]: "one" });
    expect(w.attempt("upload").status).not.toBe(0);
    expect(w.attempt("health").status).not.toBe(0);
    expect(w.run("status")).not.toContain("finished=");
  });

  it("applies retention to the bucket's own listing: an emptied volume deletes nothing more", () => {
    const w = world();
    const stamps = ["20260101T000000Z", "20260102T000000Z", "20260103T000000Z"];
    write(w.bucket, {
      ...Object.fromEntries(stamps.map((s, i) => [`${SYSTEM}/base/${s}/info`, info(s, WAL(1 + 4 * i))])),
      ...Object.fromEntries(stamps.map((s) => [`${SYSTEM}/base/${s}/base.tar.gz`, "data"])),
      ...Object.fromEntries([1, 2, 3, 4, 5, 6, 9].map((n) => [`${SYSTEM}/wal/00000001/${WAL(n)}`, "wal"])),
      [`${SYSTEM}/wal/00000001.before-gap-20260101T010000Z/${WAL(3)}.partial`]: "gap",
      // Another database cluster's archive, with a single base backup: kept whole.
      [`${OTHER_SYSTEM}/base/20250101T000000Z/info`]: info("20250101T000000Z", WAL(1), OTHER_SYSTEM),
      [`${OTHER_SYSTEM}/wal/00000001/${WAL(1)}`]: "wal",
    });
    // The volume is empty (a new disk): the upload copies nothing and retention still keeps the newest two.
    w.run("upload");
    expect(w.files(w.bucket)).toEqual([
      `${OTHER_SYSTEM}/base/20250101T000000Z/info`,
      `${OTHER_SYSTEM}/wal/00000001/${WAL(1)}`,
      `${SYSTEM}/base/20260102T000000Z/base.tar.gz`,
      `${SYSTEM}/base/20260102T000000Z/info`,
      `${SYSTEM}/base/20260103T000000Z/base.tar.gz`,
      `${SYSTEM}/base/20260103T000000Z/info`,
      `${SYSTEM}/wal/00000001/${WAL(5)}`,
      `${SYSTEM}/wal/00000001/${WAL(6)}`,
      `${SYSTEM}/wal/00000001/${WAL(9)}`,
    ]);
    // A second pass finds nothing more to delete.
    w.run("prune");
    expect(w.files(w.bucket)).toHaveLength(9);
  });

  it("keeps every base backup younger than keepDays, beyond the count", () => {
    const w = world({ BACKUP_KEEP_COUNT: "1", BACKUP_KEEP_DAYS: "3650" });
    write(w.bucket, {
      [`${SYSTEM}/base/20260101T000000Z/info`]: info("20260101T000000Z", WAL(1)),
      [`${SYSTEM}/base/20260102T000000Z/info`]: info("20260102T000000Z", WAL(5)),
      [`${SYSTEM}/wal/00000001/${WAL(1)}`]: "wal",
    });
    w.run("prune");
    expect(w.files(w.bucket)).toHaveLength(3);
  });

  it("lists the bucket's base backups as the backup service lists the volume's", () => {
    const w = world();
    write(w.bucket, {
      [`${SYSTEM}/base/20260102T000000Z/info`]: info("20260102T000000Z", WAL(5)),
      [`${SYSTEM}/base/20260101T000000Z/info`]: info("20260101T000000Z", WAL(1)),
      // A base backup whose info has not arrived yet is not one a restore can start from.
      [`${SYSTEM}/base/20260103T000000Z/base.tar.gz`]: "data",
    });
    expect(parseBaseBackups(w.run("list")).map((b) => [b.stamp, b.startWal])).toEqual([
      ["20260101T000000Z", WAL(1)],
      ["20260102T000000Z", WAL(5)],
    ]);
  });

  it("fetches only what a restore from one base backup reads: it, the key, the history and the WAL from its start", () => {
    const w = world();
    write(w.bucket, {
      [`${SYSTEM}/base/20260101T000000Z/info`]: info("20260101T000000Z", WAL(1)),
      [`${SYSTEM}/base/20260102T000000Z/info`]: info("20260102T000000Z", WAL(5)),
      [`${SYSTEM}/base/20260102T000000Z/base.tar.gz`]: "data",
      [`${SYSTEM}/config/pgsodium_root.key`]: "key",
      [`${SYSTEM}/wal/00000001/${WAL(4)}`]: "before",
      [`${SYSTEM}/wal/00000001/${WAL(5)}`]: "start",
      [`${SYSTEM}/wal/00000002/00000002.history`]: "history",
      [`${SYSTEM}/wal/00000002/00000002000000000000000A.partial`]: "later timeline",
      [`${OTHER_SYSTEM}/wal/00000001/${WAL(9)}`]: "another cluster",
    });
    const target = path.join(root, "fetched");
    w.run("fetch", target, SYSTEM, "20260102T000000Z");
    expect(w.files(target)).toEqual([
      `${SYSTEM}/base/20260102T000000Z/base.tar.gz`,
      `${SYSTEM}/base/20260102T000000Z/info`,
      `${SYSTEM}/config/pgsodium_root.key`,
      `${SYSTEM}/wal/00000001/${WAL(5)}`,
      `${SYSTEM}/wal/00000002/00000002.history`,
      `${SYSTEM}/wal/00000002/00000002000000000000000A.partial`,
    ]);
    expect(w.attempt("fetch", path.join(root, "none"), SYSTEM, "20990101T000000Z").status).not.toBe(0);
  });

  it("fetches the bucket's archive into a directory, for a restore", () => {
    const w = world();
    write(w.bucket, { [`${SYSTEM}/wal/00000001/${WAL(1)}`]: "one" });
    const target = path.join(root, "fetched");
    w.run("fetch", target);
    expect(w.files(target)).toEqual([`${SYSTEM}/wal/00000001/${WAL(1)}`]);
  });
});

describe("backup.s3", () => {
  const base = { signingKeys: JSON.stringify([{ name: "k1", state: "current" }]) };
  const parse = (s3: unknown, extra: Record<string, unknown> = {}) =>
    parseConfig({ ...base, backup: JSON.stringify({ s3, ...extra }) });

  it("runs backup-s3 with rclone's remote configured from the environment, for an S3-compatible store", () => {
    const config = parse({
      bucket: "backups",
      prefix: "prod/db",
      endpoint: "https://s3.example.com/",
      accessKeyId: "AKID",
      secretAccessKey: "SECRET",
    });
    expect(runningServices(config).map((s) => s.role)).toContain("backup-s3");
    expect(offsiteEnv(config.backup)).toEqual({
      RCLONE_CONFIG: "/dev/null",
      RCLONE_CONFIG_OFFSITE_TYPE: "s3",
      RCLONE_CONFIG_OFFSITE_PROVIDER: "Other",
      RCLONE_CONFIG_OFFSITE_ENDPOINT: "https://s3.example.com",
      RCLONE_CONFIG_OFFSITE_REGION: "us-east-1",
      RCLONE_CONFIG_OFFSITE_FORCE_PATH_STYLE: "true",
      RCLONE_CONFIG_OFFSITE_NO_CHECK_BUCKET: "true",
      RCLONE_CONFIG_OFFSITE_ACCESS_KEY_ID: "AKID",
      RCLONE_CONFIG_OFFSITE_SECRET_ACCESS_KEY: "SECRET",
      OFFSITE_BUCKET: "backups",
      OFFSITE_PREFIX: "prod/db",
      OFFSITE_INTERVAL_SECONDS: "60",
      BACKUP_ROOT: "/backups",
      BACKUP_KEEP_COUNT: "7",
    });
  });

  it("on AWS without keys, signs with the host's credentials (an instance role) and virtual-hosted addressing", () => {
    const env = offsiteEnv(
      parse({ bucket: "backups", prefix: "prod", region: "eu-west-1", uploadSeconds: 30 }, { keepDays: 14 }).backup,
    );
    expect(env).toMatchObject({
      RCLONE_CONFIG_OFFSITE_PROVIDER: "AWS",
      RCLONE_CONFIG_OFFSITE_REGION: "eu-west-1",
      RCLONE_CONFIG_OFFSITE_FORCE_PATH_STYLE: "false",
      RCLONE_CONFIG_OFFSITE_ENV_AUTH: "true",
      OFFSITE_INTERVAL_SECONDS: "30",
      BACKUP_KEEP_DAYS: "14",
    });
    expect(env).not.toHaveProperty("RCLONE_CONFIG_OFFSITE_ENDPOINT");
    expect(env).not.toHaveProperty("RCLONE_CONFIG_OFFSITE_SECRET_ACCESS_KEY");
  });

  it("warns when the secret access key sits in plain text in the stack file, and not when it came as a secret", () => {
    const config = parse({ bucket: "backups", prefix: "prod", accessKeyId: "AKID", secretAccessKey: "SECRET" });
    const plain = settingsWarnings(config, new Set());
    expect(plain.join("\n")).toContain(
      "supabase-selfhosted:backup.s3.secretAccessKey is stored in plain text in the stack file; encrypt it with " +
        "`pulumi config set --secret --path 'backup.s3.secretAccessKey' <value>`",
    );
    expect(settingsWarnings(config, new Set(["backup"])).join("\n")).not.toContain("secretAccessKey");
  });

  it("is off by default, and nothing else changes when it is turned on", () => {
    const off = parseConfig(base);
    expect(off.backup.s3).toBeUndefined();
    const on = parse({ bucket: "backups", prefix: "prod" });
    expect(runningServices(on).map((s) => s.role)).toEqual([
      ...runningServices(off)
        .map((s) => s.role)
        .slice(0, 2),
      "backup-s3",
      ...runningServices(off)
        .map((s) => s.role)
        .slice(2),
    ]);
  });

  it("refuses what it cannot use, naming the key", () => {
    expect(() => parse({ prefix: "prod" })).toThrow(/backup\.s3\.bucket: is required with backup\.s3/);
    expect(() => parse({ bucket: "backups" })).toThrow(/backup\.s3\.prefix: is required with backup\.s3/);
    expect(() => parse({ bucket: "Backups!", prefix: "/prod/" })).toThrow(
      /backup\.s3\.bucket: must be an S3 bucket name[\s\S]*backup\.s3\.prefix: must be a key prefix/,
    );
    expect(() => parse({ bucket: "backups", prefix: "prod", accessKeyId: "AKID" })).toThrow(
      /accessKeyId and secretAccessKey together/,
    );
    expect(() => parse({ bucket: "backups", prefix: "prod", uploadSeconds: 5 })).toThrow(/backup\.s3\.uploadSeconds/);
    expect(() => parse({ bucket: "backups", prefix: "prod" }, { enabled: false })).toThrow(
      /backup\.s3: copies the backups off site, and backup\.enabled is false/,
    );
    expect(() =>
      parse({ bucket: "backups", prefix: "prod", secretAccessKey: "hunter2", accessKeyId: "A", extra: 1 }),
    ).toThrow(/backup\.s3\.extra/);
  });
});

describe("the status and plans with an off-site copy", () => {
  const local = parseStatus(
    [
      `system=${SYSTEM}`,
      "timeline=1",
      "base_backups=1",
      `last_base_backup=${info("20260101T000000Z", WAL(1))}`,
      `last_wal_file=${WAL(3)}.partial`,
      "archive_bytes=100",
      "server_lsn=0/3000100",
      "flushed_lsn=0/3000100",
      "lag_bytes=0",
    ].join("\n"),
  );
  const offsite = (finished: number) =>
    parseOffsiteStatus(
      [
        `system=${OTHER_SYSTEM} base_backups=1 last_base_backup=20250101T000000Z last_wal_file=${WAL(1)} bytes=5`,
        `system=${SYSTEM} base_backups=1 last_base_backup=20260101T000000Z last_wal_file=${WAL(3)}.partial bytes=2097152`,
        "remote=offsite:backups/prod",
        "interval_seconds=60",
        `started=${finished - 2} finished=${finished}`,
      ].join("\n"),
    );
  const now = new Date("2026-01-01T01:00:00Z");
  const epoch = now.getTime() / 1000;

  it("reports what the bucket holds of this database, and unhealthy once the last upload is three intervals old", () => {
    const current = statusReport(local, now, { location: "s3://backups/prod", status: offsite(epoch - 30) });
    expect(current.healthy).toBe(true);
    expect(current.text).toContain(
      `off-site copy      s3://backups/prod: 1 base backups (last 20260101T000000Z), WAL up to file ${WAL(3)}.partial, 2.0 MiB`,
    );
    expect(current.text).toMatch(/last upload +finished 30 s ago \(every 60 s\)$/m);
    const stale = statusReport(local, now, { location: "s3://backups/prod", status: offsite(epoch - 241) });
    expect(stale.healthy).toBe(false);
    expect(stale.text).toContain("the copy is NOT current");
    const never = statusReport(local, now, {
      location: "s3://backups/prod",
      status: parseOffsiteStatus("interval_seconds=60"),
    });
    expect(never.healthy).toBe(false);
    expect(never.text).toMatch(/nothing of this database yet[\s\S]*none yet/);
  });

  it("says a restore from the bucket copies it into a new volume first and keeps that copy", () => {
    const [backup] = parseBaseBackups(info("20260101T000000Z", WAL(1)));
    const fetched = fetchedArchiveName("supabase", now);
    expect(fetched).toBe("supabase-backups-from-s3-20260101t010000z");
    const plan = restorePlan({
      stack: "prod",
      target: "latest",
      backup,
      currentVolume: "supabase-db-data",
      newVolume: "supabase-db-data-x",
      containers: ["supabase-db"],
      fetch: { location: "s3://backups/prod", volume: fetched, kept: true },
    });
    expect(plan.split("\n")[1]).toBe(
      `  0. copy the base backup below and the WAL since from s3://backups/prod into a new volume ${fetched} (kept afterwards); the rest reads that copy`,
    );
  });
});
