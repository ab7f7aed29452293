/**
 * `npm run keys -- generate` for docker-compose users: what a `.env` gets must work the way each service parses it
 * (auth's array with one signer, a verifier JWKS without private members, role JWTs that verify against it, opaque
 * keys with a valid checksum), and must be what the Pulumi program would produce for the same key.
 */
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import * as jose from "jose";
import { describe, expect, it } from "vitest";
import { PRIVATE_MEMBERS, hasPrivateMember, type Jwk } from "../../components/keyring/model";
import { createSigningKey } from "../../components/keyring/signingKey";
import { OPAQUE_PREFIXES, isValidOpaqueKey } from "../../components/keyring/tokens";
import {
  COMPOSE_KEY_NAMES,
  formatComposeKeys,
  generateComposeKeys,
  type ComposeKeys,
} from "../../scripts/lib/composeKeys";
import { tsNodeScript } from "../support/npmScript";

const ROOT = path.resolve(__dirname, "..", "..");
const SECRET = "an-existing-hs256-secret-of-at-least-32-characters";
const DAY = 86_400;

const signers = (keys: Jwk[]) =>
  keys.filter((k) => Array.isArray(k.key_ops) && (k.key_ops as string[]).includes("sign"));

async function verifyWithJwks(token: string, keys: ComposeKeys) {
  const publicKeys = keys.JWT_JWKS.keys.filter((k) => k.kty !== "oct").map(({ key_ops: _o, ...k }) => k);
  return jose.jwtVerify(token, jose.createLocalJWKSet({ keys: publicKeys as jose.JWK[] }));
}

describe("generateComposeKeys", () => {
  it("makes an ES256 keyring whose tokens verify against its own JWKS", async () => {
    const now = new Date("2026-05-01T00:00:00Z");
    const keys = await generateComposeKeys({ now });
    const [signer] = keys.JWT_KEYS;
    expect(keys.JWT_KEYS).toHaveLength(1);
    expect(signers(keys.JWT_KEYS)).toEqual([signer]);
    expect(signer).toMatchObject({ kty: "EC", crv: "P-256", alg: "ES256", use: "sig", key_ops: ["sign", "verify"] });
    expect(typeof signer.d).toBe("string");
    expect(keys.JWT_SIGNING_KEYS).toEqual(keys.JWT_KEYS);
    expect(keys.JWT_METHODS).toBe("ES256");
    // The verifiers' JWKS is an object with keys (realtime rejects an array) holding the public half only.
    expect(Object.keys(keys.JWT_JWKS)).toEqual(["keys"]);
    expect(keys.JWT_JWKS.keys).toEqual([
      {
        kty: "EC",
        kid: signer.kid,
        use: "sig",
        key_ops: ["verify"],
        alg: "ES256",
        crv: "P-256",
        x: signer.x,
        y: signer.y,
      },
    ]);
    for (const k of keys.JWT_JWKS.keys) for (const m of PRIVATE_MEMBERS) expect(k[m]).toBeUndefined();

    for (const [token, role] of [
      [keys.ANON_KEY, "anon"],
      [keys.SERVICE_ROLE_KEY, "service_role"],
    ] as const) {
      const { payload, protectedHeader } = await verifyWithJwks(token, keys);
      expect(protectedHeader).toEqual({ alg: "ES256", typ: "JWT", kid: signer.kid });
      expect(payload).toEqual({
        role,
        iss: "supabase",
        iat: now.getTime() / 1000,
        exp: now.getTime() / 1000 + 1825 * DAY,
      });
    }
    expect(keys.ANON_KEY_ASYMMETRIC).toBe(keys.ANON_KEY);
    expect(keys.SERVICE_ROLE_KEY_ASYMMETRIC).toBe(keys.SERVICE_ROLE_KEY);
  });

  it("makes opaque sb_ keys with the checksum Supabase's gateway scripts use, different every run", async () => {
    const a = await generateComposeKeys();
    const b = await generateComposeKeys();
    expect(a.SUPABASE_PUBLISHABLE_KEY).toMatch(/^sb_publishable_[A-Za-z0-9_-]{22}_[A-Za-z0-9_-]{8}$/);
    expect(a.SUPABASE_SECRET_KEY).toMatch(/^sb_secret_[A-Za-z0-9_-]{22}_[A-Za-z0-9_-]{8}$/);
    expect(isValidOpaqueKey(OPAQUE_PREFIXES.publishable, a.SUPABASE_PUBLISHABLE_KEY)).toBe(true);
    expect(isValidOpaqueKey(OPAQUE_PREFIXES.secret, a.SUPABASE_SECRET_KEY)).toBe(true);
    expect(a.SUPABASE_PUBLISHABLE_KEY).not.toBe(b.SUPABASE_PUBLISHABLE_KEY);
    expect(a.JWT_KEYS[0].kid).not.toBe(b.JWT_KEYS[0].kid);
  });

  it.each([
    ["RS256", { kty: "RSA", alg: "RS256" }],
    ["EdDSA", { kty: "OKP", crv: "Ed25519", alg: "EdDSA" }],
  ] as const)("supports %s with a chosen kid", async (algorithm, shape) => {
    const keys = await generateComposeKeys({ algorithm, kid: "my-key-2026" });
    expect(keys.JWT_KEYS[0]).toMatchObject({ ...shape, kid: "my-key-2026" });
    expect(keys.JWT_METHODS).toBe(algorithm);
    const { protectedHeader } = await verifyWithJwks(keys.SERVICE_ROLE_KEY, keys);
    expect(protectedHeader).toEqual({ alg: algorithm, typ: "JWT", kid: "my-key-2026" });
  });

  it("with --jwt-secret adds the legacy secret as a verify-only oct key, still with one signer", async () => {
    const keys = await generateComposeKeys({ jwtSecret: SECRET });
    expect(keys.JWT_KEYS).toHaveLength(2);
    expect(signers(keys.JWT_KEYS).map((k) => k.kty)).toEqual(["EC"]);
    const oct = keys.JWT_KEYS[1];
    expect(oct).toMatchObject({ kty: "oct", alg: "HS256", key_ops: ["verify"], kid: "legacy-hs256" });
    expect(Buffer.from(oct.k as string, "base64url").toString()).toBe(SECRET);
    expect(keys.JWT_JWKS.keys.map((k) => k.kty)).toEqual(["EC", "oct"]);
    expect(keys.JWT_METHODS).toBe("ES256,HS256");
    // Only the oct key is secret in the verifiers' JWKS, as in Supabase's own JWT_JWKS.
    expect(keys.JWT_JWKS.keys.filter(hasPrivateMember).map((k) => k.kty)).toEqual(["oct"]);
  });

  it("refuses options the Pulumi program would refuse, naming the flag", async () => {
    await expect(generateComposeKeys({ jwtSecret: "too-short" })).rejects.toThrow(
      /--jwt-secret: must be a secret of at least 32 characters/,
    );
    await expect(generateComposeKeys({ kid: "legacy-hs256" })).rejects.toThrow(/reserved for the legacy HS256 key/);
    await expect(generateComposeKeys({ kid: " " })).rejects.toThrow(/--kid must be a non-empty value/);
    await expect(generateComposeKeys({ lifetimeDays: 40000 })).rejects.toThrow(
      /--lifetime-days: must be an integer from 1 to 36500, got 40000/,
    );
    await expect(generateComposeKeys({ algorithm: "HS256" as never })).rejects.toThrow(
      /--algorithm "HS256" is not supported/,
    );
  });

  it("is the same key the Pulumi program builds when the generated key is imported into a stack", async () => {
    const keys = await generateComposeKeys({ algorithm: "ES256" });
    const { key_ops: _ops, use: _use, ...exported } = keys.JWT_KEYS[0];
    const stored = await createSigningKey({
      algorithm: "ES256",
      importedJwk: JSON.stringify(exported),
      apiKeyLifetimeDays: 1825,
    });
    expect(stored.privateJwk).toEqual(keys.JWT_KEYS[0]);
    expect(stored.publicJwk).toEqual(keys.JWT_JWKS.keys[0]);
  });
});

describe("formatComposeKeys", () => {
  it("env: one NAME=value line per variable, compact JSON, readable back to the same values", async () => {
    const keys = await generateComposeKeys({ jwtSecret: SECRET });
    const text = formatComposeKeys(keys, "env");
    const vars = Object.fromEntries(
      text
        .split("\n")
        .filter((l) => l && !l.startsWith("#"))
        .map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]),
    );
    expect(Object.keys(vars)).toEqual([...COMPOSE_KEY_NAMES]);
    expect(JSON.parse(vars.JWT_KEYS)).toEqual(keys.JWT_KEYS);
    expect(JSON.parse(vars.JWT_JWKS)).toEqual(keys.JWT_JWKS);
    expect(vars.JWT_METHODS).toBe("ES256,HS256");
    expect(vars.ANON_KEY).toBe(keys.ANON_KEY);
    // No whitespace or '#' in values: docker compose reads unquoted values verbatim.
    for (const value of Object.values(vars)) expect(value).not.toMatch(/[\s#]/);
  });

  it("json: one object with the same names", async () => {
    const keys = await generateComposeKeys();
    expect(JSON.parse(formatComposeKeys(keys, "json"))).toEqual(
      Object.fromEntries(COMPOSE_KEY_NAMES.map((n) => [n, keys[n]])),
    );
  });
});

describe("npm run keys -- generate", () => {
  const keys = tsNodeScript("keys");

  it("prints JSON on stdout and exits 0; a bad format exits 2 with the allowed values", () => {
    const ok = spawnSync(keys.command, [...keys.args, "generate", "--format", "json", "--kid", "cli-kid"], {
      cwd: ROOT,
      encoding: "utf8",
    });
    expect(ok.status).toBe(0);
    const out = JSON.parse(ok.stdout);
    expect(out.JWT_KEYS[0].kid).toBe("cli-kid");
    expect(ok.stderr).toMatch(/These values are secrets/);
    const bad = spawnSync(keys.command, [...keys.args, "generate", "--format", "xml"], {
      cwd: ROOT,
      encoding: "utf8",
    });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/--format must be env or json/);
    expect(bad.stdout).toBe("");
  });
});
