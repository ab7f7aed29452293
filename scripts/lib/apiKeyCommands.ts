/**
 * The API-key edits behind `npm run keys -- api-keys`: applies one command to a stack file's `apiKeys` list with the
 * `yaml` library's document API (comments, quoting and every other line kept), then checks the result with the
 * program's own `parseConfig` (through `parseStackFile`), so the CLI refuses exactly what `pulumi preview` would
 * refuse: the last active key of a kind revoked without `allowUnsafeRotation`, a name used twice. A stack file without
 * the setting holds the default list; the first edit writes it out, so those two keys keep their values. Pure: text in,
 * text out, no I/O.
 */
import * as YAML from "yaml";
import {
  DEFAULT_API_KEYS,
  FUNCTIONS_DEFAULT_KEY,
  type ApiKeyKind,
  type ApiKeyState,
} from "../../components/keyring/apiKeys";
import { KEY_NAME_EXPECTED, KEY_NAME_PATTERN } from "../../components/keyring/names";
import { PROJECT } from "../../components/schema/project";
import { refuseHarmfulEdit, refuseInvalidFile, render, type EditOptions } from "./keyCommands";
import { configMap, keySource, parseStackFile, StackFileError, type KeySource, type StackFile } from "./stackFile";

/** The full config key of the API keys inside a stack file. */
export const API_KEYS_KEY = `${PROJECT}:apiKeys`;

/** A command that changes the API keys. */
export type ApiKeyCommand =
  | { kind: "add"; name: string; keyKind: ApiKeyKind }
  | { kind: "revoke"; name: string }
  | { kind: "restore"; name: string }
  | { kind: "remove"; name: string };

/** One `apiKeys` entry as the stack file holds it (or the default list, when the file does not set it). */
export interface StackApiKey {
  /** Position in the list (for `pulumi config set --path 'apiKeys[i]…'`). */
  index: number;
  name: string;
  kind: string;
  state: string;
  source: KeySource;
}

/** The API keys of a stack file, and whether the file sets them (otherwise they are the default list). */
export function stackApiKeys(doc: YAML.Document.Parsed, label: string): { keys: StackApiKey[]; declared: boolean } {
  const node = apiKeysNode(doc, label);
  if (!node) {
    const keys = DEFAULT_API_KEYS.map((key, index) => ({ index, ...key, source: "generated" as const }));
    return { keys, declared: false };
  }
  const keys = node.items.map((item, index) => {
    const entry = (item as YAML.YAMLMap).toJSON() as Record<string, unknown>;
    return {
      index,
      name: String(entry.name ?? ""),
      kind: String(entry.kind ?? ""),
      state: String(entry.state ?? ""),
      source: keySource(entry.value),
    };
  });
  return { keys, declared: true };
}

/**
 * The `apiKeys` list node of a stack document, if the file sets it.
 * @throws StackFileError explaining why the list cannot be edited (encrypted as one value, not a list of maps).
 */
function apiKeysNode(doc: YAML.Document.Parsed, label: string): YAML.YAMLSeq | undefined {
  const node = configMap(doc, label).get(API_KEYS_KEY, true);
  if (node === undefined) return undefined;
  if (YAML.isMap(node) && node.has("secure")) {
    throw new StackFileError(
      `${label}: ${API_KEYS_KEY} is encrypted as one secret value, which this command cannot read or edit. Keep the ` +
        "list in plain YAML and encrypt only each imported key's value (pulumi config set --secret --path " +
        "'apiKeys[i].value' …)",
    );
  }
  if (!YAML.isSeq(node) || node.items.some((item) => !YAML.isMap(item))) {
    throw new StackFileError(
      `${label}: ${API_KEYS_KEY} must be a YAML list of entries (name, kind, state), but it is not; rewrite it as a ` +
        "list such as [{name: publishable, kind: publishable, state: active}, {name: secret, kind: secret, state: " +
        "active}]",
    );
  }
  return node;
}

/** The list to edit: the file's own, or the default list written out (the same two keys, so they keep their values). */
function editableList(doc: YAML.Document.Parsed, label: string): YAML.YAMLSeq {
  const existing = apiKeysNode(doc, label);
  if (existing) return existing;
  const created = doc.createNode(DEFAULT_API_KEYS.map((key) => ({ ...key }))) as YAML.YAMLSeq;
  configMap(doc, label).set(API_KEYS_KEY, created);
  return created;
}

/** What a command edits: the keys as parsed before the edit, and the list node it changes in place. */
interface EditTarget {
  keys: StackApiKey[];
  seq: YAML.YAMLSeq;
  label: string;
}

function findKey(target: EditTarget, name: string): StackApiKey {
  const key = target.keys.find((k) => k.name === name);
  if (!key) {
    const known = target.keys.map((k) => `${k.name} (${k.kind}, ${k.state})`).join(", ");
    throw new StackFileError(`${target.label} has no API key named ${JSON.stringify(name)}; keys: ${known || "none"}`);
  }
  return key;
}

function setState(target: EditTarget, key: StackApiKey, state: ApiKeyState): void {
  const entry = target.seq.items[key.index] as YAML.YAMLMap;
  const scalar = entry.get("state", true);
  // Changing the scalar in place keeps an inline comment and the quoting style of the line.
  if (YAML.isScalar(scalar)) scalar.value = state;
  else entry.set("state", state);
}

/** `add`: a new active key at the end of the list; its value is drawn at the next `pulumi up`. */
function add(target: EditTarget, doc: YAML.Document.Parsed, name: string, kind: ApiKeyKind): string[] {
  if (!KEY_NAME_PATTERN.test(name) || name === FUNCTIONS_DEFAULT_KEY) {
    throw new StackFileError(
      `API key name ${JSON.stringify(name)} is not allowed: use ${KEY_NAME_EXPECTED}, and not ` +
        `"${FUNCTIONS_DEFAULT_KEY}" (the name the functions see each kind's first active key under)`,
    );
  }
  if (target.keys.some((k) => k.name === name)) {
    throw new StackFileError(
      `${target.label} already has an API key named ${JSON.stringify(name)}; names are identities, pick a new one`,
    );
  }
  target.seq.items.push(doc.createNode({ name, kind, state: "active" }));
  return [`${name}: added as an active ${kind} key (its value is generated at the next pulumi up)`];
}

/** Applies the command to the list node; returns what changed. */
function editApiKeys(target: EditTarget, doc: YAML.Document.Parsed, command: ApiKeyCommand): string[] {
  if (command.kind === "add") return add(target, doc, command.name, command.keyKind);
  const key = findKey(target, command.name);
  switch (command.kind) {
    case "revoke":
      if (key.state === "revoked") throw new StackFileError(`${key.name} is already revoked`);
      setState(target, key, "revoked");
      return [`${key.name}: active → revoked (refused by the gateway; its value kept in state, it can be restored)`];
    case "restore":
      if (key.state !== "revoked") {
        throw new StackFileError(`${key.name} is ${key.state}, not revoked; only a revoked key can be restored`);
      }
      setState(target, key, "active");
      return [`${key.name}: revoked → active (the same value as before)`];
    case "remove":
      if (key.state === "active") {
        throw new StackFileError(
          `${key.name} is active: revoke it first (npm run keys -- api-keys revoke ${key.name}) and pulumi up, so ` +
            "that you can restore it if something still needed it; then remove it",
        );
      }
      target.seq.items.splice(key.index, 1);
      return [`${key.name}: removed (revoked); the next pulumi up deletes its value from state for good`];
  }
}

/** The result of a successful edit. */
export interface ApiKeyEdit {
  /** The new file text. */
  text: string;
  before: StackFile;
  after: StackFile;
  /** The API keys after the edit. */
  keys: StackApiKey[];
  /** What changed, one line per key; the first says when the default list was written out. */
  changes: string[];
}

/**
 * Applies one API-key command to a stack file's text.
 * @returns the new text and both parsed versions; the caller writes the file only on success.
 * @throws StackFileError for an illegal change, an unknown key, or a result the program would reject.
 */
export function applyApiKeyCommand(
  text: string,
  command: ApiKeyCommand,
  label: string,
  options: EditOptions = {},
): ApiKeyEdit {
  const before = parseStackFile(text, label, options);
  refuseInvalidFile(before, label, options);
  const doc = YAML.parseDocument(text);
  const { keys, declared } = stackApiKeys(doc, label);
  const seq = editableList(doc, label);
  const written = declared
    ? []
    : [`apiKeys: written out with the two keys the stack has (${DEFAULT_API_KEYS.map((k) => k.name).join(", ")})`];
  const changes = [...written, ...editApiKeys({ keys, seq, label }, doc, command)];
  const newText = render(doc, text);
  const after = parseStackFile(newText, label, options);
  refuseHarmfulEdit(before, after, label, "apiKeys");
  return { text: newText, before, after, keys: stackApiKeys(after.doc, label).keys, changes };
}
