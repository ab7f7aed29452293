/**
 * API keys through a leak, on the whole program under the stateful mock engine: a second secret key is added, the
 * first revoked, restored and removed, across a signing-key rotation. What each `pulumi up` keeps and changes: the
 * keys' values in state, the containers' environments and uploaded files, the stack outputs, and the guard's verdict.
 */
import { describe, expect, it } from "vitest";
import { MockEngine, type Registered } from "../../testkit/engine/engine";
import { TYPES } from "../../testkit/engine/resources";
import { isSecret } from "../../testkit/engine/run";
import { valueOf } from "../../testkit/engine/sdk";

const RING = [{ name: "k1", state: "current" }];
const BASE = { signingKeys: RING, functions: { enabled: true } };
const DEFAULTS = [
  { name: "publishable", kind: "publishable", state: "active" },
  { name: "secret", kind: "secret", state: "active" },
];
const BACKEND_2 = { name: "backend-2", kind: "secret", state: "active" };

let runs = 0;

/** One `pulumi up` of the program (index.ts, so its outputs too); the run's resources and resolved outputs. */
async function up(engine: MockEngine, config: Record<string, unknown>) {
  const { result, registered } = await engine.run(
    config,
    () => import(/* @vite-ignore */ `../../index.js?apikeys=${++runs}`) as Promise<Record<string, unknown>>,
  );
  const outputs: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(result)) outputs[name] = await valueOf(value as never);
  const secretOutputs = await Promise.all(Object.entries(result).map(async ([name, v]) => [name, await isSecret(v)]));
  return { registered, outputs, secret: Object.fromEntries(secretOutputs) as Record<string, boolean> };
}

const byName = (registered: Registered[], name: string) => registered.find((r) => r.name === name);
const randomOf = (registered: Registered[], name: string) => byName(registered, name)?.state.result as string;

/** A container's environment as a map. */
function envOf(registered: Registered[], role: string): Record<string, string> {
  const envs = byName(registered, `supabase-${role}`)!.inputs.envs as string[];
  return Object.fromEntries(envs.map((e) => [e.slice(0, e.indexOf("=")), e.slice(e.indexOf("=") + 1)]));
}

/** Everything a container holds: its environment and its uploaded files, as one text. */
const containerText = (r: Registered) => JSON.stringify([r.inputs.envs, r.inputs.uploads]);

/** The container roles whose environment or files hold `value`. */
const holders = (registered: Registered[], value: string) =>
  registered
    .filter((r) => r.type === TYPES.container && containerText(r).includes(value))
    .map((r) => r.name.replace(/^supabase-/, ""))
    .sort();

describe("API keys through a leaked secret key", () => {
  it("adds a key beside the old one, revokes the old one at once, restores and removes it", async () => {
    const engine = new MockEngine();

    // A0: no setting: the two keys every stack has.
    const a0 = await up(engine, BASE);
    const secret = a0.outputs.secretKey as string;
    const publishable = a0.outputs.publishableKey as string;
    expect(secret).toMatch(/^sb_secret_/);
    expect(a0.outputs.apiKeys).toEqual({ publishable, secret });
    expect(a0.secret).toMatchObject({ apiKeys: true, publishableKey: true, secretKey: true });
    expect(holders(a0.registered, secret)).toEqual(["functions", "kong", "studio"]);

    // A1: a second secret key; the first keeps its value and its place, both work.
    const a1 = await up(engine, { ...BASE, apiKeys: [...DEFAULTS, BACKEND_2] });
    expect(byName(a1.registered, "supabase-secret-key")!.operation).toBe("same");
    expect(byName(a1.registered, "supabase-secret-key-backend-2")!.operation).toBe("create");
    const backend2 = (a1.outputs.apiKeys as Record<string, string>)["backend-2"];
    expect(backend2).toMatch(/^sb_secret_/);
    expect(a1.outputs.apiKeys).toEqual({ "backend-2": backend2, publishable, secret });
    expect(a1.outputs.secretKey).toBe(secret);
    expect(holders(a1.registered, backend2)).toEqual(["functions", "kong"]);
    expect(JSON.parse(envOf(a1.registered, "functions").SUPABASE_SECRET_KEYS)).toEqual({
      default: secret,
      "backend-2": backend2,
    });
    expect(envOf(a1.registered, "studio").SUPABASE_SECRET_KEY).toBe(secret);

    // A2: the leaked key is revoked, without waiting and without the override; the new one takes its place.
    const a2 = await up(engine, { ...BASE, apiKeys: [DEFAULTS[0], { ...DEFAULTS[1], state: "revoked" }, BACKEND_2] });
    expect(holders(a2.registered, secret)).toEqual([]);
    expect(JSON.stringify(a2.outputs)).not.toContain(secret);
    expect(a2.outputs.secretKey).toBe(backend2);
    expect(envOf(a2.registered, "studio").SUPABASE_SECRET_KEY).toBe(backend2);
    expect(JSON.parse(envOf(a2.registered, "functions").SUPABASE_SECRET_KEYS)).toEqual({ default: backend2 });
    // Kept in state (a secret), so it can come back.
    expect(randomOf(a2.registered, "supabase-secret-key")).toBe(randomOf(a0.registered, "supabase-secret-key"));

    // A3: restored, in an update that also adds a signing key: the same value comes back, and no key changes.
    const a3 = await up(engine, {
      ...BASE,
      signingKeys: [...RING, { name: "k2", state: "standby" }],
      apiKeys: [DEFAULTS[0], { ...DEFAULTS[1], state: "active" }, BACKEND_2],
    });
    expect(a3.outputs.apiKeys).toEqual({ "backend-2": backend2, publishable, secret });

    // A4: removed, its random part leaves the state.
    const a4 = await up(engine, { ...BASE, apiKeys: [DEFAULTS[0], BACKEND_2] });
    expect(byName(a4.registered, "supabase-secret-key")).toBeUndefined();
    expect(engine.stack.has("supabase-secret-key")).toBe(false);
    expect(a4.outputs.apiKeys).toEqual({ "backend-2": backend2, publishable });
  }, 60_000);

  it("refuses a key revoked in the update that creates it, unless allowUnsafeRotation lets it through", async () => {
    const engine = new MockEngine();
    await up(engine, BASE);
    const revokedAtBirth = { ...BASE, apiKeys: [...DEFAULTS, { ...BACKEND_2, state: "revoked" }] };
    await expect(up(engine, revokedAtBirth)).rejects.toThrow(/apiKeys\[2\] \("backend-2"\): is revoked in the same/);
    const overridden = await up(engine, { ...revokedAtBirth, allowUnsafeRotation: true });
    expect(Object.keys(overridden.outputs.apiKeys as object)).toEqual(["publishable", "secret"]);
  }, 60_000);
});
