/** Test helpers: real keyring entries made by the real provider code. */
import type { Algorithm } from "../../components/keyring/algorithms";
import type { KeyState, Jwk, KeyringEntry } from "../../components/keyring/model";
import { createSigningKey } from "../../components/keyring/signingKey";

/** Creates a key exactly as the SigningKey provider would and returns it as a keyring entry. */
export async function makeEntry(
  name: string,
  state: KeyState,
  algorithm: Algorithm = "ES256",
  extra: { importedJwk?: string; apiKeyLifetimeDays?: number; now?: Date } = {},
): Promise<KeyringEntry> {
  const outs = await createSigningKey(
    {
      algorithm,
      apiKeyLifetimeDays: extra.apiKeyLifetimeDays ?? 1825,
      ...(extra.importedJwk ? { importedJwk: extra.importedJwk } : {}),
    },
    extra.now,
  );
  return {
    name,
    state,
    algorithm,
    kid: outs.kid,
    privateJwk: outs.privateJwk,
    publicJwk: outs.publicJwk as Jwk,
    anonKey: outs.anonKey,
    serviceRoleKey: outs.serviceRoleKey,
    expiresAt: outs.expiresAt,
    createdAt: outs.createdAt,
  };
}

/**
 * Verifies a JWT against a JWKS the way storage (a jose-based verifier) does: asymmetric tokens by kid, HS256
 * tokens with the oct key of the same kid, or the first oct key when the token has none. Resolves to the result.
 */
export async function verifyWithJwks(token: string, jwks: { keys: Jwk[] }, algorithms?: string[]) {
  const { createLocalJWKSet, decodeProtectedHeader, importJWK, jwtVerify } = await import("jose");
  // WebCrypto rejects keys whose key_ops don't fit; verifiers ignore key_ops, so strip them like they do.
  const keys = jwks.keys.map(({ key_ops: _ops, ...rest }) => rest);
  const options = algorithms ? { algorithms } : {};
  const header = decodeProtectedHeader(token);
  if (header.alg?.startsWith("HS")) {
    const oct = keys.find((k) => k.kty === "oct" && (header.kid === undefined || k.kid === header.kid));
    if (!oct) throw new Error(`no oct key for kid ${header.kid}`);
    return jwtVerify(token, await importJWK(oct, header.alg), options);
  }
  return jwtVerify(token, createLocalJWKSet({ keys } as never), options);
}
