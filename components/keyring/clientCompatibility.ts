/**
 * What the official client does with each algorithm, where it differs from the services: supabase-js's
 * `auth.getClaims()` verifies a token locally only for the algorithms auth-js maps (supabase/supabase-js
 * `packages/core/auth-js/src/lib/helpers.ts`, `getAlgorithm`: RS256 and ES256), and throws `Invalid alg claim` for
 * an EdDSA token (auth-js up to 2.119.1, the newest published when this was written).
 */
import { PROJECT } from "../schema/project";
import type { SigningKeyConfig } from "./settings";

/** Warnings for a keyring whose current key, or a standby key that may be promoted, signs with EdDSA. */
export function clientCompatibilityWarnings(
  signingKeys: readonly Pick<SigningKeyConfig, "name" | "state" | "algorithm">[],
): string[] {
  const where = (state: string) =>
    signingKeys.flatMap((key, index) =>
      key.state === state && key.algorithm === "EdDSA" ? [`signingKeys[${index}] (${key.name})`] : [],
    );
  const consequence =
    "supabase-js's auth.getClaims() throws 'Invalid alg claim' for EdDSA tokens (auth-js verifies only RS256 and " +
    "ES256 locally); apps that call it must use auth.getUser() or verify with the JWKS themselves, or keep an ES256 " +
    "or RS256 key current. Every service of this stack accepts EdDSA (docs/compatibility.md).";
  const warnings = where("current").map((key) => `${PROJECT}:${key} signs with EdDSA: ${consequence}`);
  for (const key of where("standby")) {
    warnings.push(`${PROJECT}:${key} is an EdDSA key: once it is promoted, ${consequence}`);
  }
  return warnings;
}
