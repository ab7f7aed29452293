/**
 * What the `npm run keys` commands share: where they write and the Pulumi CLI they may run, usage errors, the stack
 * file a command works on, how `functions.dir` is read, and how a stack file is written. The keyring commands are in
 * scripts/keys.ts, the API-key commands in apiKeysCli.ts.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { readFunctionsDir } from "../../components/config/read";
import { StackFileError, type StackFileOptions } from "./stackFile";

/** Where the CLI writes, and the Pulumi CLI it may run; tests capture and fake them. */
export interface CliIo {
  out(text: string): void;
  err(text: string): void;
  /** Directory that holds Pulumi.yaml when --dir is not given. */
  cwd: string;
  /**
   * Runs `pulumi <args>` in `cwd` with `input` on its standard input; absent when the Pulumi CLI is not on the
   * PATH. `import` needs it to encrypt the key.
   */
  pulumi?(args: string[], input: string, cwd: string): { status: number; stderr: string };
}

/** Wrong usage of the command line: exit code 2, with {@link USAGE_HINT}. */
export class UsageError extends Error {}

/** How a usage error ends: one line saying where the whole usage is. */
export const USAGE_HINT = "Run npm run keys -- help for the commands and options.";

const STACK_NAME = /^[A-Za-z0-9._-]+$/;

/** The stack file `--stack <name>` names in the project directory `dir`, checked to exist. */
export function stackFilePath(dir: string, stack: string | undefined): { file: string; label: string; stack: string } {
  if (!stack)
    throw new UsageError("--stack <name> is required (the stack whose Pulumi.<name>.yaml to use, e.g. --stack dev)");
  if (!STACK_NAME.test(stack)) {
    throw new UsageError(
      `--stack ${JSON.stringify(stack)} is not a plain stack name; pass the name as it appears in ` +
        `the file name Pulumi.<name>.yaml ` +
        `(letters, digits, ".", "_", "-")`,
    );
  }
  if (!fs.existsSync(path.join(dir, "Pulumi.yaml"))) {
    throw new StackFileError(
      `${dir} has no Pulumi.yaml: run this from the project directory or pass --dir <project directory>`,
    );
  }
  const label = `Pulumi.${stack}.yaml`;
  const file = path.join(dir, label);
  if (!fs.existsSync(file)) {
    const others = fs.readdirSync(dir).filter((f) => /^Pulumi\.[^.]+\.yaml$/.test(f));
    throw new StackFileError(
      `${file} does not exist. Stack files here: ${others.join(", ") || "none"}. Create the stack ` +
        `first (pulumi stack ` +
        `init ${stack}) and give it a keyring`,
    );
  }
  return { file, label, stack };
}

/**
 * Lists `functions.dir` as the program does (components/config/read.ts, `readFunctionsDir`), relative to the project
 * directory (`--dir`), where Pulumi runs the program; a problem names the directory as the stack file gives it, as
 * `pulumi preview` does.
 */
export function functionsDirReader(projectDir: string): NonNullable<StackFileOptions["readFunctionsDir"]> {
  return (dir) => {
    if (dir === undefined) return readFunctionsDir(undefined);
    const resolved = path.resolve(projectDir, dir);
    const listing = readFunctionsDir(resolved);
    if (!("problem" in listing)) return listing;
    return { problem: listing.problem.replace(JSON.stringify(resolved), JSON.stringify(dir)) };
  };
}

/** Writes the new text next to the file and renames it over, so a crash never leaves a half-written stack file. */
export function writeAtomically(file: string, text: string): void {
  const temp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(temp, text, { mode: fs.statSync(file).mode });
  fs.renameSync(temp, file);
}
