/**
 * `npm run bench`: prints Markdown tables (not a timed test, nothing asserts on them):
 *  1. program evaluation under mocks (the stateful MockEngine) for keyrings of 1, 3 and 20 keys: a first
 *     `pulumi up` (keys generated) and a re-run with unchanged config, median and min–max over RUNS runs each;
 *  2. key generation per algorithm (`generateSigningJwk`) beside `openssl genpkey` for the same key type, timed in
 *     the same run, interleaved, with the ratio of the medians;
 *  3. the blast radius of each rotation step (`measureBlastRadius()` from testkit/blastRadius.ts), with the default
 *     settings and with the edge functions on, and the rollouts of the same steps on the Kubernetes target.
 */
import { execFileSync } from "node:child_process";
import { cpus } from "node:os";
import { KEY_TYPES, type Algorithm } from "../components/keyring/algorithms";
import { generateSigningJwk } from "../components/keyring/tokens";
import { supabaseProgram } from "../components/program";
import { formatBlastRadius, measureBlastRadius } from "../testkit/blastRadius";
import { MockEngine } from "../testkit/engine/engine";

/** Runs per measurement: at least 5, so a median and a spread mean something. */
const RUNS = Number(process.env.BENCH_RUNS ?? 7);
/** Key generations per algorithm (RSA is slow on both sides, so it gets fewer). */
const KEYGEN_RUNS: Record<Algorithm, number> = { ES256: 30, RS256: 10, EdDSA: 30 };

/** openssl genpkey arguments for the key type each algorithm uses. */
const OPENSSL_GENPKEY: Record<Algorithm, string[]> = {
  ES256: ["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"],
  RS256: ["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"],
  EdDSA: ["genpkey", "-algorithm", "ED25519"],
};

/** Summary statistics of a sample, in milliseconds. */
interface Stats {
  median: number;
  min: number;
  max: number;
  n: number;
}

function stats(samples: number[]): Stats {
  const sorted = [...samples].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  return { median, min: sorted[0], max: sorted[sorted.length - 1], n: sorted.length };
}

const ms = (v: number) => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2));
const spread = (s: Stats) => `${ms(s.median)} (${ms(s.min)}–${ms(s.max)})`;

function table(header: string[], rows: string[][]): string {
  return [
    `| ${header.join(" | ")} |`,
    `|${header.map(() => "---").join("|")}|`,
    ...rows.map((r) => `| ${r.join(" | ")} |`),
  ].join("\n");
}

/** A keyring of `size` keys as `signingKeys` config: one current, one standby, the rest previous or revoked. */
function keyring(size: number): Array<{ name: string; state: string }> {
  return Array.from({ length: size }, (_, i) => ({
    name: `k${String(i + 1).padStart(2, "0")}`,
    state: i === 0 ? "current" : i === 1 ? "standby" : i % 2 ? "previous" : "revoked",
  }));
}

/** The program with the output a deployment waits for, so a run is timed until the keyring has settled. */
function program() {
  const { keyring, stack } = supabaseProgram();
  return { currentKid: keyring.currentKid, workloads: "containers" in stack ? stack.containers : stack.workloads };
}

async function timed<T>(work: () => Promise<T>): Promise<number> {
  const started = performance.now();
  await work();
  return performance.now() - started;
}

async function programEvaluation(): Promise<string> {
  const rows: string[][] = [];
  for (const size of [1, 3, 20]) {
    const config = { signingKeys: keyring(size) };
    const first: number[] = [];
    const rerun: number[] = [];
    let resources = 0;
    for (let run = 0; run < RUNS; run++) {
      const engine = new MockEngine();
      first.push(await timed(() => engine.run(config, program)));
      rerun.push(await timed(() => engine.run(config, program)));
      resources = engine.registered.length;
      const changed = engine.registered.filter((r) => r.operation !== "same").map((r) => r.name);
      if (changed.length > 0) throw new Error(`a re-run changed ${changed.join(", ")}`);
    }
    rows.push([String(size), String(resources), spread(stats(first)), spread(stats(rerun))]);
  }
  return table(["keys", "resources", "first up, ms: median (min–max)", "re-run, ms: median (min–max)"], rows);
}

/** Runs openssl silently (genpkey prints progress dots on stderr). */
const openssl = (args: string[]) => async () => void execFileSync("openssl", args, { stdio: "ignore" });

async function keyGeneration(): Promise<string> {
  const rows: string[][] = [];
  for (const algorithm of ["ES256", "RS256", "EdDSA"] as Algorithm[]) {
    const ours: number[] = [];
    const genpkey: number[] = [];
    const start: number[] = [];
    // Interleaved, so both sides see the same load on this shared machine.
    for (let i = 0; i < KEYGEN_RUNS[algorithm]; i++) {
      ours.push(await timed(() => generateSigningJwk(algorithm)));
      genpkey.push(await timed(openssl([...OPENSSL_GENPKEY[algorithm], "-out", "/dev/null"])));
      start.push(await timed(openssl(["version"])));
    }
    const a = stats(ours);
    const b = stats(genpkey);
    const s = stats(start);
    const net = b.median - s.median;
    rows.push([
      algorithm,
      KEY_TYPES[algorithm].label,
      String(a.n),
      spread(a),
      spread(b),
      (a.median / b.median).toFixed(2),
      ms(s.median),
      net > 0 ? (a.median / net).toFixed(2) : "n/a",
    ]);
  }
  return [
    table(
      [
        "algorithm",
        "key type",
        "n",
        "generateSigningJwk, ms",
        "openssl genpkey, ms",
        "ratio ours / openssl",
        "openssl process start, ms",
        "ratio without process start",
      ],
      rows,
    ),
    "",
    "openssl genpkey is timed as a user runs it, process start included; `openssl version` (interleaved, same n) " +
      "measures that start, and the last column divides by the difference of the medians.",
  ].join("\n");
}

async function main(): Promise<void> {
  const openssl = execFileSync("openssl", ["version"], { encoding: "utf8" }).trim();
  console.log(`### Benchmark (${new Date().toISOString().slice(0, 10)})`);
  console.log("");
  console.log(
    `Node ${process.version}, ${openssl}, ${cpus()[0]?.model ?? "unknown CPU"} × ${cpus().length}; ${RUNS} runs per ` +
      `row.`,
  );
  console.log("");
  console.log("#### Program evaluation under mocks (config → keyring → guard → containers)");
  console.log("");
  console.log(await programEvaluation());
  console.log("");
  console.log("#### Key generation");
  console.log("");
  console.log(await keyGeneration());
  console.log("");
  console.log("#### Blast radius per rotation step (R = recreated, + = created, · = untouched)");
  console.log("");
  console.log(formatBlastRadius(await measureBlastRadius()));
  console.log("");
  console.log("With `functions.enabled` (and studio off):");
  console.log("");
  console.log(formatBlastRadius(await measureBlastRadius({ functions: true, studio: false })));
  console.log("");
  console.log("#### Rollouts per rotation step on Kubernetes (R = rolled, + = created, · = untouched)");
  console.log("");
  console.log(formatBlastRadius(await measureBlastRadius({ target: "kubernetes" })));
}

main().catch((error) => {
  console.error(error instanceof Error ? error.stack : error);
  process.exit(1);
});
