/**
 * Blast radius of a key rotation: which containers each `pulumi up` of the lifecycle would recreate, measured by
 * running the real program under the stateful MockEngine (scripts/lib/blastRadius.ts).
 */
import { beforeAll, describe, expect, it } from "vitest";
import type { ServiceRole } from "../components/services/index";
import {
  changedInputs,
  formatBlastRadius,
  measureBlastRadius,
  type BlastRadiusRow,
  type BlastRadiusTable,
} from "../scripts/lib/blastRadius";

/**
 * What each step may recreate: standby tells the verifiers and the gateway about the new key; the promotion only
 * changes the signer, so only auth; revoke takes the old key out of everything that knew it.
 */
const ALLOWED: Record<string, ServiceRole[]> = {
  "S1 add standby": ["auth", "rest", "realtime", "storage", "kong"],
  "S2 promote": ["auth"],
  "S3 revoke": ["auth", "rest", "realtime", "storage", "kong", "studio"],
};

function row(table: BlastRadiusTable, step: string, rerun: boolean): BlastRadiusRow {
  const found = table.rows.find((r) => r.step === step && r.rerun === rerun);
  if (!found) throw new Error(`no row for ${step}${rerun ? " re-run" : ""}`);
  return found;
}

describe.each([
  { algorithm: "ES256", studio: true, legacyHs256: false },
  { algorithm: "EdDSA", studio: false, legacyHs256: true },
] as const)("rotation with $algorithm keys (studio $studio, legacy $legacyHs256)", (options) => {
  let table: BlastRadiusTable;

  beforeAll(async () => {
    table = await measureBlastRadius(options);
    // Printed so a test log shows the measured table, not only pass/fail.
    console.log(formatBlastRadius(table));
  }, 60_000);

  it("creates every container once, at S0", () => {
    const expected = options.studio
      ? ["db", "auth", "rest", "realtime", "storage", "meta", "studio", "kong"]
      : ["db", "auth", "rest", "realtime", "storage", "kong"];
    expect(table.containers).toEqual(expected);
    expect(row(table, "S0 create", false).created).toEqual(expected);
    for (const r of table.rows.filter((r) => r !== row(table, "S0 create", false))) expect(r.created).toEqual([]);
  });

  it("changes nothing on a re-run with unchanged config", () => {
    for (const r of table.rows.filter((r) => r.rerun)) expect(r.replaced, r.step).toEqual([]);
  });

  it("recreates only the containers each step is allowed to touch", () => {
    for (const [step, allowed] of Object.entries(ALLOWED)) {
      const { replaced } = row(table, step, false);
      for (const role of replaced) expect(allowed, `${step} recreates ${role}`).toContain(role);
    }
  });

  it("recreates the containers that must learn about the change, and on a promotion auth alone", () => {
    expect(row(table, "S1 add standby", false).replaced).toEqual(["auth", "rest", "realtime", "storage", "kong"]);
    expect(row(table, "S2 promote", false).replaced).toEqual(["auth"]);
    expect(row(table, "S3 revoke", false).replaced).toEqual(
      options.studio
        ? ["auth", "rest", "realtime", "storage", "studio", "kong"]
        : ["auth", "rest", "realtime", "storage", "kong"],
    );
  });

  it("never recreates db or meta, and only ever because of their environment or uploaded files", () => {
    for (const r of table.rows) {
      expect(r.replaced).not.toContain("db");
      expect(r.replaced).not.toContain("meta");
      for (const [role, fields] of Object.entries(r.changes)) {
        for (const field of fields ?? []) expect(["envs", "uploads"], `${r.step} ${role}`).toContain(field);
      }
    }
  });

  it("recreates kong only for its kong.yml: its environment (KONG_DNS_VALID_TTL and the rest) never changes", () => {
    for (const r of table.rows) expect(r.changes.kong ?? [], r.step).not.toContain("envs");
  });
});

describe("changedInputs", () => {
  it("sees a change in any replacement-triggering input, ignores others and key order", () => {
    const base = { envs: ["A=1"], healthcheck: { tests: ["CMD", "x"], interval: "5s" }, restart: "unless-stopped" };
    expect(changedInputs(base, { ...base, healthcheck: { interval: "5s", tests: ["CMD", "x"] } })).toEqual([]);
    expect(changedInputs(base, { ...base, restart: "always" })).toEqual([]);
    expect(changedInputs(base, { ...base, envs: ["A=2"] })).toEqual(["envs"]);
    expect(changedInputs(base, { ...base, healthcheck: { tests: ["CMD", "y"], interval: "5s" } })).toEqual([
      "healthcheck",
    ]);
    expect(changedInputs(base, { ...base, image: "sha256:x" })).toEqual(["image"]);
  });
});
