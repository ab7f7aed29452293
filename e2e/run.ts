/**
 * `npm run test:e2e`: the program on the real Pulumi engine, real provider plugins and a real Docker engine.
 *
 * Phases: toolchain (the `pulumi` on PATH, or one built from Go modules into a cache), Docker engine (the one
 * `docker` reaches, or Debian's dockerd started by the suite), images (built locally: see e2e/images), then the key
 * lifecycle S0 create → S1 add standby → S2 promote → S3 revoke through the real CLI, checked after each step
 * from Docker and from the state file, then destroy and a fresh `pulumi up` on the kept database volume, and a
 * rejected config. Prints every check, ends with `N passed, N failed`, and writes `E2E_REPORT` when set.
 * Everything it started is stopped at the end, also on failure.
 *
 * The code is in e2e/lib/: core/ (processes, the report, host ports, the cache), toolchain/ (the Pulumi CLI and
 * plugins, built from the Go modules in e2e/toolchain/), engines/ (the Docker engine and the images it runs, the
 * Pulumi project and its state), checks/ (what is checked) and scenarios/ (the step sequences that run them).
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ALGORITHMS, type Algorithm } from "../components/keyring/algorithms";
import { cacheRoot } from "./lib/core/cache";
import { lockCache } from "./lib/core/lock";
import { killProcessesNaming, run } from "./lib/core/proc";
import { Recorder, writeReport, type E2eReport } from "./lib/core/report";
import { obtainDocker, type DockerEngine } from "./lib/engines/docker/engine";
import { prepareImages, type SuiteImages } from "./lib/engines/docker/images";
import { programObjects, removeProgramObjects } from "./lib/engines/docker/programObjects";
import type { ScenarioContext } from "./lib/scenarios/context";
import { runBackupsAndFaults } from "./lib/scenarios/backups";
import { runTwoInstances } from "./lib/scenarios/instances";
import { runLegacyMigration } from "./lib/scenarios/legacy";
import { KubernetesPhase, kubernetesRequested } from "./lib/scenarios/kubernetes";
import { runLifecycle } from "./lib/scenarios/lifecycle";
import { runPackage } from "./lib/scenarios/package";
import { runReadmeQuickStart } from "./lib/scenarios/readme";
import { runTls } from "./lib/scenarios/tls";
import { obtainToolchain, type Toolchain } from "./lib/toolchain/obtain";

const REPO_ROOT = path.resolve(__dirname, "..");
const log = (text: string) => process.stdout.write(`  ${text}\n`);

/** What the suite obtained so far, for the report and the cleanup (a phase that fails leaves the rest unset). */
interface Obtained {
  docker?: DockerEngine;
  toolchain?: Toolchain;
  images?: SuiteImages;
  pulumiVersion: string;
  /** The engine had no objects named like the program's: those there at the end are the suite's, to remove. */
  cleanDocker: boolean;
  /** The Kubernetes phase's builds and cluster (absent with `E2E_KUBERNETES=0`). */
  kubernetes?: KubernetesPhase;
}

/** The engines a scenario runs on, once every one of them is there. */
type Engines = Required<Pick<Obtained, "docker" | "toolchain" | "images">>;

/** The Docker engine, then the toolchain and the images at the same time; each recorded in `obtained` as it comes. */
async function obtainEngines(rec: Recorder, cache: string, obtained: Obtained): Promise<Engines> {
  const docker = await rec.phase("docker engine", "", () => obtainDocker(path.join(cache, "dockerd"), log));
  obtained.docker = docker;
  let existing = await programObjects(docker.host);
  if (existing.length > 0 && docker.started) {
    // The suite's own daemon, on the suite's data root, under the suite's lock: these objects are the leftovers of
    // a run that was cut off before its cleanup (a killed process, a machine restart). Nobody else's to keep.
    log(`removing ${existing.length} objects a run cut off before its cleanup left: ${existing.join(", ")}`);
    await removeProgramObjects(docker.host);
    existing = await programObjects(docker.host);
  }
  if (existing.length > 0) {
    throw new Error(
      `the Docker engine at ${docker.host} already has objects named like the program's (${existing.join(", ")}); ` +
        "the suite would replace them. Run it against another engine (E2E_OWN_DOCKERD=1 starts its own) or remove them.",
    );
  }
  obtained.cleanDocker = true;
  obtained.kubernetes?.useDocker(docker.host, cache);
  // The toolchain build is CPU-bound and the images mostly wait on Debian's mirror: run both at once.
  const [toolchain, images] = await Promise.all([
    rec.phase("toolchain", "a cold build compiles the Pulumi CLI and two providers: 30-50 minutes", () =>
      obtainToolchain(REPO_ROOT, log),
    ),
    rec.phase("images", "first run: debootstrap and image builds, several minutes", () =>
      prepareImages(docker.host, cache, log),
    ),
  ]);
  obtained.toolchain = toolchain;
  obtained.images = images;
  return { docker, toolchain, images };
}

/** The environment of every `pulumi` command: the toolchain first on PATH, the suite's Docker engine. */
function pulumiEnvironment({ docker, toolchain }: Engines): NodeJS.ProcessEnv {
  if (toolchain.binDir) {
    // The dynamic-provider host script ships in @pulumi/pulumi; the CLI's installer puts it next to `pulumi`,
    // where the CLI finds it as a bundled plugin.
    const script = "pulumi-resource-pulumi-nodejs";
    fs.copyFileSync(
      path.join(REPO_ROOT, "node_modules", "@pulumi", "pulumi", script),
      path.join(toolchain.binDir, script),
    );
    fs.chmodSync(path.join(toolchain.binDir, script), 0o755);
  }
  return {
    DOCKER_HOST: docker.host,
    PATH: [toolchain.binDir, process.env.PATH].filter(Boolean).join(path.delimiter),
    ...(toolchain.source === "path" ? {} : { PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true" }),
  };
}

/**
 * The lifecycle for each algorithm (the first one the full run), then the legacy migration, each on empty volumes.
 * `contextFor` gives a scenario its context, working in a directory of its own `name`.
 */
async function runScenarios(
  rec: Recorder,
  host: string,
  contextFor: (name: string) => Omit<ScenarioContext, "algorithm" | "full">,
): Promise<void> {
  // E2E_ALGORITHMS=none runs no lifecycle (the other phases only, while working on one of them).
  const algorithms = (process.env.E2E_ALGORITHMS ?? ALGORITHMS.join(","))
    .split(",")
    .filter((a) => a !== "" && a !== "none") as Algorithm[];
  for (const algorithm of algorithms) {
    const full = algorithm === algorithms[0];
    await rec.phase(
      `lifecycle ${algorithm}`,
      full
        ? "four updates, a rejected config, destroy and a fresh up: about 6 minutes"
        : "four updates: about 3 minutes",
      () => runLifecycle({ ...contextFor(algorithm.toLowerCase()), algorithm, full }),
    );
    // Each run starts on empty volumes: the retained ones hold the previous run's passwords.
    await removeProgramObjects(host);
  }
  if (process.env.E2E_INSTANCES !== "0") {
    await rec.phase("two instances on one engine", "two stacks up at once, one destroyed: about 2 minutes", () =>
      runTwoInstances({ ...contextFor("instances"), algorithm: "ES256", full: false }),
    );
    await removeProgramObjects(host);
  }
  if (process.env.E2E_TLS !== "0") {
    await rec.phase("TLS in front of the gateway", "one stack with tls.mode internal: about 2 minutes", () =>
      runTls({ ...contextFor("tls"), algorithm: "ES256", full: false }),
    );
    await removeProgramObjects(host);
  }
  if (process.env.E2E_BACKUP !== "0" || process.env.E2E_FAULTS !== "0") {
    await rec.phase(
      "backups and faults",
      "point-in-time restore, a 1 GB restore timed, db killed, the engine restarted, pulumi up killed: about 10 minutes",
      () => runBackupsAndFaults({ ...contextFor("backup"), algorithm: "ES256", full: false }),
    );
    await removeProgramObjects(host);
  }
  if (process.env.E2E_README !== "0") {
    await rec.phase("README quick start", "npm run up, verify, a rotation, in new shells: about 4 minutes", () =>
      runReadmeQuickStart({ ...contextFor("readme"), algorithm: "ES256", full: false }),
    );
    await removeProgramObjects(host);
  }
  if (process.env.E2E_PACKAGE !== "0") {
    await rec.phase(
      "component package from YAML",
      "pulumi package add, an up, a promotion and a destroy of a YAML program: about 6 minutes",
      () => runPackage({ ...contextFor("package"), algorithm: "ES256", full: false }),
    );
    await removeProgramObjects(host);
  }
  if (process.env.E2E_LEGACY !== "0") {
    await rec.phase("legacy HS256 migration", "two updates", () =>
      runLegacyMigration({ ...contextFor("legacy"), algorithm: "ES256", full: false }),
    );
    await removeProgramObjects(host);
  }
}

/** Removes what the suite created and stops what it started; keeps the work directory with `E2E_KEEP_WORK=1`. */
async function cleanUp({ docker, cleanDocker, kubernetes, toolchain }: Obtained, work: string): Promise<void> {
  await kubernetes?.stop();
  if (docker && cleanDocker) await removeProgramObjects(docker.host).catch((e) => log(`cleanup: ${e}`));
  if (docker?.started) await docker.stop().catch((e) => log(`stopping dockerd: ${e}`));
  const leftovers = killProcessesNaming([work, ...(toolchain?.binDir ? [toolchain.binDir] : [])]);
  if (leftovers.length) log(`stopped ${leftovers.length} plugin processes left running: ${leftovers.join(", ")}`);
  if (process.env.E2E_KEEP_WORK === "1") log(`kept the work directory ${work} (E2E_KEEP_WORK=1)`);
  else fs.rmSync(work, { recursive: true, force: true });
}

/** The JSON report of the run (`E2E_REPORT`). */
function reportOf(rec: Recorder, obtained: Obtained, metrics: Record<string, number>): E2eReport {
  const { docker, toolchain, images, kubernetes } = obtained;
  const plugins = [...(toolchain?.plugins ?? []), ...(kubernetes?.plugin ? [kubernetes.plugin] : [])];
  return {
    pulumiVersion: obtained.pulumiVersion,
    dockerServerVersion: docker?.serverVersion ?? "unknown",
    kubernetesVersion: kubernetes?.version ?? "not run",
    plugins: Object.fromEntries(plugins.map((p) => [p.name, `${p.version} (${p.origin})`])),
    images: images?.program ?? {},
    steps: rec.steps,
    checks: rec.checks,
    phases: rec.phases,
    metrics,
    toolchain: {
      source: toolchain?.source ?? "none",
      cacheDir: toolchain?.cacheDir,
      buildSeconds: toolchain?.buildSeconds,
    },
    kubernetes: kubernetes?.report(),
    totalSeconds: rec.elapsedSeconds(),
  };
}

/** Prints `N passed, N failed` and each failure; the exit status: 0 when checks ran and none failed. */
function summarize(rec: Recorder): number {
  const failed = rec.failed.length;
  process.stdout.write(`\ne2e: ${rec.checks.length - failed} passed, ${failed} failed (${rec.elapsedSeconds()} s)\n`);
  for (const c of rec.failed) process.stdout.write(`  FAILED ${c.name}: ${c.detail.split("\n")[0]}\n`);
  return failed === 0 && rec.checks.length > 0 ? 0 : 1;
}

/** The phases, the scenarios and the cleanup; the report; the exit status. */
async function main(): Promise<number> {
  const rec = new Recorder();
  const cache = cacheRoot();
  const unlock = await lockCache(cache, log);
  const obtained: Obtained = { pulumiVersion: "unknown", cleanDocker: false };
  const metrics: Record<string, number> = {};
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "supabase-e2e-"));
  // A throw in an event handler ends the process without reaching `finally`: stop what the suite started first.
  process.once("uncaughtException", (err) => {
    process.stderr.write(`uncaught: ${err.stack ?? err}\n`);
    rec.check("e2e:completed", false, `uncaught: ${err.message}`);
    void cleanUp(obtained, work)
      .finally(unlock)
      .finally(() => {
        writeReport(process.env.E2E_REPORT, reportOf(rec, obtained, metrics));
        process.exit(summarize(rec));
      });
  });
  try {
    // The Kubernetes builds start first: they overlap everything up to the Kubernetes phase.
    if (kubernetesRequested()) obtained.kubernetes = new KubernetesPhase(REPO_ROOT, log);
    const engines = await obtainEngines(rec, cache, obtained);
    const env = pulumiEnvironment(engines);
    obtained.pulumiVersion = (await run("pulumi", ["version"], { env: { ...process.env, ...env } })).stdout.trim();
    await runScenarios(rec, engines.docker.host, (name) => ({
      rec,
      repoRoot: REPO_ROOT,
      work: path.join(work, name),
      env,
      ...engines,
      log,
      metrics,
    }));
    const kubernetes = obtained.kubernetes;
    if (kubernetes)
      await rec.phase("kubernetes", "the builds' remainder, a cluster, the lifecycle on it", () =>
        kubernetes.run(rec, {
          work: path.join(work, "kubernetes"),
          dockerHost: engines.docker.host,
          images: engines.images,
          metrics,
          toolchain: engines.toolchain,
          env,
        }),
      );
  } catch (err) {
    rec.check("e2e:completed", false, err instanceof Error ? err.message : String(err));
  } finally {
    await cleanUp(obtained, work);
    unlock();
  }
  writeReport(process.env.E2E_REPORT, reportOf(rec, obtained, metrics));
  return summarize(rec);
}

main().then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`${err instanceof Error ? err.stack : err}\n`);
    process.exit(1);
  },
);
