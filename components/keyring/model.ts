/**
 * The keyring model: from the stored keys and their states to what each Supabase service is given.
 * Pure: no Pulumi, no I/O, no randomness, so the same state always yields byte-identical output.
 */
import { keyTypeOf, type Algorithm } from "./algorithms";

/** A key's place in the rotation lifecycle (see the README's runbook). */
export const KEY_STATES = ["standby", "current", "previous", "revoked"] as const;
export type KeyState = (typeof KEY_STATES)[number];

/** The kid given to the legacy HS256 secret when it joins the keyring as an `oct` key. */
export const LEGACY_KID = "legacy-hs256";

/** A JSON Web Key as stored and handed to services. Member order is fixed by the builders below. */
export type Jwk = { kty: string; kid?: string; alg?: string; [member: string]: unknown };

/** A JWK Set object, the shape rest, realtime and storage parse. */
export interface Jwks {
  keys: Jwk[];
}

/** Members that make a JWK private. None may reach a verifier or a published JWKS. */
export const PRIVATE_MEMBERS = ["d", "p", "q", "dp", "dq", "qi", "oth"] as const;

function pick(jwk: Record<string, unknown>, members: readonly string[]): Record<string, unknown> {
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
  const type = keyTypeOf(kty);
  if (!type) throw new Error(`unsupported key type ${JSON.stringify(kty)}`);
  return {
    kty,
    kid,
    use: "sig",
    key_ops: ["sign", "verify"],
    alg,
    ...pick(jwk, type.publicMembers),
    ...pick(jwk, type.privateMembers),
  };
}

/**
 * The public half of an asymmetric JWK, verify-only: `{kty, kid, use:"sig", key_ops:["verify"], alg, …public}`.
 * Built by picking public members (never by deleting private ones), so an unexpected member cannot leak.
 */
export function publicJwk(jwk: Jwk): Jwk {
  const type = keyTypeOf(jwk.kty);
  if (!type) throw new Error(`no public half for key type ${JSON.stringify(jwk.kty)}`);
  return {
    kty: jwk.kty,
    ...(jwk.kid !== undefined ? { kid: jwk.kid } : {}),
    use: "sig",
    key_ops: ["verify"],
    ...(jwk.alg !== undefined ? { alg: jwk.alg } : {}),
    ...pick(jwk, type.publicMembers),
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

/**
 * The keyring values the services are given, by name: what `SigningKeyring` exposes to `SupabaseStack`. Each
 * service module names the ones it reads, so a change to any other value leaves its container alone.
 */
export interface KeyringValues extends Pick<
  KeyringView,
  "authKeys" | "verifierJwks" | "validMethods" | "anonKey" | "serviceRoleKey" | "gatewayTokens"
> {
  /** The opaque `sb_publishable_…` key. */
  publishableKey: string;
  /** The opaque `sb_secret_…` key. */
  secretKey: string;
  /** The legacy HS256 secret, which auth, rest, realtime and storage require even with asymmetric keys. */
  jwtSecret: string;
}

/** States whose keys verifiers trust. */
export const TRUSTED_STATES: readonly KeyState[] = ["standby", "current", "previous"];

/** Orders anything named by its name (code-unit order, independent of locale): the one order of every key list. */
export const byName = (a: { name: string }, b: { name: string }): number =>
  a.name < b.name ? -1 : a.name > b.name ? 1 : 0;

/**
 * Derives every consumer's view of the keyring: the membership table of the README's configuration reference.
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

/** JSON with object keys sorted, so that formatting differences in an imported key never look like a new key. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_k, v) =>
    v && typeof v === "object" && !Array.isArray(v)
      ? Object.fromEntries(
          Object.keys(v)
            .sort()
            .map((k) => [k, (v as Record<string, unknown>)[k]]),
        )
      : v,
  );
}
