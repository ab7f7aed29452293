/**
 * The keyring as the containers receive it: auth holds one private key, the current one; the verifiers get the
 * published JWKS and no private member; a revoked key's role JWTs are gone.
 */
import type { Jwk, Jwks } from "../../../components/keyring/model";
import { KONG_CONFIG_PATH } from "../../../components/services/kong/gateway";
import type { Recorder } from "../core/report";
import { readContainerFile } from "../engines/docker/inspect";
import { containerOf, type Deployment, type StepContext } from "./deployment";
import { kidsOf, parsePublicJwks, sameSet } from "./expected";

/**
 * auth's `GOTRUE_JWT_KEYS` (`authKeys`) holds one private key, the current one (`currentKid`), among the keys the
 * `jwks` output (`published`) publishes. Returns the detail; throws what differs.
 */
export function authSigningKeysVerdict(authKeys: string, currentKid: unknown, published: Jwks): string {
  const keys = JSON.parse(authKeys) as Jwk[];
  const privateKeys = keys.filter((k) => typeof k.d === "string");
  if (privateKeys.length !== 1) throw new Error(`GOTRUE_JWT_KEYS holds ${privateKeys.length} private keys`);
  if (privateKeys[0].kid !== currentKid)
    throw new Error(`the private key is ${privateKeys[0].kid}, current is ${String(currentKid)}`);
  const asymmetric = keys.filter((k) => k.kty !== "oct").map((k) => String(k.kid));
  const same = sameSet(asymmetric, kidsOf(published));
  if (!same.ok) throw new Error(`auth's keys differ from the published JWKS: ${same.detail}`);
  return `one private key (${privateKeys[0].kid}, the current one) among [${asymmetric.join(", ")}]`;
}

/** The verifiers whose environment holds the published JWKS. */
export type Verifier = "rest" | "realtime" | "storage";

/**
 * rest, realtime and storage verify with the published JWKS and no private member; `envOf` gives a service's
 * environment. Returns the detail; throws what differs.
 */
export function verifierJwksVerdict(envOf: (role: Verifier) => Record<string, string>, published: Jwks): string {
  const given: Array<[string, string]> = [
    ["rest PGRST_JWT_SECRET", envOf("rest").PGRST_JWT_SECRET],
    ["realtime API_JWT_JWKS", envOf("realtime").API_JWT_JWKS],
    ["storage JWT_JWKS", envOf("storage").JWT_JWKS],
  ];
  for (const [where, text] of given) {
    const jwks: Jwks = parsePublicJwks(text, where);
    if (JSON.stringify(jwks.keys) !== JSON.stringify(published.keys))
      throw new Error(`${where} is not the published JWKS`);
  }
  return `rest, realtime and storage verify with [${kidsOf(published).join(", ")}], no private members`;
}

/**
 * `auth:one-private-key-current`: auth's `GOTRUE_JWT_KEYS` holds one private key, the current one, among the keys
 * the `jwks` output (`published`) publishes.
 */
export async function checkAuthSigningKeys({ rec, name, deployment }: StepContext, published: Jwks): Promise<void> {
  await rec.attempt(name("auth:one-private-key-current"), () =>
    authSigningKeysVerdict(
      containerOf(deployment, "auth").env.GOTRUE_JWT_KEYS,
      deployment.outputs.currentKid,
      published,
    ),
  );
}

/** `verifiers:jwks-as-published`: rest, realtime and storage verify with the published JWKS, no private member. */
export async function checkVerifierJwks({ rec, name, deployment }: StepContext, published: Jwks): Promise<void> {
  await rec.attempt(name("verifiers:jwks-as-published"), () =>
    verifierJwksVerdict((role) => containerOf(deployment, role).env, published),
  );
}

/** `keyring:revoked-tokens-gone`: the revoked key's role JWTs (`revokedTokens`) are in no env and not in kong.yml. */
export async function checkRevokedTokensGone(
  rec: Recorder,
  host: string,
  checkName: string,
  { containers, layout }: Deployment,
  revokedTokens: string[],
): Promise<void> {
  await rec.attempt(checkName, async () => {
    const kong = await readContainerFile(host, layout.names.container("kong"), KONG_CONFIG_PATH);
    const holders = Object.values(containers).filter((c) =>
      Object.values(c.env).some((v) => revokedTokens.some((t) => v.includes(t))),
    );
    if (holders.length)
      throw new Error(`k1's role JWTs are still in the env of ${holders.map((c) => c.name).join(", ")}`);
    if (revokedTokens.some((t) => kong.includes(t))) throw new Error("k1's role JWTs are still in kong.yml");
    return `k1's ${revokedTokens.length} role JWTs appear in no container env and not in kong.yml`;
  });
}
