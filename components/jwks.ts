/**
 * The keyring model: from the stored keys and their states to what each Supabase service is given.
 * Pure: no Pulumi, no I/O, no randomness, so the same state always yields byte-identical output.
 */
import { LEGACY_KID, type Algorithm, type KeyState } from "./config";

/** A JSON Web Key as stored and handed to services. Member order is fixed by the builders below. */
export type Jwk = { kty: string; kid?: string; alg?: string; [member: string]: unknown };

/** A JWK Set object, the shape rest, realtime and storage parse. */
export interface Jwks {
  keys: Jwk[];
}

/** Members that make a JWK private. None may reach a verifier or a published JWKS. */
export const PRIVATE_MEMBERS = ["d", "p", "q", "dp", "dq", "qi", "oth"] as const;

/** Public members per key type, in the order we emit them. */
const PUBLIC_MEMBERS: Record<string, string[]> = {
  EC: ["crv", "x", "y"],
  RSA: ["n", "e"],
  OKP: ["crv", "x"],
};

const PRIVATE_KEY_MEMBERS: Record<string, string[]> = {
  EC: ["d"],
  RSA: ["d", "p", "q", "dp", "dq", "qi"],
  OKP: ["d"],
};

function pick(jwk: Record<string, unknown>, members: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const m of members) if (jwk[m] !== undefined) out[m] = jwk[m];
  return out;
}

/**
 * The signing form of a private key, as auth wants its one signer:
 * `{kty, kid, use:"sig", key_ops:["sign","verify"], alg, …public, …private}`.
 */
export function signingJwk(jwk: Record<string, unknown>, alg: Algorithm, kid: string): Jwk {
  const kty = jwk.kty as string;
  if (!(kty in PUBLIC_MEMBERS)) throw new Error(`unsupported key type ${JSON.stringify(kty)}`);
  return {
    kty,
    kid,
    use: "sig",
    key_ops: ["sign", "verify"],
    alg,
    ...pick(jwk, PUBLIC_MEMBERS[kty]),
    ...pick(jwk, PRIVATE_KEY_MEMBERS[kty]),
  };
}

/**
 * The public half of an asymmetric JWK, verify-only: `{kty, kid, use:"sig", key_ops:["verify"], alg, …public}`.
 * Built by picking public members (never by deleting private ones), so an unexpected member cannot leak.
 */
export function publicJwk(jwk: Jwk): Jwk {
  if (!(jwk.kty in PUBLIC_MEMBERS)) throw new Error(`no public half for key type ${JSON.stringify(jwk.kty)}`);
  return {
    kty: jwk.kty,
    ...(jwk.kid !== undefined ? { kid: jwk.kid } : {}),
    use: "sig",
    key_ops: ["verify"],
    ...(jwk.alg !== undefined ? { alg: jwk.alg } : {}),
    ...pick(jwk, PUBLIC_MEMBERS[jwk.kty]),
  };
}

/** The legacy HS256 secret as a verify-only `oct` JWK with a fixed kid (never published, never signs in auth). */
export function legacyOctJwk(secret: string): Jwk {
  return {
    kty: "oct",
    kid: LEGACY_KID,
    use: "sig",
    key_ops: ["verify"],
    alg: "HS256",
    k: Buffer.from(secret, "utf8").toString("base64url"),
  };
}

/** True when a JWK carries private key material (`d`, CRT members, or an `oct` secret). */
export function hasPrivateMember(jwk: Record<string, unknown>): boolean {
  return PRIVATE_MEMBERS.some((m) => jwk[m] !== undefined) || (jwk.kty === "oct" && jwk.k !== undefined);
}

/** One keyring entry as the keyring sees it: config identity and state plus what the key resource stored. */
export interface KeyringEntry {
  name: string;
  state: KeyState;
  algorithm: Algorithm;
  kid: string;
  /** The signing form (see {@link signingJwk}). */
  privateJwk: Jwk;
  /** The verify-only public form (see {@link publicJwk}). */
  publicJwk: Jwk;
  /** This key's pre-signed role JWTs. */
  anonKey: string;
  serviceRoleKey: string;
  /** Unix seconds at which the role JWTs expire. */
  expiresAt: number;
  /** When the key was created (ISO 8601). */
  createdAt: string;
}

/** The legacy HS256 secret and its pre-signed keys, when `legacyHs256` is on. */
export interface LegacyEntry {
  jwk: Jwk;
  anonKey: string;
  serviceRoleKey: string;
}

/** Everything the services consume, derived from one keyring. */
export interface KeyringView {
  /** `GOTRUE_JWT_KEYS`: a JSON array; exactly one element can sign. */
  authKeys: Jwk[];
  /** `PGRST_JWT_SECRET`, `API_JWT_JWKS`, `JWT_JWKS`: a JWKS object of verify-only keys (plus `oct` in legacy mode). */
  verifierJwks: Jwks;
  /** What auth publishes at `/.well-known/jwks.json`: public asymmetric keys only. */
  publicJwks: Jwks;
  /** `GOTRUE_JWT_VALID_METHODS`: the algorithms of the trusted keys. */
  validMethods: string[];
  currentKid: string;
  /** The current key's pre-signed role JWTs (what `sb_` keys are mapped to). */
  anonKey: string;
  serviceRoleKey: string;
  /** Role JWTs the gateway accepts as apikeys: current, then previous keys, then the legacy ones. */
  gatewayTokens: { anon: string[]; serviceRole: string[] };
}

/** States whose keys verifiers trust. */
export const TRUSTED_STATES: readonly KeyState[] = ["standby", "current", "previous"];
/** States whose role JWTs the gateway accepts. */
export const GATEWAY_STATES: readonly KeyState[] = ["current", "previous"];

/** Orders anything named by its name (code-unit order, independent of locale): the one order of every key list. */
export const byName = (a: { name: string }, b: { name: string }): number =>
  a.name < b.name ? -1 : a.name > b.name ? 1 : 0;

/**
 * Derives every consumer's view of the keyring (design.md's membership table).
 * Lists are ordered by entry name, never by state, so promoting a key leaves the verifier JWKS byte-identical.
 * @throws when the ring has not exactly one current key or two keys share a kid.
 */
export function deriveKeyring(entries: KeyringEntry[], legacy?: LegacyEntry): KeyringView {
  const ordered = [...entries].sort(byName);
  const current = ordered.filter((e) => e.state === "current");
  if (current.length !== 1) {
    throw new Error(`the keyring needs exactly one current key, found ${current.length}`);
  }
  const kids = new Map<string, string>();
  for (const e of ordered) {
    const other = kids.get(e.kid) ?? (legacy && e.kid === legacy.jwk.kid ? "the legacy HS256 key" : undefined);
    if (other) throw new Error(`signing key ${e.name} has kid ${e.kid}, already used by ${other}; kids must be unique`);
    kids.set(e.kid, `signing key ${e.name}`);
  }
  const signer = current[0];
  const trusted = ordered.filter((e) => TRUSTED_STATES.includes(e.state));
  const octKeys = legacy ? [legacy.jwk] : [];

  const authKeys = [...trusted.map((e) => (e === signer ? e.privateJwk : e.publicJwk)), ...octKeys];
  const verifierKeys = [...trusted.map((e) => e.publicJwk), ...octKeys];
  const methods = [...new Set([...trusted.map((e) => e.algorithm as string), ...(legacy ? ["HS256"] : [])])].sort();
  const accepted = [signer, ...ordered.filter((e) => e.state === "previous")];
  return {
    authKeys,
    verifierJwks: { keys: verifierKeys },
    publicJwks: { keys: trusted.map((e) => e.publicJwk) },
    validMethods: methods,
    currentKid: signer.kid,
    anonKey: signer.anonKey,
    serviceRoleKey: signer.serviceRoleKey,
    gatewayTokens: {
      anon: [...accepted.map((e) => e.anonKey), ...(legacy ? [legacy.anonKey] : [])],
      serviceRole: [...accepted.map((e) => e.serviceRoleKey), ...(legacy ? [legacy.serviceRoleKey] : [])],
    },
  };
}
