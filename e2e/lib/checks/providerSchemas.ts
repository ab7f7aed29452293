/**
 * For a built toolchain: our provider mappings (e2e/toolchain/docker/info, e2e/toolchain/random/info) name every
 * property as the SDK packages the program uses do.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { Recorder } from "../core/report";
import type { PulumiProject } from "../engines/pulumi/project";
import { stateResources } from "../engines/pulumi/state";
import type { Toolchain } from "../toolchain/obtain";

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

/** For a built toolchain: our provider mappings name every property as the SDK packages do, for each type in state. */
export async function checkProviderSchemas(
  rec: Recorder,
  repoRoot: string,
  toolchain: Toolchain,
  project: PulumiProject,
): Promise<void> {
  const types = [...new Set(stateResources(await project.exportState(false)).map((r) => r.type))];
  for (const plugin of toolchain.plugins) {
    if (!plugin.schema) continue;
    const used = types.filter((t) => t.startsWith(`${plugin.name}:`) && !t.startsWith(`pulumi:providers:`));
    await rec.attempt(`toolchain:${plugin.name}-schema-matches-sdk`, () => {
      const problems = schemaMismatches(repoRoot, plugin.name, plugin.schema!, used);
      if (problems.length) throw new Error(problems.join("; "));
      return `${used.join(", ")}: the built provider's input and state property names are the SDK's`;
    });
  }
}
