/**
 * Blast radius of a key rotation (the signing keys', then an API key's): which containers each `pulumi up` of the
 * lifecycle would recreate, measured by running the real program under the stateful MockEngine
 * (testkit/blastRadius.ts).
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { supabaseProgram } from "../components/program";
import { changedInputs } from "../testkit/blastRadius";
import { MockEngine } from "../testkit/engine/engine";
import { TYPES } from "../testkit/engine/resources";
import { describeBlastRadius } from "./support/blastRadiusSuite";

// The EdDSA shape (no studio, legacy on, functions on) is in blastRadiusEdDSA.test.ts.
describeBlastRadius({ algorithm: "ES256", studio: true, legacyHs256: false, functions: false });

describe("a change to one function's file", () => {
  it("recreates the functions container and nothing else", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "functions-"));
    try {
      fs.mkdirSync(path.join(dir, "main"));
      fs.mkdirSync(path.join(dir, "hello"));
      fs.writeFileSync(path.join(dir, "main", "index.ts"), "// main\n");
      fs.writeFileSync(path.join(dir, "hello", "index.ts"), "// hello v1\n");
      const engine = new MockEngine();
      const config = {
        signingKeys: [{ name: "k1", state: "current" }],
        studio: false,
        functions: { enabled: true, dir },
      };
      const containers = async () => {
        const { registered } = await engine.run(config, supabaseProgram);
        return new Map(registered.filter((r) => r.type === TYPES.container).map((r) => [r.name, r.inputs]));
      };
      const before = await containers();
      fs.writeFileSync(path.join(dir, "hello", "index.ts"), "// hello v2\n");
      const after = await containers();
      const changed = [...after].filter(([name, inputs]) => changedInputs(before.get(name)!, inputs).length > 0);
      expect(changed.map(([name]) => name)).toEqual(["supabase-functions"]);
      expect(changedInputs(before.get("supabase-functions")!, after.get("supabase-functions")!)).toEqual(["uploads"]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
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
