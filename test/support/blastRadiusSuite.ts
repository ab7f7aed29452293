/**
 * The blast-radius assertions for one stack shape, shared by the test files that run them (one file per shape, so
 * vitest's two workers measure two shapes at once): which containers each `pulumi up` of the lifecycle recreates on
 * Docker, and that Kubernetes rolls the same workloads.
 */
import { beforeAll, describe, expect, it } from "vitest";
import type { Algorithm } from "../../components/keyring/algorithms";
import type { ServiceRole } from "../../components/services/index";
import {
  formatBlastRadius,
  measureBlastRadius,
  type BlastRadiusRow,
  type BlastRadiusTable,
} from "../../testkit/blastRadius";

/**
 * What each step may recreate: standby tells the verifiers and the gateway about the new key; the promotion only
 * changes the signer, so only auth; revoke takes the old key out of everything that knew it. The pooler and
 * imgproxy hold nothing of the keyring that changes, so never.
 */
const ALLOWED: Record<string, ServiceRole[]> = {
  "S1 add standby": ["auth", "rest", "realtime", "storage", "functions", "kong"],
  "S2 promote": ["auth"],
  "S3 revoke": ["auth", "rest", "realtime", "storage", "kong", "studio", "functions"],
  // An API key is held by kong, the functions and (the first active one of each kind) studio, and nothing else.
  "A1 add secret key": ["functions", "kong"],
  "A2 revoke secret key": ["studio", "functions", "kong"],
  "A3 remove secret key": [],
};

function row(table: BlastRadiusTable, step: string, rerun: boolean): BlastRadiusRow {
  const found = table.rows.find((r) => r.step === step && r.rerun === rerun);
  if (!found) throw new Error(`no row for ${step}${rerun ? " re-run" : ""}`);
  return found;
}

/** The stack shapes the blast radius is measured for. */
export interface BlastRadiusShape {
  algorithm: Algorithm;
  studio: boolean;
  legacyHs256: boolean;
  functions: boolean;
}

/** Declares the blast-radius tests of one stack shape. */
export function describeBlastRadius(options: BlastRadiusShape): void {
  const title = `rotation with ${options.algorithm} keys (studio ${options.studio}, legacy ${options.legacyHs256}, functions ${options.functions})`;
  describe(title, () => {
    let table: BlastRadiusTable;

    beforeAll(async () => {
      table = await measureBlastRadius(options);
      // Printed so a test log shows the measured table, not only pass/fail.
      console.log(formatBlastRadius(table));
    }, 60_000);

    it("creates every container once, at S0", () => {
      const expected = [
        ...["db", "backup", "auth", "rest", "realtime", "imgproxy", "storage"],
        ...(options.studio ? ["meta", "studio"] : []),
        "pooler",
        ...(options.functions ? ["functions"] : []),
        "kong",
      ];
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
      const functions = options.functions ? ["functions"] : [];
      expect(row(table, "S1 add standby", false).replaced).toEqual([
        "auth",
        "rest",
        "realtime",
        "storage",
        ...functions,
        "kong",
      ]);
      expect(row(table, "S2 promote", false).replaced).toEqual(["auth"]);
      expect(row(table, "S3 revoke", false).replaced).toEqual([
        ...["auth", "rest", "realtime", "storage"],
        ...(options.studio ? ["studio"] : []),
        ...functions,
        "kong",
      ]);
    });

    it("recreates only what holds API keys when one is added, revoked or removed; studio only when its key changes", () => {
      const functions = options.functions ? ["functions"] : [];
      expect(row(table, "A1 add secret key", false).replaced).toEqual([...functions, "kong"]);
      expect(row(table, "A2 revoke secret key", false).replaced).toEqual([
        ...(options.studio ? ["studio"] : []),
        ...functions,
        "kong",
      ]);
      // A revoked key is in no container already: removing it deletes its value from state and touches nothing else.
      expect(row(table, "A3 remove secret key", false).replaced).toEqual([]);
    });

    it("never recreates db, meta, the pooler or imgproxy, and only ever because of env or uploaded files", () => {
      for (const r of table.rows) {
        for (const role of ["db", "meta", "pooler", "imgproxy"] as const) expect(r.replaced).not.toContain(role);
        for (const [role, fields] of Object.entries(r.changes)) {
          for (const field of fields ?? []) expect(["envs", "uploads"], `${r.step} ${role}`).toContain(field);
        }
      }
    });

    it("recreates kong only for its kong.yml: its environment (KONG_DNS_VALID_TTL and the rest) never changes", () => {
      for (const r of table.rows) expect(r.changes.kong ?? [], r.step).not.toContain("envs");
    });

    it("rolls on Kubernetes exactly the workloads it recreates on Docker, at every step and re-run", async () => {
      const kubernetes = await measureBlastRadius({ ...options, target: "kubernetes" });
      console.log(formatBlastRadius(kubernetes));
      // The backup service runs on the Docker target only for now; every other workload is compared.
      const onKubernetes = (roles: readonly string[]) => roles.filter((role) => role !== "backup");
      expect(kubernetes.containers).toEqual(onKubernetes(table.containers));
      expect(kubernetes.rows.map((r) => [r.step, r.rerun, r.created, r.replaced])).toEqual(
        table.rows.map((r) => [r.step, r.rerun, onKubernetes(r.created), onKubernetes(r.replaced)]),
      );
      for (const r of kubernetes.rows)
        for (const fields of Object.values(r.changes)) expect(fields).toEqual(["template"]);
    }, 60_000);
  });
}
