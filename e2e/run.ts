/**
 * `npm run test:e2e`: the program on the real Pulumi engine, real provider plugins and a real Docker engine.
 *
 * Phases: toolchain (the `pulumi` on PATH, or one built from Go modules into a cache), Docker engine (the one
 * `docker` reaches, or Debian's dockerd started here), images (built locally: see e2e/images), then the key
 * lifecycle S0 create → S1 add standby → S2 promote → S3 revoke through the real CLI, checked after each step
 * from Docker and from the state file, then destroy and a fresh `pulumi up` on the kept database volume, and a
 * rejected config. Prints every check, ends with `N passed, N failed`, and writes `E2E_REPORT` when set.
 * Everything it started is stopped at the end, also on failure.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { obtainDocker, dockerEnv, type DockerEngine } from "./lib/engines/docker/engine";
import { prepareImages, type SuiteImages } from "./lib/engines/docker/images";
import { PulumiProject } from "./lib/engines/pulumi/project";
import { run } from "./lib/core/proc";
import { Recorder, writeReport } from "./lib/core/report";
import { cacheRoot, obtainToolchain, type Toolchain } from "./lib/toolchain/toolchain";
import { runLegacyMigration, runLifecycle } from "./lib/scenarios/lifecycle";
import { ALGORITHMS, type Algorithm } from "../components/keyring/algorithms";

const REPO_ROOT = path.resolve(__dirname, "..");
const log = (text: string) => process.stdout.write(`  ${text}\n`);

/** Docker objects named like the program's; the suite refuses to run where any exists that it did not create. */
async function programObjects(host: string): Promise<string[]> {
  const env = dockerEnv(host);
  const list = async (args: string[]) =>
    (await run("docker", args, { env, timeoutSeconds: 30 })).stdout.split("\n").filter((n) => /^supabase-/.test(n));
  return [
    ...(await list(["ps", "-a", "--format", "{{.Names}}"])),
    ...(await list(["volume", "ls", "--format", "{{.Name}}"])),
    ...(await list(["network", "ls", "--format", "{{.Name}}"])),
  ];
}

/** Removes every container, volume and network named like the program's (the suite's own, at the end). */
async function removeProgramObjects(host: string): Promise<void> {
  const env = dockerEnv(host);
  const names = async (args: string[]) =>
    (await run("docker", args, { env, timeoutSeconds: 30 })).stdout.split("\n").filter((n) => /^supabase-/.test(n));
  const containers = await names(["ps", "-a", "--format", "{{.Names}}"]);
  if (containers.length)
    await run("docker", ["rm", "-f", ...containers], { env, allowFailure: true, timeoutSeconds: 120 });
  const volumes = await names(["volume", "ls", "--format", "{{.Name}}"]);
  if (volumes.length)
    await run("docker", ["volume", "rm", "-f", ...volumes], { env, allowFailure: true, timeoutSeconds: 120 });
  const networks = await names(["network", "ls", "--format", "{{.Name}}"]);
  if (networks.length)
    await run("docker", ["network", "rm", ...networks], { env, allowFailure: true, timeoutSeconds: 60 });
}

async function main(): Promise<number> {
  const rec = new Recorder();
  const cache = cacheRoot();
  let toolchain: Toolchain | undefined;
  let docker: DockerEngine | undefined;
  let images: SuiteImages | undefined;
  let pulumiVersion = "unknown";
  let cleanDocker = false;
  const metrics: Record<string, number> = {};
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "supabase-e2e-"));
  try {
    docker = await rec.phase("docker engine", "", () => obtainDocker(path.join(cache, "dockerd"), log));
    const existing = await programObjects(docker.host);
    if (existing.length > 0) {
      throw new Error(
        `the Docker engine at ${docker.host} already has objects named like the program's (${existing.join(", ")}); ` +
          "the suite would replace them. Run it against another engine (E2E_OWN_DOCKERD=1 starts its own) or remove them.",
      );
    }
    cleanDocker = true;
    const engine = docker;
    // The toolchain build is CPU-bound and the images mostly wait on Debian's mirror: run both at once.
    [toolchain, images] = await Promise.all([
      rec.phase("toolchain", "a cold build compiles the Pulumi CLI and two providers: 30-50 minutes", () =>
        obtainToolchain(REPO_ROOT, log),
      ),
      rec.phase("images", "first run: debootstrap and image builds, several minutes", () =>
        prepareImages(engine.host, cache, log),
      ),
    ]);
    const chosen = images;
    const tools = toolchain;
    if (tools.binDir) {
      // The dynamic-provider host script ships in @pulumi/pulumi; the CLI's installer puts it next to `pulumi`,
      // where the CLI finds it as a bundled plugin.
      const script = "pulumi-resource-pulumi-nodejs";
      fs.copyFileSync(
        path.join(REPO_ROOT, "node_modules", "@pulumi", "pulumi", script),
        path.join(tools.binDir, script),
      );
      fs.chmodSync(path.join(tools.binDir, script), 0o755);
    }
    const env: NodeJS.ProcessEnv = {
      DOCKER_HOST: engine.host,
      PATH: [tools.binDir, process.env.PATH].filter(Boolean).join(path.delimiter),
      ...(tools.source === "path" ? {} : { PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true" }),
    };
    pulumiVersion = (await run("pulumi", ["version"], { env: { ...process.env, ...env } })).stdout.trim();
    const context = (name: string) => ({
      rec,
      repoRoot: REPO_ROOT,
      work: path.join(work, name),
      env,
      toolchain: tools,
      docker: engine,
      images: chosen,
      log,
      metrics,
    });
    const algorithms = (process.env.E2E_ALGORITHMS ?? ALGORITHMS.join(",")).split(",") as Algorithm[];
    for (const algorithm of algorithms) {
      const full = algorithm === algorithms[0];
      await rec.phase(
        `lifecycle ${algorithm}`,
        full
          ? "four updates, a rejected config, destroy and a fresh up: about 6 minutes"
          : "four updates: about 3 minutes",
        () => runLifecycle({ ...context(algorithm.toLowerCase()), algorithm, full }),
      );
      // Each run starts on empty volumes: the retained ones hold the previous run's passwords.
      await removeProgramObjects(engine.host);
    }
    if (process.env.E2E_LEGACY !== "0") {
      await rec.phase("legacy HS256 migration", "two updates", () =>
        runLegacyMigration({ ...context("legacy"), algorithm: "ES256", full: false }),
      );
      await removeProgramObjects(engine.host);
    }
  } catch (err) {
    rec.check("e2e:completed", false, err instanceof Error ? err.message : String(err));
  } finally {
    if (docker && cleanDocker) await removeProgramObjects(docker.host).catch((e) => log(`cleanup: ${e}`));
    if (docker?.started) await docker.stop().catch((e) => log(`stopping dockerd: ${e}`));
    if (process.env.E2E_KEEP_WORK === "1") log(`kept the work directory ${work} (E2E_KEEP_WORK=1)`);
    else fs.rmSync(work, { recursive: true, force: true });
  }
  writeReport(process.env.E2E_REPORT, {
    pulumiVersion,
    dockerServerVersion: docker?.serverVersion ?? "unknown",
    plugins: Object.fromEntries((toolchain?.plugins ?? []).map((p) => [p.name, `${p.version} (${p.origin})`])),
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
    totalSeconds: rec.elapsedSeconds(),
  });
  const failed = rec.failed.length;
  process.stdout.write(`\ne2e: ${rec.checks.length - failed} passed, ${failed} failed (${rec.elapsedSeconds()} s)\n`);
  for (const c of rec.failed) process.stdout.write(`  FAILED ${c.name}: ${c.detail.split("\n")[0]}\n`);
  return failed === 0 && rec.checks.length > 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`${err instanceof Error ? err.stack : err}\n`);
    process.exit(1);
  },
);
