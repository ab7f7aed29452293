/**
 * Keys added in one update: the engine may finish their creates in any order, so without an order of its own the
 * longest-trusted key (created first, ties by name) would be whichever create finished first, and a later promotion
 * could move the `sb_` keys' role JWTs and recreate kong, storage, studio and the functions. The keyring creates them
 * in name order; here the mock engine's clock ticks per create, and the config lists the keys against that order.
 */
import { describe, expect, it } from "vitest";
import { supabaseProgram } from "../../components/program";
import { changedInputs } from "../../testkit/blastRadius";
import { MockEngine } from "../../testkit/engine/engine";
import { TYPES } from "../../testkit/engine/resources";

const containers = (registered: Array<{ type: string; name: string; inputs: Record<string, unknown> }>) =>
  new Map(registered.filter((r) => r.type === TYPES.container).map((r) => [r.name, r.inputs]));

describe("two keys created in the same update", () => {
  it("are created in name order, and promoting the second recreates auth alone", async () => {
    const engine = new MockEngine();
    engine.msPerCreate = 5;
    // Listed against name order, with the functions on: they hold role JWTs too.
    const ring = (k2: string, k1: string) => ({
      signingKeys: [
        { name: "k2", state: k2 },
        { name: "k1", state: k1 },
      ],
      functions: { enabled: true },
    });
    const created = await engine.run(ring("standby", "current"), supabaseProgram);
    const createdAt = (name: string) => String(engine.stack.get(`supabase-key-${name}`)?.state.createdAt);
    expect(createdAt("k1") < createdAt("k2"), `k1 ${createdAt("k1")}, k2 ${createdAt("k2")}`).toBe(true);

    const promoted = await engine.run(ring("current", "previous"), supabaseProgram);
    const before = containers(created.registered);
    const replaced = [...containers(promoted.registered)]
      .filter(([name, inputs]) => changedInputs(before.get(name)!, inputs).length > 0)
      .map(([name]) => name);
    expect(replaced).toEqual(["supabase-auth"]);
  }, 30_000);
});
