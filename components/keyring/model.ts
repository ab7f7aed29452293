/**
 * The keyring model: from the stored keys and their states to what each Supabase service is given.
 * Pure: no Pulumi, no I/O, no randomness, so the same state always yields byte-identical output.
 */
import { keyTypeOf, type Algorithm } from "./algorithms";
import type { ApiKeySet } from "./apiKeys";

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
  /** The current key's pre-signed role JWTs: the stack outputs, what new clients are given. */
  anonKey: string;
  serviceRoleKey: string;
  /**
   * The role JWTs of the longest-trusted key (see {@link longestTrusted}): what the gateway maps the `sb_` keys to
   * and what storage and studio call the other services with. They stay valid across a promotion, so a promotion
   * leaves those three containers alone.
   */
  longestTrustedAnonKey: string;
  longestTrustedServiceRoleKey: string;
  /**
   * Role JWTs the gateway accepts as apikeys: those of every trusted key (a standby key's too: the verifiers trust
   * it already, and nobody holds its JWTs yet), ordered by key name, then the legacy ones.
   */
  gatewayTokens: { anon: string[]; serviceRole: string[] };
}

/**
 * The keyring values the services are given, by name: what `SigningKeyring` exposes to `SupabaseStack`. Each
 * service module names the ones it reads, so a change to any other value leaves its container alone. The current
 * key's role JWTs are not among them: they change at every promotion, and only the stack outputs carry them.
 */
export interface KeyringValues extends Pick<
  KeyringView,
  | "authKeys"
  | "verifierJwks"
  | "validMethods"
  | "longestTrustedAnonKey"
  | "longestTrustedServiceRoleKey"
  | "gatewayTokens"
> {
  /** The primary `sb_publishable_…` key (the first active one); undefined when none is active. */
  publishableKey: string | undefined;
  /** The primary `sb_secret_…` key (the first active one); undefined when none is active. */
  secretKey: string | undefined;
  /** Every active API key of each kind, the primary first: what the gateway accepts and the functions are given. */
  apiKeys: ApiKeySet;
  /** The legacy HS256 secret, which auth, rest, realtime and storage require even with asymmetric keys. */
  jwtSecret: string;
}

/** States whose keys verifiers trust. */
export const TRUSTED_STATES: readonly KeyState[] = ["standby", "current", "previous"];
/** States whose keys have signed, so clients may hold their role JWTs and users their access tokens. */
export const SIGNED_STATES: readonly KeyState[] = ["current", "previous"];

/**
 * Which key states each derived value is computed from. A value waits only for the keys in these states (the
 * states are config, known before any key exists), so during a preview that adds a key, the values that do not
 * read it stay known, and the containers that use only those are shown as unchanged, as they will be.
 */
export const STATES_READ: { readonly [V in keyof KeyringView]: readonly KeyState[] } = {
  authKeys: TRUSTED_STATES,
  verifierJwks: TRUSTED_STATES,
  publicJwks: TRUSTED_STATES,
  validMethods: TRUSTED_STATES,
  currentKid: ["current"],
  anonKey: ["current"],
  serviceRoleKey: ["current"],
  longestTrustedAnonKey: SIGNED_STATES,
  longestTrustedServiceRoleKey: SIGNED_STATES,
  gatewayTokens: TRUSTED_STATES,
};

/** Orders anything named by its name (code-unit order, independent of locale): the one order of every key list. */
export const byName = (a: { name: string }, b: { name: string }): number =>
  a.name < b.name ? -1 : a.name > b.name ? 1 : 0;

/**
 * The longest-trusted key: of the keys that have signed (current and previous), the one created first; ties by
 * name. The legacy HS256 key is never it. It is the old key until that key is revoked, and the new one after, so
 * JWTs chosen by it stay valid through the promotion in between. A standby key is not a candidate: nobody holds its
 * JWTs, and while it is being added its creation time is not known yet.
 */
export function longestTrusted(entries: readonly KeyringEntry[]): KeyringEntry {
  const signed = entries.filter((e) => SIGNED_STATES.includes(e.state));
  if (signed.length === 0) throw new Error("the keyring has no current or previous key");
  return [...signed].sort((a, b) => (a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : byName(a, b)))[0];
}

/** The one current key among `entries`. */
function signerOf(entries: readonly KeyringEntry[]): KeyringEntry {
  const current = entries.filter((e) => e.state === "current");
  if (current.length !== 1) throw new Error(`the keyring needs exactly one current key, found ${current.length}`);
  return current[0];
}

/**
 * How each value is derived from the keys it reads ({@link STATES_READ}), ordered by name. Every list is ordered by
 * entry name, never by state, so promoting a key leaves the verifier JWKS and the gateway's tokens byte-identical.
 */
const DERIVATIONS: { [V in keyof KeyringView]: (entries: KeyringEntry[], legacy?: LegacyEntry) => KeyringView[V] } = {
  authKeys: (trusted, legacy) => {
    const signer = signerOf(trusted);
    return [...trusted.map((e) => (e === signer ? e.privateJwk : e.publicJwk)), ...(legacy ? [legacy.jwk] : [])];
  },
  verifierJwks: (trusted, legacy) => ({ keys: [...trusted.map((e) => e.publicJwk), ...(legacy ? [legacy.jwk] : [])] }),
  publicJwks: (trusted) => ({ keys: trusted.map((e) => e.publicJwk) }),
  validMethods: (trusted, legacy) =>
    [...new Set([...trusted.map((e) => e.algorithm as string), ...(legacy ? ["HS256"] : [])])].sort(),
  currentKid: (current) => signerOf(current).kid,
  anonKey: (current) => signerOf(current).anonKey,
  serviceRoleKey: (current) => signerOf(current).serviceRoleKey,
  longestTrustedAnonKey: (signed) => longestTrusted(signed).anonKey,
  longestTrustedServiceRoleKey: (signed) => longestTrusted(signed).serviceRoleKey,
  gatewayTokens: (trusted, legacy) => ({
    anon: [...trusted.map((e) => e.anonKey), ...(legacy ? [legacy.anonKey] : [])],
    serviceRole: [...trusted.map((e) => e.serviceRoleKey), ...(legacy ? [legacy.serviceRoleKey] : [])],
  }),
};

/**
 * One derived value from the keyring entries: only the entries in the states the value reads are used (others
 * may be left out by the caller), ordered by name.
 */
export function deriveValue<V extends keyof KeyringView>(
  value: V,
  entries: readonly KeyringEntry[],
  legacy?: LegacyEntry,
): KeyringView[V] {
  const read = entries.filter((e) => STATES_READ[value].includes(e.state)).sort(byName);
  return DERIVATIONS[value](read, legacy);
}

/**
 * Checks the ring as a whole: exactly one current key and no two keys (or a key and the legacy key) sharing a kid.
 * @throws naming the offending keys.
 */
export function checkKeyring(entries: readonly KeyringEntry[], legacy?: LegacyEntry): void {
  const ordered = [...entries].sort(byName);
  signerOf(ordered);
  const kids = new Map<string, string>();
  for (const e of ordered) {
    const other = kids.get(e.kid) ?? (legacy && e.kid === legacy.jwk.kid ? "the legacy HS256 key" : undefined);
    if (other) throw new Error(`signing key ${e.name} has kid ${e.kid}, already used by ${other}; kids must be unique`);
    kids.set(e.kid, `signing key ${e.name}`);
  }
}

/**
 * Derives every consumer's view of the keyring: the membership table of the README's configuration reference.
 * @throws when the ring has not exactly one current key or two keys share a kid.
 */
export function deriveKeyring(entries: KeyringEntry[], legacy?: LegacyEntry): KeyringView {
  checkKeyring(entries, legacy);
  const values = Object.keys(STATES_READ) as Array<keyof KeyringView>;
  return Object.fromEntries(values.map((v) => [v, deriveValue(v, entries, legacy)])) as unknown as KeyringView;
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
