/**
 * The SigningKey dynamic provider, called directly (under mocks the engine never runs it).
 */
import { decodeJwt, decodeProtectedHeader } from "jose";
import { ALGORITHMS } from "../../components/keyring/algorithms";
import { UNKNOWN_INPUT } from "../../components/keyring/engineValues";
import { canonicalJson, LEGACY_KID, hasPrivateMember, legacyOctJwk, type Jwk } from "../../components/keyring/model";
import { createSigningKey, signingKeyProvider, type SigningKeyOutputs } from "../../components/keyring/signingKey";
import { generateSigningJwk } from "../../components/keyring/tokens";
import { describe, expect, it } from "vitest";
import { verifyWithJwks } from "../support/keys";

const provider = signingKeyProvider as Required<typeof signingKeyProvider>;

async function create(props: Record<string, unknown>): Promise<SigningKeyOutputs> {
  const { id, outs } = await provider.create(props);
  expect(id).toBe(outs.kid);
  return outs as SigningKeyOutputs;
}

describe.each(ALGORITHMS)("SigningKey create (%s)", (algorithm) => {
  it("generates a key in signing form with a public half, a kid and role JWTs", async () => {
    const before = Math.floor(Date.now() / 1000);
    const outs = await create({ algorithm, apiKeyLifetimeDays: 30 });
    expect(outs.algorithm).toBe(algorithm);
    expect(outs.kid).toMatch(/^[0-9a-f-]{36}$/);
    expect(outs.privateJwk).toMatchObject({ kid: outs.kid, alg: algorithm, use: "sig", key_ops: ["sign", "verify"] });
    expect(hasPrivateMember(outs.privateJwk)).toBe(true);
    expect(outs.publicJwk).toMatchObject({ kid: outs.kid, alg: algorithm, use: "sig", key_ops: ["verify"] });
    expect(hasPrivateMember(outs.publicJwk!)).toBe(false);
    expect(Date.parse(outs.createdAt)).toBeGreaterThanOrEqual(before * 1000);
    expect(outs.expiresAt - outs.issuedAt).toBe(30 * 86400);
    for (const [token, role] of [
      [outs.anonKey, "anon"],
      [outs.serviceRoleKey, "service_role"],
    ] as const) {
      expect(decodeProtectedHeader(token)).toEqual({ alg: algorithm, typ: "JWT", kid: outs.kid });
      const { payload } = await verifyWithJwks(token, { keys: [outs.publicJwk!] }, [algorithm]);
      expect(payload).toEqual({ role, iss: "supabase", iat: outs.issuedAt, exp: outs.expiresAt });
    }
  });

  it("imports a private JWK and keeps its kid", async () => {
    const jwk = await generateSigningJwk(algorithm, "my-old-key");
    const outs = await create({ algorithm, apiKeyLifetimeDays: 10, importedJwk: JSON.stringify(jwk) });
    expect(outs.kid).toBe("my-old-key");
    expect(outs.privateJwk).toEqual(jwk);
    expect(decodeProtectedHeader(outs.anonKey).kid).toBe("my-old-key");
  });
});

describe("SigningKey create", () => {
  it("gives every generated key its own kid", async () => {
    const kids = new Set<string>();
    for (let i = 0; i < 5; i++) kids.add((await create({ algorithm: "ES256", apiKeyLifetimeDays: 1 })).kid);
    expect(kids.size).toBe(5);
  });

  it("imports a key without kid (as some keygen scripts print it) and gives it one", async () => {
    const { kid: _kid, key_ops: _ops, use: _use, alg: _alg, ...bare } = await generateSigningJwk("ES256");
    const outs = await create({ algorithm: "ES256", apiKeyLifetimeDays: 1, importedJwk: JSON.stringify(bare) });
    expect(outs.kid).toMatch(/^[0-9a-f-]{36}$/);
    expect(outs.privateJwk).toMatchObject({ alg: "ES256", key_ops: ["sign", "verify"], d: bare.d });
  });

  it("rejects a public-only import", async () => {
    const { d: _d, ...pub } = await generateSigningJwk("ES256");
    await expect(
      create({ algorithm: "ES256", apiKeyLifetimeDays: 1, importedJwk: JSON.stringify(pub) }),
    ).rejects.toThrow(/not a private key/);
  });

  it("rejects an import whose private and public halves belong to different keys", async () => {
    const a = await generateSigningJwk("ES256");
    const b = await generateSigningJwk("ES256");
    const mixed = { ...a, x: b.x, y: b.y };
    await expect(
      create({ algorithm: "ES256", apiKeyLifetimeDays: 1, importedJwk: JSON.stringify(mixed) }),
    ).rejects.toThrow(/not a valid ES256 private key|do not belong to the same key/);
    const ed1 = await generateSigningJwk("EdDSA");
    const ed2 = await generateSigningJwk("EdDSA");
    await expect(
      create({ algorithm: "EdDSA", apiKeyLifetimeDays: 1, importedJwk: JSON.stringify({ ...ed1, x: ed2.x }) }),
    ).rejects.toThrow(/do not belong to the same key|not a valid EdDSA private key/);
  });

  it("rejects an import of the wrong key type or alg", async () => {
    const rsa = await generateSigningJwk("RS256");
    await expect(
      create({ algorithm: "ES256", apiKeyLifetimeDays: 1, importedJwk: JSON.stringify(rsa) }),
    ).rejects.toThrow(/kty "RSA", but ES256 needs EC/);
    const ec = { ...(await generateSigningJwk("ES256")), alg: "ES384" };
    await expect(
      create({ algorithm: "ES256", apiKeyLifetimeDays: 1, importedJwk: JSON.stringify(ec) }),
    ).rejects.toThrow(/alg "ES384"/);
  });

  it("rejects bad inputs", async () => {
    await expect(create({ algorithm: "PS256", apiKeyLifetimeDays: 1 })).rejects.toThrow(
      /unsupported signing key algorithm "PS256"/,
    );
    await expect(create({ algorithm: "ES256", apiKeyLifetimeDays: 0 })).rejects.toThrow(
      /apiKeyLifetimeDays must be a positive integer/,
    );
    await expect(create({ algorithm: "HS256", apiKeyLifetimeDays: 1 })).rejects.toThrow(/must be imported/);
  });

  it("holds the legacy secret as an oct key whose role JWTs have no kid, like the HS256 deployment's", async () => {
    const oct = legacyOctJwk("s".repeat(40));
    const outs = await create({ algorithm: "HS256", apiKeyLifetimeDays: 365, importedJwk: canonicalJson(oct) });
    expect(outs.kid).toBe(LEGACY_KID);
    expect(outs.publicJwk).toBeNull();
    expect(decodeProtectedHeader(outs.anonKey)).toEqual({ alg: "HS256", typ: "JWT" });
    const { payload } = await verifyWithJwks(outs.serviceRoleKey, { keys: [oct] });
    expect(payload.role).toBe("service_role");
  });
});

describe("SigningKey diff", () => {
  const base = { algorithm: "ES256", apiKeyLifetimeDays: 1825 };

  it("reports no change for identical inputs, even when the provider's code changed", async () => {
    const olds = await create(base);
    const news = { ...base, __provider: "exports.handler = /* an edited provider */ 1;" };
    expect(await provider.diff(olds.kid, { ...olds, __provider: "old text" }, news)).toMatchObject({
      changes: false,
      replaces: [],
    });
  });

  it("updates in place, keeping the key, when only the role JWT lifetime changes", async () => {
    const olds = await create(base);
    const diff = await provider.diff(olds.kid, olds, { ...base, apiKeyLifetimeDays: 90 });
    expect(diff.changes).toBe(true);
    expect(diff.replaces).toEqual([]);
    expect(diff.stables).toContain("privateJwk");
  });

  it("replaces the key when its algorithm changes", async () => {
    const olds = await create(base);
    expect(await provider.diff(olds.kid, olds, { ...base, algorithm: "RS256" })).toMatchObject({
      changes: true,
      replaces: ["algorithm"],
    });
  });

  it("replaces the key when different material is imported, but not when the same key is reformatted", async () => {
    const jwk = await generateSigningJwk("ES256", "imported");
    const olds = await create({ ...base, importedJwk: JSON.stringify(jwk) });
    const reformatted = JSON.stringify(jwk, Object.keys(jwk).reverse(), 4);
    expect(await provider.diff(olds.kid, olds, { ...base, importedJwk: reformatted })).toMatchObject({
      changes: false,
    });
    const other = JSON.stringify(await generateSigningJwk("ES256", "imported"));
    expect(await provider.diff(olds.kid, olds, { ...base, importedJwk: other })).toMatchObject({
      replaces: ["importedJwk"],
    });
    const { importedJwk: _gone, ...generated } = { ...base, importedJwk: undefined };
    expect(await provider.diff(olds.kid, olds, generated)).toMatchObject({ replaces: ["importedJwk"] });
  });

  it("treats material unknown during a preview as a replacement", async () => {
    const oct = canonicalJson(legacyOctJwk("s".repeat(40)));
    const olds = await create({ algorithm: "HS256", apiKeyLifetimeDays: 1, importedJwk: oct });
    expect(
      await provider.diff(olds.kid, olds, { algorithm: "HS256", apiKeyLifetimeDays: 1, importedJwk: UNKNOWN_INPUT }),
    ).toMatchObject({
      changes: true,
      replaces: ["importedJwk"],
    });
  });
});

describe("SigningKey update", () => {
  it("keeps the key and kid and re-mints role JWTs for the new lifetime", async () => {
    const olds = await create({ algorithm: "EdDSA", apiKeyLifetimeDays: 1825 });
    const { outs } = await provider.update(olds.kid, olds, { algorithm: "EdDSA", apiKeyLifetimeDays: 30 });
    const updated = outs as SigningKeyOutputs;
    expect(updated.kid).toBe(olds.kid);
    expect(updated.privateJwk).toEqual(olds.privateJwk);
    expect(updated.publicJwk).toEqual(olds.publicJwk);
    expect(updated.createdAt).toBe(olds.createdAt);
    expect(updated.apiKeyLifetimeDays).toBe(30);
    expect(updated.expiresAt - updated.issuedAt).toBe(30 * 86400);
    const claims = decodeJwt(updated.anonKey);
    expect(claims.exp! - claims.iat!).toBe(30 * 86400);
    await verifyWithJwks(updated.anonKey, { keys: [updated.publicJwk as Jwk] });
  });
});
