/**
 * Keys and tokens: key generation, import, role JWT minting and the opaque `sb_` API keys.
 *
 * These functions also run inside the serialized dynamic provider, so `jose` and `node:crypto` are required
 * inside each function (a module captured at the top would be serialized into the provider's closure).
 */
import type * as JoseModule from "jose";
import { KEY_TYPES, singleKey, type Algorithm } from "./algorithms";
import { publicJwk, signingJwk, type Jwk } from "./model";

function jose(): typeof JoseModule {
  // jose 6 ships as an ES module only; Node ≥ 20.19 can `require` it (see the module comment for why here).
  return require("jose");
}

/** The two roles Supabase pre-signs API JWTs for. */
export const ROLES = ["anon", "service_role"] as const;
export type Role = (typeof ROLES)[number];

/** The issuer Supabase's own tooling puts in pre-signed role JWTs. */
export const ROLE_TOKEN_ISSUER = "supabase";

const SECONDS_PER_DAY = 86_400;

/** Claims of a pre-signed role JWT: `{role, iss:"supabase", iat, exp}` with `exp = iat + lifetimeDays`. */
export interface RoleClaims {
  role: Role;
  iss: string;
  iat: number;
  exp: number;
}

/** Builds the claims of a pre-signed role JWT. */
export function roleClaims(role: Role, issuedAt: number, lifetimeDays: number): RoleClaims {
  return { role, iss: ROLE_TOKEN_ISSUER, iat: issuedAt, exp: issuedAt + lifetimeDays * SECONDS_PER_DAY };
}

/**
 * Signs role claims with a key in signing form. Asymmetric keys put `{alg, typ:"JWT", kid}` in the header;
 * the legacy `oct` key signs without `kid`, as HS256 deployments did, so every service falls back to the
 * shared secret for those tokens.
 */
export async function signRoleToken(signer: Jwk, claims: RoleClaims): Promise<string> {
  const { importJWK, SignJWT } = jose();
  const alg = signer.alg;
  if (typeof alg !== "string") throw new Error("the signing key has no alg");
  // WebCrypto refuses a private key whose key_ops include "verify": import it with key_ops stripped.
  const { key_ops: _ops, ...importable } = signer;
  const key = await importJWK(importable, alg);
  const header = signer.kty === "oct" ? { alg, typ: "JWT" } : { alg, typ: "JWT", kid: signer.kid };
  return new SignJWT({ ...claims }).setProtectedHeader(header).sign(key);
}

/** A key's pair of pre-signed role JWTs and their validity window. */
export interface RoleTokens {
  anonKey: string;
  serviceRoleKey: string;
  /** Unix seconds. */
  issuedAt: number;
  /** Unix seconds. */
  expiresAt: number;
}

/** Mints the anon and service_role JWTs for one key, issued at `issuedAt` (unix seconds). */
export async function mintRoleTokens(signer: Jwk, issuedAt: number, lifetimeDays: number): Promise<RoleTokens> {
  const anon = roleClaims("anon", issuedAt, lifetimeDays);
  const service = roleClaims("service_role", issuedAt, lifetimeDays);
  return {
    anonKey: await signRoleToken(signer, anon),
    serviceRoleKey: await signRoleToken(signer, service),
    issuedAt,
    expiresAt: anon.exp,
  };
}

/** A fresh random kid in the format Supabase's own tooling uses (a UUID v4). */
export function newKid(): string {
  const { randomUUID } = require("node:crypto") as typeof import("node:crypto");
  return randomUUID();
}

/** Generates a new private key in signing form: ES256 on P-256, RS256 with 2048 bits, EdDSA on Ed25519. */
export async function generateSigningJwk(algorithm: Algorithm, kid: string = newKid()): Promise<Jwk> {
  const { generateKeyPair, exportJWK } = jose();
  const { privateKey } = await generateKeyPair(algorithm, {
    ...KEY_TYPES[algorithm].generateOptions,
    extractable: true,
  });
  return signingJwk((await exportJWK(privateKey)) as Record<string, unknown>, algorithm, kid);
}

/**
 * Imports a private JWK (as the keygen gist or `supabase gen signing-key` print it) into signing form, keeping its
 * kid. Proves the material is a usable key pair by signing and verifying with it.
 * @throws when the JWK is not a private key of `algorithm`'s type, or its halves do not match.
 */
export async function importSigningJwk(text: string, algorithm: Algorithm): Promise<Jwk> {
  const raw = singleKey(JSON.parse(text)) as Record<string, unknown>;
  if (typeof raw !== "object" || raw === null || raw.d === undefined) {
    throw new Error('the imported JWK is not a private key (it has no "d")');
  }
  const expectedKty = KEY_TYPES[algorithm].kty;
  if (raw.kty !== expectedKty) {
    throw new Error(`the imported JWK has kty ${JSON.stringify(raw.kty)}, but ${algorithm} needs ${expectedKty}`);
  }
  if (raw.alg !== undefined && raw.alg !== algorithm) {
    throw new Error(`the imported JWK has alg ${JSON.stringify(raw.alg)}, but the key's algorithm is ${algorithm}`);
  }
  const kid = typeof raw.kid === "string" && raw.kid !== "" ? raw.kid : newKid();
  const jwk = signingJwk(raw, algorithm, kid);
  await assertKeyPairMatches(jwk);
  return jwk;
}

/** Signs a probe with the private half and verifies it with the public half; throws if they do not belong together. */
async function assertKeyPairMatches(jwk: Jwk): Promise<void> {
  const { importJWK, CompactSign, compactVerify } = jose();
  const alg = jwk.alg as string;
  const { key_ops: _ops, ...priv } = jwk;
  const { key_ops: _pubOps, ...pub } = publicJwk(jwk);
  let signature: string;
  try {
    signature = await new CompactSign(new TextEncoder().encode("probe"))
      .setProtectedHeader({ alg })
      .sign(await importJWK(priv, alg));
  } catch (error) {
    throw new Error(`the imported JWK is not a valid ${alg} private key: ${(error as Error).message}`);
  }
  try {
    await compactVerify(signature, await importJWK(pub, alg));
  } catch {
    throw new Error("the imported JWK's private and public members do not belong to the same key");
  }
}

/** Prefixes of Supabase's opaque API keys. */
export const OPAQUE_PREFIXES = { publishable: "sb_publishable_", secret: "sb_secret_" } as const;

/** Length of the random part of an opaque key, in base64url characters (what Supabase's self-hosted scripts draw). */
export const OPAQUE_RANDOM_LENGTH = 22;

/** The domain string Supabase's self-hosted tooling hashes into the opaque key checksum. */
const OPAQUE_CHECKSUM_DOMAIN = "supabase-self-hosted|";

/**
 * Formats an opaque API key: `<prefix><22 base64url chars>_<8-char checksum>`, where the checksum is the first
 * 8 base64url characters of SHA-256 over `"supabase-self-hosted|" + prefix + random`, as the official
 * self-hosted scripts compute it.
 * @param random {@link OPAQUE_RANDOM_LENGTH} characters of base64url randomness (from state).
 */
export function opaqueKey(prefix: string, random: string): string {
  if (random.length !== OPAQUE_RANDOM_LENGTH || !/^[A-Za-z0-9_-]+$/.test(random)) {
    throw new Error(`an opaque key needs ${OPAQUE_RANDOM_LENGTH} base64url characters of randomness`);
  }
  const { createHash } = require("node:crypto") as typeof import("node:crypto");
  const body = prefix + random;
  const checksum = createHash("sha256")
    .update(OPAQUE_CHECKSUM_DOMAIN + body)
    .digest("base64url")
    .slice(0, 8);
  return `${body}_${checksum}`;
}

/** True when `key` is a well-formed opaque key of `prefix` whose checksum matches. */
export function isValidOpaqueKey(prefix: string, key: string): boolean {
  if (!key.startsWith(prefix)) return false;
  const random = key.slice(prefix.length, prefix.length + OPAQUE_RANDOM_LENGTH);
  try {
    return opaqueKey(prefix, random) === key;
  } catch {
    return false;
  }
}
