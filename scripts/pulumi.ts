/**
 * `npm run pulumi -- <pulumi arguments>`: `pulumi` itself, with the passphrase `npm run up` generated for the stack
 * (`.pulumi-state/<stack>.passphrase`) handed to it, so every documented command works in a fresh shell. A passphrase
 * you set yourself (PULUMI_CONFIG_PASSPHRASE, PULUMI_CONFIG_PASSPHRASE_FILE) wins. The stack is the one the arguments
 * name (`--stack`), else the selected one.
 */
import { spawnSync } from "node:child_process";
import { currentStack, stackOf, withPassphrase } from "./lib/passphrase";

/** Runs `pulumi` with `args` in the project directory `root`; returns its exit code. */
export function runPulumi(args: string[], root: string, env: NodeJS.ProcessEnv): number {
  const stack = stackOf(args) ?? currentStack(root, env);
  const result = spawnSync("pulumi", args, { cwd: root, env: withPassphrase(root, stack, env), stdio: "inherit" });
  if (result.error) {
    process.stderr.write(`could not run pulumi: ${result.error.message} (is the Pulumi CLI on your PATH?)\n`);
    return 127;
  }
  return result.status ?? 1;
}

if (require.main === module) process.exitCode = runPulumi(process.argv.slice(2), process.cwd(), process.env);
