/**
 * The Pulumi toolchain of the end-to-end suite: the `pulumi` CLI, its Node language host and the docker and
 * random provider plugins the program's SDK packages ask for.
 *
 * Where a working `pulumi` is on PATH (a user's machine, a GitHub runner) it is used as it is, and it fetches its
 * plugins itself. Otherwise everything is built from Go modules into a cache directory keyed by the versions and
 * by the glue in e2e/toolchain/, so a second run reuses it. The wrapper modules there say what each build takes.
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { run, works } from "../core/proc";

/** The folder of the Go wrapper modules. */
export const TOOLCHAIN_SRC = path.join(__dirname, "..", "..", "toolchain");

/** A resource plugin the program needs, at the version its SDK package asks for. */
export interface PluginSpec {
  name: string;
  version: string;
  /** How the binary came to be, for the report. */
  origin: string;
}

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

/** The versions of one Go module's requirement in a go.mod (`require <module> <version>`). */
export function requiredVersion(goMod: string, module: string): string {
  const match = new RegExp(
    `^\\s*(?:require\\s+)?${module.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}\\s+(v\\S+)`,
    "m",
  ).exec(goMod);
  if (!match) throw new Error(`go.mod does not require ${module}`);
  return match[1];
}

/** The replacement target of a module in a go.mod (`<module> => <target> <version>`). */
export function replacement(goMod: string, module: string): string {
  const match = new RegExp(
    `^\\s*(?:replace\\s+)?${module.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}\\s+=>\\s+(\\S+)\\s+(v\\S+)`,
    "m",
  ).exec(goMod);
  if (!match) throw new Error(`go.mod does not replace ${module}`);
  return `${match[1]}@${match[2]}`;
}

const readText = (...parts: string[]) => fs.readFileSync(path.join(...parts), "utf8");

/** The exact versions package.json pins for the Pulumi SDK packages. */
export function sdkVersions(projectRoot: string): { pulumi: string; docker: string; random: string } {
  const deps = (JSON.parse(readText(projectRoot, "package.json")) as { dependencies: Record<string, string> })
    .dependencies;
  return { pulumi: deps["@pulumi/pulumi"], docker: deps["@pulumi/docker"], random: deps["@pulumi/random"] };
}

/** Every file of the wrapper modules, so that any change to the glue gives a new cache key. */
function sourceFiles(dir: string): string[] {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? sourceFiles(path.join(dir, e.name)) : [path.join(dir, e.name)]))
    .sort();
}

/** The cache key: Go's version, the SDK pins, and the content of every wrapper-module file. */
export function toolchainKey(projectRoot: string, goVersion: string): string {
  const hash = createHash("sha256")
    .update(goVersion)
    .update(JSON.stringify(sdkVersions(projectRoot)));
  for (const file of sourceFiles(TOOLCHAIN_SRC)) {
    hash.update(path.relative(TOOLCHAIN_SRC, file)).update("\0").update(fs.readFileSync(file)).update("\0");
  }
  return hash.digest("hex").slice(0, 16);
}

/** Where built toolchains and the suite's Docker data live between runs. */
export function cacheRoot(): string {
  return process.env.E2E_CACHE || path.join(os.homedir(), ".cache", "supabase-selfhosted-e2e");
}

/** The plugins the program needs and how this build makes them, read from package.json and the wrapper go.mods. */
export function pluginSpecs(projectRoot: string): PluginSpec[] {
  const versions = sdkVersions(projectRoot);
  const dockerMod = readText(TOOLCHAIN_SRC, "docker", "go.mod");
  const randomMod = readText(TOOLCHAIN_SRC, "random", "go.mod");
  const bridge = (mod: string) =>
    `pulumi-terraform-bridge ${requiredVersion(mod, "github.com/pulumi/pulumi-terraform-bridge/v3")}`;
  return [
    {
      name: "docker",
      version: versions.docker,
      origin: `built here: ${replacement(dockerMod, "github.com/terraform-providers/terraform-provider-docker")} + ${bridge(dockerMod)} + e2e/toolchain/docker glue`,
    },
    {
      name: "random",
      version: versions.random,
      origin: `built here: github.com/terraform-providers/terraform-provider-random@${requiredVersion(randomMod, "github.com/terraform-providers/terraform-provider-random")} + ${bridge(randomMod)} + e2e/toolchain/random glue`,
    },
  ];
}

/** True when a `pulumi` on PATH answers `pulumi version`. */
export function pulumiOnPath(): boolean {
  return works("pulumi", ["version"]);
}

/** Go's environment for the builds: the committed go.sum files are the only source of module hashes. */
function goEnv(cache: string): NodeJS.ProcessEnv {
  return {
    ...process.env,
    GOFLAGS: "-mod=readonly -trimpath",
    // The module proxy serves this language-host version but the checksum database has no record of it: its
    // hash is pinned in e2e/toolchain/language-nodejs/go.sum instead.
    GONOSUMDB: "github.com/pulumi/pulumi/sdk/nodejs/cmd/pulumi-language-nodejs",
    GOTMPDIR: cache,
  };
}

/**
 * Builds one bridged provider: its tfgen binary, the schema with the version set (kept as `<name>-schema.json`
 * for the suite's schema check), then the provider itself into `plugins`.
 */
async function buildProvider(
  name: string,
  version: string,
  work: string,
  plugins: string,
  env: NodeJS.ProcessEnv,
  log: (t: string) => void,
) {
  const src = path.join(work, name);
  fs.cpSync(path.join(TOOLCHAIN_SRC, name), src, { recursive: true });
  const tfgen = path.join(work, `pulumi-tfgen-${name}`);
  log(`${name}: building pulumi-tfgen-${name} (the schema generator)`);
  await run("go", ["build", "-o", tfgen, `./cmd/pulumi-tfgen-${name}`], {
    cwd: src,
    env,
    timeoutSeconds: 3600,
    stream: `    [go ${name}] `,
  });
  const schemaDir = path.join(work, `${name}-schema`);
  await run(tfgen, ["schema", "--out", schemaDir], {
    cwd: src,
    env: { ...env, PROVIDER_VERSION: version },
    timeoutSeconds: 300,
  });
  const schema = JSON.parse(readText(schemaDir, "schema.json")) as Record<string, unknown>;
  schema.version = version;
  fs.writeFileSync(path.join(src, "cmd", `pulumi-resource-${name}`, "schema-embed.json"), JSON.stringify(schema));
  fs.writeFileSync(path.join(plugins, `${name}-schema.json`), JSON.stringify(schema, null, 1));
  log(`${name}: building pulumi-resource-${name} ${version}`);
  await run(
    "go",
    [
      "build",
      "-ldflags",
      `-X main.version=${version}`,
      "-o",
      path.join(plugins, `pulumi-resource-${name}`),
      `./cmd/pulumi-resource-${name}`,
    ],
    {
      cwd: src,
      env,
      timeoutSeconds: 3600,
      stream: `    [go ${name}] `,
    },
  );
}

/**
 * Builds the CLI and the language host into `dir`/bin and both providers into `dir`/plugins (a fresh directory).
 * The providers stay off PATH: the CLI would take them as ambient plugins instead of the registered ones.
 */
async function buildInto(projectRoot: string, dir: string, log: (t: string) => void): Promise<void> {
  const bin = path.join(dir, "bin");
  const plugins = path.join(dir, "plugins");
  const work = path.join(dir, "work");
  fs.mkdirSync(bin, { recursive: true });
  fs.mkdirSync(plugins, { recursive: true });
  fs.mkdirSync(work, { recursive: true });
  const env = goEnv(work);
  const cliMod = readText(TOOLCHAIN_SRC, "pulumi", "go.mod");
  const cliVersion = requiredVersion(cliMod, "github.com/pulumi/pulumi/pkg/v3");
  const sdk = sdkVersions(projectRoot);
  if (cliVersion !== `v${sdk.pulumi}`) {
    throw new Error(
      `e2e/toolchain/pulumi/go.mod builds the CLI ${cliVersion} but package.json pins @pulumi/pulumi ${sdk.pulumi}`,
    );
  }
  log(`pulumi ${cliVersion}: building the CLI (the largest build: about 15-25 minutes on 2 cores)`);
  await run(
    "go",
    [
      "build",
      "-ldflags",
      `-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=${cliVersion}`,
      "-o",
      path.join(bin, "pulumi"),
      "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi",
    ],
    { cwd: path.join(TOOLCHAIN_SRC, "pulumi"), env, timeoutSeconds: 3600, stream: "    [go pulumi] " },
  );
  log("pulumi-language-nodejs: building the Node language host");
  await run(
    "go",
    [
      "build",
      "-o",
      path.join(bin, "pulumi-language-nodejs"),
      "github.com/pulumi/pulumi/sdk/nodejs/cmd/pulumi-language-nodejs/v3",
    ],
    {
      cwd: path.join(TOOLCHAIN_SRC, "language-nodejs"),
      env,
      timeoutSeconds: 1800,
      stream: "    [go language-nodejs] ",
    },
  );
  await buildProvider("docker", sdk.docker, work, plugins, env, log);
  await buildProvider("random", sdk.random, work, plugins, env, log);
  fs.rmSync(work, { recursive: true, force: true });
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
    ...["pulumi", "pulumi-language-nodejs"].map((b) => path.join(dir, "bin", b)),
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

/**
 * Where the built provider's schema names a resource's properties differently from the SDK package the program
 * uses (a wrong name in our mapping would silently drop an input). Reads the SDK's generated JavaScript: each
 * resource module assigns `resourceInputs["<name>"] = args?.…` for inputs and `= state?.…` for its state.
 */
export function schemaMismatches(
  projectRoot: string,
  packageName: string,
  schemaFile: string,
  types: string[],
): string[] {
  const schema = JSON.parse(fs.readFileSync(schemaFile, "utf8")) as {
    resources: Record<string, { inputProperties?: Record<string, unknown>; properties?: Record<string, unknown> }>;
  };
  const sdkDir = path.join(projectRoot, "node_modules", "@pulumi", packageName);
  const problems: string[] = [];
  for (const type of types) {
    const file = fs
      .readdirSync(sdkDir)
      .filter((f) => f.endsWith(".js"))
      .find((f) => fs.readFileSync(path.join(sdkDir, f), "utf8").includes(`__pulumiType = '${type}'`));
    const resource = schema.resources[type];
    if (!file || !resource) {
      problems.push(`${type}: ${file ? "not in the provider's schema" : `not in @pulumi/${packageName}`}`);
      continue;
    }
    const js = fs.readFileSync(path.join(sdkDir, file), "utf8");
    const names = (from: "args" | "state") =>
      new Set([...js.matchAll(new RegExp(`resourceInputs\\["(\\w+)"\\] = ${from}\\?\\.`, "g"))].map((m) => m[1]));
    for (const [kind, sdk, built] of [
      ["input", names("args"), Object.keys(resource.inputProperties ?? {})],
      ["state", names("state"), Object.keys(resource.properties ?? {})],
    ] as const) {
      const missing = [...sdk].filter((n) => !built.includes(n));
      const extra = built.filter((n) => !sdk.has(n));
      if (missing.length || extra.length)
        problems.push(`${type} ${kind}s: SDK only [${missing}], provider only [${extra}]`);
    }
  }
  return problems;
}
