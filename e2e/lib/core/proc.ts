/**
 * Child processes for the end-to-end suite: every command has a time limit, its output is kept for the report,
 * and a failure says which command failed with what it printed.
 */
import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";

/** What a finished command produced. */
export interface RunResult {
  status: number;
  stdout: string;
  stderr: string;
  seconds: number;
}

/** Options of {@link run}. */
export interface RunOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Standard input text. */
  input?: string;
  /** Hard limit; the process group is killed when it passes (default 10 minutes). */
  timeoutSeconds?: number;
  /** Print the command's output as it arrives, each line prefixed (long builds show progress). */
  stream?: string;
  /** Do not throw on a non-zero exit status. */
  allowFailure?: boolean;
  /** Kills the process group when aborted (a background build the suite no longer waits for). */
  signal?: AbortSignal;
}

/** Thrown when a command fails or times out. */
export class CommandError extends Error {
  constructor(
    readonly command: string,
    readonly result: RunResult,
  ) {
    const tail = (result.stderr.trim() || result.stdout.trim()).split("\n").slice(-25).join("\n");
    const diagnostics = diagnosticsSection(result.stdout);
    super(
      `command failed (exit ${result.status} after ${result.seconds.toFixed(1)} s): ${command}\n` +
        (diagnostics && !tail.includes(diagnostics) ? `${diagnostics}\n…\n` : "") +
        tail,
    );
    this.name = "CommandError";
  }
}

/**
 * The `Diagnostics:` section of a Pulumi command's output (at most 40 lines), where it names each failed resource
 * and the provider's error. A failed `pulumi up` prints the outputs and the resource summary after it, so the
 * output's tail alone does not say what failed.
 */
export function diagnosticsSection(stdout: string): string | undefined {
  const lines = stdout.split("\n");
  const start = lines.findIndex((line) => line.trimEnd() === "Diagnostics:");
  if (start < 0) return undefined;
  const rest = lines.slice(start + 1);
  // The section ends where the next unindented heading (Outputs:, Resources:, …) begins.
  const end = rest.findIndex((line) => line.trim() !== "" && !/^\s/.test(line));
  return [lines[start], ...(end < 0 ? rest : rest.slice(0, end))]
    .join("\n")
    .trimEnd()
    .split("\n")
    .slice(0, 40)
    .join("\n");
}

const quote = (arg: string): string => (/^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, "'\\''")}'`);

/** The command line as a shell would read it, for messages. */
export const commandLine = (file: string, args: readonly string[]): string => [file, ...args].map(quote).join(" ");

/** Runs a command to completion (asynchronously, so progress and other work continue). */
export function run(file: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  const started = performance.now();
  const limit = (options.timeoutSeconds ?? 600) * 1000;
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: ["pipe", "pipe", "pipe"],
      detached: true, // its own process group, so a timeout kills its children too
    });
    let stdout = "";
    let stderr = "";
    let timedOut = false;
    const echo = (chunk: string) => {
      if (options.stream === undefined) return;
      for (const line of chunk.split("\n")) if (line.trim()) process.stdout.write(`${options.stream}${line}\n`);
    };
    child.stdout.setEncoding("utf8").on("data", (d: string) => ((stdout += d), echo(d)));
    child.stderr.setEncoding("utf8").on("data", (d: string) => ((stderr += d), echo(d)));
    const killGroup = () => {
      try {
        process.kill(-child.pid!, "SIGKILL");
      } catch {
        child.kill("SIGKILL");
      }
    };
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup();
    }, limit);
    if (options.signal?.aborted) killGroup();
    options.signal?.addEventListener("abort", killGroup, { once: true });
    child.on("error", (err) => {
      clearTimeout(timer);
      reject(new Error(`cannot run ${commandLine(file, args)}: ${err.message}`));
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      options.signal?.removeEventListener("abort", killGroup);
      const result: RunResult = {
        status: timedOut ? 124 : (code ?? 1),
        stdout,
        stderr: timedOut ? `${stderr}\n(killed after ${limit / 1000} s)` : stderr,
        seconds: (performance.now() - started) / 1000,
      };
      if (result.status !== 0 && !options.allowFailure) reject(new CommandError(commandLine(file, args), result));
      else resolve(result);
    });
    // A command that exits without reading its input closes the pipe first; that is not a failure of ours.
    child.stdin.on("error", () => {});
    child.stdin.end(options.input ?? "");
  });
}

/** True when the command runs and exits 0 within a few seconds (for "is this tool usable" probes). */
export function works(file: string, args: readonly string[], env: NodeJS.ProcessEnv = process.env): boolean {
  const r = spawnSync(file, args, { env, stdio: "ignore", timeout: 20_000 });
  return r.status === 0;
}

/**
 * Repeats `probe` until it returns a value, at most `attempts` times `intervalMs` apart. Returns undefined when
 * it never did, so every wait in the suite has a known upper bound.
 */
export async function poll<T>(
  probe: () => Promise<T | undefined>,
  attempts: number,
  intervalMs: number,
): Promise<T | undefined> {
  for (let i = 0; i < attempts; i++) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  return undefined;
}

/**
 * Kills (SIGKILL) every process but this one whose command line names one of `paths`, or whose working directory is
 * under one; returns their ids. Plugins that a `pulumi` command starts in process groups of their own outlive the
 * command when it is killed, and `pulumi package add` leaves its language host and the package's plugin running: at
 * the end of a run, whatever still names the run's work directory or its toolchain is such a leftover (one suite per
 * cache at a time). The program's dynamic provider, which a killed `pulumi up` leaves behind, names neither on its
 * command line (it runs from the repository's node_modules) but runs in the project directory of the work directory.
 */
export function killProcessesNaming(paths: readonly string[]): number[] {
  const wanted = paths.filter((p) => p.length > 1);
  const killed: number[] = [];
  for (const entry of fs.readdirSync("/proc")) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid === process.pid || pid === process.ppid) continue;
    let commandLine: string;
    try {
      commandLine = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ");
    } catch {
      continue; // gone meanwhile, or not ours to read
    }
    let cwd = "";
    try {
      cwd = fs.readlinkSync(`/proc/${pid}/cwd`);
    } catch {
      // not ours to read
    }
    if (!wanted.some((p) => commandLine.includes(p) || cwd === p || cwd.startsWith(`${p}/`))) continue;
    try {
      process.kill(pid, "SIGKILL");
      killed.push(pid);
    } catch {
      // already gone
    }
  }
  return killed;
}
