/**
 * The signing algorithms a key may use and the JWK key type each one implies: the one table that config
 * validation, key generation, import, the public half and the thumbprint all read. Pure, and free of imports, so
 * the serialized dynamic providers capture it by value.
 */

/** Asymmetric signing algorithms a key may use; each maps to exactly one JWK key type. */
export const ALGORITHMS = ["ES256", "RS256", "EdDSA"] as const;
export type Algorithm = (typeof ALGORITHMS)[number];

/** What an algorithm demands of a JWK (RFC 7518 section 6, RFC 8037 for OKP). */
export interface KeyType {
  kty: string;
  /** The curve, for EC and OKP keys. */
  crv?: string;
  /** How people name the key type, e.g. `EC P-256`. */
  label: string;
  /** Public members, in the order we emit them. */
  publicMembers: readonly string[];
  /** Private members a complete private key of this type has. */
  privateMembers: readonly string[];
  /** `jose.generateKeyPair` options besides `extractable`. */
  generateOptions: { crv?: string; modulusLength?: number };
}

/** The key type of each algorithm: P-256, RSA with 2048 bits, Ed25519. */
export const KEY_TYPES: Record<Algorithm, KeyType> = {
  ES256: {
    kty: "EC",
    crv: "P-256",
    label: "EC P-256",
    publicMembers: ["crv", "x", "y"],
    privateMembers: ["d"],
    generateOptions: {},
  },
  RS256: {
    kty: "RSA",
    label: "RSA 2048",
    publicMembers: ["n", "e"],
    privateMembers: ["d", "p", "q", "dp", "dq", "qi"],
    generateOptions: { modulusLength: 2048 },
  },
  EdDSA: {
    kty: "OKP",
    crv: "Ed25519",
    label: "Ed25519",
    publicMembers: ["crv", "x"],
    privateMembers: ["d"],
    generateOptions: { crv: "Ed25519" },
  },
};

/** The algorithm whose key type is `kty`, if any. */
export function algorithmOfKeyType(kty: unknown): Algorithm | undefined {
  return ALGORITHMS.find((algorithm) => KEY_TYPES[algorithm].kty === kty);
}

/** The key type named `kty`, if it is one of ours. */
export function keyTypeOf(kty: unknown): KeyType | undefined {
  const algorithm = algorithmOfKeyType(kty);
  return algorithm === undefined ? undefined : KEY_TYPES[algorithm];
}

/**
 * The one key in parsed JWK JSON: `supabase gen signing-key` writes a one-key array to a file, which means the key
 * in it. Anything else is returned as it is.
 */
export function singleKey(parsed: unknown): unknown {
  return Array.isArray(parsed) && parsed.length === 1 ? parsed[0] : parsed;
}
