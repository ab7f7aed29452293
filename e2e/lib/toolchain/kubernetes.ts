/**
 * The Kubernetes toolchain of the suite's cluster phase, built from Go modules and cached like the Pulumi toolchain:
 * the five Kubernetes components as one multi-call binary (e2e/toolchain/kubernetes) and the Pulumi Kubernetes
 * provider plugin (e2e/toolchain/kubernetes-provider). Each has its own cache directory, keyed by Go's version, the
 * build flags and the files of its wrapper module, so a change to one does not rebuild the other.
 *
 * The builds run at a low CPU priority (`nice`): they start with the suite and overlap the Pulumi toolchain's build
 * and the Docker scenarios, which must not wait for them.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { cacheRoot } from "../core/cache";
import { run } from "../core/proc";
import { goEnv, goBuildArgs, type GoBuild } from "./goBuild";
import { TOOLCHAIN_SRC, readText, requiredVersion, sourceFiles, type PluginSpec } from "./goModules";
import { createHash } from "node:crypto";

/** The components the multi-call binary runs, each through a link named after it (e2e/toolchain/kubernetes/main.go). */
export const KUBERNETES_COMPONENTS = [
  "kube-apiserver",
  "kube-controller-manager",
  "kube-scheduler",
  "kubelet",
  "kube-proxy",
] as const;
/** One Kubernetes component. */
export type KubernetesComponent = (typeof KUBERNETES_COMPONENTS)[number];

/** The built Kubernetes components and provider plugin. */
export interface KubernetesToolchain {
  /** `k8s.io/kubernetes`'s version (`v1.34.4`). */
  version: string;
  /** The directory holding one link per component. */
  binDir: string;
  /** The provider plugin to register, with the schema it embeds. */
  provider: PluginSpec & { file: string; schema: string };
  /** Per part, `built` or `cached`, and the seconds a build took. */
  parts: Record<"components" | "provider", { source: "built" | "cached"; seconds?: number; cacheDir: string }>;
}

const PROVIDER_MODULE = "github.com/pulumi/pulumi-kubernetes/provider/v4";
const COMPONENTS_SRC = path.join(TOOLCHAIN_SRC, "kubernetes");
const PROVIDER_SRC = path.join(TOOLCHAIN_SRC, "kubernetes-provider");

/** The cache directory of one part: its wrapper module's files, Go's version, the flags and the version it builds. */
function partDir(name: string, src: string, goVersion: string, build: GoBuild, extra: string): string {
  const hash = createHash("sha256").update(goVersion).update(JSON.stringify(build)).update(extra);
  for (const file of sourceFiles(src)) hash.update(path.relative(src, file)).update("\0").update(fs.readFileSync(file));
  return path.join(cacheRoot(), `${name}-${hash.digest("hex").slice(0, 16)}`);
}

/**
 * Runs `build` into `<dir>.partial` and renames it to `dir`, unless `dir` holds every file of `expected` already.
 * Returns whether it built and how long that took. A failed or aborted build leaves no partial directory.
 */
async function cachedBuild(
  dir: string,
  expected: string[],
  build: (into: string) => Promise<void>,
): Promise<{ source: "built" | "cached"; seconds?: number; cacheDir: string }> {
  if (expected.every((f) => fs.existsSync(path.join(dir, f)))) return { source: "cached", cacheDir: dir };
  const partial = `${dir}.partial`;
  fs.rmSync(partial, { recursive: true, force: true });
  fs.mkdirSync(partial, { recursive: true });
  const t0 = performance.now();
  try {
    await build(partial);
  } catch (err) {
    fs.rmSync(partial, { recursive: true, force: true });
    throw err;
  }
  fs.rmSync(dir, { recursive: true, force: true });
  fs.renameSync(partial, dir);
  return { source: "built", seconds: Math.round((performance.now() - t0) / 1000), cacheDir: dir };
}

/** `go build` at a low priority (see the file's comment), its output streamed with a prefix. */
function niceGoBuild(args: string[], cwd: string, env: NodeJS.ProcessEnv, label: string, signal?: AbortSignal) {
  return run("nice", ["-n", "15", "go", ...args], {
    cwd,
    env,
    timeoutSeconds: 3 * 3600,
    stream: `    [go ${label}] `,
    signal,
  });
}

/**
 * The multi-call binary with the version `k8s.io/component-base/version` reports (without it every component says
 * `v0.0.0-master+$Format:%H$`, which clients that parse the server version refuse), and a link per component.
 */
async function buildComponents(
  into: string,
  version: string,
  build: GoBuild,
  log: (t: string) => void,
  signal?: AbortSignal,
) {
  const [major, minor] = version.replace(/^v/, "").split(".");
  const base = "k8s.io/component-base/version";
  const ldflags = [
    `-X ${base}.gitVersion=${version}`,
    `-X ${base}.gitMajor=${major}`,
    `-X ${base}.gitMinor=${minor}`,
    `-X ${base}.gitTreeState=clean`,
  ];
  const bin = path.join(into, "bin");
  fs.mkdirSync(bin);
  log(`kubernetes ${version}: building ${KUBERNETES_COMPONENTS.join(", ")} as one binary (cold: many minutes)`);
  const work = path.join(into, "work");
  fs.mkdirSync(work);
  await niceGoBuild(
    goBuildArgs(build, path.join(bin, "kube"), ".", ldflags),
    COMPONENTS_SRC,
    goEnv(work),
    "kubernetes",
    signal,
  );
  fs.rmSync(work, { recursive: true, force: true });
  for (const component of KUBERNETES_COMPONENTS) fs.symlinkSync("kube", path.join(bin, component));
}

/**
 * The provider plugin: its main (the wrapper's cmd/pulumi-resource-kubernetes) embeds the schema the provider
 * module ships (cmd/pulumi-resource-kubernetes/schema.json, the output of its cmd/pulumi-gen-kubernetes) with the
 * version set, as the module's generate.go does, and its Terraform mapping; the schema is also kept for the suite's
 * schema check.
 */
async function buildProvider(
  into: string,
  version: string,
  build: GoBuild,
  log: (t: string) => void,
  signal?: AbortSignal,
) {
  const work = path.join(into, "work");
  const src = path.join(work, "src");
  fs.cpSync(PROVIDER_SRC, src, { recursive: true });
  const env = goEnv(work);
  // `go list -m -f {{.Dir}}` prints nothing for a module not yet in the module cache (a cold one); `go mod download`
  // fetches it and says where it is.
  const downloaded = await run("go", ["mod", "download", "-json", PROVIDER_MODULE], {
    cwd: src,
    env,
    timeoutSeconds: 900,
    signal,
  });
  const moduleDir = String((JSON.parse(downloaded.stdout) as { Dir?: string }).Dir ?? "");
  if (!moduleDir) throw new Error(`go mod download ${PROVIDER_MODULE} gave no directory: ${downloaded.stdout}`);
  const upstream = path.join(moduleDir, "cmd", "pulumi-resource-kubernetes");
  const schema = JSON.parse(readText(upstream, "schema.json")) as Record<string, unknown>;
  schema.version = version;
  const main = path.join(src, "cmd", "pulumi-resource-kubernetes");
  fs.writeFileSync(path.join(main, "schema-embed.json"), JSON.stringify(schema));
  const mapping = JSON.parse(readText(upstream, "terraform-mapping.json")) as unknown;
  fs.writeFileSync(path.join(main, "terraform-mapping-embed.json"), JSON.stringify(mapping));
  const plugins = path.join(into, "plugins");
  fs.mkdirSync(plugins);
  fs.writeFileSync(path.join(plugins, "kubernetes-schema.json"), JSON.stringify(schema, null, 1));
  log(`pulumi-resource-kubernetes ${version}: building the provider (cold: many minutes)`);
  const versionVar = `-X ${PROVIDER_MODULE}/pkg/version.Version=${version}`;
  await niceGoBuild(
    goBuildArgs(build, path.join(plugins, "pulumi-resource-kubernetes"), "./cmd/pulumi-resource-kubernetes", [
      versionVar,
    ]),
    src,
    env,
    "kubernetes-provider",
    signal,
  );
  fs.rmSync(work, { recursive: true, force: true });
}

/** The `@pulumi/kubernetes` version package.json pins: the version the provider plugin is registered under. */
export function kubernetesSdkVersion(projectRoot: string): string {
  const deps = (JSON.parse(readText(projectRoot, "package.json")) as { dependencies: Record<string, string> })
    .dependencies;
  const version = deps["@pulumi/kubernetes"];
  if (!version) throw new Error("package.json does not depend on @pulumi/kubernetes");
  return version;
}

/** The flags of both builds: test binaries, so no optimisation and no symbol tables (see goBuild.ts). */
export const KUBERNETES_BUILD: GoBuild = { optimize: false, strip: true };

/**
 * The components and the provider, each from its cache or built (components first: the cluster needs them first).
 * Throws when Go is missing or a build fails.
 */
export async function obtainKubernetesToolchain(
  projectRoot: string,
  log: (t: string) => void,
  signal?: AbortSignal,
): Promise<KubernetesToolchain> {
  const goVersion = (await run("go", ["version"])).stdout.trim();
  const version = requiredVersion(readText(COMPONENTS_SRC, "go.mod"), "k8s.io/kubernetes");
  const providerVersion = kubernetesSdkVersion(projectRoot);
  const componentsDir = partDir("kubernetes", COMPONENTS_SRC, goVersion, KUBERNETES_BUILD, version);
  const providerDir = partDir("kubernetes-provider", PROVIDER_SRC, goVersion, KUBERNETES_BUILD, providerVersion);
  const components = await cachedBuild(
    componentsDir,
    ["bin/kube", ...KUBERNETES_COMPONENTS.map((c) => `bin/${c}`)],
    (into) => buildComponents(into, version, KUBERNETES_BUILD, log, signal),
  );
  log(`kubernetes components: ${components.source}${components.seconds ? ` in ${components.seconds} s` : ""}`);
  const provider = await cachedBuild(
    providerDir,
    ["plugins/pulumi-resource-kubernetes", "plugins/kubernetes-schema.json"],
    (into) => buildProvider(into, providerVersion, KUBERNETES_BUILD, log, signal),
  );
  log(`kubernetes provider: ${provider.source}${provider.seconds ? ` in ${provider.seconds} s` : ""}`);
  const providerMod = readText(PROVIDER_SRC, "go.mod");
  return {
    version,
    binDir: path.join(componentsDir, "bin"),
    provider: {
      name: "kubernetes",
      version: providerVersion,
      origin: `built by the suite: ${PROVIDER_MODULE}@${requiredVersion(providerMod, PROVIDER_MODULE)} (the v${providerVersion} tag's commit) + e2e/toolchain/kubernetes-provider glue`,
      file: path.join(providerDir, "plugins", "pulumi-resource-kubernetes"),
      schema: path.join(providerDir, "plugins", "kubernetes-schema.json"),
    },
    parts: { components, provider },
  };
}
