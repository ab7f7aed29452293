/**
 * Checks an imported private JWK (`signingKeys[i].privateJwk`) against the entry's algorithm before any resource
 * exists: its shape, its members, its size. Pure; messages never print key material.
 */
import { ALGORITHMS, KEY_TYPES, algorithmOfKeyType, singleKey, type Algorithm } from "./algorithms";
import { canonicalJson, LEGACY_KID } from "./model";

const BASE64URL = /^[A-Za-z0-9_-]+$/;

/** An imported key that passed: its canonical JSON, its kid when it has one, and the algorithm it implies. */
export interface ImportedJwk {
  json: string;
  kid?: string;
  algorithm: Algorithm;
}

/** Parses the JSON text of an imported key: one JWK object (a one-key array is the key in it). */
function parseJwkText(text: string): Record<string, unknown> | string {
  let jwk: unknown;
  try {
    jwk = JSON.parse(text);
  } catch {
    return 'is not valid JSON: expected a private JWK object such as {"kty":"EC","crv":"P-256","x":…,"y":…,"d":…}';
  }
  jwk = singleKey(jwk);
  if (typeof jwk !== "object" || jwk === null || Array.isArray(jwk))
    return "must be one JWK object, not an array or a JWKS";
  return jwk as Record<string, unknown>;
}

/** Why the key's type, curve, alg or use does not fit the entry's algorithm; the algorithm it is for otherwise. */
function checkKeyType(jwk: Record<string, unknown>, algorithm: Algorithm | undefined): Algorithm | string {
  const kty = jwk.kty;
  const inferred = algorithmOfKeyType(kty);
  if (typeof kty !== "string" || inferred === undefined) {
    const allowed = ALGORITHMS.map((a) => `${KEY_TYPES[a].kty} (${a})`).join(", ");
    return `has kty ${JSON.stringify(kty)}; allowed: ${allowed}`;
  }
  const expected = algorithm ?? inferred;
  const shape = KEY_TYPES[expected];
  if (shape.kty !== kty)
    return `is an ${kty} key but the entry's algorithm is ${expected}, which needs kty ${shape.kty}`;
  if (shape.crv && jwk.crv !== shape.crv)
    return `has crv ${JSON.stringify(jwk.crv)} but ${expected} needs crv ${shape.crv}`;
  if (jwk.alg !== undefined && jwk.alg !== expected) {
    return `has alg ${JSON.stringify(jwk.alg)} but the entry's algorithm is ${expected}`;
  }
  if (jwk.use !== undefined && jwk.use !== "sig") {
    return `has use ${JSON.stringify(jwk.use)}; a signing key must have use "sig" or none`;
  }
  return expected;
}

/** Why the key's members do not make a complete private key of its type, if they do not. */
function checkMembers(jwk: Record<string, unknown>, algorithm: Algorithm): string | undefined {
  const shape = KEY_TYPES[algorithm];
  if (jwk.d === undefined)
    return 'is a public key (no "d"): import the private JWK, the public half is derived from it';
  const required = [...shape.publicMembers, ...shape.privateMembers];
  const missing = required.filter((m) => typeof jwk[m] !== "string" || jwk[m] === "");
  if (missing.length > 0) return `lacks ${missing.join(", ")}, which a private ${shape.kty} key needs`;
  const malformed = required.filter((m) => m !== "crv" && !BASE64URL.test(jwk[m] as string));
  if (malformed.length > 0) return `has members that are not base64url: ${malformed.join(", ")}`;
  if (shape.kty === "RSA" && Buffer.from(jwk.n as string, "base64url").length * 8 < 2048) {
    return "is an RSA key shorter than 2048 bits; RS256 keys must have at least 2048 bits";
  }
  if (jwk.kid !== undefined && (typeof jwk.kid !== "string" || jwk.kid.length === 0)) {
    return "has a kid that is not a non-empty string";
  }
  if (jwk.kid === LEGACY_KID)
    return `has kid ${JSON.stringify(LEGACY_KID)}, which is reserved for the legacy HS256 key`;
  return undefined;
}

/**
 * Why the key's members do not make one key pair, if they do not: a signature made with its private members must
 * verify with its public ones alone (a JWK whose `x`/`y` or `n` belong to another key would pass every shape check,
 * and fail only when auth signs with it). Node's own key import (`node:crypto`) judges the members' encodings.
 */
function checkKeyPair(jwk: Record<string, unknown>, algorithm: Algorithm): string | undefined {
  const { createPrivateKey, createPublicKey, sign, verify } = require("node:crypto") as typeof import("node:crypto");
  const shape = KEY_TYPES[algorithm];
  const members = (names: readonly string[]) => Object.fromEntries(names.map((m) => [m, jwk[m]]));
  const message = Buffer.from("supabase-selfhosted key pair check");
  // ES256 and RS256 sign with SHA-256; Ed25519 takes no separate digest.
  const digest = algorithm === "EdDSA" ? null : "sha256";
  try {
    const privateKey = createPrivateKey({
      key: { kty: shape.kty, ...members(shape.publicMembers), ...members(shape.privateMembers) },
      format: "jwk",
    });
    const publicKey = createPublicKey({ key: { kty: shape.kty, ...members(shape.publicMembers) }, format: "jwk" });
    if (!verify(digest, message, publicKey, sign(digest, message, privateKey))) {
      return `holds public members that do not belong to its private key (d): an ${shape.label} key pair whose halves differ`;
    }
  } catch (error) {
    return `is not a valid ${shape.label} key: ${error instanceof Error ? error.message : String(error)}`;
  }
  return shape.kty === "RSA" ? checkRsaMembers(jwk) : undefined;
}

/**
 * An RSA key's members agree with each other (RFC 8017 section 3.2): a signature above uses the CRT members alone, and
 * a verifier that checks the key (Go's `rsa.PrivateKey.Validate`, which auth's JWK library may call) also needs
 * `n = p·q`, `d·e ≡ 1 (mod lcm(p−1, q−1))` and the CRT members derived from them.
 */
function checkRsaMembers(jwk: Record<string, unknown>): string | undefined {
  const int = (member: string) => BigInt(`0x${Buffer.from(String(jwk[member]), "base64url").toString("hex") || "0"}`);
  const [n, e, d, p, q, dp, dq, qi] = ["n", "e", "d", "p", "q", "dp", "dq", "qi"].map(int);
  const gcd = (a: bigint, b: bigint): bigint => (b === 0n ? a : gcd(b, a % b));
  const lcm = ((p - 1n) * (q - 1n)) / gcd(p - 1n, q - 1n);
  const consistent =
    n === p * q && (d * e) % lcm === 1n && dp === d % (p - 1n) && dq === d % (q - 1n) && (qi * q) % p === 1n;
  return consistent ? undefined : "has RSA members that do not agree (n, e, d, p, q, dp, dq, qi): not one key pair";
}

/**
 * Validates an imported private JWK against the entry's algorithm (inferred from the key when the entry sets none).
 * @returns the key, or the problem as a message to follow the config key.
 */
export function readImportedJwk(text: string, algorithm: Algorithm | undefined): ImportedJwk | { problem: string } {
  const jwk = parseJwkText(text);
  if (typeof jwk === "string") return { problem: jwk };
  const fits = checkKeyType(jwk, algorithm);
  if (!(ALGORITHMS as readonly string[]).includes(fits)) return { problem: fits };
  const problem = checkMembers(jwk, fits as Algorithm) ?? checkKeyPair(jwk, fits as Algorithm);
  if (problem) return { problem };
  return {
    json: canonicalJson(jwk),
    algorithm: fits as Algorithm,
    ...(typeof jwk.kid === "string" ? { kid: jwk.kid } : {}),
  };
}
