/**
 * Stack configuration: parsing, defaults and validation against the schema in `schema.ts`. Pure: no Pulumi, no I/O.
 *
 * Every problem is reported with the full config key (`supabase-selfhosted:signingKeys[1].state`) and what
 * is allowed, and all problems are reported at once, so one `pulumi preview` shows everything to fix.
 */
import { isIP } from "node:net";
import { ALGORITHMS, KEY_TYPES, algorithmOfKeyType, singleKey, type Algorithm } from "../keyring/algorithms";
import { KEY_STATES, LEGACY_KID, canonicalJson, type KeyState } from "../keyring/model";
import { OAUTH_PROVIDERS } from "../services/auth";
import { IMAGE_DEFAULTS, type ImageKey } from "../services/images";
import { runningServices, SERVICE_ROLES, serviceOf } from "../services/index";
import { managedBy, type EnvMap } from "../services/service";
import {
  CONFIG_DEFAULTS,
  CONFIG_KEYS,
  ConfigError,
  KEY_NAME_PATTERN,
  PLATFORM_DEFAULTS,
  STORAGE_BACKENDS,
  configKey,
  listensOnEveryAddress,
  type AuthConfig,
  type DatabaseConfig,
  type ExternalProviderConfig,
  type FunctionFile,
  type FunctionsConfig,
  type PoolerConfig,
  type ProgramConfig,
  type RawConfig,
  type S3BackendConfig,
  type SigningKeyConfig,
  type SmtpConfig,
  type StorageConfig,
} from "./schema";

const BASE64URL = /^[A-Za-z0-9_-]+$/;

const key = configKey;

/** Collects problems while parsing, so a config with several mistakes is reported in one go. */
class Problems {
  readonly list: string[] = [];
  add(configKey: string, message: string): void {
    this.list.push(`${key(configKey)}: ${message}`);
  }
}

/** Parses a raw value that Pulumi stores as text: JSON when it parses, the plain text otherwise. */
function decode(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function readBoolean(raw: RawConfig, name: string, fallback: boolean, problems: Problems): boolean {
  const text = raw[name];
  if (text === undefined) return fallback;
  const value = decode(text);
  if (typeof value !== "boolean") {
    problems.add(name, `must be a boolean (true or false), got ${JSON.stringify(text)}`);
    return fallback;
  }
  return value;
}

function readPositiveInteger(raw: RawConfig, name: string, fallback: number, problems: Problems, max?: number): number {
  const text = raw[name];
  if (text === undefined) return fallback;
  const value = decode(text);
  if (typeof value !== "number" || !Number.isInteger(value) || value <= 0) {
    problems.add(name, `must be a positive integer, got ${JSON.stringify(text)}`);
    return fallback;
  }
  if (max !== undefined && value > max) {
    problems.add(name, `must be at most ${max}, got ${value}`);
    return fallback;
  }
  return value;
}

function readUrl(raw: RawConfig, name: string, fallback: string, problems: Problems): string {
  const text = raw[name];
  if (text === undefined) return fallback;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    problems.add(name, `must be an absolute http(s) URL such as ${fallback}, got ${JSON.stringify(text)}`);
    return fallback;
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    problems.add(name, `must use http or https, got ${JSON.stringify(url.protocol)}`);
    return fallback;
  }
  if (url.search || url.hash || url.username || url.password) {
    problems.add(name, `must be a plain base URL without query, fragment or credentials, got ${JSON.stringify(text)}`);
    return fallback;
  }
  // Services append their own paths; a trailing slash would double them.
  return text.replace(/\/+$/, "");
}

/** Validates an imported private JWK's shape against the entry's algorithm. Returns canonical JSON and its kid. */
function parsePrivateJwk(
  where: string,
  text: unknown,
  algorithm: Algorithm | undefined,
  problems: Problems,
): { json: string; kid?: string; algorithm?: Algorithm } | undefined {
  if (typeof text !== "string") {
    problems.add(where, `must be a private JWK as JSON text (set it with \`pulumi config set --secret --path\`)`);
    return undefined;
  }
  let jwk: unknown;
  try {
    jwk = JSON.parse(text);
  } catch {
    problems.add(
      where,
      'is not valid JSON: expected a private JWK object such as {"kty":"EC","crv":"P-256","x":…,"y":…,"d":…}',
    );
    return undefined;
  }
  jwk = singleKey(jwk);
  if (typeof jwk !== "object" || jwk === null || Array.isArray(jwk)) {
    problems.add(where, "must be one JWK object, not an array or a JWKS");
    return undefined;
  }
  const obj = jwk as Record<string, unknown>;
  const kty = obj.kty;
  const inferred = algorithmOfKeyType(kty);
  if (typeof kty !== "string" || inferred === undefined) {
    const allowed = ALGORITHMS.map((a) => `${KEY_TYPES[a].kty} (${a})`).join(", ");
    problems.add(where, `has kty ${JSON.stringify(kty)}; allowed: ${allowed}`);
    return undefined;
  }
  const expected = algorithm ?? inferred;
  const shape = KEY_TYPES[expected];
  if (shape.kty !== kty) {
    problems.add(where, `is a ${kty} key but the entry's algorithm is ${expected}, which needs kty ${shape.kty}`);
    return undefined;
  }
  if (shape.crv && obj.crv !== shape.crv) {
    problems.add(where, `has crv ${JSON.stringify(obj.crv)} but ${expected} needs crv ${shape.crv}`);
    return undefined;
  }
  if (obj.alg !== undefined && obj.alg !== expected) {
    problems.add(where, `has alg ${JSON.stringify(obj.alg)} but the entry's algorithm is ${expected}`);
    return undefined;
  }
  if (obj.use !== undefined && obj.use !== "sig") {
    problems.add(where, `has use ${JSON.stringify(obj.use)}; a signing key must have use "sig" or none`);
    return undefined;
  }
  if (obj.d === undefined) {
    problems.add(where, 'is a public key (no "d"): import the private JWK, the public half is derived from it');
    return undefined;
  }
  // Every member a complete private key of this type has, public ones first.
  const required = [...shape.publicMembers, ...shape.privateMembers];
  const missing = required.filter((m) => typeof obj[m] !== "string" || obj[m] === "");
  if (missing.length > 0) {
    problems.add(where, `lacks ${missing.join(", ")}, which a private ${kty} key needs`);
    return undefined;
  }
  const malformed = required.filter((m) => m !== "crv" && !BASE64URL.test(obj[m] as string));
  if (malformed.length > 0) {
    problems.add(where, `has members that are not base64url: ${malformed.join(", ")}`);
    return undefined;
  }
  if (kty === "RSA" && Buffer.from(obj.n as string, "base64url").length * 8 < 2048) {
    problems.add(where, "is an RSA key shorter than 2048 bits; RS256 keys must have at least 2048 bits");
    return undefined;
  }
  if (obj.kid !== undefined && (typeof obj.kid !== "string" || obj.kid.length === 0)) {
    problems.add(where, "has a kid that is not a non-empty string");
    return undefined;
  }
  return { json: canonicalJson(obj), kid: obj.kid as string | undefined, algorithm: expected };
}

function parseSigningKeys(raw: RawConfig, problems: Problems): SigningKeyConfig[] {
  const text = raw.signingKeys;
  if (text === undefined) {
    problems.add(
      "signingKeys",
      "is required: a list of keys such as [{name: k1, state: current, algorithm: ES256}] (see Pulumi.dev.yaml)",
    );
    return [];
  }
  const list = decode(text);
  if (!Array.isArray(list)) {
    problems.add(
      "signingKeys",
      `must be a list of key entries, got ${typeof list === "string" ? JSON.stringify(list) : typeof list}`,
    );
    return [];
  }
  if (list.length === 0) {
    problems.add("signingKeys", "must hold at least one key, with state current");
    return [];
  }
  const entries: SigningKeyConfig[] = [];
  const names = new Map<string, number>();
  const kids = new Map<string, string>();
  list.forEach((item: unknown, i: number) => {
    const at = `signingKeys[${i}]`;
    if (typeof item !== "object" || item === null || Array.isArray(item)) {
      problems.add(at, "must be an object with name, state and optional algorithm and privateJwk");
      return;
    }
    const entry = item as Record<string, unknown>;
    const unknownFields = Object.keys(entry).filter((f) => !["name", "state", "algorithm", "privateJwk"].includes(f));
    for (const f of unknownFields)
      problems.add(`${at}.${f}`, "is not a known field; allowed: name, state, algorithm, privateJwk");

    let ok = true;
    const name = entry.name;
    if (typeof name !== "string" || !KEY_NAME_PATTERN.test(name)) {
      problems.add(`${at}.name`, `must be 1-32 characters of a-z, 0-9 and -, got ${JSON.stringify(name)}`);
      ok = false;
    } else if (names.has(name)) {
      problems.add(
        `${at}.name`,
        `duplicates signingKeys[${names.get(name)}].name ${JSON.stringify(name)}; names must be unique`,
      );
      ok = false;
    } else {
      names.set(name, i);
    }
    const state = entry.state;
    if (!KEY_STATES.includes(state as KeyState)) {
      problems.add(`${at}.state`, `${JSON.stringify(state)} is not a key state; allowed: ${KEY_STATES.join(", ")}`);
      ok = false;
    }
    let algorithm: Algorithm | undefined;
    if (entry.algorithm !== undefined) {
      if (!ALGORITHMS.includes(entry.algorithm as Algorithm)) {
        problems.add(
          `${at}.algorithm`,
          `${JSON.stringify(entry.algorithm)} is not supported; allowed: ${ALGORITHMS.join(", ")}`,
        );
        ok = false;
      } else {
        algorithm = entry.algorithm as Algorithm;
      }
    }
    let imported: ReturnType<typeof parsePrivateJwk>;
    if (entry.privateJwk !== undefined && ok) {
      imported = parsePrivateJwk(`${at}.privateJwk`, entry.privateJwk, algorithm, problems);
      if (!imported) ok = false;
      else if (imported.kid !== undefined) {
        if (imported.kid === LEGACY_KID) {
          problems.add(
            `${at}.privateJwk`,
            `has kid ${JSON.stringify(LEGACY_KID)}, which is reserved for the legacy HS256 key`,
          );
          ok = false;
        } else if (kids.has(imported.kid)) {
          problems.add(
            `${at}.privateJwk`,
            `has kid ${JSON.stringify(imported.kid)}, already used by key ${JSON.stringify(kids.get(imported.kid))}; ` +
              `kids must be unique`,
          );
          ok = false;
        } else {
          kids.set(imported.kid, name as string);
        }
      }
    }
    if (!ok) return;
    entries.push({
      name: name as string,
      state: state as KeyState,
      algorithm: imported?.algorithm ?? algorithm ?? "ES256",
      ...(imported ? { privateJwk: imported.json } : {}),
      ...(imported?.kid !== undefined ? { importedKid: imported.kid } : {}),
    });
  });
  if (entries.length === list.length) {
    const current = entries.filter((e) => e.state === "current");
    if (current.length === 0) {
      problems.add(
        "signingKeys",
        "has no key with state current; exactly one key must be current (it signs new tokens)",
      );
    } else if (current.length > 1) {
      problems.add(
        "signingKeys",
        `has ${current.length} keys with state current (${current.map((e) => e.name).join(", ")}); exactly one may ` +
          `be current, set the others to previous or standby`,
      );
    }
  }
  return entries;
}

/** Splits an image reference into repository, tag and digest; undefined when it is not a valid reference. */
export function parseImageReference(ref: string): { repository: string; tag?: string; digest?: string } | undefined {
  const [nameAndTag, digest, extra] = ref.split("@");
  if (extra !== undefined || (digest !== undefined && !/^sha256:[a-f0-9]{64}$/.test(digest))) return undefined;
  // A registry host may carry a port (registry:5000/img), so the tag is a colon after the last slash.
  const slash = nameAndTag.lastIndexOf("/");
  const colon = nameAndTag.lastIndexOf(":");
  const repository = colon > slash ? nameAndTag.slice(0, colon) : nameAndTag;
  const tag = colon > slash ? nameAndTag.slice(colon + 1) : undefined;
  if (!/^[a-z0-9]+([._:\/-][a-z0-9]+)*$/.test(repository)) return undefined;
  if (tag !== undefined && !/^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/.test(tag)) return undefined;
  return { repository, ...(tag !== undefined ? { tag } : {}), ...(digest !== undefined ? { digest } : {}) };
}

/** True when an image reference names one immutable version: a digest, or a tag other than `latest`. */
export function isPinnedImage(ref: string): boolean {
  const parsed = parseImageReference(ref);
  return parsed !== undefined && (parsed.digest !== undefined || (parsed.tag !== undefined && parsed.tag !== "latest"));
}

function readImages(raw: RawConfig, problems: Problems): Record<ImageKey, string> {
  const images: Record<ImageKey, string> = { ...IMAGE_DEFAULTS };
  const text = raw.images;
  if (text === undefined) return images;
  const value = decode(text);
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    problems.add("images", "must be a map of service to image reference, e.g. {auth: supabase/gotrue:v2.196.0}");
    return images;
  }
  const allowed = Object.keys(IMAGE_DEFAULTS) as ImageKey[];
  for (const [service, ref] of Object.entries(value as Record<string, unknown>)) {
    if (!allowed.includes(service as ImageKey)) {
      problems.add(`images.${service}`, `is not a known image; allowed: ${allowed.join(", ")}`);
    } else if (typeof ref !== "string" || parseImageReference(ref) === undefined) {
      problems.add(
        `images.${service}`,
        `must be an image reference such as ${IMAGE_DEFAULTS[service as ImageKey]}, got ${JSON.stringify(ref)}`,
      );
    } else if (!isPinnedImage(ref)) {
      problems.add(
        `images.${service}`,
        `must be pinned to a version tag or digest (not latest, not untagged), got ${JSON.stringify(ref)}`,
      );
    } else {
      images[service as ImageKey] = ref;
    }
  }
  return images;
}

/**
 * Checks an imported legacy role key: an HS256 JWT with the expected role, signed by the imported `jwtSecret`.
 * Messages never echo the key.
 */
function readLegacyApiKey(
  raw: RawConfig,
  name: "legacyAnonKey" | "legacyServiceRoleKey",
  role: "anon" | "service_role",
  context: { legacyHs256: boolean; jwtSecret?: string },
  problems: Problems,
): string | undefined {
  const token = raw[name];
  if (token === undefined) return undefined;
  if (!context.legacyHs256) {
    problems.add(name, "is only used with legacyHs256: true (the gateway accepts it during a migration from HS256)");
    return undefined;
  }
  if (context.jwtSecret === undefined) {
    problems.add(
      name,
      "needs the jwtSecret that signed it: import it with `pulumi config set --secret jwtSecret <JWT_SECRET>`",
    );
    return undefined;
  }
  const parts = token.split(".");
  let header: Record<string, unknown> | undefined;
  let payload: Record<string, unknown> | undefined;
  try {
    header = JSON.parse(Buffer.from(parts[0], "base64url").toString("utf8"));
    payload = JSON.parse(Buffer.from(parts[1], "base64url").toString("utf8"));
  } catch {
    // reported below
  }
  if (
    parts.length !== 3 ||
    typeof header !== "object" ||
    header === null ||
    typeof payload !== "object" ||
    payload === null
  ) {
    problems.add(name, "must be the HS256 deployment's JWT (three base64url parts), as in its .env");
    return undefined;
  }
  if (header.alg !== "HS256") {
    problems.add(name, `must be an HS256 JWT, got alg ${JSON.stringify(header.alg)}`);
    return undefined;
  }
  const { createHmac, timingSafeEqual } = require("node:crypto") as typeof import("node:crypto");
  const expected = createHmac("sha256", context.jwtSecret).update(`${parts[0]}.${parts[1]}`).digest();
  const given = Buffer.from(parts[2], "base64url");
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    problems.add(
      name,
      "is not signed by the imported jwtSecret; import the key and the secret from the same deployment",
    );
    return undefined;
  }
  if (payload.role !== role) {
    problems.add(name, `has role ${JSON.stringify(payload.role)}; expected ${role}`);
    return undefined;
  }
  return token;
}

// ---- auth, pass-through environment and database access ----------------------------------------------------

/** A config object's fields, each one not in `allowed` reported; undefined (reported) when it is no object. */
function objectAt(
  where: string,
  value: unknown,
  allowed: readonly string[],
  example: string,
  problems: Problems,
): Record<string, unknown> | undefined {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    problems.add(where, `must be an object such as ${example}, got ${JSON.stringify(value)}`);
    return undefined;
  }
  const fields = value as Record<string, unknown>;
  for (const field of Object.keys(fields).filter((f) => !allowed.includes(f))) {
    problems.add(`${where}.${field}`, `is not a known field; allowed: ${allowed.join(", ")}`);
  }
  return fields;
}

/** A boolean inside a config object (`pulumi config set --path` may store it as text). */
function booleanAt(where: string, value: unknown, fallback: boolean, problems: Problems): boolean {
  if (value === undefined) return fallback;
  if (value === true || value === "true") return true;
  if (value === false || value === "false") return false;
  problems.add(where, `must be a boolean (true or false), got ${JSON.stringify(value)}`);
  return fallback;
}

/** A TCP port inside a config object: an integer 1-65535, as a number or as text. */
function portAt(where: string, value: unknown, fallback: number, problems: Problems): number {
  if (value === undefined) return fallback;
  const port = typeof value === "string" && /^\d+$/.test(value) ? Number(value) : value;
  if (typeof port !== "number" || !Number.isInteger(port) || port < 1 || port > 65535) {
    problems.add(where, `must be a port number from 1 to 65535, got ${JSON.stringify(value)}`);
    return fallback;
  }
  return port;
}

/**
 * The Docker host address a published port listens on: an IP address, because Docker binds a published port to an
 * address, not a name. `fallback` when absent; `undefined` (reported) when it is not an address.
 */
function hostAddressAt(where: string, value: unknown, fallback: string, problems: Problems): string | undefined {
  if (value === undefined) return fallback;
  if (typeof value === "string" && isIP(value) !== 0) return value;
  problems.add(
    where,
    `must be an IP address of the Docker host to listen on (127.0.0.1 for the host only, 0.0.0.0 for every ` +
      `network), got ${JSON.stringify(value)}`,
  );
  return undefined;
}

/** A non-empty text inside a config object; undefined when absent (reported when `required`) or invalid. */
function textAt(
  where: string,
  value: unknown,
  problems: Problems,
  options: { required?: string; pattern?: RegExp; expected?: string } = {},
): string | undefined {
  if (value === undefined) {
    if (options.required) problems.add(where, `is required: ${options.required}`);
    return undefined;
  }
  if (typeof value !== "string" || value === "" || (options.pattern && !options.pattern.test(value))) {
    problems.add(where, `must be ${options.expected ?? "a non-empty text"}, got ${JSON.stringify(value)}`);
    return undefined;
  }
  return value;
}

/** An absolute http(s) URL inside a config object. */
function httpUrlAt(where: string, value: unknown, problems: Problems): string | undefined {
  const text = textAt(where, value, problems, { expected: "an absolute http(s) URL" });
  if (text === undefined) return undefined;
  try {
    const url = new URL(text);
    if ((url.protocol === "http:" || url.protocol === "https:") && url.host !== "") return text;
  } catch {
    // reported below
  }
  problems.add(where, `must be an absolute http(s) URL, got ${JSON.stringify(text)}`);
  return undefined;
}

/**
 * A redirect target auth may send users to: a URL of any scheme (mobile deep links such as
 * `com.example.app://callback` included), optionally with auth's globs (`*`, `**`); auth reads the list
 * comma-separated (`GOTRUE_URI_ALLOW_LIST`), so a comma cannot be part of one.
 */
function isRedirectUrl(text: string): boolean {
  if (/[\s,]/.test(text) || !/^[A-Za-z][A-Za-z0-9+.-]*:/.test(text)) return false;
  try {
    const url = new URL(text);
    return (url.protocol !== "http:" && url.protocol !== "https:") || url.host !== "";
  } catch {
    return false;
  }
}

const SMTP_FIELDS = ["host", "port", "user", "pass", "adminEmail", "senderName"] as const;
const PROVIDER_FIELDS = ["clientId", "secret", "redirectUri", "url"] as const;
const HOST_NAME = /^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$/;
const EMAIL = /^[^\s@<>]+@[^\s@<>]+$/;

function readSmtp(value: unknown, problems: Problems): SmtpConfig | undefined {
  const fields = objectAt(
    "auth.smtp",
    value,
    SMTP_FIELDS,
    "{host: smtp.example.com, port: 587, user: …, pass: …, adminEmail: admin@example.com}",
    problems,
  );
  if (!fields) return undefined;
  const host = textAt("auth.smtp.host", fields.host, problems, {
    required: "the SMTP server's host name, e.g. smtp.example.com",
    pattern: HOST_NAME,
    expected: "a host name or IP address (not a URL), e.g. smtp.example.com",
  });
  const port = portAt("auth.smtp.port", fields.port, CONFIG_DEFAULTS.smtpPort, problems);
  const user = textAt("auth.smtp.user", fields.user, problems);
  const pass = textAt("auth.smtp.pass", fields.pass, problems, {
    expected: "the SMTP password as text (set it with `pulumi config set --secret --path 'auth.smtp.pass' …`)",
  });
  const adminEmail = textAt("auth.smtp.adminEmail", fields.adminEmail, problems, {
    required: "the address auth's mails come from, e.g. admin@example.com",
    pattern: EMAIL,
    expected: "an email address such as admin@example.com",
  });
  const senderName = textAt("auth.smtp.senderName", fields.senderName, problems);
  if (host === undefined || adminEmail === undefined) return undefined;
  return {
    host,
    port,
    ...(user !== undefined ? { user } : {}),
    ...(pass !== undefined ? { pass } : {}),
    adminEmail,
    ...(senderName !== undefined ? { senderName } : {}),
  };
}

function readProviders(value: unknown, problems: Problems): Record<string, ExternalProviderConfig> {
  const providers: Record<string, ExternalProviderConfig> = {};
  if (value === undefined) return providers;
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    problems.add(
      "auth.externalProviders",
      `must be a map of provider name to {clientId, secret, redirectUri?}, e.g. {google: {clientId: …, secret: …}}`,
    );
    return providers;
  }
  for (const [name, entry] of Object.entries(value as Record<string, unknown>)) {
    const where = `auth.externalProviders.${name}`;
    if (!(OAUTH_PROVIDERS as readonly string[]).includes(name)) {
      problems.add(where, `is not an OAuth provider auth knows; allowed: ${OAUTH_PROVIDERS.join(", ")}`);
      continue;
    }
    const fields = objectAt(where, entry, PROVIDER_FIELDS, "{clientId: …, secret: …, redirectUri: …}", problems);
    if (!fields) continue;
    const clientId = textAt(`${where}.clientId`, fields.clientId, problems, {
      required: "the OAuth client id the provider issued",
      pattern: /^\S+$/,
      expected: "the OAuth client id (no spaces; several are comma-separated)",
    });
    const secret = textAt(`${where}.secret`, fields.secret, problems, {
      required: `the client secret; set it with \`pulumi config set --secret --path '${where}.secret' …\``,
    });
    const redirectUri = httpUrlAt(`${where}.redirectUri`, fields.redirectUri, problems);
    const url = httpUrlAt(`${where}.url`, fields.url, problems);
    if (clientId === undefined || secret === undefined) continue;
    providers[name] = {
      clientId,
      secret,
      ...(redirectUri !== undefined ? { redirectUri } : {}),
      ...(url !== undefined ? { url } : {}),
    };
  }
  return providers;
}

/** `auth`: sign-up policy, mail and OAuth providers; the defaults are the official `.env.example`'s. */
function readAuth(raw: RawConfig, problems: Problems): AuthConfig {
  const config: AuthConfig = {
    disableSignup: false,
    mailerAutoconfirm: false,
    additionalRedirectUrls: [],
    anonymousUsers: false,
    externalProviders: {},
  };
  if (raw.auth === undefined) return config;
  const fields = objectAt(
    "auth",
    decode(raw.auth),
    ["disableSignup", "mailerAutoconfirm", "additionalRedirectUrls", "anonymousUsers", "smtp", "externalProviders"],
    "{disableSignup: true, smtp: {host: …, adminEmail: …}}",
    problems,
  );
  if (!fields) return config;
  config.disableSignup = booleanAt("auth.disableSignup", fields.disableSignup, false, problems);
  config.mailerAutoconfirm = booleanAt("auth.mailerAutoconfirm", fields.mailerAutoconfirm, false, problems);
  config.anonymousUsers = booleanAt("auth.anonymousUsers", fields.anonymousUsers, false, problems);
  const urls = fields.additionalRedirectUrls;
  if (urls !== undefined && !Array.isArray(urls)) {
    problems.add(
      "auth.additionalRedirectUrls",
      `must be a list of URLs (set each with --path 'auth.additionalRedirectUrls[0]' …), got ${JSON.stringify(urls)}`,
    );
  } else {
    (urls ?? []).forEach((url: unknown, i: number) => {
      if (typeof url === "string" && isRedirectUrl(url)) config.additionalRedirectUrls.push(url);
      else {
        problems.add(
          `auth.additionalRedirectUrls[${i}]`,
          `must be a URL such as https://app.example.com/** or com.example.app://callback (no spaces or commas), ` +
            `got ${JSON.stringify(url)}`,
        );
      }
    });
  }
  if (fields.smtp !== undefined) {
    const smtp = readSmtp(fields.smtp, problems);
    if (smtp) config.smtp = smtp;
  }
  config.externalProviders = readProviders(fields.externalProviders, problems);
  return config;
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** `extraEnv`: environment per service role, refused where a name is one the program manages. */
function readExtraEnv(raw: RawConfig, problems: Problems): Record<string, EnvMap> {
  const extra: Record<string, EnvMap> = {};
  if (raw.extraEnv === undefined) return extra;
  const value = decode(raw.extraEnv);
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    problems.add("extraEnv", "must be a map of service to {NAME: value}, e.g. {auth: {GOTRUE_SMTP_MAX_FREQUENCY: 1s}}");
    return extra;
  }
  for (const [role, names] of Object.entries(value as Record<string, unknown>)) {
    const where = `extraEnv.${role}`;
    if (!(SERVICE_ROLES as readonly string[]).includes(role)) {
      problems.add(where, `is not a service of this stack; services: ${SERVICE_ROLES.join(", ")}`);
      continue;
    }
    if (typeof names !== "object" || names === null || Array.isArray(names)) {
      problems.add(where, `must be a map of environment variable to value, got ${JSON.stringify(names)}`);
      continue;
    }
    const env: EnvMap = {};
    for (const [name, setting] of Object.entries(names as Record<string, unknown>)) {
      const at = `${where}.${name}`;
      const by = managedBy(serviceOf(role).managedEnv, name);
      if (!ENV_NAME.test(name)) {
        problems.add(at, "is not an environment variable name (letters, digits and _, not starting with a digit)");
      } else if (by !== undefined) {
        problems.add(at, `is set by the program from ${by}; extraEnv may not override it`);
      } else if (!["string", "number", "boolean"].includes(typeof setting) || String(setting).includes("\u0000")) {
        problems.add(at, `must be a text, number or boolean, got ${JSON.stringify(setting)}`);
      } else {
        env[name] = String(setting);
      }
    }
    extra[role] = env;
  }
  return extra;
}

/** `postgresPassword`: adopts an existing data volume's password for the superuser and every service role. */
function readPostgresPassword(raw: RawConfig, problems: Problems): string | undefined {
  const text = raw.postgresPassword;
  if (text === undefined) return undefined;
  if (text === "" || /[\u0000\r\n]/.test(text)) {
    problems.add(
      "postgresPassword",
      "must be a non-empty password without line breaks or NUL (it goes into SQL and connection strings)",
    );
    return undefined;
  }
  return text;
}

/** `database`: `publish` (`true`, or `{host, port}`) publishes Postgres on the Docker host. */
function readDatabase(raw: RawConfig, gatewayHttpPort: number, problems: Problems): DatabaseConfig {
  if (raw.database === undefined) return {};
  const fields = objectAt(
    "database",
    decode(raw.database),
    ["publish"],
    "{publish: {host: 127.0.0.1, port: 5432}}",
    problems,
  );
  const publish = fields?.publish;
  if (publish === undefined || publish === false || publish === "false") return {};
  const defaults = CONFIG_DEFAULTS.databasePublish;
  if (publish === true || publish === "true") return { publish: { ...defaults } };
  const at = objectAt("database.publish", publish, ["host", "port"], "{host: 127.0.0.1, port: 5432}", problems);
  if (!at) return {};
  const host = hostAddressAt("database.publish.host", at.host, defaults.host, problems);
  const port = portAt("database.publish.port", at.port, defaults.port, problems);
  if (host === undefined) return {};
  if (port === gatewayHttpPort) {
    problems.add("database.publish.port", `is ${port}, the gateway's port (gatewayHttpPort); choose another`);
    return {};
  }
  return { publish: { host, port } };
}

// ---- the rest of the platform: the pooler, edge functions, storage's backend ------------------------------------

/** An integer in `[min, max]` inside a config object, as a number or as text. */
function integerAt(where: string, value: unknown, fallback: number, range: [number, number], problems: Problems) {
  if (value === undefined) return fallback;
  const number = typeof value === "string" && /^\d+$/.test(value) ? Number(value) : value;
  if (typeof number !== "number" || !Number.isInteger(number) || number < range[0] || number > range[1]) {
    problems.add(where, `must be an integer from ${range[0]} to ${range[1]}, got ${JSON.stringify(value)}`);
    return fallback;
  }
  return number;
}

/** A top-level config object's fields; empty when the key is absent or (reported) no object. */
function topFields(raw: RawConfig, name: string, allowed: readonly string[], example: string, problems: Problems) {
  const text = raw[name];
  return text === undefined ? {} : (objectAt(name, decode(text), allowed, example, problems) ?? {});
}

/** Tenant ids travel in user names (`postgres.<tenant>`) and object keys: no dots, slashes or spaces. */
const TENANT_ID = { pattern: /^[A-Za-z0-9_-]{1,64}$/, expected: "1-64 characters of letters, digits, _ and -" };

/** `pooler`: supavisor, its two proxy ports published on `host`. */
function readPooler(raw: RawConfig, problems: Problems): PoolerConfig {
  const d = PLATFORM_DEFAULTS.pooler;
  const fields = topFields(raw, "pooler", Object.keys(d), "{sessionPort: 6432, host: 0.0.0.0}", problems);
  const host = hostAddressAt("pooler.host", fields.host, d.host, problems) ?? d.host;
  return {
    enabled: booleanAt("pooler.enabled", fields.enabled, d.enabled, problems),
    sessionPort: portAt("pooler.sessionPort", fields.sessionPort, d.sessionPort, problems),
    transactionPort: portAt("pooler.transactionPort", fields.transactionPort, d.transactionPort, problems),
    host,
    tenantId: textAt("pooler.tenantId", fields.tenantId, problems, TENANT_ID) ?? d.tenantId,
    defaultPoolSize: integerAt(
      "pooler.defaultPoolSize",
      fields.defaultPoolSize,
      d.defaultPoolSize,
      [1, 10_000],
      problems,
    ),
    maxClientConnections: integerAt(
      "pooler.maxClientConnections",
      fields.maxClientConnections,
      d.maxClientConnections,
      [1, 1_000_000],
      problems,
    ),
  };
}

/** What reading a functions directory found: its files, or why it cannot be used. */
export type FunctionsDirListing = { files: FunctionFile[] } | { problem: string };

/** `functions`: the edge runtime, and the directory its files come from (read through `options`). */
function readFunctions(raw: RawConfig, problems: Problems, options: ParseOptions): FunctionsConfig {
  const d = PLATFORM_DEFAULTS.functions;
  const fields = topFields(
    raw,
    "functions",
    ["enabled", "dir", "verifyJwt"],
    "{enabled: true, dir: ./supabase/functions}",
    problems,
  );
  const enabled = booleanAt("functions.enabled", fields.enabled, d.enabled, problems);
  const verifyJwt = booleanAt("functions.verifyJwt", fields.verifyJwt, d.verifyJwt, problems);
  const dir = textAt("functions.dir", fields.dir, problems, {
    pattern: /\S/,
    expected: "a directory path (relative to the project)",
  });
  const config: FunctionsConfig = { enabled, verifyJwt, ...(dir !== undefined ? { dir } : {}) };
  if (!enabled || !options.readFunctionsDir || (fields.dir !== undefined && dir === undefined)) return config;
  const listing = options.readFunctionsDir(dir);
  if ("problem" in listing) {
    problems.add(dir !== undefined ? "functions.dir" : "functions", listing.problem);
    return config;
  }
  return { ...config, files: listing.files };
}

const S3_FIELDS = ["endpoint", "bucket", "region", "forcePathStyle", "accessKeyId", "secretAccessKey"] as const;
/** S3's bucket naming rules (lower case, digits, dots and hyphens, 3-63 characters). */
const S3_BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/** `storage`: its backend (file or S3), tenant and image transformations. */
function readStorage(raw: RawConfig, problems: Problems): StorageConfig {
  const d = PLATFORM_DEFAULTS.storage;
  const fields = topFields(
    raw,
    "storage",
    ["backend", "tenantId", "s3", "imageTransformation"],
    "{backend: s3, s3: {bucket: …, region: …}}",
    problems,
  );
  let backend: StorageConfig["backend"] = d.backend;
  if (fields.backend !== undefined) {
    if (STORAGE_BACKENDS.includes(fields.backend as StorageConfig["backend"])) {
      backend = fields.backend as StorageConfig["backend"];
    } else {
      problems.add(
        "storage.backend",
        `${JSON.stringify(fields.backend)} is not a backend; allowed: ${STORAGE_BACKENDS.join(", ")}`,
      );
    }
  }
  const config: StorageConfig = {
    backend,
    tenantId: textAt("storage.tenantId", fields.tenantId, problems, TENANT_ID) ?? d.tenantId,
    imageTransformation: booleanAt(
      "storage.imageTransformation",
      fields.imageTransformation,
      d.imageTransformation,
      problems,
    ),
  };
  const s3 = readS3(fields.s3, backend, problems);
  return s3 ? { ...config, s3 } : config;
}

function readS3(value: unknown, backend: StorageConfig["backend"], problems: Problems): S3BackendConfig | undefined {
  if (value === undefined) {
    if (backend === "s3") problems.add("storage.s3.bucket", "is required with storage.backend s3");
    return undefined;
  }
  if (backend !== "s3") {
    problems.add("storage.s3", 'is only used with storage.backend "s3"; set the backend or remove storage.s3');
    return undefined;
  }
  const fields = objectAt("storage.s3", value, S3_FIELDS, "{bucket: my-bucket, region: us-east-1}", problems);
  if (!fields) return undefined;
  const endpoint = textAt("storage.s3.endpoint", fields.endpoint, problems, {
    pattern: /^https?:\/\/[^\s/?#]+\/?$/,
    expected: "an http(s) URL without a path, such as https://s3.example.com",
  });
  const bucket = textAt("storage.s3.bucket", fields.bucket, problems, {
    pattern: S3_BUCKET,
    expected: "an S3 bucket name (3-63 characters of a-z, 0-9, . and -)",
  });
  if (fields.bucket === undefined) problems.add("storage.s3.bucket", "is required with storage.backend s3");
  const region = textAt("storage.s3.region", fields.region, problems, {
    pattern: /^[A-Za-z0-9-]{1,64}$/,
    expected: "a region name such as us-east-1",
  });
  if (fields.region === undefined && fields.endpoint === undefined) {
    problems.add("storage.s3.region", "is required for AWS S3 (no storage.s3.endpoint), e.g. us-east-1");
  }
  const keyOptions = { pattern: /^\S+$/, expected: "a non-empty text without spaces" };
  const accessKeyId = textAt("storage.s3.accessKeyId", fields.accessKeyId, problems, keyOptions);
  const secretAccessKey = textAt("storage.s3.secretAccessKey", fields.secretAccessKey, problems, keyOptions);
  if ((fields.accessKeyId === undefined) !== (fields.secretAccessKey === undefined)) {
    problems.add(
      "storage.s3",
      "needs accessKeyId and secretAccessKey together (or neither, to use the host's AWS credentials)",
    );
  }
  if (bucket === undefined) return undefined;
  return {
    ...(endpoint !== undefined ? { endpoint: endpoint.replace(/\/$/, "") } : {}),
    bucket,
    region: region ?? PLATFORM_DEFAULTS.storage.region,
    // MinIO and most S3-compatible stores want path-style addressing; AWS wants virtual-hosted.
    forcePathStyle: booleanAt("storage.s3.forcePathStyle", fields.forcePathStyle, endpoint !== undefined, problems),
    ...(accessKeyId !== undefined ? { accessKeyId } : {}),
    ...(secretAccessKey !== undefined ? { secretAccessKey } : {}),
  };
}

/**
 * Host ports that would clash: the gateway's (on `gatewayHost`), Postgres's with `database.publish`, and the
 * pooler's two. Two clash on the same port when either listens on every address or both on the same one.
 */
function checkPublishedPorts(config: ProgramConfig, problems: Problems): void {
  if (!config.pooler.enabled) return;
  const taken: Array<{ port: number; ip?: string; key: string }> = [
    { port: config.gatewayHttpPort, ip: config.gatewayHost, key: "gatewayHttpPort" },
  ];
  const publish = config.database.publish;
  if (publish) taken.push({ port: publish.port, ip: publish.host, key: "database.publish.port" });
  for (const name of ["sessionPort", "transactionPort"] as const) {
    const mine = { port: config.pooler[name], ip: config.pooler.host, key: `pooler.${name}` };
    const other = taken.find(
      (t) =>
        t.port === mine.port && (listensOnEveryAddress(t.ip) || listensOnEveryAddress(mine.ip) || t.ip === mine.ip),
    );
    if (other) {
      problems.add(
        mine.key,
        `${mine.port} is already ${other.key}'s host port; each published port must differ (change one of them)`,
      );
    } else taken.push(mine);
  }
}

/** An environment name that usually carries a secret, e.g. `GOTRUE_HOOK_SEND_EMAIL_SECRETS`, `SMS_TWILIO_AUTH_TOKEN`. */
const SECRET_LOOKING_NAME = /(^|_)(SECRETS?|PASSWORD|PASSWD|PASS|TOKENS?|KEYS?|PRIVATE|CREDENTIALS?)(_|$)/;

/** The config keys that hold a secret, each with the top-level key Pulumi marks secret when it was set so. */
function plainSecrets(config: ProgramConfig): Array<{ topKey: string; key: string }> {
  const found: Array<{ topKey: string; key: string }> = [];
  if (config.postgresPassword !== undefined) found.push({ topKey: "postgresPassword", key: "postgresPassword" });
  if (config.auth.smtp?.pass !== undefined) found.push({ topKey: "auth", key: "auth.smtp.pass" });
  for (const name of Object.keys(config.auth.externalProviders)) {
    found.push({ topKey: "auth", key: `auth.externalProviders.${name}.secret` });
  }
  if (config.storage.s3?.secretAccessKey !== undefined) {
    found.push({ topKey: "storage", key: "storage.s3.secretAccessKey" });
  }
  for (const [role, env] of Object.entries(config.extraEnv)) {
    for (const name of Object.keys(env).filter((n) => SECRET_LOOKING_NAME.test(n))) {
      found.push({ topKey: "extraEnv", key: `extraEnv.${role}.${name}` });
    }
  }
  return found;
}

/**
 * Warnings about a valid config, for the program to log at every run: a secret given in plain text (it sits
 * unencrypted in the stack file, and reaches the engine as plain text), and `extraEnv` for a service that does not
 * run with these settings.
 * @param secretKeys the config keys (without the namespace) the engine passed as secrets.
 */
export function settingsWarnings(config: ProgramConfig, secretKeys: ReadonlySet<string>): string[] {
  const warnings = plainSecrets(config)
    .filter(({ topKey }) => !secretKeys.has(topKey))
    .map(
      ({ key: path }) =>
        `${key(path)} is stored in plain text in the stack file; encrypt it with ` +
        `\`pulumi config set --secret --path '${path}' <value>\``,
    );
  const running = runningServices(config).map((service) => service.role as string);
  for (const role of Object.keys(config.extraEnv).filter((r) => !running.includes(r))) {
    warnings.push(`${key(`extraEnv.${role}`)}: ${role} does not run with these settings, so this has no effect.`);
  }
  return warnings;
}

/** What {@link parseConfig} may know besides the values themselves. */
export interface ParseOptions {
  /** The top-level keys (without the namespace) whose values arrived as secrets (none when not given). */
  secretKeys?: ReadonlySet<string>;
  /**
   * Lists the files of `functions.dir`, or of the program's own main entry when `dir` is `undefined` (`read.ts`);
   * without it, `functions.dir` is checked for its form only.
   */
  readFunctionsDir?(dir: string | undefined): FunctionsDirListing;
}

/**
 * Turns raw stack config into a validated {@link ProgramConfig} with defaults applied.
 * @param raw config values keyed without the `supabase-selfhosted:` namespace, as text.
 * @param options what else the parse may know (which keys are secrets) and do (read `functions.dir`).
 * @throws ConfigError listing every invalid key with what is allowed.
 */
export function parseConfig(raw: RawConfig, options: ParseOptions = {}): ProgramConfig {
  const problems = new Problems();
  for (const name of Object.keys(raw)) {
    if (raw[name] !== undefined && !(CONFIG_KEYS as readonly string[]).includes(name)) {
      problems.add(name, `is not a known setting; known: ${CONFIG_KEYS.join(", ")}`);
    }
  }
  const signingKeys = parseSigningKeys(raw, problems);
  const legacyHs256 = readBoolean(raw, "legacyHs256", false, problems);
  let jwtSecret: string | undefined;
  if (raw.jwtSecret !== undefined) {
    if (raw.jwtSecret.length < 32) {
      problems.add(
        "jwtSecret",
        `must be at least 32 characters (auth and PostgREST refuse shorter secrets), got ${raw.jwtSecret.length}`,
      );
    } else {
      jwtSecret = raw.jwtSecret;
    }
  }
  const legacyContext = { legacyHs256, ...(jwtSecret !== undefined ? { jwtSecret } : {}) };
  const legacyAnon = readLegacyApiKey(raw, "legacyAnonKey", "anon", legacyContext, problems);
  const legacyService = readLegacyApiKey(raw, "legacyServiceRoleKey", "service_role", legacyContext, problems);
  const config: ProgramConfig = {
    signingKeys,
    legacyHs256,
    ...(jwtSecret !== undefined ? { jwtSecret } : {}),
    ...(legacyAnon !== undefined || legacyService !== undefined
      ? {
          legacyApiKeys: {
            ...(legacyAnon !== undefined ? { anon: legacyAnon } : {}),
            ...(legacyService !== undefined ? { serviceRole: legacyService } : {}),
          },
        }
      : {}),
    jwtExpiry: readPositiveInteger(raw, "jwtExpiry", CONFIG_DEFAULTS.jwtExpiry, problems),
    apiKeyLifetimeDays: readPositiveInteger(
      raw,
      "apiKeyLifetimeDays",
      CONFIG_DEFAULTS.apiKeyLifetimeDays,
      problems,
      36500,
    ),
    allowUnsafeRotation: readBoolean(raw, "allowUnsafeRotation", false, problems),
    jwksCacheSeconds: readPositiveInteger(raw, "jwksCacheSeconds", CONFIG_DEFAULTS.jwksCacheSeconds, problems),
    siteUrl: readUrl(raw, "siteUrl", CONFIG_DEFAULTS.siteUrl, problems),
    apiExternalUrl: readUrl(raw, "apiExternalUrl", CONFIG_DEFAULTS.apiExternalUrl, problems),
    gatewayHttpPort: readPositiveInteger(raw, "gatewayHttpPort", CONFIG_DEFAULTS.gatewayHttpPort, problems, 65535),
    gatewayHost:
      hostAddressAt("gatewayHost", raw.gatewayHost, CONFIG_DEFAULTS.gatewayHost, problems) ??
      CONFIG_DEFAULTS.gatewayHost,
    images: readImages(raw, problems),
    studio: readBoolean(raw, "studio", true, problems),
    dashboardUsername: raw.dashboardUsername ?? CONFIG_DEFAULTS.dashboardUsername,
    auth: readAuth(raw, problems),
    extraEnv: readExtraEnv(raw, problems),
    extraEnvIsSecret: options.secretKeys?.has("extraEnv") ?? false,
    database: {},
    pooler: readPooler(raw, problems),
    functions: readFunctions(raw, problems, options),
    storage: readStorage(raw, problems),
  };
  const postgresPassword = readPostgresPassword(raw, problems);
  if (postgresPassword !== undefined) config.postgresPassword = postgresPassword;
  config.database = readDatabase(raw, config.gatewayHttpPort, problems);
  // A clash is judged on valid ports only: an invalid one has been reported and replaced by its default.
  if (problems.list.length === 0) checkPublishedPorts(config, problems);
  if (raw.dashboardUsername !== undefined && !/^[A-Za-z0-9._-]{1,64}$/.test(raw.dashboardUsername)) {
    problems.add(
      "dashboardUsername",
      `must be 1-64 characters of letters, digits, ".", "_" or "-", got ${JSON.stringify(raw.dashboardUsername)}`,
    );
  }
  if (problems.list.length > 0) throw new ConfigError(problems.list);
  return config;
}
