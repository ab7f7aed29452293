/**
 * The cluster's long-running processes (etcd, containerd, the Kubernetes components): each started by the suite in
 * its own process group with its output in a log file, and stopped by its own process id, gently first and
 * then for sure, within a bounded time.
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import { poll } from "../../core/proc";

/** Whether a process with this id exists. */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Sends `signal` to one process; gone already is fine. */
export function signalProcess(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}

/** Waits at most `seconds` for the process to be gone; whether it is. */
export async function awaitGone(pid: number, seconds: number): Promise<boolean> {
  return (await poll(async () => (processAlive(pid) ? undefined : true), seconds * 10, 100)) === true;
}

/** One daemon the suite started. */
export class Daemon {
  private exitCode: number | null | undefined;

  private constructor(
    readonly name: string,
    readonly pid: number,
    readonly logFile: string,
  ) {}

  /** Starts `file args` with its output appended to `logFile`; the child does not keep the suite alive. */
  static start(name: string, file: string, args: string[], logFile: string, env?: NodeJS.ProcessEnv): Daemon {
    const out = fs.openSync(logFile, "a");
    const child = spawn(file, args, { stdio: ["ignore", out, out], detached: true, env: env ?? process.env });
    fs.closeSync(out);
    if (child.pid === undefined) throw new Error(`could not start ${name} (${file})`);
    const daemon = new Daemon(name, child.pid, logFile);
    child.on("exit", (code, signal) => {
      daemon.exitCode = code ?? (signal ? -1 : null);
    });
    child.on("error", () => {
      daemon.exitCode = -1;
    });
    child.unref();
    return daemon;
  }

  /** Whether it has exited (it should not before the suite stops it). */
  get exited(): boolean {
    return this.exitCode !== undefined || !processAlive(this.pid);
  }

  /** The last `lines` lines of its log, for a failure message. */
  tail(lines = 15): string {
    try {
      return fs.readFileSync(this.logFile, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
    } catch {
      return "(no log)";
    }
  }

  /** Throws with its log's tail when it has exited. */
  assertRunning(): void {
    if (this.exited) throw new Error(`${this.name} exited (code ${this.exitCode}); its log ends:\n${this.tail()}`);
  }

  /**
   * SIGTERM, at most `graceSeconds` for it to exit, then SIGKILL and at most 10 s more. Returns how it ended, for the
   * log.
   */
  async stop(graceSeconds: number): Promise<string> {
    if (!processAlive(this.pid)) return `${this.name} had exited`;
    const t0 = performance.now();
    signalProcess(this.pid, "SIGTERM");
    if (await awaitGone(this.pid, graceSeconds))
      return `${this.name} stopped in ${((performance.now() - t0) / 1000).toFixed(1)} s`;
    signalProcess(this.pid, "SIGKILL");
    const gone = await awaitGone(this.pid, 10);
    return `${this.name} did not stop within ${graceSeconds} s: ${gone ? "killed" : "still there after SIGKILL"}`;
  }
}
