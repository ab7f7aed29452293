/**
 * The backup service's streaming and base backups, run for real (`backup.sh receive` and `backup.sh base`) with
 * recording stand-ins for psql, pg_receivewal and pg_basebackup on PATH: the slot it creates holds WAL from the
 * start, an archive the server can no longer continue is set aside and streamed afresh, and a failed base backup
 * leaves nothing a restore could pick.
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { BACKUP_SCRIPT } from "../../components/services/backup/backup";

const SYSTEM = "7400000000000000001";
let root = "";
afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

/** A backups root with stand-ins on PATH; `receivewal` and `basebackup` are the bodies of those two stand-ins. */
function service(stand: { slots: number; receivewal: string; basebackup?: string }) {
  root = fs.mkdtempSync(path.join(os.tmpdir(), "backup-stream-"));
  const bin = path.join(root, "bin");
  const calls = path.join(root, "calls");
  fs.mkdirSync(bin);
  const tool = (name: string, body: string) =>
    fs.writeFileSync(path.join(bin, name), `#!/bin/sh\necho "${name} $*" >> ${calls}\n${body}\n`, { mode: 0o755 });
  tool(
    "psql",
    `case "$*" in *IDENTIFY_SYSTEM*) echo "${SYSTEM} 3 0/52000000 " ;; *"count(*)"*) echo ${stand.slots} ;; esac`,
  );
  tool("pg_receivewal", stand.receivewal);
  tool("pg_basebackup", stand.basebackup ?? "exit 1");
  const script = path.join(root, "backup.sh");
  fs.writeFileSync(script, BACKUP_SCRIPT);
  const run = (subcommand: string) =>
    execFileSync("sh", [script, subcommand], {
      env: {
        PATH: `${bin}:${process.env.PATH}`,
        BACKUP_ROOT: path.join(root, "backups"),
        BACKUP_STATE_DIR: path.join(root, "state"),
      },
      stdio: "pipe",
    });
  return { run, calls: () => fs.readFileSync(calls, "utf8"), cluster: path.join(root, "backups", SYSTEM) };
}

describe("the backup service's WAL stream (backup.sh receive)", () => {
  it("creates its slot with WAL reserved and saved at once, then streams into the timeline's directory", () => {
    const s = service({ slots: 0, receivewal: "exit 0" });
    s.run("receive");
    expect(s.calls()).toContain("CREATE_REPLICATION_SLOT supabase_backup PHYSICAL RESERVE_WAL");
    expect(s.calls()).not.toContain("--create-slot");
    expect(s.calls()).toMatch(new RegExp(`pg_receivewal .*-D ${s.cluster}/wal/00000003 --synchronous`));
  });

  it("keeps an existing slot", () => {
    const s = service({ slots: 1, receivewal: "exit 0" });
    s.run("receive");
    expect(s.calls()).not.toContain("CREATE_REPLICATION_SLOT");
  });

  it("sets aside an archive the server can no longer continue, drops the slot and asks for a base backup", () => {
    const s = service({
      slots: 1,
      receivewal:
        'echo "pg_receivewal: error: unexpected termination of replication stream: ERROR:  requested WAL segment ' +
        '000000030000000000000052 has already been removed" >&2; exit 1',
    });
    const wal = path.join(s.cluster, "wal", "00000003");
    fs.mkdirSync(wal, { recursive: true });
    fs.writeFileSync(path.join(wal, "000000030000000000000051"), "full");
    fs.writeFileSync(path.join(wal, "000000030000000000000052.partial"), "partial");
    s.run("receive");
    const dirs = fs.readdirSync(path.join(s.cluster, "wal")).sort();
    expect(dirs).toHaveLength(2);
    expect(dirs[0]).toBe("00000003");
    expect(dirs[1]).toMatch(/^00000003\.before-gap-\d{8}T\d{6}Z$/);
    expect(fs.readdirSync(wal)).toEqual([]);
    expect(fs.readdirSync(path.join(s.cluster, "wal", dirs[1])).sort()).toEqual([
      "000000030000000000000051",
      "000000030000000000000052.partial",
    ]);
    expect(s.calls()).toContain("DROP_REPLICATION_SLOT supabase_backup");
    expect(fs.existsSync(path.join(s.cluster, "base-backup-due"))).toBe(true);
  });

  it("leaves the archive alone when the stream ends for another reason", () => {
    const s = service({ slots: 1, receivewal: 'echo "pg_receivewal: error: disconnected" >&2; exit 1' });
    s.run("receive");
    expect(fs.readdirSync(path.join(s.cluster, "wal"))).toEqual(["00000003"]);
    expect(s.calls()).not.toContain("DROP_REPLICATION_SLOT");
  });
});

describe("a base backup that fails (backup.sh base)", () => {
  it("keeps nothing under a name a restore could choose, and says it failed", () => {
    const s = service({ slots: 1, receivewal: "exit 0", basebackup: 'echo "could not read COPY data" >&2; exit 1' });
    expect(() => s.run("base")).toThrow(/base backup \d{8}T\d{6}Z failed \(pg_basebackup\); nothing kept/);
    expect(fs.readdirSync(path.join(s.cluster, "base"))).toEqual([]);
  });

  it("keeps nothing when the backup has no backup_label", () => {
    const s = service({
      slots: 1,
      receivewal: "exit 0",
      // A tarball without backup_label, where pg_basebackup would have put base.tar.gz.
      basebackup:
        'for a; do case "$prev" in -D) dir=$a ;; esac; prev=$a; done; touch "$dir/empty"; tar -czf "$dir/base.tar.gz" -C "$dir" empty',
    });
    expect(() => s.run("base")).toThrow(/failed \(no backup_label in base\.tar\.gz\); nothing kept/);
    expect(fs.readdirSync(path.join(s.cluster, "base"))).toEqual([]);
  });
});
