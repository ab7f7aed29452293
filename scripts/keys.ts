/**
 * `npm run keys -- <command>`: the signing-key lifecycle on a stack file, and key generation for docker-compose users.
 * A thin shell over scripts/lib/stackFile.ts and scripts/lib/composeKeys.ts: argument parsing, file I/O, printing.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { ALGORITHMS, type Algorithm } from "../components/keyring/algorithms";
import { COMPOSE_FORMATS, formatComposeKeys, generateComposeKeys, type ComposeFormat } from "./lib/composeKeys";
import {
  StackFileError,
  applyKeyCommand,
  keyringTable,
  nextSteps,
  parseStackFile,
  rotationTiming,
  waitingRules,
  type KeyCommand,
} from "./lib/stackFile";

/** Where the CLI writes; tests capture it. */
export interface CliIo {
  out(text: string): void;
  err(text: string): void;
  /** Directory that holds Pulumi.yaml when --dir is not given. */
  cwd: string;
}

const USAGE = `Usage: npm run keys -- <command> [arguments] [options]

Keyring commands (edit Pulumi.<stack>.yaml in place; run pulumi preview/up afterwards):
  status --stack <name>                             show the keyring as a table
  add-standby <key> --stack <name> [--algorithm A]  add a new key as standby (A: ${ALGORITHMS.join(", ")}; default ES256)
  promote <key> --stack <name>                      make a standby/previous key current; the current key becomes previous
  revoke <key> --stack <name>                       stop trusting a standby/previous key (kept in state)
  remove <key> --stack <name>                       delete a non-current key's entry (its key pair is deleted at the next up)
  Options: --dir <path> the project directory holding Pulumi.yaml (default: current directory)

For the official docker-compose setup (no Pulumi):
  generate [--algorithm A] [--kid K] [--jwt-secret-file F | --jwt-secret S] [--lifetime-days N] [--format env|json]
    prints JWT_KEYS/JWT_SIGNING_KEYS, JWT_METHODS, JWT_JWKS, ANON_KEY/SERVICE_ROLE_KEY (+ _ASYMMETRIC),
    SUPABASE_PUBLISHABLE_KEY and SUPABASE_SECRET_KEY. --jwt-secret-file (or --jwt-secret, which other users can
    see in the process list) adds your existing HS256 secret as a verify-only key.
`;

class UsageError extends Error {}

const STACK_NAME = /^[A-Za-z0-9._-]+$/;

function stackFilePath(dir: string, stack: string | undefined): { file: string; label: string; stack: string } {
  if (!stack)
    throw new UsageError("--stack <name> is required (the stack whose Pulumi.<name>.yaml to use, e.g. --stack dev)");
  if (!STACK_NAME.test(stack)) {
    throw new UsageError(
      `--stack ${JSON.stringify(stack)} is not a plain stack name; pass the name as it appears in the file name Pulumi.<name>.yaml (letters, digits, ".", "_", "-")`,
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
      `${file} does not exist. Stack files here: ${others.join(", ") || "none"}. Create the stack first (pulumi stack init ${stack}) and give it a keyring`,
    );
  }
  return { file, label, stack };
}

/** Writes the new text next to the file and renames it over, so a crash never leaves a half-written stack file. */
function writeAtomically(file: string, text: string): void {
  const temp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(temp, text, { mode: fs.statSync(file).mode });
  fs.renameSync(temp, file);
}

function keyCommand(command: string, positionals: string[], algorithm: string | undefined): KeyCommand {
  const name = positionals[0];
  if (!name) throw new UsageError(`${command} needs a key name, e.g. npm run keys -- ${command} k2 --stack dev`);
  if (positionals.length > 1) throw new UsageError(`${command} takes one key name, got ${positionals.join(" ")}`);
  if (algorithm !== undefined && command !== "add-standby")
    throw new UsageError(`--algorithm only applies to add-standby and generate`);
  if (command === "add-standby") {
    const alg = (algorithm ?? "ES256") as Algorithm;
    if (!ALGORITHMS.includes(alg))
      throw new UsageError(`--algorithm must be one of ${ALGORITHMS.join(", ")}, got ${JSON.stringify(algorithm)}`);
    return { kind: "add-standby", name, algorithm: alg };
  }
  return { kind: command as "promote" | "revoke" | "remove", name };
}

function status(file: string, label: string, stack: string, io: CliIo): number {
  const parsed = parseStackFile(fs.readFileSync(file, "utf8"), label);
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
      `warning: signingKeys[${key.index}].privateJwk (${key.name}) is stored unencrypted in ${label}. Re-set it as a secret:\n` +
        `  pulumi config set --secret --path 'signingKeys[${key.index}].privateJwk' "$(cat key.json)" --stack ${stack}\n`,
    );
  }
  if (parsed.problems.length > 0) {
    io.err(
      `${label} is not a valid configuration; pulumi preview would stop with:\n${parsed.problems.map((p) => `  - ${p}`).join("\n")}\n`,
    );
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
    "These values are secrets: put them in docker/.env (never in git), enable GOTRUE_JWT_KEYS, API_JWT_JWKS and JWT_JWKS in\n" +
      "docker-compose.yml, and recreate the containers. ANON_KEY/SERVICE_ROLE_KEY are new: clients holding the old ones need the\n" +
      "new values (or the sb_ keys).\n",
  );
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
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (error) {
    io.err(`${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  const [command, ...rest] = positionals;
  if (values.help || command === undefined || command === "help") {
    (command === undefined && !values.help ? io.err : io.out)(USAGE);
    return command === undefined && !values.help ? 2 : 0;
  }
  try {
    if (command === "generate") return await generate(values, rest, io);
    const dir = path.resolve(io.cwd, values.dir ?? ".");
    if (command === "status") {
      if (rest.length > 0) throw new UsageError(`status takes no key name, got ${rest.join(" ")}`);
      const { file, label, stack } = stackFilePath(dir, values.stack);
      return status(file, label, stack, io);
    }
    if (!["add-standby", "promote", "revoke", "remove"].includes(command)) {
      throw new UsageError(`unknown command ${JSON.stringify(command)}`);
    }
    const cmd = keyCommand(command, rest, values.algorithm);
    const { file, label, stack } = stackFilePath(dir, values.stack);
    const edit = applyKeyCommand(fs.readFileSync(file, "utf8"), cmd, label);
    writeAtomically(file, edit.text);
    io.out(`Updated ${file}:\n${edit.changes.map((c) => `  ${c}`).join("\n")}\n\n${keyringTable(edit.after.keys)}\n\n`);
    io.out(nextSteps(cmd, stack, rotationTiming(edit.after)).join("\n") + "\n");
    if (edit.after.problems.length > 0) {
      io.err(
        `warning: ${label} already had problems that pulumi preview will report (not caused by this change):\n${edit.after.problems.map((p) => `  - ${p}`).join("\n")}\n`,
      );
    }
    return 0;
  } catch (error) {
    if (error instanceof UsageError) {
      io.err(`${error.message}\n\n${USAGE}`);
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
  main(process.argv.slice(2), {
    out: (t) => process.stdout.write(t),
    err: (t) => process.stderr.write(t),
    cwd: process.cwd(),
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
