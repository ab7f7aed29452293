/**
 * SigningKeyring under mocks, through a whole rotation: S0 [k1 current] → S1 [+k2 standby] → S2 [k1 previous,
 * k2 current] → S3 [k1 revoked]. State is kept between runs by the mock engine, which runs the real provider.
 */
import * as pulumi from "@pulumi/pulumi";
import { decodeProtectedHeader } from "jose";
import { describe, expect, it } from "vitest";
import { loadConfig } from "../../components/config/read";
import { LEGACY_KID, hasPrivateMember, type KeyringView } from "../../components/keyring/model";
import { SigningKeyring, type KeyStatus } from "../../components/keyring/signingKeyring";
import { generateSigningJwk, isValidOpaqueKey, OPAQUE_PREFIXES } from "../../components/keyring/tokens";
import { MockEngine } from "../../testkit/engine/engine";
import { isSecret } from "../../testkit/engine/run";
import { valueOf } from "../../testkit/engine/sdk";
import { verifyWithJwks } from "../support/keys";

const S0 = [{ name: "k1", state: "current" }];
const S1 = [
  { name: "k1", state: "current" },
  { name: "k2", state: "standby" },
];
const S2 = [
  { name: "k1", state: "previous" },
  { name: "k2", state: "current" },
];
const S3 = [
  { name: "k1", state: "revoked" },
  { name: "k2", state: "current" },
];

/** Every output of the keyring, resolved. */
async function snapshot(ring: SigningKeyring) {
  const out: Record<string, unknown> = {};
  for (const name of [
    "authKeys",
    "verifierJwks",
    "publicJwks",
    "validMethods",
    "currentKid",
    "anonKey",
    "serviceRoleKey",
    "longestTrustedAnonKey",
    "longestTrustedServiceRoleKey",
    "gatewayTokens",
    "publishableKey",
    "secretKey",
    "jwtSecret",
    "legacyAnonKey",
    "legacyServiceRoleKey",
    "keys",
  ] as const) {
    const value = ring[name];
    out[name] = value === undefined ? undefined : await valueOf(value as pulumi.Output<unknown>);
  }
  // The resolved outputs: the keyring view the services get, plus the keys and secrets the stack exports.
  return out as unknown as KeyringView & {
    publishableKey: string;
    secretKey: string;
    jwtSecret: string;
    legacyAnonKey?: string;
    legacyServiceRoleKey?: string;
    keys: KeyStatus[];
  };
}

async function up(engine: MockEngine, config: Record<string, unknown>, secretKeys: string[] = []) {
  const { result, registered } = await engine.run(
    config,
    () => new SigningKeyring("supabase", { config: loadConfig() }),
    {
      secretKeys,
    },
  );
  return { ring: result, state: await snapshot(result), registered };
}

const kidOf = (state: Awaited<ReturnType<typeof snapshot>>, name: string) =>
  state.keys.find((k) => k.name === name)!.kid;
const signers = (authKeys: Array<Record<string, unknown>>) =>
  authKeys.filter((k) => (k.key_ops as string[]).includes("sign")).map((k) => k.kid);

describe("SigningKeyring through a rotation", () => {
  it("moves k1 and k2 through standby → current → previous → revoked without signing anyone out", async () => {
    const engine = new MockEngine();

    // S0: one current key.
    const s0 = await up(engine, { signingKeys: S0 });
    const k1 = kidOf(s0.state, "k1");
    const k1Anon = s0.state.anonKey;
    expect(decodeProtectedHeader(k1Anon).kid).toBe(k1);
    expect(signers(s0.state.authKeys)).toEqual([k1]);
    expect(s0.state.verifierJwks.keys.map((k) => k.kid)).toEqual([k1]);
    expect(s0.state.gatewayTokens.anon).toEqual([k1Anon]);
    await verifyWithJwks(k1Anon, s0.state.verifierJwks, s0.state.validMethods);

    // S1: k2 is published but signs nothing; the gateway already accepts its role JWTs (nobody holds them yet).
    const s1 = await up(engine, { signingKeys: S1 });
    const k2 = kidOf(s1.state, "k2");
    expect(kidOf(s1.state, "k1")).toBe(k1);
    expect(signers(s1.state.authKeys)).toEqual([k1]);
    expect(s1.state.authKeys.map((k) => k.kid)).toEqual([k1, k2]);
    expect(hasPrivateMember(s1.state.authKeys[1])).toBe(false);
    expect(s1.state.verifierJwks.keys.map((k) => k.kid)).toEqual([k1, k2]);
    expect(s1.state.publicJwks.keys.map((k) => k.kid)).toEqual([k1, k2]);
    expect(s1.state.currentKid).toBe(k1);
    expect(s1.state.anonKey).toBe(k1Anon);
    const k2Anon = s1.state.gatewayTokens.anon[1];
    expect(decodeProtectedHeader(k2Anon).kid).toBe(k2);
    expect(s1.state.gatewayTokens.anon).toEqual([k1Anon, k2Anon]);
    expect(s1.state.longestTrustedAnonKey).toBe(k1Anon);
    await verifyWithJwks(k1Anon, s1.state.verifierJwks, s1.state.validMethods);

    // S2: k2 signs; k1's tokens still verify, and the gateway, storage and studio keep what they had.
    const s2 = await up(engine, { signingKeys: S2 });
    expect(s2.registered.find((r) => r.name === "supabase-key-k2")!.operation).toBe("same");
    expect(signers(s2.state.authKeys)).toEqual([k2]);
    expect(s2.state.currentKid).toBe(k2);
    expect(decodeProtectedHeader(s2.state.anonKey).kid).toBe(k2);
    expect(JSON.stringify(s2.state.verifierJwks)).toBe(JSON.stringify(s1.state.verifierJwks));
    expect(s2.state.anonKey).toBe(k2Anon);
    expect(s2.state.gatewayTokens).toEqual(s1.state.gatewayTokens);
    expect(s2.state.longestTrustedAnonKey).toBe(k1Anon);
    expect(s2.state.longestTrustedServiceRoleKey).toBe(s1.state.longestTrustedServiceRoleKey);
    await verifyWithJwks(k1Anon, s2.state.verifierJwks, s2.state.validMethods);
    await verifyWithJwks(s2.state.anonKey, s2.state.verifierJwks, s2.state.validMethods);
    // sb_ keys are not tied to a signing key: apps using them notice nothing.
    expect(s2.state.publishableKey).toBe(s0.state.publishableKey);
    expect(s2.state.secretKey).toBe(s0.state.secretKey);

    // S3: k1 is no longer trusted anywhere, but stays in state so it can come back.
    const s3 = await up(engine, { signingKeys: S3 });
    expect(s3.state.authKeys.map((k) => k.kid)).toEqual([k2]);
    expect(s3.state.verifierJwks.keys.map((k) => k.kid)).toEqual([k2]);
    expect(s3.state.gatewayTokens.anon).toEqual([s2.state.anonKey]);
    expect(s3.state.longestTrustedAnonKey).toBe(s2.state.anonKey);
    await expect(verifyWithJwks(k1Anon, s3.state.verifierJwks, s3.state.validMethods)).rejects.toThrow();
    expect(engine.stack.has("supabase-key-k1")).toBe(true);

    // Back to previous: the same key (same kid) is trusted again.
    const back = await up(engine, { signingKeys: S2 });
    expect(kidOf(back.state, "k1")).toBe(k1);
    await verifyWithJwks(k1Anon, back.state.verifierJwks, back.state.validMethods);

    // Removing the entry deletes the key from state.
    await up(engine, { signingKeys: [{ name: "k2", state: "current" }] });
    expect(engine.stack.has("supabase-key-k1")).toBe(false);
  });

  it.each([
    ["S0", [S0]],
    ["S1", [S0, S1]],
    ["S2", [S0, S1, S2]],
    ["S3", [S0, S1, S2, S3]],
  ])("changes nothing when %s is applied again: same resources, byte-identical outputs", async (_step, steps) => {
    const engine = new MockEngine();
    let last!: Awaited<ReturnType<typeof up>>;
    for (const signingKeys of steps) last = await up(engine, { signingKeys });
    const again = await up(engine, { signingKeys: steps.at(-1) });
    expect(again.registered.filter((r) => r.operation !== "same").map((r) => r.name)).toEqual([]);
    expect(JSON.stringify(again.state)).toBe(JSON.stringify(last.state));
  });

  it("ignores the order of the entries in the list", async () => {
    const engine = new MockEngine();
    const first = await up(engine, { signingKeys: S1 });
    const reordered = await up(engine, { signingKeys: [...S1].reverse() });
    expect(reordered.registered.filter((r) => r.operation !== "same")).toEqual([]);
    expect(JSON.stringify(reordered.state)).toBe(JSON.stringify(first.state));
  });

  it("keeps keys and re-mints their role JWTs when apiKeyLifetimeDays changes", async () => {
    const engine = new MockEngine();
    const before = await up(engine, { signingKeys: S0 });
    const after = await up(engine, { signingKeys: S0, apiKeyLifetimeDays: 90 });
    expect(after.registered.find((r) => r.name === "supabase-key-k1")!.operation).toBe("update");
    expect(after.state.currentKid).toBe(before.state.currentKid);
    const { payload } = await verifyWithJwks(after.state.anonKey, after.state.verifierJwks);
    expect(payload.exp! - payload.iat!).toBe(90 * 86400);
  });

  it("marks every sensitive output secret", async () => {
    const engine = new MockEngine();
    const { ring } = await up(engine, { signingKeys: S1, legacyHs256: true });
    for (const name of [
      "authKeys",
      "verifierJwks",
      "anonKey",
      "serviceRoleKey",
      "gatewayTokens",
      "publishableKey",
      "secretKey",
      "jwtSecret",
      "legacyAnonKey",
      "legacyServiceRoleKey",
    ] as const) {
      expect(await isSecret(ring[name]), name).toBe(true);
    }
    for (const name of ["publicJwks", "validMethods", "currentKid", "keys"] as const) {
      expect(await isSecret(ring[name]), name).toBe(false);
    }
    const plain = await up(new MockEngine(), { signingKeys: S0 });
    // Without the legacy oct key the verifier JWKS is public material.
    expect(await isSecret(plain.ring.verifierJwks)).toBe(false);
    expect(hasPrivateMember(plain.state.verifierJwks.keys[0])).toBe(false);
  });

  it("issues opaque sb_ keys in the official format, stable across runs", async () => {
    const engine = new MockEngine();
    const a = await up(engine, { signingKeys: S0 });
    expect(isValidOpaqueKey(OPAQUE_PREFIXES.publishable, a.state.publishableKey)).toBe(true);
    expect(isValidOpaqueKey(OPAQUE_PREFIXES.secret, a.state.secretKey)).toBe(true);
    expect(a.state.publishableKey).toMatch(/^sb_publishable_[A-Za-z0-9_-]{22}_[A-Za-z0-9_-]{8}$/);
    expect(a.state.secretKey).toMatch(/^sb_secret_[A-Za-z0-9_-]{22}_[A-Za-z0-9_-]{8}$/);
    const b = await up(engine, { signingKeys: S1 });
    expect(b.state.publishableKey).toBe(a.state.publishableKey);
  });

  it("migrates from HS256: the imported secret verifies legacy keys and is never published", async () => {
    const jwtSecret = "the-old-deployments-secret-with-40-chars!";
    const engine = new MockEngine();
    const { state, registered } = await up(engine, { signingKeys: S0, legacyHs256: true, jwtSecret }, ["jwtSecret"]);
    expect(registered.map((r) => r.name)).not.toContain("supabase-jwt-secret");
    expect(state.jwtSecret).toBe(jwtSecret);
    expect(state.validMethods).toEqual(["ES256", "HS256"]);
    const oct = state.verifierJwks.keys.find((k) => k.kty === "oct")!;
    expect(oct).toMatchObject({ kid: LEGACY_KID, alg: "HS256", key_ops: ["verify"] });
    expect(Buffer.from(oct.k as string, "base64url").toString()).toBe(jwtSecret);
    expect(state.publicJwks.keys.every((k) => k.kty !== "oct")).toBe(true);
    expect(decodeProtectedHeader(state.legacyAnonKey!)).toEqual({ alg: "HS256", typ: "JWT" });
    const { payload } = await verifyWithJwks(state.legacyServiceRoleKey!, state.verifierJwks);
    expect(payload.role).toBe("service_role");
    expect(state.gatewayTokens.anon).toEqual([state.anonKey, state.legacyAnonKey]);
    // An old HS256 token signed by the previous deployment (no kid) still verifies.
    const { SignJWT } = await import("jose");
    const old = await new SignJWT({ role: "anon", iss: "supabase" })
      .setProtectedHeader({ alg: "HS256", typ: "JWT" })
      .setIssuedAt()
      .setExpirationTime("1h")
      .sign(new TextEncoder().encode(jwtSecret));
    await verifyWithJwks(old, state.verifierJwks, state.validMethods);
    // Turning legacy mode off drops the oct key and HS256 again.
    const off = await up(engine, { signingKeys: S0, jwtSecret }, ["jwtSecret"]);
    expect(off.state.validMethods).toEqual(["ES256"]);
    expect(off.state.verifierJwks.keys.some((k) => k.kty === "oct")).toBe(false);
    await expect(verifyWithJwks(old, off.state.verifierJwks)).rejects.toThrow();
  });

  it("keeps accepting the HS256 deployment's own anon and service_role keys when they are imported", async () => {
    const jwtSecret = "the-old-deployments-secret-with-40-chars!";
    const { SignJWT } = await import("jose");
    const oldKey = (role: string) =>
      new SignJWT({ role, iss: "supabase-demo", iat: 1641769200, exp: 1799535600 })
        .setProtectedHeader({ alg: "HS256", typ: "JWT" })
        .sign(new TextEncoder().encode(jwtSecret));
    const [anon, service] = [await oldKey("anon"), await oldKey("service_role")];
    const { state } = await up(
      new MockEngine(),
      { signingKeys: S0, legacyHs256: true, jwtSecret, legacyAnonKey: anon, legacyServiceRoleKey: service },
      ["jwtSecret", "legacyAnonKey", "legacyServiceRoleKey"],
    );
    expect(state.legacyAnonKey).toBe(anon);
    expect(state.legacyServiceRoleKey).toBe(service);
    expect(state.gatewayTokens).toEqual({ anon: [state.anonKey, anon], serviceRole: [state.serviceRoleKey, service] });
    await verifyWithJwks(service, state.verifierJwks, state.validMethods);
  });

  it("imports a key with its kid and signs with it", async () => {
    const jwk = await generateSigningJwk("EdDSA", "from-the-gist");
    const engine = new MockEngine();
    const { state } = await up(
      engine,
      { signingKeys: [{ name: "imported", state: "current", privateJwk: JSON.stringify(jwk) }] },
      ["signingKeys"],
    );
    expect(state.currentKid).toBe("from-the-gist");
    expect(state.validMethods).toEqual(["EdDSA"]);
    expect(decodeProtectedHeader(state.serviceRoleKey)).toEqual({ alg: "EdDSA", typ: "JWT", kid: "from-the-gist" });
  });
});
