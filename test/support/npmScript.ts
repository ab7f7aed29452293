/**
 * What `npm run <name>` runs, read from package.json, so a test spawns the scripts exactly as users run them.
 */
import * as fs from "node:fs";
import * as path from "node:path";

/** The repository root. */
const ROOT = path.join(__dirname, "..", "..");

/**
 * The ts-node executable and its arguments of a `ts-node …` script in package.json (e.g. `keys`:
 * `["--swc", "scripts/keys.ts"]`); arguments for the script itself go after them.
 */
export function tsNodeScript(name: string): { command: string; args: string[] } {
  const scripts = (JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")) as { scripts: object })
    .scripts as Record<string, string | undefined>;
  const [tool, ...args] = (scripts[name] ?? "").split(" ").filter(Boolean);
  if (tool !== "ts-node") throw new Error(`npm run ${name} is not a ts-node script: ${JSON.stringify(scripts[name])}`);
  return { command: path.join(ROOT, "node_modules", ".bin", "ts-node"), args };
}
