/**
 * Keys for people who run Supabase's official docker-compose instead of this Pulumi program
 * (`npm run keys -- generate`). Built only from the functions the SigningKeyring uses
 * (`components/keyring/tokens.ts`, `components/keyring/model.ts`), so both paths produce the same shapes.
 */
import { randomBytes } from "node:crypto";
import { parseConfig } from "../../components/config/parse";
import { DEFAULTS } from "../../components/config/settings";
import { ConfigError } from "../../components/schema/setting";
import { ALGORITHMS, type Algorithm } from "../../components/keyring/algorithms";
import {
  LEGACY_KID,
  deriveKeyring,
  legacyOctJwk,
  publicJwk,
  type Jwk,
  type Jwks,
  type KeyringEntry,
  type LegacyEntry,
} from "../../components/keyring/model";
import {
  OPAQUE_PREFIXES,
  OPAQUE_RANDOM_LENGTH,
  generateSigningJwk,
  mintRoleTokens,
  opaqueKey,
} from "../../components/keyring/tokens";

/** Options of {@link generateComposeKeys}. */
export interface ComposeKeyOptions {
  /** Signing algorithm of the new key; `ES256` when absent. */
  algorithm?: Algorithm;
  /** The kid to give the key; a random UUID (as Supabase's scripts make) when absent. */
  kid?: string;
  /** The deployment's existing HS256 `JWT_SECRET`: when given, it joins the keyring as a verify-only `oct` key. */
  jwtSecret?: string;
  /** Lifetime of ANON_KEY / SERVICE_ROLE_KEY in days; the program's default (1825, five years) when absent. */
  lifetimeDays?: number;
  /** Issue time of the role JWTs (tests pin it). */
  now?: Date;
  /** Source of the opaque keys' randomness (tests pin it). */
  randomBytes?: (size: number) => Buffer;
}

/** Everything a docker-compose `.env` needs for asymmetric keys, under the names the compose files use. */
export interface ComposeKeys {
  /** `GOTRUE_JWT_KEYS`: the private key array for auth (exactly one signer). */
  JWT_KEYS: Jwk[];
  /** The same array under the name the keygen gist uses. */
  JWT_SIGNING_KEYS: Jwk[];
  /** `GOTRUE_JWT_VALID_METHODS`, comma separated. */
  JWT_METHODS: string;
  /** The verifier JWKS object for rest, realtime and storage (no private member; the `oct` key with --jwt-secret). */
  JWT_JWKS: Jwks;
  ANON_KEY: string;
  SERVICE_ROLE_KEY: string;
  ANON_KEY_ASYMMETRIC: string;
  SERVICE_ROLE_KEY_ASYMMETRIC: string;
  SUPABASE_PUBLISHABLE_KEY: string;
  SUPABASE_SECRET_KEY: string;
}

/** Output order (and the complete set of names) of {@link formatComposeKeys}. */
export const COMPOSE_KEY_NAMES: readonly (keyof ComposeKeys)[] = [
  "JWT_KEYS",
  "JWT_SIGNING_KEYS",
  "JWT_METHODS",
  "JWT_JWKS",
  "ANON_KEY",
  "SERVICE_ROLE_KEY",
  "ANON_KEY_ASYMMETRIC",
  "SERVICE_ROLE_KEY_ASYMMETRIC",
  "SUPABASE_PUBLISHABLE_KEY",
  "SUPABASE_SECRET_KEY",
];

const DEFAULT_LIFETIME_DAYS = DEFAULTS.apiKeyLifetimeDays;

/** The opaque key's random characters, from enough random bytes (3 per 4 base64url characters, rounded up). */
function opaqueRandom(source: (size: number) => Buffer): string {
  return source(Math.ceil((OPAQUE_RANDOM_LENGTH * 3) / 4))
    .toString("base64url")
    .slice(0, OPAQUE_RANDOM_LENGTH);
}

/**
 * Validates the options with the program's own config parser, so a secret or lifetime the Pulumi program would
 * refuse is refused here too.
 */
function validate(options: ComposeKeyOptions): { algorithm: Algorithm; lifetimeDays: number } {
  const algorithm = options.algorithm ?? "ES256";
  const problems: string[] = [];
  if (!ALGORITHMS.includes(algorithm))
    problems.push(`--algorithm ${JSON.stringify(algorithm)} is not supported; allowed: ${ALGORITHMS.join(", ")}`);
  if (options.kid !== undefined && (options.kid.trim() === "" || options.kid !== options.kid.trim())) {
    problems.push("--kid must be a non-empty value without surrounding spaces");
  }
  if (options.kid === LEGACY_KID) problems.push(`--kid ${LEGACY_KID} is reserved for the legacy HS256 key`);
  const raw: Record<string, string> = {
    signingKeys: JSON.stringify([
      { name: "compose", state: "current", algorithm: ALGORITHMS.includes(algorithm) ? algorithm : "ES256" },
    ]),
    apiKeyLifetimeDays: String(options.lifetimeDays ?? DEFAULT_LIFETIME_DAYS),
  };
  if (options.jwtSecret !== undefined) raw.jwtSecret = options.jwtSecret;
  try {
    parseConfig(raw);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    // Name the CLI flags, not the stack config keys the parser knows.
    for (const p of error.problems) {
      problems.push(
        p
          .replace(/^supabase-selfhosted:jwtSecret/, "--jwt-secret")
          .replace(/^supabase-selfhosted:apiKeyLifetimeDays/, "--lifetime-days"),
      );
    }
  }
  if (problems.length > 0) throw new Error(problems.join("\n"));
  return { algorithm, lifetimeDays: options.lifetimeDays ?? DEFAULT_LIFETIME_DAYS };
}

/**
 * Generates a fresh signing key and everything derived from it for a docker-compose deployment: auth's key array,
 * the verifier JWKS, valid methods, role JWTs signed with the new key, and opaque `sb_` keys.
 * @throws Error naming the offending option (algorithm, kid, jwt secret shorter than 32 characters, lifetime).
 */
export async function generateComposeKeys(options: ComposeKeyOptions = {}): Promise<ComposeKeys> {
  const { algorithm, lifetimeDays } = validate(options);
  const now = options.now ?? new Date();
  const issuedAt = Math.floor(now.getTime() / 1000);

  const signer = await generateSigningJwk(algorithm, ...(options.kid !== undefined ? [options.kid] : []));
  const tokens = await mintRoleTokens(signer, issuedAt, lifetimeDays);
  const entry: KeyringEntry = {
    name: "compose",
    state: "current",
    algorithm,
    kid: signer.kid as string,
    privateJwk: signer,
    publicJwk: publicJwk(signer),
    anonKey: tokens.anonKey,
    serviceRoleKey: tokens.serviceRoleKey,
    expiresAt: tokens.expiresAt,
    createdAt: now.toISOString(),
  };
  let legacy: LegacyEntry | undefined;
  if (options.jwtSecret !== undefined) {
    const jwk = legacyOctJwk(options.jwtSecret);
    const legacyTokens = await mintRoleTokens(jwk, issuedAt, lifetimeDays);
    legacy = { jwk, anonKey: legacyTokens.anonKey, serviceRoleKey: legacyTokens.serviceRoleKey };
  }
  const view = deriveKeyring([entry], legacy);
  const random = options.randomBytes ?? randomBytes;
  return {
    JWT_KEYS: view.authKeys,
    JWT_SIGNING_KEYS: view.authKeys,
    JWT_METHODS: view.validMethods.join(","),
    JWT_JWKS: view.verifierJwks,
    ANON_KEY: view.anonKey,
    SERVICE_ROLE_KEY: view.serviceRoleKey,
    ANON_KEY_ASYMMETRIC: view.anonKey,
    SERVICE_ROLE_KEY_ASYMMETRIC: view.serviceRoleKey,
    SUPABASE_PUBLISHABLE_KEY: opaqueKey(OPAQUE_PREFIXES.publishable, opaqueRandom(random)),
    SUPABASE_SECRET_KEY: opaqueKey(OPAQUE_PREFIXES.secret, opaqueRandom(random)),
  };
}

/** Output formats of {@link formatComposeKeys}. */
export const COMPOSE_FORMATS = ["env", "json"] as const;
export type ComposeFormat = (typeof COMPOSE_FORMATS)[number];

/**
 * Formats generated keys: `env` prints `NAME=value` lines with compact JSON (the form Supabase's
 * add-new-auth-keys.sh appends to `.env`); `json` prints one object.
 */
export function formatComposeKeys(keys: ComposeKeys, format: ComposeFormat): string {
  if (format === "json")
    return JSON.stringify(Object.fromEntries(COMPOSE_KEY_NAMES.map((n) => [n, keys[n]])), null, 2) + "\n";
  const kid = keys.JWT_KEYS.find((k) => Array.isArray(k.key_ops) && (k.key_ops as string[]).includes("sign"))?.kid;
  const lines = [
    `# Generated by npm run keys -- generate (signing kid ${kid}). Secret: keep out of git.`,
    "# JWT_KEYS -> auth GOTRUE_JWT_KEYS; JWT_JWKS -> rest PGRST_JWT_SECRET, realtime API_JWT_JWKS, storage JWT_JWKS;",
    "# JWT_METHODS -> auth GOTRUE_JWT_VALID_METHODS and GOTRUE_JWT_VALIDMETHODS.",
    ...COMPOSE_KEY_NAMES.map((n) => `${n}=${typeof keys[n] === "string" ? keys[n] : JSON.stringify(keys[n])}`),
  ];
  return lines.join("\n") + "\n";
}
