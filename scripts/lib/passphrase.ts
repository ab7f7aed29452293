/**
 * Where a stack's passphrase is, for every command that runs `pulumi` on it: the variable you set
 * (PULUMI_CONFIG_PASSPHRASE or PULUMI_CONFIG_PASSPHRASE_FILE), else the file `npm run up` generated for the stack in
 * `.pulumi-state/<stack>.passphrase`. Pulumi reads a passphrase only from those variables, so `npm run up`,
 * `npm run pulumi` and `npm run keys` hand the file to each `pulumi` they run, and a fresh shell needs nothing.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";

/** Directory (inside the project) that holds the local file backend and generated passphrases. */
export const STATE_DIR = ".pulumi-state";

/** The passphrase file `npm run up` generates for a stack. */
export const passphraseFile = (root: string, stack: string): string =>
  path.join(root, STATE_DIR, `${stack}.passphrase`);

/** The stack a `pulumi` command line names (`--stack x`, `--stack=x`, `-s x`), if it names one. */
export function stackOf(args: readonly string[]): string | undefined {
  for (const [i, arg] of args.entries()) {
    if (arg === "--stack" || arg === "-s") return args[i + 1];
    if (arg.startsWith("--stack=")) return arg.slice("--stack=".length);
  }
  return undefined;
}

/** How a `pulumi` command gets the stack's passphrase: from where you set it, from the generated file, or not. */
export type PassphraseSource = { from: "you"; detail: string } | { from: "file"; file: string } | { from: "none" };

/** Where the passphrase of `stack` comes from, given the environment the command runs in. */
export function passphraseSource(root: string, stack: string | undefined, env: NodeJS.ProcessEnv): PassphraseSource {
  if (env.PULUMI_CONFIG_PASSPHRASE !== undefined) return { from: "you", detail: "PULUMI_CONFIG_PASSPHRASE" };
  if (env.PULUMI_CONFIG_PASSPHRASE_FILE) {
    return { from: "you", detail: `PULUMI_CONFIG_PASSPHRASE_FILE=${env.PULUMI_CONFIG_PASSPHRASE_FILE}` };
  }
  if (stack === undefined) return { from: "none" };
  const file = passphraseFile(root, stack);
  return fs.existsSync(file) ? { from: "file", file } : { from: "none" };
}

/** `env` with the generated passphrase file of `stack` added, unless you set a passphrase yourself. */
export function withPassphrase(root: string, stack: string | undefined, env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const source = passphraseSource(root, stack, env);
  return source.from === "file" ? { ...env, PULUMI_CONFIG_PASSPHRASE_FILE: source.file } : env;
}

/**
 * The stack a `pulumi` command without `--stack` works on: the selected one (`pulumi stack --show-name`, which
 * decrypts nothing), else the only stack with a generated passphrase.
 */
export function currentStack(root: string, env: NodeJS.ProcessEnv): string | undefined {
  const selected = spawnSync("pulumi", ["stack", "--show-name"], { cwd: root, env, encoding: "utf8" });
  const name = selected.status === 0 ? selected.stdout.trim() : "";
  if (name) return name;
  const dir = path.join(root, STATE_DIR);
  const generated = fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith(".passphrase")) : [];
  return generated.length === 1 ? generated[0].slice(0, -".passphrase".length) : undefined;
}
