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
 * The property names a resource module of an SDK package knows, from its generated JavaScript: every
 * `resourceInputs["<name>"] = …` it assigns (its state), and of those the ones it takes from the caller (its inputs:
 * neither `state?.…` nor `undefined /*out*\/`). Bridged SDKs (@pulumi/docker) assign `args?.x` and `state?.x`;
 * @pulumi/kubernetes assigns `args?.x`, constants (`apiVersion`, `kind`) and secret wrappers, and outputs alike.
 */
export function sdkPropertyNames(js: string): { inputs: Set<string>; state: Set<string> } {
  const inputs = new Set<string>();
  const state = new Set<string>();
  for (const m of js.matchAll(/resourceInputs\["(\w+)"\] = ([^;]*);/g)) {
    state.add(m[1]);
    if (!m[2].startsWith("state?.") && !m[2].startsWith("undefined /*out*/")) inputs.add(m[1]);
  }
  return { inputs, state };
}

/** The resource modules of an SDK package by the type each declares (`… __pulumiType = '<type>'`), all folders. */
function sdkModules(dir: string, found = new Map<string, string>()): Map<string, string> {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const file = path.join(dir, entry.name);
    if (entry.isDirectory() && entry.name !== "node_modules") sdkModules(file, found);
    else if (entry.name.endsWith(".js")) {
      const type = /__pulumiType = '([^']+)'/.exec(fs.readFileSync(file, "utf8"))?.[1];
      if (type) found.set(type, file);
    }
  }
  return found;
}

/**
 * Where the built provider's schema names a resource's properties differently from the SDK package the program
 * uses (a wrong name in our mapping, or a provider of another version than the SDK's, would silently drop an input).
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
  const modules = sdkModules(sdkDir);
  const problems: string[] = [];
  for (const type of types) {
    const file = modules.get(type);
    const resource = schema.resources[type];
    if (!file || !resource) {
      problems.push(`${type}: ${file ? "not in the provider's schema" : `not in @pulumi/${packageName}`}`);
      continue;
    }
    const names = sdkPropertyNames(fs.readFileSync(file, "utf8"));
    for (const [kind, sdk, built] of [
      ["input", names.inputs, Object.keys(resource.inputProperties ?? {})],
      ["state", names.state, Object.keys(resource.properties ?? {})],
    ] as const) {
      const missing = [...sdk].filter((n) => !built.includes(n));
      const extra = built.filter((n) => !sdk.has(n));
      if (missing.length || extra.length)
        problems.push(`${type} ${kind}s: SDK only [${missing}], provider only [${extra}]`);
    }
  }
  return problems;
}

/**
 * `toolchain:<plugin>-schema-matches-sdk`: the built plugin's schema names the properties of each of `types` as the
 * SDK package of the same name does.
 */
export async function checkPluginSchema(
  rec: Recorder,
  repoRoot: string,
  plugin: { name: string; schema?: string },
  types: string[],
): Promise<void> {
  if (!plugin.schema) return;
  await rec.attempt(`toolchain:${plugin.name}-schema-matches-sdk`, () => {
    if (!types.length) throw new Error(`no resource type of ${plugin.name} to compare`);
    const problems = schemaMismatches(repoRoot, plugin.name, plugin.schema!, types);
    if (problems.length) throw new Error(problems.join("; "));
    return `${types.join(", ")}: the built provider's input and state property names are the SDK's`;
  });
}

/** The resource types of a stack's state that belong to `plugin` (its provider resources left out). */
export async function stateTypesOf(project: PulumiProject, plugin: string): Promise<string[]> {
  const types = [...new Set(stateResources(await project.exportState(false)).map((r) => r.type))];
  return types.filter((t) => t.startsWith(`${plugin}:`) && !t.startsWith("pulumi:providers:"));
}

/** For a built toolchain: our provider mappings name every property as the SDK packages do, for each type in state. */
export async function checkProviderSchemas(
  rec: Recorder,
  repoRoot: string,
  toolchain: Toolchain,
  project: PulumiProject,
): Promise<void> {
  for (const plugin of toolchain.plugins)
    await checkPluginSchema(rec, repoRoot, plugin, await stateTypesOf(project, plugin.name));
}
