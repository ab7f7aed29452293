/**
 * How the default main entry of the edge functions decides whether a call may run: pure, with the JWT library handed
 * in, so the same code runs in the edge runtime (Deno's jose) and in the tests (Node's jose).
 *
 * A call's token is its `Authorization: Bearer <JWT>`; when that holds an opaque `sb_` key instead (supabase-js sends
 * its apikey there), the token is the `sb-api-key` header, which only the gateway sets (it removes any the client
 * sent and puts in the role JWT the opaque key maps to). The token must verify against `SUPABASE_JWKS`, the keyring's
 * verifier JWKS: every trusted asymmetric key (ES256, RS256, EdDSA) and, only in legacy mode, the HS256 secret as an
 * `oct` key. Nothing here reads `JWT_SECRET`, so outside legacy mode an HS256 token never verifies.
 */

/** The parts of jose used here (`jsr:@panva/jose` in the runtime, `jose` from npm in the tests). */
export interface Jose {
  decodeProtectedHeader(token: string): { alg?: string };
  createLocalJWKSet(jwks: { keys: JsonWebKeyLike[] }): unknown;
  jwtVerify(token: string, key: never, options: { algorithms: string[] }): Promise<unknown>;
}

/** A JWK as the verifier JWKS holds it. */
export interface JsonWebKeyLike {
  kty: string;
  alg?: string;
  k?: string;
  [member: string]: unknown;
}

/** Why a call is refused; the codes are upstream's (supabase/supabase `docker/volumes/functions/main/index.ts`). */
export interface Refusal {
  code: string;
  message: string;
}

/** Verifies one token; `undefined` when it may pass. */
export type TokenCheck = (token: string) => Promise<Refusal | undefined>;

const refusal = (code: string, message: string): Refusal => ({ code, message });

/** Standard base64url to bytes (the `k` of an `oct` key), without Node's Buffer. */
function base64urlBytes(text: string): Uint8Array {
  const base64 = text.replace(/-/g, "+").replace(/_/g, "/");
  const binary = atob(base64 + "=".repeat((4 - (base64.length % 4)) % 4));
  return Uint8Array.from(binary, (c) => c.charCodeAt(0));
}

/** Parses `SUPABASE_JWKS`; anything but an object with a `keys` array trusts nothing. */
function keysOf(jwksText: string | undefined): JsonWebKeyLike[] {
  try {
    const parsed = JSON.parse(jwksText ?? "");
    return Array.isArray(parsed?.keys) ? parsed.keys.filter((k: unknown) => k && typeof k === "object") : [];
  } catch {
    return [];
  }
}

/**
 * A token check over the verifier JWKS: asymmetric tokens against the set's public keys (by `kid`), HS256 tokens
 * against its `oct` keys, each only with the algorithms the set's keys declare (no algorithm confusion).
 */
export function jwksTokenCheck(jwksText: string | undefined, jose: Jose): TokenCheck {
  const keys = keysOf(jwksText);
  const asymmetric = keys.filter((k) => k.kty !== "oct");
  const secrets = keys.filter((k) => k.kty === "oct" && typeof k.k === "string").map((k) => base64urlBytes(k.k!));
  const algorithms = [...new Set(asymmetric.map((k) => k.alg).filter((a): a is string => typeof a === "string"))];
  const publicKeys = asymmetric.length > 0 ? jose.createLocalJWKSet({ keys: asymmetric }) : undefined;
  return async (token) => {
    let alg: string | undefined;
    try {
      alg = jose.decodeProtectedHeader(token).alg;
    } catch {
      return refusal("UNAUTHORIZED_INVALID_JWT_FORMAT", "Invalid JWT format");
    }
    if (alg === "HS256") {
      for (const secret of secrets) {
        try {
          await jose.jwtVerify(token, secret as never, { algorithms: ["HS256"] });
          return undefined;
        } catch {
          // try the next secret
        }
      }
      return refusal("UNAUTHORIZED_LEGACY_JWT", "Invalid JWT");
    }
    if (alg === undefined || !algorithms.includes(alg) || !publicKeys) {
      return refusal("UNAUTHORIZED_UNSUPPORTED_TOKEN_ALGORITHM", `Unsupported JWT algorithm ${alg}`);
    }
    try {
      await jose.jwtVerify(token, publicKeys as never, { algorithms });
      return undefined;
    } catch {
      return refusal("UNAUTHORIZED_ASYMMETRIC_JWT", "Invalid JWT");
    }
  };
}

/** The token a call carries (see the module comment), or why it has none. */
export function tokenOf(headers: { get(name: string): string | null }): string | Refusal {
  const authorization = headers.get("authorization");
  const fromGateway = headers.get("sb-api-key");
  if (authorization === null) {
    return fromGateway ?? refusal("UNAUTHORIZED_NO_AUTH_HEADER", "Missing authorization header");
  }
  const match = /^Bearer ([^\s]+)$/.exec(authorization);
  if (!match) return refusal("UNAUTHORIZED_INVALID_JWT_FORMAT", "Invalid JWT format");
  if (match[1].startsWith("sb_")) {
    return fromGateway ?? refusal("UNAUTHORIZED_INVALID_JWT_FORMAT", "Invalid JWT format");
  }
  return match[1];
}

/** Whether a call may run: preflight requests always (browsers send no credentials with them), others by token. */
export async function checkCall(
  request: { method: string; headers: { get(name: string): string | null } },
  check: TokenCheck,
): Promise<Refusal | undefined> {
  if (request.method === "OPTIONS") return undefined;
  const token = tokenOf(request.headers);
  return typeof token === "string" ? check(token) : token;
}

/** The name of the function a path calls (`/<name>/…`), or `undefined` when it names none the runtime may start. */
export function functionName(pathname: string): string | undefined {
  const name = pathname.split("/")[1] ?? "";
  // One plain directory name: never empty, never `main` itself, never anything a path could escape with.
  return /^[A-Za-z0-9_-]+$/.test(name) && name !== "main" ? name : undefined;
}
