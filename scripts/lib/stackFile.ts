/**
 * The stack-file editor behind `npm run keys`: reads `Pulumi.<stack>.yaml`, applies one key-lifecycle command to the
 * `signingKeys` list with the `yaml` library's document API, and checks the result with the program's own
 * `parseConfig`, so the CLI refuses exactly what `pulumi preview` would refuse. Pure: text in, text out, no I/O.
 */
import * as YAML from "yaml";
import { parseConfig } from "../../components/config/parse";
import {
  CONFIG_DEFAULTS,
  ConfigError,
  KEY_NAME_PATTERN,
  PROJECT,
  type ProgramConfig,
  type RawConfig,
} from "../../components/config/schema";
import { ALGORITHMS, singleKey, type Algorithm } from "../../components/keyring/algorithms";
import type { KeyState } from "../../components/keyring/model";
import { formatDuration, REVOKE_GRACE_SECONDS } from "../../components/keyring/rotationRules";

/** The full config key of the keyring inside a stack file. */
export const SIGNING_KEYS_KEY = `${PROJECT}:signingKeys`;

/** Stands in for an encrypted value during validation: long enough for every length rule, never written back. */
const SECURE_PLACEHOLDER = "encrypted-value-that-cannot-be-read-here-000000";

/** A command that changes the keyring. */
export type KeyCommand =
  | { kind: "add-standby"; name: string; algorithm: Algorithm }
  | { kind: "import"; name: string; algorithm: Algorithm }
  | { kind: "promote"; name: string }
  | { kind: "revoke"; name: string }
  | { kind: "restore"; name: string }
  | { kind: "remove"; name: string };

/** Options of {@link applyKeyCommand}. */
export interface EditOptions {
  /** Edit a file that is already not a valid configuration (its problems are then the user's to fix). */
  force?: boolean;
}

/** A refused command or an unreadable stack file. The file is never written when this is thrown. */
export class StackFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "StackFileError";
  }
}

/** Where an entry's key material comes from. */
export type KeySource = "generated" | "imported (secret)" | "imported (PLAIN TEXT)";

/** One `signingKeys` entry as the stack file holds it. */
export interface StackKey {
  /** Position in the list (for `pulumi config set --path 'signingKeys[i]…'`). */
  index: number;
  name: string;
  state: string;
  algorithm: string;
  source: KeySource;
  /** The kid of an imported key stored in plain text; unknown otherwise (generated keys get theirs in state). */
  kid?: string;
}

/** A parsed stack file. */
export interface StackFile {
  doc: YAML.Document.Parsed;
  keys: StackKey[];
  /** The project's config as the Pulumi engine would hand it to the program (secure values replaced). */
  raw: RawConfig;
  /** The validated config, or the problems `pulumi preview` would report. */
  config?: ProgramConfig;
  problems: string[];
}

const isSecure = (value: unknown): boolean =>
  typeof value === "object" &&
  value !== null &&
  !Array.isArray(value) &&
  Object.keys(value).length === 1 &&
  "secure" in value;

/** Replaces every `{secure: …}` with a placeholder, as the program sees a decrypted (but unknown to us) value. */
function withoutSecure(value: unknown): unknown {
  if (isSecure(value)) return SECURE_PLACEHOLDER;
  if (Array.isArray(value)) return value.map(withoutSecure);
  if (value && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, withoutSecure(v)]));
  }
  return value;
}

/** Pulumi passes strings as they are and every other config value as JSON text. */
function asRawValue(value: unknown): string {
  return typeof value === "string" ? value : JSON.stringify(value);
}

/** Extracts this project's config from a stack file's `config` map, as raw text keyed without the namespace. */
export function rawConfigOf(configJs: Record<string, unknown>): RawConfig {
  const raw: RawConfig = {};
  const prefix = `${PROJECT}:`;
  for (const [key, value] of Object.entries(configJs)) {
    if (!key.startsWith(prefix) || value === null || value === undefined) continue;
    const name = key.slice(prefix.length);
    if (name === "signingKeys" && Array.isArray(value)) {
      // An encrypted privateJwk cannot be read here; validate the entry without it (the program checks the key itself).
      const entries = value.map((entry) => {
        if (
          entry &&
          typeof entry === "object" &&
          !Array.isArray(entry) &&
          isSecure((entry as Record<string, unknown>).privateJwk)
        ) {
          const { privateJwk: _secret, ...rest } = entry as Record<string, unknown>;
          return withoutSecure(rest);
        }
        return withoutSecure(entry);
      });
      raw[name] = JSON.stringify(entries);
    } else {
      raw[name] = asRawValue(withoutSecure(value));
    }
  }
  return raw;
}

function keySource(privateJwk: unknown): KeySource {
  if (privateJwk === undefined || privateJwk === null) return "generated";
  return isSecure(privateJwk) ? "imported (secret)" : "imported (PLAIN TEXT)";
}

function plainKid(privateJwk: unknown): string | undefined {
  if (typeof privateJwk !== "string") return undefined;
  try {
    const kid = (singleKey(JSON.parse(privateJwk)) as Record<string, unknown>)?.kid;
    return typeof kid === "string" ? kid : undefined;
  } catch {
    return undefined;
  }
}

/** The `config` map of a stack document (an error naming the file's problem when it has none). */
function configMap(doc: YAML.Document.Parsed, label: string): YAML.YAMLMap {
  const config = doc.get("config", true);
  if (!YAML.isMap(config)) {
    throw new StackFileError(
      `${label} has no "config:" section with ${SIGNING_KEYS_KEY}; see Pulumi.dev.yaml for the expected shape`,
    );
  }
  return config;
}

/** The keyring list node, or an explanation of why it cannot be edited. */
function keyringSeq(doc: YAML.Document.Parsed, label: string): YAML.YAMLSeq {
  const node = configMap(doc, label).get(SIGNING_KEYS_KEY, true);
  if (node === undefined) {
    throw new StackFileError(
      `${label} has no ${SIGNING_KEYS_KEY}; add one current key first, e.g.\n` +
        `  pulumi config set --path 'signingKeys[0].name' k1 && pulumi config set --path 'signingKeys[0].state' ` +
        `current`,
    );
  }
  if (YAML.isMap(node) && node.has("secure")) {
    throw new StackFileError(
      `${label}: ${SIGNING_KEYS_KEY} is encrypted as one secret value, which this command cannot ` +
        `read or edit. Keep the ` +
        `list in plain YAML and encrypt only each key's privateJwk (pulumi config set --secret --path ` +
        `'signingKeys[i].privateJwk' ` +
        `…)`,
    );
  }
  if (!YAML.isSeq(node)) {
    throw new StackFileError(
      `${label}: ${SIGNING_KEYS_KEY} must be a YAML list of entries (name, state, algorithm), but it is ` +
        `${YAML.isScalar(node) ? "a single text value (perhaps JSON set without --path)" : "not a list"}; ` +
        `rewrite it as a list like the one in Pulumi.dev.yaml`,
    );
  }
  node.items.forEach((item, i) => {
    if (!YAML.isMap(item)) throw new StackFileError(`${label}: signingKeys[${i}] must be a map with name and state`);
  });
  return node;
}

/**
 * Parses a stack file and validates its config with the program's parser.
 * @param label how to name the file in messages, e.g. `Pulumi.dev.yaml`.
 * @throws StackFileError when the text is not YAML or lacks the keyring.
 */
export function parseStackFile(text: string, label: string): StackFile {
  const doc = YAML.parseDocument(text, { prettyErrors: true });
  if (doc.errors.length > 0) {
    throw new StackFileError(`${label} is not valid YAML: ${doc.errors[0].message}`);
  }
  const seq = keyringSeq(doc, label);
  const keys: StackKey[] = seq.items.map((item, index) => {
    const entry = (item as YAML.YAMLMap).toJSON() as Record<string, unknown>;
    return {
      index,
      name: String(entry.name ?? ""),
      state: String(entry.state ?? ""),
      algorithm: String(entry.algorithm ?? "ES256"),
      source: keySource(entry.privateJwk),
      ...(plainKid(entry.privateJwk) !== undefined ? { kid: plainKid(entry.privateJwk) } : {}),
    };
  });
  const configJs = (configMap(doc, label).toJSON() ?? {}) as Record<string, unknown>;
  const raw = rawConfigOf(configJs);
  try {
    return { doc, keys, raw, config: parseConfig(raw), problems: [] };
  } catch (error) {
    if (error instanceof ConfigError) return { doc, keys, raw, problems: error.problems };
    throw error;
  }
}

/**
 * Renders a document, preferring the sequence indentation under which the untouched file round-trips exactly, so an
 * edit changes only the lines it must.
 */
function render(doc: YAML.Document.Parsed, original: string): string {
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

function findKey(keys: StackKey[], name: string, label: string): StackKey {
  const key = keys.find((k) => k.name === name);
  if (!key) {
    const known = keys.map((k) => `${k.name} (${k.state})`).join(", ");
    throw new StackFileError(`${label} has no signing key named ${JSON.stringify(name)}; keys: ${known || "none"}`);
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

/** The result of a successful edit. */
export interface KeyEdit {
  /** The new file text. */
  text: string;
  before: StackFile;
  after: StackFile;
  /** What changed, one line per key. */
  changes: string[];
}

/** Everything outside the keyring, to prove an edit touched nothing else. */
function everythingButKeyring(doc: YAML.Document.Parsed): string {
  const js = (doc.toJS() ?? {}) as Record<string, unknown>;
  const config = { ...((js.config as Record<string, unknown>) ?? {}) };
  delete config[SIGNING_KEYS_KEY];
  return JSON.stringify({ ...js, config });
}

/**
 * Applies one keyring command to a stack file's text.
 * @returns the new text and both parsed versions; the caller writes the file only on success.
 * @throws StackFileError for an illegal transition, an unknown key, or a result the program would reject.
 */
export function applyKeyCommand(text: string, command: KeyCommand, label: string, options: EditOptions = {}): KeyEdit {
  const before = parseStackFile(text, label);
  if (before.problems.length > 0 && !options.force) {
    throw new StackFileError(
      `${label} is already not a valid configuration, so the change was not written; pulumi preview ` +
        `would stop with:\n` +
        `${before.problems.map((p) => `  - ${p}`).join("\n")}\n` +
        `Fix these first (npm run keys -- status shows them), or pass --force to make the change anyway.`,
    );
  }
  const doc = YAML.parseDocument(text);
  const seq = keyringSeq(doc, label);
  const changes: string[] = [];

  switch (command.kind) {
    case "add-standby":
    case "import": {
      if (!KEY_NAME_PATTERN.test(command.name)) {
        throw new StackFileError(
          `key name ${JSON.stringify(command.name)} is not allowed: use 1-32 characters of a-z, 0-9 and -`,
        );
      }
      if (before.keys.some((k) => k.name === command.name)) {
        throw new StackFileError(
          `${label} already has a key named ${JSON.stringify(command.name)}; names are identities, pick a new one ` +
            `(e.g. k${before.keys.length + 1})`,
        );
      }
      if (!ALGORITHMS.includes(command.algorithm)) {
        throw new StackFileError(
          `algorithm ${JSON.stringify(command.algorithm)} is not supported; allowed: ${ALGORITHMS.join(", ")}`,
        );
      }
      seq.items.push(doc.createNode({ name: command.name, state: "standby", algorithm: command.algorithm }));
      const origin = command.kind === "import" ? "imported, " : "";
      changes.push(`${command.name}: added as standby (${origin}${command.algorithm})`);
      break;
    }
    case "promote": {
      const key = findKey(before.keys, command.name, label);
      if (key.state === "current")
        throw new StackFileError(`${key.name} is already the current key; nothing to promote`);
      if (key.state === "revoked") {
        throw new StackFileError(
          `${key.name} is revoked and cannot be promoted directly: verifiers no longer trust it, so tokens ` +
            `it signed would be ` +
            `rejected. Make it standby first (npm run keys -- restore ${key.name}, or pulumi config set --path ` +
            `'signingKeys[${key.index}].state' standby), run ` +
            `pulumi up, wait for the JWKS caches, then promote it`,
        );
      }
      if (key.state !== "standby" && key.state !== "previous") {
        throw new StackFileError(
          `${key.name} has state ${JSON.stringify(key.state)}; only a standby or previous key can be promoted`,
        );
      }
      for (const other of before.keys.filter((k) => k.state === "current")) {
        setState(seq, other.index, "previous");
        changes.push(`${other.name}: current → previous (still verifies the tokens it signed)`);
      }
      setState(seq, key.index, "current");
      changes.push(`${key.name}: ${key.state} → current (signs every new token)`);
      break;
    }
    case "revoke": {
      const key = findKey(before.keys, command.name, label);
      if (key.state === "current") {
        throw new StackFileError(
          `${key.name} is the current key and cannot be revoked: every new token is signed with it. Add ` +
            `a standby key, ` +
            `promote it, and revoke ${key.name} once it is previous`,
        );
      }
      if (key.state === "revoked") throw new StackFileError(`${key.name} is already revoked`);
      setState(seq, key.index, "revoked");
      const kept = "no longer trusted; kept in state, can be made standby again";
      changes.push(`${key.name}: ${key.state} → revoked (${kept})`);
      break;
    }
    case "restore": {
      const key = findKey(before.keys, command.name, label);
      if (key.state !== "revoked") {
        throw new StackFileError(
          `${key.name} is ${key.state}, not revoked; only a revoked key can be restored to standby`,
        );
      }
      setState(seq, key.index, "standby");
      changes.push(`${key.name}: revoked → standby (published in the JWKS again; the same key pair and kid)`);
      break;
    }
    case "remove": {
      const key = findKey(before.keys, command.name, label);
      if (key.state === "current") {
        throw new StackFileError(
          `${key.name} is the current key and cannot be removed: promote another key first, then revoke or remove ` +
            `${key.name}`,
        );
      }
      seq.items.splice(key.index, 1);
      changes.push(`${key.name}: removed (${key.state}); the next pulumi up deletes its key pair from state for good`);
      break;
    }
  }

  const newText = render(doc, text);
  const after = parseStackFile(newText, label);
  if (everythingButKeyring(after.doc) !== everythingButKeyring(before.doc)) {
    throw new StackFileError(
      `internal error: editing ${label} would have changed more than ${SIGNING_KEYS_KEY}; the file was left untouched`,
    );
  }
  // Indices shift when an entry is removed: compare problems without them, so only new problems block the edit.
  const unindexed = (p: string) => p.replace(/signingKeys\[\d+\]/g, "signingKeys[]");
  const existing = new Set(before.problems.map(unindexed));
  const introduced = after.problems.filter((p) => !existing.has(unindexed(p)));
  if (introduced.length > 0) {
    throw new StackFileError(
      `the change would make ${label} invalid, so it was not written:\n${introduced.map((p) => `  - ${p}`).join("\n")}`,
    );
  }
  return { text: newText, before, after, changes };
}

/** What each state means for the user, shown beside it in `status`. */
export const STATE_MEANING: Record<string, string> = {
  standby: "published in the JWKS, not signing yet",
  current: "signs every new token",
  previous: "still verifies tokens it signed",
  revoked: "not trusted (kept in state)",
};

/** Formats rows as an aligned text table. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]))
      .join("  ")
      .trimEnd();
  return [line(header), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n");
}

/** The keyring as a table: one row per entry, in file order. */
export function keyringTable(keys: StackKey[]): string {
  return table(
    ["#", "NAME", "STATE", "ALGORITHM", "KEY", "MEANING"],
    keys.map((k) => [
      String(k.index),
      k.name,
      k.state,
      k.algorithm,
      k.source + (k.kid ? ` kid=${k.kid}` : ""),
      STATE_MEANING[k.state] ?? "?",
    ]),
  );
}

/** Timing settings that govern the runbook, with the defaults the program applies. */
export interface RotationTiming {
  jwksCacheSeconds: number;
  jwtExpiry: number;
}

/** Reads the timing settings from a parsed stack file (defaults when the config is invalid or silent). */
export function rotationTiming(stack: StackFile): RotationTiming {
  const num = (name: string, fallback: number) => {
    const value = Number(stack.raw[name]);
    return Number.isInteger(value) && value > 0 ? value : fallback;
  };
  return {
    jwksCacheSeconds: stack.config?.jwksCacheSeconds ?? num("jwksCacheSeconds", CONFIG_DEFAULTS.jwksCacheSeconds),
    jwtExpiry: stack.config?.jwtExpiry ?? num("jwtExpiry", CONFIG_DEFAULTS.jwtExpiry),
  };
}

/** The runbook's two waiting rules, with this stack's numbers. */
export function waitingRules(timing: RotationTiming): { beforePromote: string; beforeRevoke: string } {
  return {
    beforePromote:
      `Promote a standby key only after it has been published (its pulumi up finished) for at least ` +
      `jwksCacheSeconds = ${timing.jwksCacheSeconds} s (${formatDuration(timing.jwksCacheSeconds)}): ` +
      `auth serves the JWKS with ` +
      `max-age=600 and client libraries may cache it another 10 minutes.`,
    beforeRevoke:
      `Revoke (or remove) the previous key only after jwtExpiry + ${formatDuration(REVOKE_GRACE_SECONDS)} ` +
      `= ${timing.jwtExpiry + REVOKE_GRACE_SECONDS} s ` +
      `(${formatDuration(timing.jwtExpiry + REVOKE_GRACE_SECONDS)}) have passed since the promotion, ` +
      `so every access token it ` +
      `signed has expired and nobody is signed out.`,
  };
}

/** What to do after a command, with the stack's own numbers. */
export function nextSteps(command: KeyCommand, stack: string, timing: RotationTiming): string[] {
  const rules = waitingRules(timing);
  const preview = `pulumi preview --stack ${stack}`;
  const up = `pulumi up --stack ${stack}`;
  switch (command.kind) {
    case "add-standby":
    case "import":
      return [
        `Next: ${preview} (expect auth, the services that verify tokens and kong to be recreated: they learn the new ` +
          `public key), then ${up}.`,
        `Then wait: ${rules.beforePromote}`,
        `After that: npm run keys -- promote ${command.name} --stack ${stack}`,
      ];
    case "promote":
      return [
        `Waiting rule: ${rules.beforePromote} If that time has not passed since the standby key was deployed, wait ` +
          `before running pulumi up.`,
        `Next: ${preview} (expect auth alone to be recreated), then ${up}. New sessions get tokens from the new key; ` +
          `tokens of the previous key keep verifying, and the sb_ keys keep mapping to its JWTs until it is revoked.`,
        `Later: ${rules.beforeRevoke}`,
      ];
    case "revoke":
      return [
        `Check first: ${rules.beforeRevoke}`,
        `Next: ${preview}, then ${up}. Tokens signed by the revoked key are rejected from then on.`,
      ];
    case "restore":
      return [
        `Next: ${preview}, then ${up}: verifiers trust ${command.name} again.`,
        `Then wait: ${rules.beforePromote} The clock starts again at this pulumi up.`,
        `After that, if it should sign again: npm run keys -- promote ${command.name} --stack ${stack}`,
      ];
    case "remove":
      return [
        `Check first: ${rules.beforeRevoke}`,
        `Next: ${preview} (it shows the key being deleted), then ${up}. A removed key cannot come back unless you ` +
          `import it again.`,
      ];
  }
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
