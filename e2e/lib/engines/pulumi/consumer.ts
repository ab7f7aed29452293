/**
 * Another Pulumi program that uses this repository as a component package: a YAML project whose one resource is the
 * `Supabase` component, its signing keys taken from the project's own stack config, and the source it adds the
 * package from (a copy of the repository, as a user's clone).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { stringify } from "yaml";
import { OUTPUTS } from "../../../../components/package/outputs";
import { SUPABASE_TYPE } from "../../../../components/package/supabase";
import { PROGRAM_FILES } from "./project";

/** What `pulumi package add` needs of a clone besides the program: the plugin's manifest and the lockfile. */
export const PACKAGE_FILES = [...PROGRAM_FILES, "PulumiPlugin.yaml", "package-lock.json"];

/** The consumer's project name (its config namespace). */
export const CONSUMER_PROJECT = "supabase-consumer";

/** The component's name in the consumer; its children are `<name>-<role>`, as the program's. */
export const COMPONENT_RESOURCE = "supabase";

/**
 * A clone-like copy of the repository at `dir` to add the package from, with its own copy of node_modules: `pulumi
 * package add` runs `npm install` in it, which must not touch the repository's.
 */
export function copyPackageSource(repoRoot: string, dir: string): void {
  fs.mkdirSync(dir, { recursive: true });
  for (const file of PACKAGE_FILES) fs.cpSync(path.join(repoRoot, file), path.join(dir, file), { recursive: true });
  fs.cpSync(path.join(repoRoot, "node_modules"), path.join(dir, "node_modules"), {
    recursive: true,
    verbatimSymlinks: true,
  });
}

/** The outputs every deployment has, which the consumer exports as its own stack outputs. */
export const CONSUMER_OUTPUTS = Object.entries(OUTPUTS)
  .filter(([, spec]) => !("optional" in spec))
  .map(([name]) => name);

/**
 * The consumer's `Pulumi.yaml`: the component with `settings` as its properties and `signingKeys` from the stack
 * config (a list of objects), and the component's outputs as the stack's.
 */
export function consumerProgram(settings: Record<string, unknown>): string {
  const [, , component] = SUPABASE_TYPE.split(":");
  return stringify({
    name: CONSUMER_PROJECT,
    description: "A YAML program that uses supabase-selfhosted as a component package (the e2e's package phase)",
    runtime: "yaml",
    config: { signingKeys: { type: "array", items: { type: "object" } } },
    resources: {
      [COMPONENT_RESOURCE]: {
        // YAML's short form of `supabase-selfhosted:index:Supabase`.
        type: `${SUPABASE_TYPE.split(":")[0]}:${component}`,
        properties: { signingKeys: "${signingKeys}", ...settings },
      },
    },
    outputs: Object.fromEntries(CONSUMER_OUTPUTS.map((name) => [name, `\${${COMPONENT_RESOURCE}.${name}}`])),
  });
}
