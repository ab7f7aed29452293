/**
 * Reading a stack file for `npm run keys`: parses `Pulumi.<stack>.yaml`, lists its `signingKeys` entries and checks
 * its config with the program's own `parseConfig`, so the CLI refuses exactly what `pulumi preview` would refuse.
 * Pure: text in, values out, no I/O. The edits are in `keyCommands.ts`, the runbook texts in `runbook.ts`.
 */
import * as YAML from "yaml";
import { parseConfig, type ParseOptions } from "../../components/config/parse";
import type { ProgramConfig } from "../../components/config/settings";
import { PROJECT } from "../../components/schema/project";
import { ConfigError, type RawConfig } from "../../components/schema/setting";
import { singleKey } from "../../components/keyring/algorithms";
import { configText, readConfigValue, type PulumiValue } from "./pulumiConfig";

/** The full config key of the keyring inside a stack file. */
export const SIGNING_KEYS_KEY = `${PROJECT}:signingKeys`;

/** Stands in for an encrypted value during validation: long enough for every length rule, never written back. */
const SECURE_PLACEHOLDER = "encrypted-value-that-cannot-be-read-here-000000";

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
  /** The validated config, when the program accepts it. */
  config?: ProgramConfig;
  /** What `pulumi preview` would report, and the values the program would get otherwise than they are written. */
  problems: string[];
}

const isSecure = (value: unknown): boolean =>
  typeof value === "object" &&
  value !== null &&
  !Array.isArray(value) &&
  Object.keys(value).length === 1 &&
  "secure" in value;

/** The field of each list setting's entries that holds imported key material, which may be encrypted. */
const KEY_MATERIAL: Readonly<Record<string, string>> = { signingKeys: "privateJwk", apiKeys: "value" };

/**
 * An encrypted private JWK or API key cannot be read here: validate its entry without it, as a generated key (the
 * program checks the key itself).
 */
function withoutEncryptedKeys(list: PulumiValue, field: string): PulumiValue {
  if (list.kind !== "list") return list;
  const items = list.items.map((entry): PulumiValue => {
    if (entry.kind !== "map") return entry;
    return { kind: "map", entries: entry.entries.filter(([k, v]) => !(k === field && v.kind === "secure")) };
  });
  return { kind: "list", items };
}

/** This project's config as Pulumi hands it to the program, and the values it cannot hand over as written. */
export interface StackConfigText {
  /** The text of each value, keyed without the namespace; secure values replaced. */
  raw: RawConfig;
  /** Each value the program would get otherwise than it is written (a date, a number that loses digits), to quote. */
  problems: string[];
}

/**
 * Reads this project's config from a stack file's `config` map as the Pulumi CLI hands it to the program
 * (`pulumiConfig.ts`): a key without a namespace is the project's (pulumi/pulumi
 * `sdk/go/common/workspace/loaders.go`, `stackConfigNamespacedWithProject`), other namespaces are not ours.
 */
export function rawConfigOf(config: YAML.YAMLMap, doc: YAML.Document): StackConfigText {
  const raw: RawConfig = {};
  const problems: string[] = [];
  const prefix = `${PROJECT}:`;
  for (const pair of config.items) {
    const key = YAML.isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
    const fullKey = key.includes(":") ? key : `${prefix}${key}`;
    if (!fullKey.startsWith(prefix)) continue;
    const name = fullKey.slice(prefix.length);
    const value = readConfigValue(pair.value, name, doc, problems);
    const field = KEY_MATERIAL[name];
    raw[name] = configText(field ? withoutEncryptedKeys(value, field) : value, SECURE_PLACEHOLDER);
  }
  return { raw, problems };
}

/** Where an entry's key material comes from, judged by its `privateJwk` (or an API key's `value`). */
export function keySource(privateJwk: unknown): KeySource {
  if (privateJwk === undefined || privateJwk === null) return "generated";
  return isSecure(privateJwk) ? "imported (secret)" : "imported (PLAIN TEXT)";
}

/** The kid of a `privateJwk` stored in plain text, when it has one. */
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
export function configMap(doc: YAML.Document.Parsed, label: string): YAML.YAMLMap {
  const config = doc.get("config", true);
  if (!YAML.isMap(config)) {
    throw new StackFileError(
      `${label} has no "config:" section with ${SIGNING_KEYS_KEY}; see Pulumi.dev.yaml for the expected shape`,
    );
  }
  return config;
}

/**
 * The keyring list node of a stack document, for reading and for editing in place.
 * @throws StackFileError explaining why the list cannot be edited (missing, encrypted as one value, not a list).
 */
export function keyringSeq(doc: YAML.Document.Parsed, label: string): YAML.YAMLSeq {
  const node = configMap(doc, label).get(SIGNING_KEYS_KEY, true);
  if (node === undefined) {
    throw new StackFileError(
      `${label} has no ${SIGNING_KEYS_KEY}; add one current key first, e.g.\n` +
        `  pulumi config set --path 'signingKeys[0].name' k1 && pulumi config set --path 'signingKeys[0].state' current`,
    );
  }
  if (YAML.isMap(node) && node.has("secure")) {
    throw new StackFileError(
      `${label}: ${SIGNING_KEYS_KEY} is encrypted as one secret value, which this command cannot read or edit. ` +
        `Keep the list in plain YAML and encrypt only each key's privateJwk ` +
        `(pulumi config set --secret --path 'signingKeys[i].privateJwk' …)`,
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

/** What validating a stack file may do besides reading its text. */
export interface StackFileOptions {
  /**
   * Lists the files of `functions.dir` as the program does (`components/config/read.ts`, `readFunctionsDir`), so a
   * missing directory is a problem here as in `pulumi preview`; without it, `functions.dir` is checked for its form.
   */
  readFunctionsDir?: ParseOptions["readFunctionsDir"];
}

/**
 * Parses a stack file and validates its config with the program's parser, on the text Pulumi would hand it.
 * @param label how to name the file in messages, e.g. `Pulumi.dev.yaml`.
 * @throws StackFileError when the text is not YAML or lacks the keyring.
 */
export function parseStackFile(text: string, label: string, options: StackFileOptions = {}): StackFile {
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
  const { raw, problems } = rawConfigOf(configMap(doc, label), doc);
  const parseOptions = options.readFunctionsDir ? { readFunctionsDir: options.readFunctionsDir } : {};
  try {
    return { doc, keys, raw, config: parseConfig(raw, parseOptions), problems };
  } catch (error) {
    if (error instanceof ConfigError) return { doc, keys, raw, problems: [...problems, ...error.problems] };
    throw error;
  }
}
