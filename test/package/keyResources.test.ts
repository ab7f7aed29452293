/**
 * The keyring's resources as the package's plugin serves them: the engine's calls reach the same dynamic providers
 * the program uses, with secrets unwrapped on the way in (as the dynamic-provider host hands them over) and every
 * secret property wrapped again on the way out (a provider that accepts secrets answers for them).
 */
import * as pulumi from "@pulumi/pulumi";
import { decodeProtectedHeader } from "jose";
import { describe, expect, it } from "vitest";
import { UNKNOWN_INPUT } from "../../components/keyring/engineValues";
import { pluginToken, ROTATION_GUARD_TOKEN, SIGNING_KEY_TOKEN } from "../../components/keyring/resourceTokens";
import { checkRotationGuard } from "../../components/keyring/rotationGuard";
import { generateSigningJwk } from "../../components/keyring/tokens";
import { keyResourceCalls, typeOfUrn, unwrapSecrets } from "../../components/package/keyResources";

const urnOf = (type: string, name: string) =>
  `urn:pulumi:dev::consumer::supabase-selfhosted:index:Supabase$supabase-selfhosted:index:SigningKeyring$${type}::${name}`;
const KEY_URN = urnOf(pluginToken(SIGNING_KEY_TOKEN), "supabase-key-k1");
const GUARD_URN = urnOf(pluginToken(ROTATION_GUARD_TOKEN), "supabase-rotation-guard");

/** A value as the engine sends a secret to a provider that accepts secrets. */
const secret = (value: unknown) => ({
  [pulumi.runtime.specialSigKey]: pulumi.runtime.specialSecretSig,
  value,
});
const isWrapped = (value: unknown) => pulumi.runtime.isRpcSecret(value);

describe("the plugin's key resources", () => {
  it("tells the resource type from a URN under the component", () => {
    expect(typeOfUrn(KEY_URN)).toBe("supabase-selfhosted:index:SigningKey");
    expect(typeOfUrn("urn:pulumi:s::p::docker:index/container:Container::supabase-auth")).toBe(
      "docker:index/container:Container",
    );
  });

  it("creates an imported key with the SigningKey provider: its kid kept, key material and tokens secret", async () => {
    const jwk = await generateSigningJwk("ES256", "imported-kid");
    const { id, outs } = await keyResourceCalls.create(KEY_URN, {
      algorithm: "ES256",
      apiKeyLifetimeDays: 30,
      importedJwk: secret(JSON.stringify(jwk)),
    });
    expect(id).toBe("imported-kid");
    for (const name of ["privateJwk", "importedJwk", "anonKey", "serviceRoleKey"]) {
      expect(isWrapped(outs[name]), name).toBe(true);
    }
    expect(outs.kid).toBe("imported-kid");
    expect(unwrapSecrets(outs.privateJwk)).toEqual(jwk);
    expect(decodeProtectedHeader(String(unwrapSecrets(outs.anonKey))).kid).toBe("imported-kid");
  });

  it("diffs and updates a key as the program's provider does: a new lifetime re-mints the tokens and keeps the key", async () => {
    const { outs } = await keyResourceCalls.create(KEY_URN, { algorithm: "ES256", apiKeyLifetimeDays: 30 });
    const same = await keyResourceCalls.diff(String(outs.kid), KEY_URN, outs, {
      algorithm: "ES256",
      apiKeyLifetimeDays: 30,
    });
    expect(same.changes).toBe(false);
    const news = { algorithm: "ES256", apiKeyLifetimeDays: 60 };
    const changed = await keyResourceCalls.diff(String(outs.kid), KEY_URN, outs, news);
    expect(changed).toMatchObject({ changes: true, replaces: [] });
    const updated = await keyResourceCalls.update(String(outs.kid), KEY_URN, outs, news);
    expect(unwrapSecrets(updated.outs!.privateJwk)).toEqual(unwrapSecrets(outs.privateJwk));
    expect(isWrapped(updated.outs!.privateJwk)).toBe(true);
    expect(unwrapSecrets(updated.outs!.anonKey)).not.toBe(unwrapSecrets(outs.anonKey));
  });

  it("runs the rotation guard's check: a key may not sign before it is published", async () => {
    const T0 = new Date();
    const settings = { allowUnsafeRotation: false, jwksCacheSeconds: 1200, jwtExpiry: 3600 };
    const key = (index: number, name: string, state: string) => ({
      index,
      name,
      state,
      algorithm: "ES256",
      source: "generated",
      kid: name === "k2" && state === "current" ? UNKNOWN_INPUT : `kid-${name}`,
      createdAt: T0.toISOString(),
      expiresAt: Math.floor(T0.getTime() / 1000) + 86_400,
    });
    const olds = checkRotationGuard({}, { ...settings, keys: [key(0, "k1", "current")] }, T0).inputs;
    const news = { ...settings, keys: [key(0, "k1", "previous"), key(1, "k2", "current")] };
    const { failures } = await keyResourceCalls.check(GUARD_URN, olds, news);
    expect(failures?.[0].reason).toContain("becomes current in the same update that creates it");
  });

  it("keeps inputs it does not check as they came, secrets still wrapped", async () => {
    const news = { algorithm: "ES256", apiKeyLifetimeDays: 30, importedJwk: secret("{}") };
    expect((await keyResourceCalls.check(KEY_URN, {}, news)).inputs).toBe(news);
  });

  it("refuses a type it does not serve, naming those it does", async () => {
    await expect(keyResourceCalls.create(urnOf("other:index:Thing", "x"), {})).rejects.toThrow(
      /unknown resource type other:index:Thing; served: supabase-selfhosted:index:SigningKey, supabase-selfhosted:index:RotationGuard/,
    );
  });
});
