/**
 * `npm run keys -- api-keys <command>`: the API keys of a stack file (status, add, revoke, restore, remove). A thin
 * shell over apiKeyCommands.ts (the edits, checked with the program's own parser): argument checks, file I/O,
 * printing, and what to run next.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { API_KEY_KINDS, primaryApiKey, type ApiKeyConfig, type ApiKeyKind } from "../../components/keyring/apiKeys";
import { applyApiKeyCommand, stackApiKeys, type ApiKeyCommand, type StackApiKey } from "./apiKeyCommands";
import { functionsDirReader, stackFilePath, UsageError, writeAtomically, type CliIo } from "./cli";
import { table } from "./keyringTable";
import { parseStackFile } from "./stackFile";

/** The `api-keys` commands. */
export const API_KEY_COMMANDS = ["status", "add", "revoke", "restore", "remove"] as const;

/** The usage lines of the `api-keys` commands, for `npm run keys -- help`. */
export const API_KEYS_USAGE = `API-key commands (the opaque sb_publishable_/sb_secret_ keys; edit Pulumi.<stack>.yaml in place):
  api-keys status --stack <name>                    show the API keys as a table
  api-keys add <key> --kind publishable|secret --stack <name>
                                                    add an active key (its value is drawn at the next pulumi up)
  api-keys revoke <key> --stack <name>              the gateway refuses it from the next pulumi up on (kept in state)
  api-keys restore <key> --stack <name>             make a revoked key active again (the same value)
  api-keys remove <key> --stack <name>              delete a revoked key (its value leaves the state at the next up)
`;

/** The options `api-keys` reads (the rest of `npm run keys`'s options are refused). */
export interface ApiKeysOptions {
  stack?: string;
  dir?: string;
  kind?: string;
  force?: boolean;
  /** Options of other commands: refused here. */
  others: string[];
}

/** What an entry means for the user, shown beside it in `status`. */
function meaning(key: StackApiKey, keys: readonly StackApiKey[]): string {
  if (key.state === "revoked") return "refused everywhere; its value kept in state (restore brings it back)";
  if (key.state !== "active") return "?";
  const primary = primaryApiKey(keys as unknown as ApiKeyConfig[], key.kind as ApiKeyKind);
  return primary?.name === key.name
    ? `accepted; the primary ${key.kind} key (${key.kind}Key output, studio, the functions' default)`
    : "accepted by the gateway, given to the functions";
}

/** The API keys as a table: one row per entry, in file order. */
export function apiKeysTable(keys: readonly StackApiKey[]): string {
  return table(
    ["#", "NAME", "KIND", "STATE", "VALUE", "MEANING"],
    keys.map((k) => [String(k.index), k.name, k.kind, k.state, k.source, meaning(k, keys)]),
  );
}

/** What to do after a command, for the stack `stack`. */
export function apiKeyNextSteps(command: ApiKeyCommand, stack: string): string[] {
  // `npm run pulumi` hands Pulumi the passphrase `npm run up` generated; with your own, plain `pulumi` is the same.
  const preview = `npm run pulumi -- preview --stack ${stack}`;
  const up = `npm run pulumi -- up --stack ${stack}`;
  switch (command.kind) {
    case "add":
      return [
        `Next: ${preview} (expect kong and the functions to be recreated: they learn the new key), then ${up}.`,
        `Then read its value (npm run -s pulumi -- stack output apiKeys --show-secrets --json --stack ${stack}, the ` +
          `"${command.name}" entry), move your clients to it, and revoke the old key: npm run keys -- api-keys ` +
          `revoke <old key> --stack ${stack}`,
      ];
    case "revoke":
      return [
        `Next: ${preview}, then ${up}. It takes effect in that update, with no wait: the gateway answers 401 to ` +
          `${command.name}, and no container, file or output holds it any more (kong, the functions and, if it held ` +
          "this key, studio are recreated).",
      ];
    case "restore":
      return [`Next: ${preview}, then ${up}: the gateway accepts ${command.name} again, with its old value.`];
    case "remove":
      return [`Next: ${preview} (it shows the key's value being deleted), then ${up}. A removed key cannot come back.`];
  }
}

/** The command line of an edit: one key name, `--kind` with `add` alone. */
function editCommand(command: Exclude<(typeof API_KEY_COMMANDS)[number], "status">, args: string[], kind?: string) {
  const name = args[0];
  if (!name)
    throw new UsageError(`api-keys ${command} needs a key name, e.g. npm run keys -- api-keys ${command} web-2`);
  if (args.length > 1) throw new UsageError(`api-keys ${command} takes one key name, got ${args.join(" ")}`);
  if (command !== "add") {
    if (kind !== undefined) throw new UsageError("--kind only applies to api-keys add");
    return { kind: command, name } as const;
  }
  if (!(API_KEY_KINDS as readonly string[]).includes(kind ?? "")) {
    throw new UsageError(
      `api-keys add needs --kind ${API_KEY_KINDS.join(" or ")}` +
        (kind === undefined ? "" : `, got ${JSON.stringify(kind)}`),
    );
  }
  return { kind: "add", name, keyKind: kind as ApiKeyKind } as const;
}

/** `api-keys status`: the table, where the values are, and the problems `pulumi preview` would report. */
function status(file: string, label: string, stack: string, dir: string, io: CliIo): number {
  const parsed = parseStackFile(fs.readFileSync(file, "utf8"), label, { readFunctionsDir: functionsDirReader(dir) });
  const { keys, declared } = stackApiKeys(parsed.doc, label);
  const origin = declared ? "" : " (apiKeys is not set: the two keys every stack has)";
  io.out(`Stack ${stack} (${file}): API keys${origin}\n\n${apiKeysTable(keys)}\n\n`);
  io.out(`Values live in Pulumi state: npm run -s pulumi -- stack output apiKeys --show-secrets --stack ${stack}\n`);
  for (const key of keys.filter((k) => k.source === "imported (PLAIN TEXT)")) {
    io.err(
      `warning: apiKeys[${key.index}].value (${key.name}) is stored unencrypted in ${label}. Re-set it as a secret:\n` +
        `  pulumi config set --secret --path 'apiKeys[${key.index}].value' <key> --stack ${stack}\n`,
    );
  }
  if (parsed.problems.length > 0) {
    io.err(`${label} is not a valid configuration:\n${parsed.problems.map((p) => `  - ${p}`).join("\n")}\n`);
    return 1;
  }
  return 0;
}

/**
 * Runs `api-keys <command> …` (the arguments after `api-keys`). Returns the exit code; throws `UsageError` for wrong
 * usage and `StackFileError` for a refused command (the caller prints them; the stack file is then unchanged).
 */
export function apiKeysMain(args: string[], options: ApiKeysOptions, io: CliIo): number {
  const [command, ...rest] = args;
  if (!(API_KEY_COMMANDS as readonly string[]).includes(command ?? "")) {
    throw new UsageError(
      `api-keys needs a command: ${API_KEY_COMMANDS.join(", ")}` +
        (command === undefined ? "" : `; got ${JSON.stringify(command)}`),
    );
  }
  if (options.others.length > 0) throw new UsageError(`${options.others.join(", ")} do not apply to api-keys`);
  const dir = path.resolve(io.cwd, options.dir ?? ".");
  if (command === "status") {
    if (rest.length > 0) throw new UsageError(`api-keys status takes no key name, got ${rest.join(" ")}`);
    if (options.kind !== undefined) throw new UsageError("--kind only applies to api-keys add");
    const { file, label, stack } = stackFilePath(dir, options.stack);
    return status(file, label, stack, dir, io);
  }
  const edit = editCommand(command as Exclude<(typeof API_KEY_COMMANDS)[number], "status">, rest, options.kind);
  const { file, label, stack } = stackFilePath(dir, options.stack);
  const result = applyApiKeyCommand(fs.readFileSync(file, "utf8"), edit, label, {
    force: options.force === true,
    readFunctionsDir: functionsDirReader(dir),
  });
  writeAtomically(file, result.text);
  io.out(`Updated ${file}:\n${result.changes.map((c) => `  ${c}`).join("\n")}\n\n${apiKeysTable(result.keys)}\n\n`);
  io.out(apiKeyNextSteps(edit, stack).join("\n") + "\n");
  if (result.after.problems.length > 0) {
    const problems = result.after.problems.map((p) => `  - ${p}`).join("\n");
    io.err(`warning: --force: ${label} still has problems that pulumi preview will report:\n${problems}\n`);
  }
  return 0;
}
