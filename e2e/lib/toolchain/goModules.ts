/**
 * What the toolchain build takes, read from the Go wrapper modules in e2e/toolchain/ and the SDK pins in
 * package.json: the versions, the plugins the program needs and the cache key of a build.
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";

/** The folder of the Go wrapper modules. */
export const TOOLCHAIN_SRC = path.join(__dirname, "..", "..", "toolchain");

/** A resource plugin the program needs, at the version its SDK package asks for. */
export interface PluginSpec {
  name: string;
  version: string;
  /** How the binary came to be, for the report. */
  origin: string;
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

/** A file's text, its path given in parts. */
export const readText = (...parts: string[]) => fs.readFileSync(path.join(...parts), "utf8");

/** The exact versions package.json pins for the Pulumi SDK packages. */
export function sdkVersions(projectRoot: string): { pulumi: string; docker: string; random: string } {
  const deps = (JSON.parse(readText(projectRoot, "package.json")) as { dependencies: Record<string, string> })
    .dependencies;
  return { pulumi: deps["@pulumi/pulumi"], docker: deps["@pulumi/docker"], random: deps["@pulumi/random"] };
}

/**
 * The wrapper modules of the Pulumi toolchain. The Kubernetes ones (e2e/toolchain/kubernetes*) are built apart,
 * with cache keys of their own (kubernetes.ts), so a change to them does not rebuild the Pulumi CLI.
 */
const PULUMI_MODULES = ["docker", "language-nodejs", "pulumi", "random"];

/** Every file under `dir`, sorted, so that any change to the glue gives a new cache key. */
export function sourceFiles(dir: string): string[] {
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
  for (const file of PULUMI_MODULES.flatMap((m) => sourceFiles(path.join(TOOLCHAIN_SRC, m))).sort()) {
    hash.update(path.relative(TOOLCHAIN_SRC, file)).update("\0").update(fs.readFileSync(file)).update("\0");
  }
  return hash.digest("hex").slice(0, 16);
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
      origin: `built by the suite: ${replacement(dockerMod, "github.com/terraform-providers/terraform-provider-docker")} + ${bridge(dockerMod)} + e2e/toolchain/docker glue`,
    },
    {
      name: "random",
      version: versions.random,
      origin: `built by the suite: github.com/terraform-providers/terraform-provider-random@${requiredVersion(randomMod, "github.com/terraform-providers/terraform-provider-random")} + ${bridge(randomMod)} + e2e/toolchain/random glue`,
    },
  ];
}
