/**
 * The keyring edits behind `npm run keys`: applies one key-lifecycle command to a stack file's `signingKeys` list
 * with the `yaml` library's document API (comments, quoting and every other line kept), then checks the result with
 * the program's own `parseConfig`, so the CLI refuses exactly what `pulumi preview` would refuse. Pure: text in, text
 * out, no I/O.
 */
import * as YAML from "yaml";
import { parseConfig } from "../../components/config/parse";
import { KEY_NAME_PATTERN } from "../../components/keyring/names";
import { PROJECT } from "../../components/schema/project";
import { ConfigError, type RawConfig } from "../../components/schema/setting";
import { ALGORITHMS, type Algorithm } from "../../components/keyring/algorithms";
import type { KeyState } from "../../components/keyring/model";
import {
  keyringSeq,
  parseStackFile,
  StackFileError,
  type StackFile,
  type StackFileOptions,
  type StackKey,
} from "./stackFile";

/** A command that changes the keyring. */
export type KeyCommand =
  | { kind: "add-standby"; name: string; algorithm: Algorithm }
  | { kind: "import"; name: string; algorithm: Algorithm }
  | { kind: "promote"; name: string }
  | { kind: "revoke"; name: string }
  | { kind: "restore"; name: string }
  | { kind: "remove"; name: string };

/** Options of {@link applyKeyCommand}: how the stack file is validated, before and after the edit. */
export interface EditOptions extends StackFileOptions {
  /** Edit a file that is already not a valid configuration (its problems are then the user's to fix). */
  force?: boolean;
}

/** The result of a successful edit. */
export interface KeyEdit {
  /** The new file text. */
  text: string;
  before: StackFile;
  after: StackFile;
  /** What changed, one line per key. */
  changes: string[];
}

/** What a command edits: the keyring as parsed before the edit, and the list node it changes in place. */
interface EditTarget {
  before: StackFile;
  doc: YAML.Document.Parsed;
  seq: YAML.YAMLSeq;
  label: string;
}

/**
 * Renders a document, preferring the sequence indentation under which the untouched file round-trips exactly, so an
 * edit changes only the lines it must.
 */
export function render(doc: YAML.Document.Parsed, original: string): string {
  const styles: YAML.ToStringOptions[] = [
    { lineWidth: 0 },
    { lineWidth: 0, indentSeq: false },
    { lineWidth: 0, indent: 4 },
    { lineWidth: 0, indent: 4, indentSeq: false },
  ];
  const pristine = YAML.parseDocument(original);
  const style = styles.find((s) => pristine.toString(s) === original) ?? styles[0];
  return doc.toString(style);
}

function findKey(target: EditTarget, name: string): StackKey {
  const keys = target.before.keys;
  const key = keys.find((k) => k.name === name);
  if (!key) {
    const known = keys.map((k) => `${k.name} (${k.state})`).join(", ");
    throw new StackFileError(
      `${target.label} has no signing key named ${JSON.stringify(name)}; keys: ${known || "none"}`,
    );
  }
  return key;
}

function setState(seq: YAML.YAMLSeq, index: number, state: KeyState): void {
  const entry = seq.items[index] as YAML.YAMLMap;
  const scalar = entry.get("state", true);
  // Changing the scalar in place keeps an inline comment and the quoting style of the line.
  if (YAML.isScalar(scalar)) scalar.value = state;
  else entry.set("state", state);
}

/** `add-standby` and `import`: a new entry at the end of the list, standby, with its algorithm. */
function addStandby(target: EditTarget, command: Extract<KeyCommand, { kind: "add-standby" | "import" }>): string[] {
  const { name, algorithm } = command;
  if (!KEY_NAME_PATTERN.test(name)) {
    throw new StackFileError(`key name ${JSON.stringify(name)} is not allowed: use 1-32 characters of a-z, 0-9 and -`);
  }
  if (target.before.keys.some((k) => k.name === name)) {
    throw new StackFileError(
      `${target.label} already has a key named ${JSON.stringify(name)}; names are identities, pick a new one ` +
        `(e.g. k${target.before.keys.length + 1})`,
    );
  }
  if (!ALGORITHMS.includes(algorithm)) {
    throw new StackFileError(
      `algorithm ${JSON.stringify(algorithm)} is not supported; allowed: ${ALGORITHMS.join(", ")}`,
    );
  }
  target.seq.items.push(target.doc.createNode({ name, state: "standby", algorithm }));
  const origin = command.kind === "import" ? "imported, " : "";
  return [`${name}: added as standby (${origin}${algorithm})`];
}

/** `promote`: a standby or previous key becomes current, and the current key previous. */
function promote(target: EditTarget, name: string): string[] {
  const key = findKey(target, name);
  if (key.state === "current") throw new StackFileError(`${key.name} is already the current key; nothing to promote`);
  if (key.state === "revoked") {
    throw new StackFileError(
      `${key.name} is revoked and cannot be promoted directly: verifiers no longer trust it, so tokens it signed ` +
        `would be rejected. Make it standby first (npm run keys -- restore ${key.name}, or pulumi config set ` +
        `--path 'signingKeys[${key.index}].state' standby), run pulumi up, wait for the JWKS caches, then promote it`,
    );
  }
  if (key.state !== "standby" && key.state !== "previous") {
    throw new StackFileError(
      `${key.name} has state ${JSON.stringify(key.state)}; only a standby or previous key can be promoted`,
    );
  }
  const changes: string[] = [];
  for (const other of target.before.keys.filter((k) => k.state === "current")) {
    setState(target.seq, other.index, "previous");
    changes.push(`${other.name}: current → previous (still verifies the tokens it signed)`);
  }
  setState(target.seq, key.index, "current");
  changes.push(`${key.name}: ${key.state} → current (signs every new token)`);
  return changes;
}

/** `revoke`: a key that does not sign stops being trusted; its entry and key pair stay. */
function revoke(target: EditTarget, name: string): string[] {
  const key = findKey(target, name);
  if (key.state === "current") {
    throw new StackFileError(
      `${key.name} is the current key and cannot be revoked: every new token is signed with it. Add a standby key, ` +
        `promote it, and revoke ${key.name} once it is previous`,
    );
  }
  if (key.state === "revoked") throw new StackFileError(`${key.name} is already revoked`);
  setState(target.seq, key.index, "revoked");
  const kept = "no longer trusted; kept in state, can be made standby again";
  return [`${key.name}: ${key.state} → revoked (${kept})`];
}

/** `restore`: a revoked key becomes standby again, the same key pair and kid. */
function restore(target: EditTarget, name: string): string[] {
  const key = findKey(target, name);
  if (key.state !== "revoked") {
    throw new StackFileError(`${key.name} is ${key.state}, not revoked; only a revoked key can be restored to standby`);
  }
  setState(target.seq, key.index, "standby");
  return [`${key.name}: revoked → standby (published in the JWKS again; the same key pair and kid)`];
}

/** `remove`: the entry leaves the list, so the next `pulumi up` deletes its key pair. */
function remove(target: EditTarget, name: string): string[] {
  const key = findKey(target, name);
  if (key.state === "current") {
    throw new StackFileError(
      `${key.name} is the current key and cannot be removed: promote another key first, then revoke or remove ` +
        `${key.name}`,
    );
  }
  target.seq.items.splice(key.index, 1);
  return [`${key.name}: removed (${key.state}); the next pulumi up deletes its key pair from state for good`];
}

/** Applies the command to the list node; returns what changed, one line per key. */
function editKeyring(target: EditTarget, command: KeyCommand): string[] {
  switch (command.kind) {
    case "add-standby":
    case "import":
      return addStandby(target, command);
    case "promote":
      return promote(target, command.name);
    case "revoke":
      return revoke(target, command.name);
    case "restore":
      return restore(target, command.name);
    case "remove":
      return remove(target, command.name);
  }
}

/** Refuses to edit a file that is already invalid, unless forced: the user would not know which problem is new. */
export function refuseInvalidFile(before: StackFile, label: string, options: EditOptions): void {
  if (before.problems.length === 0 || options.force) return;
  throw new StackFileError(
    `${label} is already not a valid configuration, so the change was not written:\n` +
      `${before.problems.map((p) => `  - ${p}`).join("\n")}\n` +
      `Fix these first (npm run keys -- status shows them), or pass --force to make the change anyway.`,
  );
}

/** Everything outside one setting (`<project>:<key>`), to prove an edit touched nothing else. */
function everythingBut(doc: YAML.Document.Parsed, fullKey: string): string {
  const js = (doc.toJS() ?? {}) as Record<string, unknown>;
  const config = { ...((js.config as Record<string, unknown>) ?? {}) };
  delete config[fullKey];
  return JSON.stringify({ ...js, config });
}

/**
 * Refuses an edit that touched more than the list it edits (`signingKeys`, or `apiKeys`), or that made the config
 * invalid in a new way.
 */
export function refuseHarmfulEdit(before: StackFile, after: StackFile, label: string, setting = "signingKeys"): void {
  const fullKey = `${PROJECT}:${setting}`;
  if (everythingBut(after.doc, fullKey) !== everythingBut(before.doc, fullKey)) {
    throw new StackFileError(
      `internal error: editing ${label} would have changed more than ${fullKey}; the file was left untouched`,
    );
  }
  // Indices shift when an entry is removed: compare problems without them, so only new problems block the edit.
  const unindexed = (p: string) => p.replace(new RegExp(`${setting}\\[\\d+\\]`, "g"), `${setting}[]`);
  const existing = new Set(before.problems.map(unindexed));
  const introduced = after.problems.filter((p) => !existing.has(unindexed(p)));
  if (introduced.length > 0) {
    throw new StackFileError(
      `the change would make ${label} invalid, so it was not written:\n${introduced.map((p) => `  - ${p}`).join("\n")}`,
    );
  }
}

/**
 * Applies one keyring command to a stack file's text.
 * @returns the new text and both parsed versions; the caller writes the file only on success.
 * @throws StackFileError for an illegal transition, an unknown key, or a result the program would reject.
 */
export function applyKeyCommand(text: string, command: KeyCommand, label: string, options: EditOptions = {}): KeyEdit {
  const before = parseStackFile(text, label, options);
  refuseInvalidFile(before, label, options);
  const doc = YAML.parseDocument(text);
  const changes = editKeyring({ before, doc, seq: keyringSeq(doc, label), label }, command);
  const newText = render(doc, text);
  const after = parseStackFile(newText, label, options);
  refuseHarmfulEdit(before, after, label);
  return { text: newText, before, after, changes };
}

/**
 * Checks a private JWK file for `import` with the program's own parser, naming the file in every problem.
 * @returns the algorithm the key implies.
 * @throws StackFileError listing what is wrong with the key (never printing it).
 */
export function checkImportedKey(jwkText: string, fileLabel: string): Algorithm {
  const raw: RawConfig = { signingKeys: JSON.stringify([{ name: "imported", state: "current", privateJwk: jwkText }]) };
  try {
    return parseConfig(raw).signingKeys[0].algorithm;
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    const where = `${PROJECT}:signingKeys[0].privateJwk`;
    throw new StackFileError(
      `${fileLabel} cannot be imported:\n${error.problems.map((p) => `  - ${p.replace(where, fileLabel)}`).join("\n")}`,
    );
  }
}
