/**
 * What a setting is, and how a list of them parses a stack config. Each module that owns a fact declares its
 * settings with {@link defineSetting} (the keyring's in `keyring/settings.ts`, auth's beside auth, …); the loader
 * (`config/`) puts the lists together. From the one list come the parser, the known keys, the defaults, the keys
 * that must be secret, the documentation tables and the JSON Schema of the stack file. Pure; the ground floor.
 */
import * as z from "zod";
import { formatPath, inputJsonSchema, secretPatterns, valuesAt } from "./introspect";
import { configKey } from "./project";

/** Raw config values as Pulumi hands them to a program: text, keyed without the namespace. */
export type RawConfig = Record<string, string | undefined>;

/**
 * Settings as another program passes them: the same keys, each value either Pulumi's text or the value itself
 * (`{pooler: {enabled: false}}`, `gatewayHttpPort: 8443`).
 */
export type SettingsInput = Record<string, unknown>;

/** One top-level setting of the `supabase-selfhosted` namespace. */
export interface Setting<K extends string = string, S extends z.ZodType = z.ZodType> {
  /** The key without the namespace, e.g. `jwtExpiry`. */
  key: K;
  /** Parses the value (absent: `undefined`), applying the defaults. */
  schema: S;
  /** The type as the configuration reference shows it, e.g. `positive integer, seconds` (derived when not given). */
  type?: string;
  /** The default as the reference shows it (markdown); derived from the schema's default when not given. */
  default?: string;
  /** What it means, one paragraph of markdown. */
  doc: string;
  /** Where it is described in detail (a docs page, relative to the repository root), for object settings. */
  details?: string;
}

/** Declares a setting (keeps its key as a literal type, so the parsed config is typed key by key). */
export function defineSetting<const K extends string, S extends z.ZodType>(setting: Setting<K, S>): Setting<K, S> {
  return setting;
}

/** The parsed values of a list of settings, by key. */
export type SettingsValues<T extends readonly Setting[]> = {
  [S in T[number] as S["key"]]: z.output<S["schema"]>;
};

/**
 * A value as a program may give it: the input's shape (what may be left out stays optional), with the parsed type
 * wherever the input also takes Pulumi's text form (flags and integers are `unknown` to zod's input type).
 */
export type GivenValue<I, O> = unknown extends I
  ? O
  : I extends readonly (infer Item)[]
    ? NonNullable<O> extends readonly (infer ParsedItem)[]
      ? GivenValue<Item, ParsedItem>[]
      : I
    : I extends object
      ? { [K in keyof I]: GivenValue<I[K], K extends keyof NonNullable<O> ? NonNullable<O>[K] : never> }
      : I;

/** A setting's value as a program may give it (see {@link GivenValue}). */
type GivenSetting<S extends Setting> = GivenValue<z.input<S["schema"]>, z.output<S["schema"]>>;

/**
 * A list of settings as values another program passes (`new Supabase(name, {signingKeys: [...], studio: false})`):
 * typed key by key from the registry; a setting with a default may be left out.
 */
export type SettingsArgs<T extends readonly Setting[]> = {
  [S in T[number] as undefined extends z.input<S["schema"]> ? S["key"] : never]?: GivenSetting<S>;
} & {
  [S in T[number] as undefined extends z.input<S["schema"]> ? never : S["key"]]: GivenSetting<S>;
};

/** The value each setting takes when it is not set (settings that are required, or have no value then, are left out). */
export function defaultsOf<T extends readonly Setting[]>(settings: T): Partial<SettingsValues<T>> {
  const defaults: Record<string, unknown> = {};
  for (const setting of settings) {
    const result = setting.schema.safeParse(undefined);
    if (result.success && result.data !== undefined) defaults[setting.key] = result.data;
  }
  return defaults as Partial<SettingsValues<T>>;
}

/** Thrown for invalid configuration; `problems` lists each offending key with what is allowed. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(
      `Invalid stack configuration (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n` +
        problems.map((p) => `  - ${p}`).join("\n"),
    );
    this.name = "ConfigError";
  }
}

/** Collects problems while parsing, so a config with several mistakes is reported in one go. */
export class Problems {
  readonly list: string[] = [];
  /** Adds one problem of the key `name` (without the namespace, e.g. `signingKeys[1].state`). */
  add(name: string, message: string): void {
    this.list.push(`${configKey(name)}: ${message}`);
  }
}

/** Each zod issue of a setting as one problem (an unknown field of an object as one problem per field). */
export function addIssues(key: string, issues: readonly z.core.$ZodIssue[], problems: Problems): void {
  for (const issue of issues) {
    const at = formatPath([key, ...issue.path]);
    if (issue.code === "unrecognized_keys") {
      for (const field of issue.keys) problems.add(`${at}.${field}`, issue.message);
    } else {
      problems.add(at, issue.message);
    }
  }
}

/** Whether a setting's value arrives as plain text (a text setting) rather than as JSON (everything else). */
function isTextSetting(setting: Setting): boolean {
  return inputJsonSchema(setting.schema).type === "string";
}

/** Parses a raw value that Pulumi stores as text: JSON when it parses, the plain text otherwise. */
export function decode(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/**
 * Parses each setting's raw value with its schema; the problems of all of them are collected. A text setting gets the
 * text as Pulumi passed it (an all-digit password stays text); every other setting gets text decoded from JSON, and
 * a value that is not text as it is.
 * @returns the values that parsed, by key (a key whose value failed is absent).
 */
export function parseSettings<T extends readonly Setting[]>(
  settings: T,
  raw: RawConfig | SettingsInput,
  problems: Problems,
): Partial<SettingsValues<T>> {
  const values: Record<string, unknown> = {};
  for (const setting of settings) {
    const given = raw[setting.key];
    const input = typeof given !== "string" || isTextSetting(setting) ? given : decode(given);
    const result = setting.schema.safeParse(input);
    if (result.success) values[setting.key] = result.data;
    else addIssues(setting.key, result.error.issues, problems);
  }
  return values as Partial<SettingsValues<T>>;
}

/**
 * A check across settings (a port clash, a key that needs another). It runs when every setting it reads parsed, so
 * one bad value does not hide another problem.
 */
export interface SettingsRule<V> {
  /** The keys it reads. */
  reads: readonly (keyof V & string)[];
  /** Adds its problems; may return values to merge into the config (e.g. files read from disk). */
  check(values: V, problems: Problems): Partial<V> | void;
}

/** Declares a rule over the parsed values `V`. */
export function defineRule<V>(rule: SettingsRule<V>): SettingsRule<V> {
  return rule;
}

/** Runs each rule whose settings all parsed; returns the values with what the rules added. */
export function applyRules<V extends object>(
  rules: readonly SettingsRule<V>[],
  values: Partial<V>,
  problems: Problems,
): Partial<V> {
  let result = values;
  for (const rule of rules) {
    if (!rule.reads.every((key) => key in result)) continue;
    const added = rule.check(result as V, problems);
    if (added) result = { ...result, ...added };
  }
  return result;
}

/** The secret values a parsed config holds, by setting and concrete path. */
export function secretValues(
  settings: readonly Setting[],
  values: Record<string, unknown>,
): Array<{ key: string; path: string }> {
  return settings.flatMap((setting) =>
    secretPatterns(inputJsonSchema(setting.schema)).flatMap((pattern) =>
      valuesAt(setting.key, values[setting.key], pattern).map(({ path }) => ({ key: setting.key, path })),
    ),
  );
}
