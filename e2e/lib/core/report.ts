/**
 * What the end-to-end suite found: named checks, per-step engine results, phase timings, and the JSON report
 * written to `E2E_REPORT`.
 */
import * as fs from "node:fs";

/** One named check; `detail` says what was compared or why it failed. */
export interface Check {
  name: string;
  ok: boolean;
  detail: string;
}

/**
 * A check's full name in a scenario: `<check>:<step>:<algorithm>`, so the same check after each step and for each
 * algorithm is its own line of the report.
 */
export type CheckNamer = (check: string) => string;

/** Where a step ran: the Docker engine, or the suite's Kubernetes cluster. */
export type StepTarget = "docker" | "kubernetes";

/** What one `pulumi up` (or destroy) did, as the real engine reported it. */
export interface StepRecord {
  name: string;
  target: StepTarget;
  /** URNs the engine replaced. */
  replaced: string[];
  created: string[];
  deleted: string[];
  /** Wall time of the update. */
  seconds: number;
}

/** The report's schema (`E2E_REPORT=<file>`). */
export interface E2eReport {
  pulumiVersion: string;
  dockerServerVersion: string;
  /** The suite's cluster's version (`/version`'s gitVersion), "not run" without the Kubernetes phase. */
  kubernetesVersion: string;
  /** Plugin name → version, with how it was obtained. */
  plugins: Record<string, string>;
  /** Image per service, and whether it is the real service or a stand-in. */
  images: Record<string, { ref: string; real: boolean; note?: string }>;
  steps: StepRecord[];
  checks: Check[];
  /** Named measurements: wall time of each `pulumi up`, auth's unavailability during a promotion (seconds). */
  metrics: Record<string, number>;
  /** Seconds per phase (toolchain, images, lifecycle, ...). */
  phases: Record<string, number>;
  /** How the toolchain was obtained: `path` (tools already installed) or `built` / `cached` (this suite's build). */
  toolchain: { source: string; cacheDir?: string; buildSeconds?: number };
  /** The Kubernetes phase's builds (per part: built or cached, and seconds) and its cluster; absent when skipped. */
  kubernetes?: {
    builds: Record<string, { source: string; seconds?: number; cacheDir?: string }>;
    clusterStartSeconds?: number;
  };
  totalSeconds: number;
}

/** Collects checks and timings while the suite runs, and prints them as they happen. */
export class Recorder {
  readonly checks: Check[] = [];
  readonly steps: StepRecord[] = [];
  readonly phases: Record<string, number> = {};
  private readonly started = performance.now();

  /** Records a check and prints it; returns `ok` so callers can branch on it. */
  check(name: string, ok: boolean, detail: string): boolean {
    this.checks.push({ name, ok, detail });
    process.stdout.write(`  ${ok ? "ok  " : "FAIL"} ${name}${detail ? `: ${detail}` : ""}\n`);
    return ok;
  }

  /** Runs `body` as a check: passes when it returns (its string is the detail), fails with the error's message. */
  async attempt(name: string, body: () => Promise<string> | string): Promise<boolean> {
    try {
      return this.check(name, true, await body());
    } catch (err) {
      return this.check(name, false, err instanceof Error ? err.message : String(err));
    }
  }

  /** Records what one `pulumi up` (or destroy) did on `target`, its wall time rounded to a tenth of a second. */
  step(
    name: string,
    { replaced, created, deleted }: Omit<StepRecord, "name" | "seconds" | "target">,
    seconds: number,
    target: StepTarget = "docker",
  ): void {
    this.steps.push({ name, target, replaced, created, deleted, seconds: Math.round(seconds * 10) / 10 });
  }

  /** Runs one phase, printing its start (with a hint of how long it may take) and its duration. */
  async phase<T>(name: string, hint: string, body: () => Promise<T>): Promise<T> {
    process.stdout.write(`\n== ${name}${hint ? ` (${hint})` : ""}\n`);
    const t0 = performance.now();
    try {
      return await body();
    } finally {
      const seconds = (performance.now() - t0) / 1000;
      this.phases[name] = Math.round(seconds * 10) / 10;
      process.stdout.write(`== ${name}: ${seconds.toFixed(1)} s\n`);
    }
  }

  /** Seconds since the suite started, to a tenth. */
  elapsedSeconds(): number {
    return Math.round((performance.now() - this.started) / 100) / 10;
  }

  /** The checks that failed so far. */
  get failed(): Check[] {
    return this.checks.filter((c) => !c.ok);
  }
}

/** Writes the report when `E2E_REPORT` names a file. */
export function writeReport(file: string | undefined, report: E2eReport): void {
  if (!file) return;
  fs.writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
  process.stdout.write(`report written to ${file}\n`);
}
