/** The suite's last cleanup step: processes still naming the run's work directory are stopped, nothing else. */
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { killProcessesNaming } from "../../e2e/lib/core/proc";

describe("killProcessesNaming", () => {
  it("kills a process whose command line names the path and leaves one that does not", async () => {
    const marker = `/tmp/supabase-e2e-test-${randomBytes(6).toString("hex")}`;
    const named = spawn("sh", ["-c", "sleep 30", marker], { stdio: "ignore" });
    const other = spawn("sh", ["-c", "sleep 30", "/tmp/someone-else"], { stdio: "ignore" });
    const exited = new Promise<string | null>((resolve) => named.on("exit", (_code, signal) => resolve(signal)));
    try {
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(killProcessesNaming([marker])).toEqual([named.pid]);
      expect(await exited).toBe("SIGKILL");
      expect(other.exitCode).toBeNull();
      expect(other.signalCode).toBeNull();
    } finally {
      named.kill("SIGKILL");
      other.kill("SIGKILL");
    }
  });

  it("kills a process working in a directory under the path (a plugin started from the work directory's project)", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "supabase-e2e-test-"));
    const project = path.join(dir, "project");
    fs.mkdirSync(project);
    const inside = spawn("sleep", ["30"], { cwd: project, stdio: "ignore" });
    const exited = new Promise<string | null>((resolve) => inside.on("exit", (_code, signal) => resolve(signal)));
    try {
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(killProcessesNaming([dir])).toEqual([inside.pid]);
      expect(await exited).toBe("SIGKILL");
    } finally {
      inside.kill("SIGKILL");
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("ignores an empty or one-character path, which every command line would contain", () => {
    expect(killProcessesNaming(["", "/"])).toEqual([]);
  });
});
