/**
 * Upgrading changes only what docs/upgrading.md says: a stack created by an earlier commit's program (its state
 * recorded under the stateful mock engine, in test/fixtures/upgrade/), updated by this program with the same config,
 * changes exactly the resources that table lists (recreated, created, deleted), and every other resource keeps its
 * state, its type and its parent (so its URN).
 *
 * The fixtures were recorded at commit d68f269 (the program before the settings registry) with the config each holds.
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

/** Which of the table's conditions ("when") each recorded stack meets. */
const CONDITIONS: Record<string, string[]> = {
  defaults: ["every", "without legacyHs256"],
  everything: ["every", "with legacyHs256", "with functions.enabled"],
};

/** The changes docs/upgrading.md lists for a recorded stack: `<resource>: <change>`. */
function documentedChanges(config: string): string[] {
  const doc = fs.readFileSync(path.join(__dirname, "..", "docs", "upgrading.md"), "utf8");
  const table = doc.slice(doc.indexOf("<!-- upgrade changes"), doc.indexOf("<!-- end of upgrade changes"));
  return table
    .split("\n")
    .filter((line) => line.startsWith("| `"))
    .map((line) => line.split("|").map((cell) => cell.trim().replace(/`/g, "")))
    .filter(([, , when]) => CONDITIONS[config].includes(when))
    .map(([, resource, , change]) => `${resource}: ${change}`)
    .filter((change, i, all) => all.indexOf(change) === i)
    .sort();
}

/** What the mock engine's operation means for a resource: a Docker resource changed is a recreated one. */
const changeOf = (type: string, operation: string) =>
  operation === "update" && type.startsWith("docker:")
    ? "recreated"
    : operation === "replace"
      ? "recreated"
      : operation === "create"
        ? "created"
        : operation;

let runs = 0;

describe.each(["defaults", "everything"])("a stack recorded at d68f269 with the %s config", (name) => {
  it("changes exactly what docs/upgrading.md lists", async () => {
    const fixture = JSON.parse(fs.readFileSync(path.join(FIXTURES, `${name}.json`), "utf8")) as Fixture;
    const engine = new MockEngine();
    for (const { parent: _parent, ...resource } of fixture.resources) engine.stack.set(resource.name, resource);
    await engine.run(fixture.config, () => import(/* @vite-ignore */ `../index.js?upgrade=${++runs}`), {
      secretKeys: fixture.secretKeys,
    });
    const changed = engine.registered
      .filter((r) => r.operation !== "same")
      .map((r) => `${r.name}: ${changeOf(r.type, r.operation)}`);
    const registered = new Set(engine.registered.map((r) => r.name));
    const deleted = fixture.resources.filter((r) => !registered.has(r.name)).map((r) => `${r.name}: deleted`);
    expect([...changed, ...deleted].sort()).toEqual(documentedChanges(name));
    // Custom resources only: the mock engine keys its state by name, and both components are named `supabase`; each
    // component's type and name are part of its children's parent URNs, which are compared.
    const custom = (r: { type: string }) => !r.type.startsWith("supabase-selfhosted:index:");
    const identity = (r: { type: string; name: string }, parent: string) => `${r.type}::${r.name} under ${parent}`;
    const kept = (r: { name: string }) => !changed.concat(deleted).some((c) => c.startsWith(`${r.name}: `));
    expect(
      engine.registered
        .filter((r) => custom(r) && kept(r))
        .map((r) => identity(r, engine.options.get(r.name)?.parent ?? ""))
        .sort(),
    ).toEqual(
      fixture.resources
        .filter((r) => custom(r) && kept(r))
        .map((r) => identity(r, r.parent))
        .sort(),
    );
  });
});
