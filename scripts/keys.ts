/**
 * `npm run keys -- <command>`: the signing-key lifecycle on a stack file, and key generation for docker-compose users.
 * A thin shell over scripts/lib/ (stackFile.ts reads the stack file, keyCommands.ts edits its keyring, runbook.ts and
 * keyringTable.ts say what to do and what is there, composeKeys.ts generates): argument parsing, file I/O, printing.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { ALGORITHMS, type Algorithm } from "../components/keyring/algorithms";
import { COMPOSE_FORMATS, formatComposeKeys, generateComposeKeys, type ComposeFormat } from "./lib/composeKeys";
import { onPath } from "./lib/onPath";
import { stackOf, withPassphrase } from "./lib/passphrase";
import { apiKeysMain, API_KEYS_USAGE } from "./lib/apiKeysCli";
import { applyKeyCommand, checkImportedKey, type EditOptions, type KeyCommand } from "./lib/keyCommands";
import { keyringTable } from "./lib/keyringTable";
import { nextSteps, rotationTiming, waitingRules } from "./lib/runbook";
import { functionsDirReader, stackFilePath, UsageError, USAGE_HINT, writeAtomically, type CliIo } from "./lib/cli";
import { parseStackFile, StackFileError, type StackFileOptions } from "./lib/stackFile";

export type { CliIo };

const USAGE = `Usage: npm run keys -- <command> [arguments] [options]

Keyring commands (edit Pulumi.<stack>.yaml in place; run pulumi preview/up afterwards):
  status --stack <name>                             show the keyring as a table
  add-standby <key> --stack <name> [--algorithm A]  add a new key as standby
                                                    (A: ${ALGORITHMS.join(", ")}; default ES256)
  promote <key> --stack <name>                      make a standby/previous key current;
                                                    the current key becomes previous
  revoke <key> --stack <name>                       stop trusting a standby/previous key (kept in state)
  restore <key> --stack <name>                      make a revoked key standby again (the same key pair and kid)
  remove <key> --stack <name>                       delete a non-current key's entry
                                                    (its key pair is deleted at the next up)
  import <key> --file <jwk.json> --stack <name>     add an existing private key as standby, encrypted with
                                                    pulumi config set --secret (needs the Pulumi CLI)
  Options: --dir <path> the project directory holding Pulumi.yaml (default: current directory)
           --force      edit a stack file that already is not a valid configuration

${API_KEYS_USAGE}
For the official docker-compose setup (no Pulumi):
  generate [--algorithm A] [--kid K] [--jwt-secret-file F | --jwt-secret S] [--lifetime-days N] [--format env|json]
    prints JWT_KEYS/JWT_SIGNING_KEYS, JWT_METHODS, JWT_JWKS, ANON_KEY/SERVICE_ROLE_KEY (+ _ASYMMETRIC),
    SUPABASE_PUBLISHABLE_KEY and SUPABASE_SECRET_KEY. --jwt-secret-file (or --jwt-secret, which other users can
    see in the process list) adds your existing HS256 secret as a verify-only key.
`;

/** Commands that edit the keyring. */
const KEY_COMMANDS = ["add-standby", "import", "promote", "revoke", "restore", "remove"] as const;

function keyCommand(
  command: (typeof KEY_COMMANDS)[number],
  positionals: string[],
  values: { algorithm?: string; file?: string },
): KeyCommand {
  const name = positionals[0];
  if (!name) throw new UsageError(`${command} needs a key name, e.g. npm run keys -- ${command} k2 --stack dev`);
  if (positionals.length > 1) throw new UsageError(`${command} takes one key name, got ${positionals.join(" ")}`);
  if (values.algorithm !== undefined && command !== "add-standby")
    throw new UsageError(`--algorithm only applies to add-standby and generate`);
  if ((values.file !== undefined) !== (command === "import"))
    throw new UsageError(command === "import" ? "import needs --file <jwk.json>" : "--file only applies to import");
  if (command === "add-standby") {
    const alg = (values.algorithm ?? "ES256") as Algorithm;
    if (!ALGORITHMS.includes(alg))
      throw new UsageError(
        `--algorithm must be one of ${ALGORITHMS.join(", ")}, got ${JSON.stringify(values.algorithm)}`,
      );
    return { kind: "add-standby", name, algorithm: alg };
  }
  // import's algorithm comes from the key file, read once the command line is known to be right.
  if (command === "import") return { kind: "import", name, algorithm: "ES256" };
  return { kind: command, name };
}

/**
 * `import`: checks the key file, adds the entry as standby, then has the Pulumi CLI encrypt the key into it
 * (`pulumi config set --secret`, the key on standard input so it never shows in the process list). Without the
 * CLI it refuses: a private key is never written to the stack file in plain text. If the CLI fails, the stack
 * file is put back as it was.
 */
function importKey(
  command: Extract<KeyCommand, { kind: "import" }>,
  where: { file: string; label: string; stack: string; dir: string },
  keyFile: string,
  options: EditOptions,
  io: CliIo,
): { edit: ReturnType<typeof applyKeyCommand>; command: KeyCommand } {
  let jwkText: string;
  try {
    jwkText = fs.readFileSync(path.resolve(io.cwd, keyFile), "utf8").trim();
  } catch (error) {
    throw new StackFileError(
      `cannot read ${keyFile}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
    );
  }
  const algorithm = checkImportedKey(jwkText, keyFile);
  const original = fs.readFileSync(where.file, "utf8");
  const imported = { ...command, algorithm };
  // The name, the key file and the resulting stack file are checked before the CLI is looked for: a user without it
  // learns every other problem first.
  const edit = applyKeyCommand(original, imported, where.label, options);
  if (!io.pulumi) {
    throw new StackFileError(
      `import encrypts the key with \`pulumi config set --secret\`, and the Pulumi CLI is not on your PATH. It will ` +
        `not write a private key into ${where.label} in plain text: install the Pulumi CLI and run import again`,
    );
  }
  const index = edit.after.keys.find((k) => k.name === command.name)!.index;
  writeAtomically(where.file, edit.text);
  const args = ["config", "set", "--secret", "--path", `signingKeys[${index}].privateJwk`, "--stack", where.stack];
  const result = io.pulumi(args, jwkText, where.dir);
  if (result.status !== 0) {
    writeAtomically(where.file, original);
    throw new StackFileError(
      `pulumi ${args.join(" ")} failed (exit ${result.status}): ${result.stderr.trim() || "no message"}`,
    );
  }
  return { edit, command: imported };
}

function status(file: string, label: string, stack: string, options: StackFileOptions, io: CliIo): number {
  const parsed = parseStackFile(fs.readFileSync(file, "utf8"), label, options);
  const timing = rotationTiming(parsed);
  io.out(`Stack ${stack} (${file})\n\n${keyringTable(parsed.keys)}\n\n`);
  const legacy = parsed.config?.legacyHs256 ?? parsed.raw.legacyHs256 === "true";
  io.out(
    `legacyHs256: ${legacy}   jwtExpiry: ${timing.jwtExpiry} s   jwksCacheSeconds: ${timing.jwksCacheSeconds} s\n`,
  );
  const rules = waitingRules(timing);
  io.out(`Rules: ${rules.beforePromote}\n       ${rules.beforeRevoke}\n`);
  io.out("Kids of generated keys live in Pulumi state: pulumi stack output currentKid / jwks.\n");
  for (const key of parsed.keys.filter((k) => k.source === "imported (PLAIN TEXT)")) {
    io.err(
      `warning: signingKeys[${key.index}].privateJwk (${key.name}) is stored unencrypted in ${label}. ` +
        `Re-set it as a secret:\n` +
        `  pulumi config set --secret --path 'signingKeys[${key.index}].privateJwk' "$(cat key.json)" ` +
        `--stack ${stack}\n`,
    );
  }
  if (parsed.problems.length > 0) {
    io.err(`${label} is not a valid configuration:\n` + `${parsed.problems.map((p) => `  - ${p}`).join("\n")}\n`);
    return 1;
  }
  return 0;
}

/**
 * The legacy secret for `generate`: from `--jwt-secret-file` (one line; a trailing newline is dropped, so
 * `echo "$JWT_SECRET" > f` works), or from `--jwt-secret`, which shows the secret in the process list.
 */
function readJwtSecretOption(values: Record<string, string | boolean | undefined>, cwd: string): string | undefined {
  const file = values["jwt-secret-file"];
  const inline = values["jwt-secret"];
  if (typeof file === "string" && typeof inline === "string") {
    throw new UsageError("give either --jwt-secret-file or --jwt-secret, not both");
  }
  if (typeof file !== "string") return typeof inline === "string" ? inline : undefined;
  try {
    return fs.readFileSync(path.resolve(cwd, file), "utf8").replace(/\r?\n$/, "");
  } catch (error) {
    throw new UsageError(
      `--jwt-secret-file: cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
    );
  }
}

async function generate(
  values: Record<string, string | boolean | undefined>,
  positionals: string[],
  io: CliIo,
): Promise<number> {
  if (positionals.length > 0)
    throw new UsageError(`generate takes no positional arguments, got ${positionals.join(" ")}`);
  const format = (values.format ?? "env") as ComposeFormat;
  if (!COMPOSE_FORMATS.includes(format))
    throw new UsageError(`--format must be env or json, got ${JSON.stringify(values.format)}`);
  const algorithm = (values.algorithm ?? "ES256") as Algorithm;
  if (!ALGORITHMS.includes(algorithm))
    throw new UsageError(
      `--algorithm must be one of ${ALGORITHMS.join(", ")}, got ${JSON.stringify(values.algorithm)}`,
    );
  let lifetimeDays: number | undefined;
  if (values["lifetime-days"] !== undefined) {
    lifetimeDays = Number(values["lifetime-days"]);
    if (!Number.isInteger(lifetimeDays) || lifetimeDays <= 0) {
      throw new UsageError(
        `--lifetime-days must be a positive whole number of days, got ${JSON.stringify(values["lifetime-days"])}`,
      );
    }
  }
  const jwtSecret = readJwtSecretOption(values, io.cwd);
  let keys;
  try {
    keys = await generateComposeKeys({
      algorithm,
      ...(typeof values.kid === "string" ? { kid: values.kid } : {}),
      ...(jwtSecret !== undefined ? { jwtSecret } : {}),
      ...(lifetimeDays !== undefined ? { lifetimeDays } : {}),
    });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  io.out(formatComposeKeys(keys, format));
  io.err(
    "These values are secrets: put them in docker/.env (never in git), enable GOTRUE_JWT_KEYS, " +
      "API_JWT_JWKS and JWT_JWKS in\n" +
      "docker-compose.yml, and recreate the containers. ANON_KEY/SERVICE_ROLE_KEY are new: clients " +
      "holding the old ones need the\n" +
      "new values (or the sb_ keys).\n",
  );
  return 0;
}

/** A keyring command (`add-standby`, `promote`, …): edits the stack file and prints what changed and what to run next. */
function editKeyring(
  command: (typeof KEY_COMMANDS)[number],
  rest: string[],
  values: { stack?: string; algorithm?: string; file?: string; force?: boolean },
  dir: string,
  io: CliIo,
): number {
  const readFunctionsDir = functionsDirReader(dir);
  let cmd = keyCommand(command, rest, values);
  const { file, label, stack } = stackFilePath(dir, values.stack);
  const options = { force: values.force === true, readFunctionsDir };
  let edit: ReturnType<typeof applyKeyCommand>;
  if (cmd.kind === "import") {
    ({ edit, command: cmd } = importKey(cmd, { file, label, stack, dir }, values.file!, options, io));
  } else {
    edit = applyKeyCommand(fs.readFileSync(file, "utf8"), cmd, label, options);
    writeAtomically(file, edit.text);
  }
  io.out(`Updated ${file}:\n${edit.changes.map((c) => `  ${c}`).join("\n")}\n\n${keyringTable(edit.after.keys)}\n\n`);
  const stateBefore = edit.before.keys.find((k) => k.name === cmd.name)?.state;
  io.out(nextSteps(cmd, stack, rotationTiming(edit.after), stateBefore).join("\n") + "\n");
  if (edit.after.problems.length > 0) {
    const problems = edit.after.problems.map((p) => `  - ${p}`).join("\n");
    io.err(`warning: --force: ${label} still has problems that pulumi preview will report:\n${problems}\n`);
  }
  return 0;
}

/**
 * Runs the CLI. Returns the process exit code: 0 done, 1 refused (illegal transition, unknown key, missing or invalid
 * file; nothing written), 2 wrong usage.
 */
export async function main(argv: string[], io: CliIo): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        stack: { type: "string", short: "s" },
        dir: { type: "string" },
        algorithm: { type: "string" },
        kid: { type: "string" },
        "jwt-secret": { type: "string" },
        "jwt-secret-file": { type: "string" },
        "lifetime-days": { type: "string" },
        format: { type: "string" },
        file: { type: "string" },
        kind: { type: "string" },
        force: { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (error) {
    io.err(`${(error as Error).message}\n${USAGE_HINT}\n`);
    return 2;
  }
  const { values, positionals } = parsed;
  const [command, ...rest] = positionals;
  if (values.help || command === "help") {
    io.out(USAGE);
    return 0;
  }
  if (command === undefined) {
    io.err(`no command given: status, ${KEY_COMMANDS.join(", ")}, api-keys or generate\n${USAGE_HINT}\n`);
    return 2;
  }
  try {
    if (command === "generate") return await generate(values, rest, io);
    if (command === "api-keys") {
      const { stack, dir, kind, force, help: _help, ...others } = values;
      const given = Object.keys(others).filter((o) => others[o as keyof typeof others] !== undefined);
      return apiKeysMain(rest, { stack, dir, kind, force, others: given.map((o) => `--${o}`) }, io);
    }
    if (values.kind !== undefined) throw new UsageError("--kind only applies to api-keys add");
    const dir = path.resolve(io.cwd, values.dir ?? ".");
    const readFunctionsDir = functionsDirReader(dir);
    if (command === "status") {
      if (rest.length > 0) throw new UsageError(`status takes no key name, got ${rest.join(" ")}`);
      const { file, label, stack } = stackFilePath(dir, values.stack);
      return status(file, label, stack, { readFunctionsDir }, io);
    }
    if (!(KEY_COMMANDS as readonly string[]).includes(command)) {
      throw new UsageError(`unknown command ${JSON.stringify(command)}`);
    }
    return editKeyring(command as (typeof KEY_COMMANDS)[number], rest, values, dir, io);
  } catch (error) {
    if (error instanceof UsageError) {
      io.err(`${error.message}\n${USAGE_HINT}\n`);
      return 2;
    }
    if (error instanceof StackFileError) {
      io.err(`error: ${error.message}\nThe stack file was not changed.\n`);
      return 1;
    }
    throw error;
  }
}

if (require.main === module) {
  // `npm run keys -- status | head` closes the pipe early: stop quietly, as command-line tools do.
  process.stdout.on("error", (error: NodeJS.ErrnoException) => {
    if (error.code !== "EPIPE") throw error;
    process.exit(0);
  });
  main(process.argv.slice(2), {
    out: (t) => process.stdout.write(t),
    err: (t) => process.stderr.write(t),
    cwd: process.cwd(),
    ...(onPath("pulumi", process.env)
      ? {
          pulumi: (args: string[], input: string, cwd: string) => {
            // A stack created by `npm run up` keeps its passphrase in a generated file Pulumi reads only when told.
            const env = withPassphrase(cwd, stackOf(args), process.env);
            const run = spawnSync("pulumi", args, { cwd, input, env, encoding: "utf8" });
            return { status: run.status ?? 1, stderr: run.error ? run.error.message : run.stderr };
          },
        }
      : {}),
  }).then(
    (code) => {
      process.exitCode = code;
    },
    (error) => {
      process.stderr.write(`unexpected error: ${(error as Error).stack ?? error}\n`);
      process.exitCode = 1;
    },
  );
}
