/**
 * Rotation guard rails: which keyring changes would sign users out or hand out tokens nobody can verify yet.
 *
 * Pure: every function here takes the time as an argument and touches no Pulumi, no I/O. The verdict compares the
 * ring of the last applied update (remembered by the `RotationGuard` resource, see `rotationGuard.ts`) with the
 * ring the program asks for now. This module also runs inside the serialized dynamic provider, so it imports only
 * modules without dependencies of their own (the project name, the algorithm table, the keyring model) and requires
 * `node:crypto` inside the one function that needs it.
 */
import { PROJECT } from "../schema/project";
import { KEY_TYPES, algorithmOfKeyType, type Algorithm } from "./algorithms";
import { TRUSTED_STATES, type KeyState } from "./model";

/** The default lifetime of user access tokens (`jwtExpiry`), auth's own default (`GOTRUE_JWT_EXP`). */
export const DEFAULT_JWT_EXPIRY_SECONDS = 3600;

/**
 * The default of `jwksCacheSeconds`: auth serves the JWKS with `max-age=600` and client libraries may cache it another
 * ten minutes.
 */
export const DEFAULT_JWKS_CACHE_SECONDS = 1200;

/** Role JWTs that expire sooner than this are reported (warning). */
export const EXPIRY_WARNING_DAYS = 90;

/** Extra time after the access-token lifetime before a retired key may be revoked (Supabase's own guidance). */
export const REVOKE_GRACE_SECONDS = 15 * 60;

/** How a user lifts the guard rails; repeated in every error so nobody has to look it up mid-incident. */
export const OVERRIDE_HINT =
  "For an emergency you can skip this check with `pulumi config set allowUnsafeRotation true` (turn it off again " +
  "afterwards).";

/** What the guard knows about one configured key in the update being planned. */
export interface KeyFacts {
  /** Position in `signingKeys`, for messages that name the config key. */
  index: number;
  name: string;
  state: KeyState;
  algorithm: Algorithm;
  /**
   * Which key material this entry means: `generated`, or the RFC 7638 thumbprint of an imported key. The SigningKey
   * is replaced exactly when algorithm or source changes, so this tells "same key" from "new key" even during a
   * preview, when a replaced or updated key's kid is not known yet.
   */
  source: string;
  /** The key's kid; undefined while unknown (the key is created or updated in this update). */
  kid?: string;
  /** ISO creation time; undefined while unknown. */
  createdAt?: string;
  /** Unix seconds at which the key's role JWTs expire; undefined while unknown. */
  expiresAt?: number;
}

/** What the guard remembers about a key from the last applied update (stored in its own state). */
export interface KeyRecord {
  name: string;
  state: KeyState;
  algorithm: Algorithm;
  source: string;
  kid?: string;
  /** Since when (ISO) verifiers and the published JWKS have known this key, without a break; absent while revoked. */
  publishedAt?: string;
  /** When (ISO) the key last stopped signing; absent if it signs now or never signed. */
  retiredAt?: string;
}

/** The knobs of the guard rails (from stack config). */
export interface GuardOptions {
  /** Turn errors into notes that do not block the update. */
  allowUnsafeRotation: boolean;
  /** How long verifiers may cache the JWKS; a key must be published this long before it signs. */
  jwksCacheSeconds: number;
  /** Access-token lifetime: how long tokens of a retired key stay in use. */
  jwtExpiry: number;
}

/** The guard's verdict on one planned update. */
export interface GuardVerdict {
  /** Problems that block the update (empty when overridden). */
  errors: string[];
  /** Problems that do not block it. */
  warnings: string[];
  /** Errors that `allowUnsafeRotation` let through. */
  overridden: string[];
  /** What to remember for the next update. */
  ring: KeyRecord[];
}

const where = (k: Pick<KeyFacts, "index" | "name">) => `${PROJECT}:signingKeys[${k.index}] (${JSON.stringify(k.name)})`;

/** Seconds as a short human duration, e.g. `45 s`, `20 min`, `1 h 15 min`. */
export function formatDuration(seconds: number): string {
  if (seconds < 60) return `${Math.ceil(seconds)} s`;
  const minutes = Math.ceil(seconds / 60);
  const h = Math.floor(minutes / 60);
  const m = minutes % 60;
  return h === 0 ? `${m} min` : m === 0 ? `${h} h` : `${h} h ${m} min`;
}

const days = (seconds: number) => {
  const d = Math.ceil(seconds / 86_400);
  return d === 1 ? "1 day" : `${d} days`;
};

const isoPlus = (iso: string, seconds: number) => new Date(Date.parse(iso) + seconds * 1000).toISOString();

/** Same key material: the SigningKey provider replaces a key exactly when its algorithm or imported JWK changes. */
function sameKey(record: KeyRecord, facts: KeyFacts): boolean {
  if (record.algorithm !== facts.algorithm || record.source !== facts.source) return false;
  // A known kid that differs means the key was replaced some other way (e.g. `pulumi up --replace`).
  return record.kid === undefined || facts.kid === undefined || record.kid === facts.kid;
}

/**
 * The RFC 7638 thumbprint of an imported private JWK's public half, as the `source` of a key. Public information,
 * so it can sit in the guard's state unencrypted; it changes exactly when the imported key material changes.
 */
export function importedKeySource(privateJwkJson: string): string {
  const jwk = JSON.parse(privateJwkJson) as Record<string, unknown>;
  const algorithm = algorithmOfKeyType(jwk.kty);
  if (!algorithm) throw new Error(`cannot fingerprint a key of type ${JSON.stringify(jwk.kty)}`);
  // RFC 7638: the required public members and kty, in lexicographic order.
  const members = ["kty", ...KEY_TYPES[algorithm].publicMembers].sort();
  const canonical = JSON.stringify(Object.fromEntries(members.map((m) => [m, jwk[m]])));
  const { createHash } = require("node:crypto") as typeof import("node:crypto");
  return `jwk-thumbprint:${createHash("sha256").update(canonical).digest("base64url")}`;
}

/** The `source` of a configured key: `generated`, or the imported key's thumbprint. */
export function keySource(entry: { privateJwk?: string }): string {
  return entry.privateJwk === undefined ? "generated" : importedKeySource(entry.privateJwk);
}

/**
 * Errors and warnings about the pre-signed role JWTs: the current key's (the stack outputs, what new clients get)
 * and a previous key's (the `sb_` keys map to the longest-trusted key's JWTs, which are a previous key's until it
 * is revoked).
 */
export function expiryFindings(next: KeyFacts[], now: Date): { errors: string[]; warnings: string[] } {
  const errors: string[] = [];
  const warnings: string[] = [];
  const current = next.find((k) => k.state === "current");
  if (!current || current.expiresAt === undefined) return { errors, warnings };
  const left = current.expiresAt - Math.floor(now.getTime() / 1000);
  const at = new Date(current.expiresAt * 1000).toISOString();
  const fix =
    "Rotate to a new key (add a standby key, wait jwksCacheSeconds, promote it), or change apiKeyLifetimeDays, which " +
    "re-mints every key's anon and service_role JWTs (clients that hold the old JWT-style keys then need the new " +
    "ones).";
  if (left <= 0) {
    errors.push(
      `${where(current)}: the current key's anon and service_role JWTs expired at ${at}; the gateway rejects them ` +
        `and the sb_ API keys that map to them stop working. ${fix}`,
    );
  } else if (left < EXPIRY_WARNING_DAYS * 86_400) {
    warnings.push(
      `${where(current)}: the current key's anon and service_role JWTs expire at ${at} (in ${days(left)}). ${fix}`,
    );
  }
  for (const previous of next.filter((k) => k.state === "previous" && k.expiresAt !== undefined)) {
    if (previous.expiresAt! > Math.floor(now.getTime() / 1000)) continue;
    warnings.push(
      `${where(previous)}: the previous key's anon and service_role JWTs expired at ` +
        `${new Date(previous.expiresAt! * 1000).toISOString()}; while it is the oldest key that has signed, the sb_ ` +
        "API keys map to them and the gateway rejects them. Revoke it once its waiting rule allows, and the current " +
        "key's JWTs take over.",
    );
  }
  return { errors, warnings };
}

/** Finds a planned key's record in the last applied ring, when it is the same key material. */
type RecordOf = (facts: KeyFacts) => KeyRecord | undefined;

/** Promotions: the signer changes, so the new signer must already be in every verifier's cached JWKS. */
function promotionProblems(
  previous: KeyRecord[],
  next: KeyFacts[],
  match: RecordOf,
  now: Date,
  options: GuardOptions,
): string[] {
  const wasCurrent = previous.find((r) => r.state === "current");
  const current = next.find((k) => k.state === "current");
  if (!current || (wasCurrent && wasCurrent.name === current.name && match(current))) return [];
  const record = match(current);
  const replaced = previous.some((r) => r.name === current.name) && !record;
  if (!record) {
    const how = replaced ? "replaces it with a new key (its algorithm or privateJwk changed)" : "creates it";
    return [
      `${where(current)}: becomes current in the same update that ${how}, ` +
        `so no verifier or client cache knows its public key yet and tokens it signs would be rejected. Add it ` +
        `with state standby, run pulumi up, wait jwksCacheSeconds (${options.jwksCacheSeconds} s), then set it ` +
        `current. ${OVERRIDE_HINT}`,
    ];
  }
  if (record.state === "revoked" || record.publishedAt === undefined) {
    return [
      `${where(current)}: is revoked in the last applied update, so it is not in the published JWKS and ` +
        `verifiers no longer trust it. Set it to standby first, run pulumi up, wait jwksCacheSeconds ` +
        `(${options.jwksCacheSeconds} s), then set it current. ${OVERRIDE_HINT}`,
    ];
  }
  const age = (now.getTime() - Date.parse(record.publishedAt)) / 1000;
  if (age >= options.jwksCacheSeconds) return [];
  return [
    `${where(current)}: was published only ${Math.max(0, Math.floor(age))} s ago (at ${record.publishedAt}), ` +
      `but clients may cache the JWKS for jwksCacheSeconds (${options.jwksCacheSeconds} s), so tokens it signs ` +
      `could be rejected. Promote it after ${isoPlus(record.publishedAt, options.jwksCacheSeconds)} ` +
      `(in ${formatDuration(options.jwksCacheSeconds - age)}). ${OVERRIDE_HINT}`,
  ];
}

/** Retiring keys: every token the old signer issued must keep verifying until it expires. */
function retirementProblems(
  previous: KeyRecord[],
  next: KeyFacts[],
  match: RecordOf,
  now: Date,
  options: GuardOptions,
): string[] {
  const problems: string[] = [];
  const trustedBefore = previous.filter((r) => TRUSTED_STATES.includes(r.state));
  for (const old of previous) {
    const planned = next.find((k) => k.name === old.name);
    const gone =
      planned === undefined
        ? "removing its entry deletes the key"
        : match(planned) === undefined
          ? "changing its algorithm or privateJwk replaces the key"
          : planned.state === "revoked"
            ? "revoking it"
            : undefined;
    if (!gone) continue;
    const label = planned ? where(planned) : `${PROJECT}:signingKeys (${JSON.stringify(old.name)}, removed)`;
    if (old.state === "current") {
      const only = trustedBefore.length === 1 ? "the only key verifiers trust and " : "";
      problems.push(
        `${label}: is ${only}the key that signs every token issued so far; ${gone} in the same update signs every ` +
          `user out and breaks every anon and service_role JWT it signed. Promote another key first and set this ` +
          `one to previous, then revoke or remove it after jwtExpiry + ${formatDuration(REVOKE_GRACE_SECONDS)} ` +
          `(${options.jwtExpiry + REVOKE_GRACE_SECONDS} s). ${OVERRIDE_HINT}`,
      );
    } else if (old.state === "previous" && old.retiredAt !== undefined) {
      const since = (now.getTime() - Date.parse(old.retiredAt)) / 1000;
      const wait = options.jwtExpiry + REVOKE_GRACE_SECONDS;
      if (since < wait) {
        problems.push(
          `${label}: stopped signing only ${Math.max(0, Math.floor(since))} s ago (at ${old.retiredAt}); access ` +
            `tokens it signed stay valid for jwtExpiry (${options.jwtExpiry} s), so ${gone} now signs those users ` +
            `out. Do it after ${isoPlus(old.retiredAt, wait)} (in ${formatDuration(wait - since)}). ${OVERRIDE_HINT}`,
        );
      }
    }
  }
  return problems;
}

/** The ring to remember after this update: each key with when it was published and when it stopped signing. */
function nextRing(previous: KeyRecord[] | undefined, next: KeyFacts[], match: RecordOf, nowIso: string): KeyRecord[] {
  return next.map((facts): KeyRecord => {
    const record = match(facts);
    const trusted = TRUSTED_STATES.includes(facts.state);
    const wasTrusted =
      record !== undefined && TRUSTED_STATES.includes(record.state) && record.publishedAt !== undefined;
    const publishedAt = !trusted
      ? undefined
      : wasTrusted
        ? record!.publishedAt
        : // A key the guard has never seen was published when it was created, if it predates the guard.
          !previous && facts.createdAt !== undefined
          ? facts.createdAt
          : nowIso;
    const retiredAt = facts.state === "current" ? undefined : record?.state === "current" ? nowIso : record?.retiredAt;
    const kid = facts.kid ?? record?.kid;
    return {
      name: facts.name,
      state: facts.state,
      algorithm: facts.algorithm,
      source: facts.source,
      ...(kid !== undefined ? { kid } : {}),
      ...(publishedAt !== undefined ? { publishedAt } : {}),
      ...(retiredAt !== undefined ? { retiredAt } : {}),
    };
  });
}

/**
 * Judges a planned keyring change against the last applied ring.
 *
 * Without a previous ring (first deployment, or the guard is new to an existing stack) there is nothing a change
 * could break, so only the role-JWT expiry is checked and the ring is recorded.
 */
export function evaluateRotation(input: {
  previous?: KeyRecord[];
  next: KeyFacts[];
  now: Date;
  options: GuardOptions;
}): GuardVerdict {
  const { previous, next, now, options } = input;
  const expiry = expiryFindings(next, now);
  const before = new Map((previous ?? []).map((r) => [r.name, r]));
  const match: RecordOf = (facts) => {
    const record = before.get(facts.name);
    return record && sameKey(record, facts) ? record : undefined;
  };
  const problems =
    previous && previous.length > 0
      ? [
          ...promotionProblems(previous, next, match, now, options),
          ...retirementProblems(previous, next, match, now, options),
        ]
      : [];
  const errors = [...problems, ...expiry.errors];
  const ring = nextRing(previous, next, match, now.toISOString());
  return options.allowUnsafeRotation
    ? { errors: [], warnings: expiry.warnings, overridden: errors, ring }
    : { errors, warnings: expiry.warnings, overridden: [], ring };
}

/**
 * Warnings computable from config alone, logged by the program at every preview and update.
 */
export function configWarnings(config: {
  legacyHs256: boolean;
  jwtSecret?: unknown;
  allowUnsafeRotation: boolean;
}): string[] {
  const warnings: string[] = [];
  if (config.legacyHs256 && config.jwtSecret === undefined) {
    warnings.push(
      `${PROJECT}:legacyHs256 is true but no jwtSecret was imported: the generated secret never signed anything, ` +
        `so there are no HS256 tokens to keep accepting. Import the old deployment's secret (\`pulumi ` +
        `config set --secret ` +
        `jwtSecret <JWT_SECRET>\`) or set legacyHs256 to false.`,
    );
  }
  if (config.allowUnsafeRotation) {
    warnings.push(
      `${PROJECT}:allowUnsafeRotation is true: the rotation guard rails are off, and a promotion, ` +
        `revocation or removal ` +
        `can sign users out. Set it back to false (\`pulumi config rm allowUnsafeRotation\`) after the emergency.`,
    );
  }
  return warnings;
}
