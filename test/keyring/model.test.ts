/**
 * The keyring model against each Supabase consumer's rules (auth's key array, the verifiers' JWKS object, the
 * published JWKS), for every algorithm.
 */
import { describe, expect, it } from "vitest";
import { ALGORITHMS, type Algorithm } from "../../components/keyring/algorithms";
import {
  LEGACY_KID,
  deriveKeyring,
  deriveValue,
  longestTrusted,
  STATES_READ,
  hasPrivateMember,
  legacyOctJwk,
  publicJwk,
  PRIVATE_MEMBERS,
  type Jwk,
} from "../../components/keyring/model";
import { mintRoleTokens } from "../../components/keyring/tokens";
import { makeEntry, verifyWithJwks } from "../support/keys";

/** auth's GOTRUE_JWT_KEYS rules: a JSON array, exactly one key whose key_ops include "sign", unique kids, alg everywhere. */
function assertAuthAccepts(authKeys: unknown): Jwk {
  const parsed = JSON.parse(JSON.stringify(authKeys));
  expect(Array.isArray(parsed)).toBe(true);
  const signers = (parsed as Jwk[]).filter((k) => Array.isArray(k.key_ops) && (k.key_ops as string[]).includes("sign"));
  expect(signers).toHaveLength(1);
  const kids = (parsed as Jwk[]).map((k) => k.kid);
  expect(kids.every((k) => typeof k === "string" && k.length > 0)).toBe(true);
  expect(new Set(kids).size).toBe(kids.length);
  for (const k of parsed as Jwk[]) expect(["ES256", "RS256", "EdDSA", "HS256"]).toContain(k.alg);
  return signers[0];
}

/** rest/realtime/storage: a JWKS object with `keys`, no private member on any asymmetric key. */
function assertVerifierJwks(jwks: unknown, allowOct: boolean) {
  const parsed = JSON.parse(JSON.stringify(jwks));
  expect(Array.isArray(parsed)).toBe(false);
  expect(Array.isArray(parsed.keys)).toBe(true);
  for (const key of parsed.keys as Jwk[]) {
    if (key.kty === "oct") {
      expect(allowOct).toBe(true);
      continue;
    }
    for (const m of PRIVATE_MEMBERS) expect(key).not.toHaveProperty(m);
    expect(key.use).toBe("sig");
    expect(key.key_ops).toEqual(["verify"]);
    expect(typeof key.kid).toBe("string");
  }
}

describe.each(ALGORITHMS)("keyring model with %s keys", (algorithm: Algorithm) => {
  it("gives auth exactly one signer, the current key, and every trusted key verify-only", async () => {
    const ring = [
      await makeEntry("k1", "previous", algorithm),
      await makeEntry("k2", "current", algorithm),
      await makeEntry("k3", "standby", algorithm),
      await makeEntry("k0", "revoked", algorithm),
    ];
    const view = deriveKeyring(ring);
    const signer = assertAuthAccepts(view.authKeys);
    expect(signer.kid).toBe(ring[1].kid);
    expect(signer.d).toBeDefined();
    expect(view.authKeys.map((k) => k.kid)).toEqual([ring[0].kid, ring[1].kid, ring[2].kid]);
    for (const k of view.authKeys.filter((k) => k.kid !== signer.kid)) expect(hasPrivateMember(k)).toBe(false);
    expect(view.authKeys.map((k) => k.kid)).not.toContain(ring[3].kid);
  });

  it("gives verifiers a JWKS object of public keys whose methods match the trusted keys", async () => {
    const ring = [await makeEntry("a", "current", algorithm), await makeEntry("b", "standby", algorithm)];
    const view = deriveKeyring(ring);
    assertVerifierJwks(view.verifierJwks, false);
    expect(view.verifierJwks.keys.map((k) => k.kid)).toEqual([ring[0].kid, ring[1].kid]);
    expect(view.validMethods).toEqual([algorithm]);
    expect(view.publicJwks).toEqual(view.verifierJwks);
  });

  it("pre-signs role JWTs that verify against the verifier JWKS and carry the signer's kid", async () => {
    const ring = [await makeEntry("k1", "current", algorithm)];
    const view = deriveKeyring(ring);
    for (const [token, role] of [
      [view.anonKey, "anon"],
      [view.serviceRoleKey, "service_role"],
    ] as const) {
      const { payload, protectedHeader } = await verifyWithJwks(token, view.verifierJwks, view.validMethods);
      expect(protectedHeader).toEqual({ alg: algorithm, typ: "JWT", kid: ring[0].kid });
      expect(payload.role).toBe(role);
      expect(payload.iss).toBe("supabase");
      expect(payload.exp! - payload.iat!).toBe(1825 * 86400);
    }
  });
});

describe("keyring model", () => {
  it("mixes algorithms: valid methods are the set of trusted algorithms, sorted", async () => {
    const view = deriveKeyring([
      await makeEntry("k1", "previous", "RS256"),
      await makeEntry("k2", "current", "ES256"),
      await makeEntry("k3", "standby", "EdDSA"),
      await makeEntry("k4", "revoked", "RS256"),
    ]);
    expect(view.validMethods).toEqual(["ES256", "EdDSA", "RS256"]);
  });

  it("orders keys by name, not state, so a promotion leaves the verifier JWKS byte-identical", async () => {
    const k1 = await makeEntry("k1", "current");
    const k2 = await makeEntry("k2", "standby");
    const before = deriveKeyring([k2, k1]);
    const after = deriveKeyring([
      { ...k1, state: "previous" },
      { ...k2, state: "current" },
    ]);
    expect(JSON.stringify(after.verifierJwks)).toBe(JSON.stringify(before.verifierJwks));
    expect(after.currentKid).toBe(k2.kid);
    expect(JSON.stringify(after.authKeys)).not.toBe(JSON.stringify(before.authKeys));
  });

  it("lets the gateway accept every trusted key's role JWTs, ordered by name, and no revoked key's", async () => {
    const ring = [
      await makeEntry("a", "previous"),
      await makeEntry("b", "current"),
      await makeEntry("c", "standby"),
      await makeEntry("d", "revoked"),
    ];
    const view = deriveKeyring(ring);
    expect(view.gatewayTokens.anon).toEqual([ring[0].anonKey, ring[1].anonKey, ring[2].anonKey]);
    expect(view.gatewayTokens.serviceRole).toEqual([
      ring[0].serviceRoleKey,
      ring[1].serviceRoleKey,
      ring[2].serviceRoleKey,
    ]);
    expect(view.anonKey).toBe(ring[1].anonKey);
    // A promotion of b over a changes nothing the gateway accepts.
    const promoted = deriveKeyring([
      { ...ring[0], state: "current" },
      { ...ring[1], state: "previous" },
      ring[2],
      ring[3],
    ]);
    expect(promoted.gatewayTokens).toEqual(view.gatewayTokens);
  });

  it("picks the longest-trusted key among current and previous keys: created first, ties by name", async () => {
    const at = (iso: string) => ({ now: new Date(iso) });
    const old = await makeEntry("zz-old", "previous", "ES256", at("2026-01-01T00:00:00Z"));
    const current = await makeEntry("aa-new", "current", "ES256", at("2026-06-01T00:00:00Z"));
    const standby = await makeEntry("00-oldest", "standby", "ES256", at("2025-01-01T00:00:00Z"));
    expect(longestTrusted([old, current, standby]).name).toBe("zz-old");
    expect(deriveKeyring([old, current, standby]).longestTrustedAnonKey).toBe(old.anonKey);
    // A standby key never is it, however old: nobody holds its JWTs.
    expect(longestTrusted([current, standby]).name).toBe("aa-new");
    // Revoking the old key hands it to the current one.
    expect(deriveKeyring([{ ...old, state: "revoked" }, current]).longestTrustedServiceRoleKey).toBe(
      current.serviceRoleKey,
    );
    const twin = { ...old, name: "mm-twin", kid: "twin", createdAt: old.createdAt };
    expect(longestTrusted([twin, old]).name).toBe("mm-twin");
  });

  it("reads only the keys in the states each value needs", async () => {
    const ring = [await makeEntry("k1", "current"), await makeEntry("k2", "standby")];
    // What storage, studio and the sb_ mapping get does not depend on a standby key at all.
    expect(deriveValue("longestTrustedAnonKey", [ring[0]])).toBe(deriveKeyring(ring).longestTrustedAnonKey);
    expect(deriveValue("anonKey", [ring[0]])).toBe(ring[0].anonKey);
    expect(STATES_READ.longestTrustedAnonKey).not.toContain("standby");
    expect(STATES_READ.gatewayTokens).toContain("standby");
    expect(Object.keys(STATES_READ).sort()).toEqual(Object.keys(deriveKeyring(ring)).sort());
  });

  it("adds the legacy secret as a verify-only oct key to auth and verifiers, never to the published JWKS", async () => {
    const secret = "a-legacy-secret-that-is-at-least-32-characters";
    const oct = legacyOctJwk(secret);
    const legacyTokens = await mintRoleTokens(oct, 1_700_000_000, 3650);
    const ring = [await makeEntry("k1", "current")];
    const view = deriveKeyring(ring, {
      jwk: oct,
      anonKey: legacyTokens.anonKey,
      serviceRoleKey: legacyTokens.serviceRoleKey,
    });
    assertAuthAccepts(view.authKeys);
    expect(view.authKeys.at(-1)).toEqual(oct);
    expect(oct.key_ops).toEqual(["verify"]);
    expect(oct.kid).toBe(LEGACY_KID);
    assertVerifierJwks(view.verifierJwks, true);
    expect(view.publicJwks.keys.some((k) => k.kty === "oct")).toBe(false);
    expect(view.validMethods).toEqual(["ES256", "HS256"]);
    expect(view.gatewayTokens.anon).toEqual([ring[0].anonKey, legacyTokens.anonKey]);
    // The legacy keys look like the HS256 deployment's: no kid, so services fall back to the shared secret.
    const { protectedHeader, payload } = await verifyWithJwks(legacyTokens.anonKey, view.verifierJwks);
    expect(protectedHeader).toEqual({ alg: "HS256", typ: "JWT" });
    expect(payload.role).toBe("anon");
  });

  it("refuses a ring without exactly one current key, or with a repeated kid", async () => {
    const a = await makeEntry("a", "current");
    const b = await makeEntry("b", "current");
    expect(() => deriveKeyring([a, b])).toThrow(/exactly one current key, found 2/);
    expect(() => deriveKeyring([{ ...a, state: "previous" }])).toThrow(/exactly one current key, found 0/);
    expect(() => deriveKeyring([a, { ...b, state: "standby", kid: a.kid }])).toThrow(
      /kid .* already used by signing key a/,
    );
  });

  it("builds public JWKs by picking public members, so unknown private-looking members never leak", () => {
    const pub = publicJwk({
      kty: "EC",
      kid: "x",
      alg: "ES256",
      crv: "P-256",
      x: "X",
      y: "Y",
      d: "D",
      secretThing: "S",
    });
    expect(pub).toEqual({
      kty: "EC",
      kid: "x",
      use: "sig",
      key_ops: ["verify"],
      alg: "ES256",
      crv: "P-256",
      x: "X",
      y: "Y",
    });
    expect(() => publicJwk({ kty: "oct", k: "K" })).toThrow(/no public half/);
  });
});
