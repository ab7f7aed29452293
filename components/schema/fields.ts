/**
 * The vocabulary every setting is written in: zod schemas for the value kinds a stack config holds (flags,
 * integers, ports, texts, URLs, host addresses, choices, objects, lists and maps), each failing with one message
 * that says what is allowed and what was given. Pure; the ground floor (imports nothing of ours).
 *
 * Why zod 4: every issue of a value is collected in one pass, each with its path, so the loader can report every
 * problem at once under its full key; each schema takes its own error message; refinements (`when`) can run across
 * fields even when one of them failed; and `z.toJSONSchema` turns the same schemas into the JSON Schema that
 * editors validate stack files with, so the schema users see cannot drift from the one the program enforces.
 *
 * Pulumi hands a program every config value as text, and `pulumi config set --path` stores nested scalars as text
 * too (`pooler.sessionPort: "6432"`, `auth.disableSignup: "true"`): flags and integers accept their text form.
 */
import * as z from "zod";
import { inputJsonSchema, secretPatterns } from "./introspect";

/** Credentials in a URL (`https://user:password@host`), replaced before a value is shown. */
const URL_CREDENTIALS = /(\/\/)[^/@\s]*@/g;

/**
 * What a value was, for a message: the value itself (with any URL credentials masked), or only its kind when it may
 * be a secret. Messages end up in CI logs and pull-request comments.
 */
export function shown(value: unknown, secret = false): string {
  if (!secret) return (JSON.stringify(value) ?? String(value)).replace(URL_CREDENTIALS, "$1***@");
  if (typeof value === "string") return value === "" ? "an empty text" : `a text of ${value.length} characters`;
  if (Array.isArray(value)) return "a list";
  if (value === null) return "null";
  return typeof value === "object" ? "an object" : `a ${typeof value}`;
}

/** Options every leaf takes. */
export interface LeafOptions {
  /** The value is (or may be) a secret: messages never show it, and it belongs under `--secret`. */
  secret?: boolean;
  /**
   * When the field must be given: the rest of the sentence after "is required", e.g. `: the SMTP server's host name`
   * or ` with storage.backend s3`.
   */
  required?: string;
}

/**
 * The error of a leaf: "is required: …" when the value is missing, else "must be <expected>, got <value>" (the
 * value left out for a secret).
 */
export function must(expected: string, options: LeafOptions = {}) {
  return {
    error: (issue: { input?: unknown }) =>
      issue.input === undefined
        ? `is required${options.required ?? ""}`
        : `must be ${expected}, got ${shown(issue.input, options.secret)}`,
  };
}

/** Marks a leaf as secret in the JSON Schema (`x-secret`), where the docs and the secret-key list read it. */
function described<S extends z.ZodType>(schema: S, options: LeafOptions, type: string): S {
  return schema.meta({ "x-type": type, ...(options.secret ? { "x-secret": true } : {}) }) as S;
}

/** Pulumi's text form of an integer, turned back into the number (anything else is left for the schema). */
const numberFromText = (value: unknown): unknown =>
  typeof value === "string" && /^-?\d+$/.test(value) ? Number(value) : value;

/** Pulumi's text form of a flag, turned back into the boolean (anything else is left for the schema). */
const flagFromText = (value: unknown): unknown => (value === "true" ? true : value === "false" ? false : value);

/** `true` or `false` (or their text). */
export function flag(options: LeafOptions = {}) {
  return described(
    z.preprocess(flagFromText, z.boolean(must("a boolean (true or false)", options))),
    options,
    "boolean",
  );
}

/** An integer in `[min, max]` (or its text); the message names the range. */
export function integer(range: { min: number; max?: number }, options: LeafOptions = {}) {
  const expected =
    range.max !== undefined
      ? `an integer from ${range.min} to ${range.max}`
      : range.min === 1
        ? "a positive integer"
        : `an integer of at least ${range.min}`;
  const error = must(expected, options);
  let schema = z.int(error).min(range.min, { ...error, abort: true });
  if (range.max !== undefined) schema = schema.max(range.max, error);
  const type = range.max !== undefined ? `integer ${range.min}-${range.max}` : expected.replace(/^an? /, "");
  return described(z.preprocess(numberFromText, schema), options, type);
}

/** A TCP port, 1-65535 (or its text). */
export function port(options: LeafOptions = {}) {
  const error = must("a port number from 1 to 65535", options);
  return described(z.preprocess(numberFromText, z.int(error).min(1, error).max(65535, error)), options, "port 1-65535");
}

/** A non-empty text, optionally of a pattern; `expected` says what it must be, e.g. `an email address`. */
export function text(
  spec: { expected?: string; pattern?: RegExp; minLength?: number; type?: string } = {},
  options: LeafOptions = {},
) {
  const error = must(spec.expected ?? "a non-empty text", options);
  let schema = z.string(error).min(spec.minLength ?? 1, { ...error, abort: true });
  if (spec.pattern) schema = schema.regex(spec.pattern, error);
  return described(schema, options, spec.type ?? "text");
}

/** One of a fixed list of values: `"x" is not <noun>; allowed: a, b`. */
export function oneOf<const T extends readonly [string, ...string[]]>(values: T, noun: string) {
  return z
    .enum(values, {
      error: (issue) =>
        issue.input === undefined
          ? `is required; allowed: ${values.join(", ")}`
          : `${shown(issue.input)} is not ${noun}; allowed: ${values.join(", ")}`,
    })
    .meta({ "x-type": values.map((v) => `\`${v}\``).join(" \\| ") });
}

/** An absolute http(s) URL with a host. */
export function httpUrl(spec: { expected?: string; pattern?: RegExp } = {}) {
  const expected = spec.expected ?? "an absolute http(s) URL";
  const error = must(expected);
  return z
    .string(error)
    .refine((value) => isHttpUrl(value) && (spec.pattern?.test(value) ?? true), error)
    .meta({ "x-type": "http(s) URL" });
}

/** True for an absolute http or https URL with a host. */
export function isHttpUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return (url.protocol === "http:" || url.protocol === "https:") && url.host !== "";
  } catch {
    return false;
  }
}

/**
 * A base URL services append their paths to: absolute http(s), no query, fragment or credentials; a trailing slash
 * is dropped (it would double every path appended to it).
 */
export function baseUrl(example: string) {
  const error = must(`an absolute http(s) base URL such as ${example} (no query, fragment or credentials)`);
  return z
    .string(error)
    .refine((value) => {
      if (!isHttpUrl(value)) return false;
      const url = new URL(value);
      return !url.search && !url.hash && !url.username && !url.password;
    }, error)
    .transform((value) => value.replace(/\/+$/, ""))
    .meta({ "x-type": "http(s) URL" });
}

/**
 * An address of the Docker host to publish a port on: an IP address, because Docker binds a published port to an
 * address, not a name.
 */
export function hostAddress() {
  const error = must(
    "an IP address of the Docker host to listen on (127.0.0.1 for the host only, 0.0.0.0 for every network)",
  );
  return z
    .string(error)
    .refine((value) => isIpAddress(value), error)
    .meta({ "x-type": "IP address" });
}

/** True for an IPv4 or IPv6 address (Node's own parser: `node:net` `isIP`). */
function isIpAddress(value: string): boolean {
  const { isIP } = require("node:net") as typeof import("node:net");
  return isIP(value) !== 0;
}

/**
 * Whether a published port on this host address listens on every address of the Docker host: no address (the
 * docker provider's default), `0.0.0.0` or `::`.
 */
export function listensOnEveryAddress(ip: string | undefined): boolean {
  return ip === undefined || ip === "0.0.0.0" || ip === "::";
}

/**
 * An object with exactly these fields: a field it does not know is reported one by one ("is not a known field;
 * allowed: …", or another noun for what the fields are), anything but an object as "must be an object such as
 * <example>".
 */
export function object<S extends z.ZodRawShape>(shape: S, example: string, noun = "a known field") {
  const allowed = Object.keys(shape).join(", ");
  // What was given instead may hold one of the object's secrets: then only its kind is shown.
  const secret = holdsSecrets(z.object(shape));
  return z.strictObject(shape, {
    error: (issue) =>
      issue.code === "unrecognized_keys"
        ? `is not ${noun}; allowed: ${allowed}`
        : issue.input === undefined
          ? "is required"
          : `must be an object such as ${example}, got ${shown(issue.input, secret)}`,
  });
}

/** Whether a schema holds a secret anywhere (a field marked `x-secret`, at any depth). */
function holdsSecrets(schema: z.ZodType): boolean {
  return secretPatterns(inputJsonSchema(schema)).length > 0;
}

/** A list of items; anything else is "must be <expected>". */
export function list<S extends z.ZodType>(item: S, expected: string, options: LeafOptions = {}) {
  return z.array(item, must(expected, { secret: holdsSecrets(item), ...options }));
}

/**
 * A map of names to values; `expected` describes the whole map for anything that is not one. With `names`, only
 * those names are allowed, and any other is reported one by one ("is not <noun>; allowed: …").
 */
export function map<S extends z.ZodType>(
  value: S,
  expected: string,
  names?: { values: readonly [string, ...string[]]; noun: string },
) {
  const error = must(expected, { secret: holdsSecrets(value) });
  if (!names) return z.record(z.string(), value, error);
  return z.partialRecord(z.enum(names.values), value, {
    error: (issue) =>
      (issue.code as string) === "unrecognized_keys"
        ? `is not ${names.noun}; allowed: ${names.values.join(", ")}`
        : error.error(issue),
  });
}
