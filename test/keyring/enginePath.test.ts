/**
 * The engine's path for our dynamic provider: the SDK serializes the provider (as `pulumi up` stores it in state),
 * then a fresh `node` loads that text the way the dynamic-provider host does and runs it. Catches closures that
 * capture what cannot be serialized (a native module, jose's internals) or that only work inside vitest.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { decodeProtectedHeader } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import { hasPrivateMember, type Jwk } from "../../components/keyring/model";
import { verifyWithJwks } from "../support/keys";

interface HostReport {
  created: Array<{ algorithm: string; id: string; outs: Record<string, any>; ms: number }>;
  diffs: Record<string, { changes: boolean; replaces: string[] }>;
  updated: Record<string, any>;
}

const support = join(__dirname, "..", "support");
let serialized: string;
let report: HostReport;

beforeAll(() => {
  serialized = execFileSync(process.execPath, [join(support, "serializeProvider.cjs")], {
    encoding: "utf8",
    timeout: 60_000,
  });
  const file = join(mkdtempSync(join(tmpdir(), "provider-")), "provider.js");
  writeFileSync(file, serialized);
  try {
    report = JSON.parse(
      execFileSync(process.execPath, [join(support, "hostProvider.cjs"), file], { encoding: "utf8", timeout: 60_000 }),
    );
  } finally {
    rmSync(dirname(file), { recursive: true, force: true });
  }
}, 60_000);

describe("SigningKey provider on the engine's path", () => {
  it("serializes to a self-contained module that requires only jose and node:crypto", () => {
    expect(serialized).toMatch(/^exports\.handler = /);
    const required = [...serialized.matchAll(/require\("([^"]+)"\)/g)].map((m) => m[1]).sort();
    expect(required).toEqual(["jose", "node:crypto"]);
    expect(serialized).not.toMatch(/__vite|vitest|__vi_/);
  });

  it.each(["ES256", "RS256", "EdDSA"])(
    "creates a %s key whose role JWTs verify against its public half",
    async (algorithm) => {
      const created = report.created.find((c) => c.algorithm === algorithm)!;
      const { outs } = created;
      expect(created.id).toBe(outs.kid);
      expect(outs.privateJwk.alg).toBe(algorithm);
      expect(hasPrivateMember(outs.publicJwk)).toBe(false);
      for (const token of [outs.anonKey, outs.serviceRoleKey]) {
        expect(decodeProtectedHeader(token)).toEqual({ alg: algorithm, typ: "JWT", kid: outs.kid });
        await verifyWithJwks(token, { keys: [outs.publicJwk as Jwk] }, [algorithm]);
      }
    },
  );

  it("diffs and updates from the serialized text as it does in-process", () => {
    expect(report.diffs.same).toMatchObject({ changes: false, replaces: [] });
    expect(report.diffs.lifetime).toMatchObject({ changes: true, replaces: [] });
    expect(report.diffs.algorithm).toMatchObject({ changes: true, replaces: ["algorithm"] });
    const original = report.created[0].outs;
    expect(report.updated.kid).toBe(original.kid);
    expect(report.updated.privateJwk).toEqual(original.privateJwk);
    expect(report.updated.expiresAt - report.updated.issuedAt).toBe(8 * 86400);
  });
});
