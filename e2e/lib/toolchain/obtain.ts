/**
 * The Pulumi toolchain of the end-to-end suite: the `pulumi` CLI, its Node language host and the docker and
 * random provider plugins the program's SDK packages ask for.
 *
 * Where a working `pulumi` is on PATH (a user's machine, a GitHub runner) it is used as it is, and it fetches its
 * plugins itself. Otherwise everything is built from Go modules into a cache directory keyed by the versions and
 * by the glue in e2e/toolchain/, so a second run reuses it. The wrapper modules there say what each build takes.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { cacheRoot } from "../core/cache";
import { run, works } from "../core/proc";
import { buildInto } from "./build";
import { pluginSpecs, sdkVersions, toolchainKey, type PluginSpec } from "./goModules";

/** A usable toolchain. */
export interface Toolchain {
  source: "path" | "built" | "cached";
  /** Directory to put first on PATH (built toolchains). */
  binDir?: string;
  cacheDir?: string;
  /** Seconds the build took (built toolchains). */
  buildSeconds?: number;
  /** Plugins to register with `pulumi plugin install --file`, and the schema each was built with (built toolchains). */
  plugins: Array<PluginSpec & { file?: string; schema?: string }>;
}

/** True when a `pulumi` on PATH answers `pulumi version`. */
export function pulumiOnPath(): boolean {
  return works("pulumi", ["version"]);
}

/**
 * A toolchain to run the suite with: the one on PATH, a cached build, or a new build (many minutes cold).
 * `E2E_BUILD_TOOLCHAIN=1` builds even when a `pulumi` is on PATH.
 */
export async function obtainToolchain(projectRoot: string, log: (t: string) => void): Promise<Toolchain> {
  if (process.env.E2E_BUILD_TOOLCHAIN !== "1" && pulumiOnPath()) {
    log("using the pulumi on PATH; it installs the docker and random plugins itself");
    const versions = sdkVersions(projectRoot);
    return {
      source: "path",
      plugins: [
        { name: "docker", version: versions.docker, origin: "installed by the pulumi CLI" },
        { name: "random", version: versions.random, origin: "installed by the pulumi CLI" },
      ],
    };
  }
  if (!works("go", ["version"]))
    throw new Error("no pulumi on PATH and no Go toolchain to build one: install Go 1.25+ or the Pulumi CLI");
  const goVersion = (await run("go", ["version"])).stdout.trim();
  const dir = path.join(cacheRoot(), `toolchain-${toolchainKey(projectRoot, goVersion)}`);
  const specs = pluginSpecs(projectRoot);
  const withFiles = specs.map((p) => ({
    ...p,
    file: path.join(dir, "plugins", `pulumi-resource-${p.name}`),
    schema: path.join(dir, "plugins", `${p.name}-schema.json`),
  }));
  const complete = [
    ...["pulumi", "pulumi-language-nodejs", "pulumi-language-yaml"].map((b) => path.join(dir, "bin", b)),
    ...withFiles.flatMap((p) => [p.file, p.schema]),
  ].every((f) => fs.existsSync(f));
  if (complete) {
    log(`reusing the toolchain built in ${dir}`);
    return { source: "cached", binDir: path.join(dir, "bin"), cacheDir: dir, plugins: withFiles };
  }
  const partial = `${dir}.partial`;
  fs.rmSync(partial, { recursive: true, force: true });
  log(`building the toolchain into ${dir} (cold: many minutes; ${goVersion})`);
  const t0 = performance.now();
  await buildInto(projectRoot, partial, log);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.renameSync(partial, dir);
  const buildSeconds = Math.round((performance.now() - t0) / 1000);
  log(`toolchain built in ${buildSeconds} s`);
  return { source: "built", binDir: path.join(dir, "bin"), cacheDir: dir, buildSeconds, plugins: withFiles };
}
