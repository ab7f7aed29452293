/**
 * `npm run backup` and `npm run restore` as users run them (ts-node, as package.json says): a wrong command line exits
 * 2 with the usage before anything is read or touched.
 */
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { tsNodeScript } from "../support/npmScript";

const ROOT = path.resolve(__dirname, "..", "..");

function npmRun(name: string, args: string[]) {
  const script = tsNodeScript(name);
  const r = spawnSync(script.command, [...script.args, ...args], { cwd: ROOT, encoding: "utf8", timeout: 60_000 });
  return { code: r.status, stderr: r.stderr };
}

describe("the backup commands' usage", () => {
  it("npm run backup refuses an unknown command, and a restore needs --to as latest or a time with a zone", () => {
    const backup = npmRun("backup", ["frobnicate"]);
    expect(backup.code).toBe(2);
    expect(backup.stderr).toMatch(/unknown command frobnicate[\s\S]*Usage: npm run backup -- <command>/);
    const missing = npmRun("restore", []);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/--to is required/);
    const noZone = npmRun("restore", ["--to", "2026-01-01T12:00:00"]);
    expect(noZone.code).toBe(2);
    expect(noZone.stderr).toMatch(/--to must be latest or an ISO time with a zone/);
    const from = npmRun("restore", ["--to", "latest", "--from", "tape"]);
    expect(from.code).toBe(2);
    expect(from.stderr).toMatch(/--from must be volume or s3, got tape/);
    const statusFrom = npmRun("backup", ["status", "--from", "s3"]);
    expect(statusFrom.code).toBe(2);
    expect(statusFrom.stderr).toMatch(/--from is for verify only/);
  });
});
