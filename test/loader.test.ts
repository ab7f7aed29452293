/**
 * Loads index.ts as the Pulumi CLI's Node.js runtime does (ts-node with our tsconfig and nodenext, type-checking
 * on) in a fresh process, under mocks, with Pulumi.dev.yaml's config: what `pulumi up` on the dev stack runs.
 */
import { RESOURCE_TYPES } from "../components/targets/resourceTypes";
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { hasPrivateMember } from "../components/keyring/model";

interface LoadReport {
  ms: number;
  exports: Record<string, { secret: boolean; defined: boolean; value?: unknown }>;
  resources: Array<{ type: string; name: string }>;
}

let report: LoadReport;

beforeAll(() => {
  const out = execFileSync(process.execPath, [join(__dirname, "support", "loadProgram.cjs"), "Pulumi.dev.yaml"], {
    encoding: "utf8",
    timeout: 90_000,
  });
  report = JSON.parse(out);
}, 90_000);

describe("index.ts loaded like the Pulumi CLI loads it, with Pulumi.dev.yaml", () => {
  it("exports the design's outputs, secrets as secrets", () => {
    const { exports } = report;
    expect(exports.apiUrl).toEqual({ secret: false, defined: true, value: "http://localhost:8000" });
    expect(exports.jwksUrl.value).toBe("http://localhost:8000/auth/v1/.well-known/jwks.json");
    for (const name of ["publishableKey", "secretKey", "apiKeys", "anonKey", "serviceRoleKey"]) {
      expect(exports[name], name).toMatchObject({ secret: true, defined: true });
    }
    // Legacy keys exist only with legacyHs256, which the dev stack leaves off.
    expect(exports.legacyAnonKey?.defined ?? false).toBe(false);
    expect(exports.legacyServiceRoleKey?.defined ?? false).toBe(false);
  });

  it("publishes a plain-text public JWKS with the current kid", () => {
    const { jwks, currentKid } = report.exports;
    expect(jwks.secret).toBe(false);
    expect(typeof jwks.value).toBe("string");
    const parsed = JSON.parse(jwks.value as string) as { keys: Array<Record<string, unknown>> };
    expect(parsed.keys.map((k) => k.kid)).toEqual([currentKid.value]);
    expect(parsed.keys[0]).toMatchObject({ kty: "EC", crv: "P-256", alg: "ES256", use: "sig", key_ops: ["verify"] });
    expect(parsed.keys.some(hasPrivateMember)).toBe(false);
  });

  it("registers the dev stack's one signing key under the keyring component", () => {
    expect(report.resources).toContainEqual({ type: "supabase-selfhosted:index:SigningKeyring", name: "supabase" });
    expect(report.resources).toContainEqual({
      type: RESOURCE_TYPES.signingKey,
      name: "supabase-key-k1",
    });
  });
});
