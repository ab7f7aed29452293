/**
 * The warnings a preview shows for algorithm choices that break something outside the program: supabase-js's
 * getClaims() with an EdDSA key current (or about to be), and a realtime image older than its EdDSA support.
 */
import { describe, expect, it } from "vitest";
import { parseConfig, settingsWarnings } from "../../components/config/parse";
import { clientCompatibilityWarnings } from "../../components/keyring/clientCompatibility";
import { realtimeAlgorithmWarnings } from "../../components/services/realtime/realtime";

describe("EdDSA and supabase-js's getClaims()", () => {
  it("warns for an EdDSA key that is current, and for a standby one before it is promoted", () => {
    const warnings = clientCompatibilityWarnings([
      { name: "k1", state: "previous", algorithm: "EdDSA" },
      { name: "k2", state: "current", algorithm: "EdDSA" },
      { name: "k3", state: "standby", algorithm: "EdDSA" },
    ]);
    expect(warnings).toHaveLength(2);
    expect(warnings[0]).toMatch(
      /^supabase-selfhosted:signingKeys\[1\] \(k2\) signs with EdDSA: .*getClaims\(\) throws/,
    );
    expect(warnings[1]).toMatch(/^supabase-selfhosted:signingKeys\[2\] \(k3\) is an EdDSA key: once it is promoted/);
  });

  it("says nothing for ES256 and RS256 keys, or an EdDSA key that only verifies", () => {
    expect(
      clientCompatibilityWarnings([
        { name: "k1", state: "revoked", algorithm: "EdDSA" },
        { name: "k2", state: "current", algorithm: "ES256" },
        { name: "k3", state: "standby", algorithm: "RS256" },
      ]),
    ).toEqual([]);
  });
});

describe("EdDSA and an older realtime", () => {
  it("warns when realtime is tagged before v2.125.1 and an EdDSA key is current", () => {
    expect(realtimeAlgorithmWarnings("supabase/realtime:v2.125.0", "EdDSA")[0]).toMatch(
      /images\.realtime is supabase\/realtime:v2\.125\.0, older than v2\.125\.1: it refuses EdDSA tokens/,
    );
    expect(realtimeAlgorithmWarnings("registry:5000/realtime:v2.34.47", "EdDSA")).toHaveLength(1);
    expect(realtimeAlgorithmWarnings("supabase/realtime:v1.200.0@sha256:" + "a".repeat(64), "EdDSA")).toHaveLength(1);
  });

  it("says nothing from v2.125.1 on, for another algorithm, or when the version cannot be told from the reference", () => {
    for (const image of ["supabase/realtime:v2.125.1", "supabase/realtime:v2.134.10", "supabase/realtime:v3.0.0"]) {
      expect(realtimeAlgorithmWarnings(image, "EdDSA")).toEqual([]);
    }
    expect(realtimeAlgorithmWarnings("supabase/realtime:v2.100.0", "ES256")).toEqual([]);
    expect(realtimeAlgorithmWarnings("supabase/realtime@sha256:" + "a".repeat(64), "EdDSA")).toEqual([]);
    expect(realtimeAlgorithmWarnings("supabase/realtime:custom-build", "EdDSA")).toEqual([]);
  });

  it("reaches the program's warnings from the stack config", () => {
    const config = parseConfig({
      signingKeys: JSON.stringify([{ name: "k1", state: "current", algorithm: "EdDSA" }]),
      images: JSON.stringify({ realtime: "supabase/realtime:v2.120.0" }),
      gatewayHost: "127.0.0.1",
    });
    expect(settingsWarnings(config, new Set()).filter((w) => w.includes("images.realtime"))).toHaveLength(1);
  });
});
