/**
 * Upgrading recreates nothing: a stack created by an earlier commit's program (its state recorded under the stateful
 * mock engine, in test/fixtures/upgrade/), updated by this program with the same config, changes no resource: none
 * replaced, updated, created or deleted, and each keeps its type and parent (so its URN).
 *
 * The fixtures were recorded at commit d68f269 (the program before the settings registry) with the config each holds.
 * When a change must replace something on purpose, say so in the upgrade notes and record the fixtures again.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { MockEngine, type StoredResource } from "../testkit/engine/engine";

interface Fixture {
  config: Record<string, unknown>;
  secretKeys: string[];
  resources: Array<StoredResource & { parent: string }>;
}

const FIXTURES = path.join(__dirname, "fixtures", "upgrade");

let runs = 0;

describe.each(["defaults", "everything"])("a stack recorded at d68f269 with the %s config", (name) => {
  it("is left exactly as it is by this program", async () => {
    const fixture = JSON.parse(fs.readFileSync(path.join(FIXTURES, `${name}.json`), "utf8")) as Fixture;
    const engine = new MockEngine();
    for (const { parent: _parent, ...resource } of fixture.resources) engine.stack.set(resource.name, resource);
    await engine.run(fixture.config, () => import(/* @vite-ignore */ `../index.js?upgrade=${++runs}`), {
      secretKeys: fixture.secretKeys,
    });
    const changed = engine.registered.filter((r) => r.operation !== "same").map((r) => `${r.name}: ${r.operation}`);
    expect(changed).toEqual([]);
    // Custom resources only: the mock engine keys its state by name, and both components are named `supabase`; each
    // component's type and name are part of its children's parent URNs, which are compared.
    const custom = (r: { type: string }) => !r.type.startsWith("supabase-selfhosted:index:");
    const identity = (r: { type: string; name: string }, parent: string) => `${r.type}::${r.name} under ${parent}`;
    expect(
      engine.registered
        .filter(custom)
        .map((r) => identity(r, engine.options.get(r.name)?.parent ?? ""))
        .sort(),
    ).toEqual(
      fixture.resources
        .filter(custom)
        .map((r) => identity(r, r.parent))
        .sort(),
    );
  });
});
