/**
 * The RotationGuard provider: its check called directly (as the engine's dynamic-provider host calls it), the same
 * provider serialized by the SDK and run in a fresh node, and the resource under the stateful MockEngine.
 */
import * as pulumi from "@pulumi/pulumi";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { UNKNOWN_INPUT } from "../../components/keyring/engineValues";
import { checkRotationGuard, RotationGuard, rotationGuardProvider } from "../../components/keyring/rotationGuard";
import { SigningKey } from "../../components/keyring/signingKey";
import { generateSigningJwk } from "../../components/keyring/tokens";
import { MockEngine } from "../../testkit/engine/engine";

const provider = rotationGuardProvider as Required<pulumi.dynamic.ResourceProvider>;
const T0 = new Date("2026-05-01T12:00:00Z");
const SETTINGS = { allowUnsafeRotation: false, jwksCacheSeconds: 1200, jwtExpiry: 3600 };
const FAR = Math.floor(T0.getTime() / 1000) + 365 * 86_400;

/** One key as the engine hands it to check: kid/createdAt/expiresAt are the unknown marker for a new key in preview. */
const key = (index: number, name: string, state: string, known = true) => ({
  index,
  name,
  state,
  algorithm: "ES256",
  source: "generated",
  kid: known ? `kid-${name}` : UNKNOWN_INPUT,
  createdAt: known ? T0.toISOString() : UNKNOWN_INPUT,
  expiresAt: known ? FAR : UNKNOWN_INPUT,
});

/** The inputs the engine stored after an update applying `keys` at time `at`. */
function applied(keys: Array<Record<string, unknown>>, at: Date) {
  const { inputs, failures } = checkRotationGuard({}, { ...SETTINGS, keys }, at);
  expect(failures).toEqual([]);
  return inputs;
}

afterEach(() => vi.restoreAllMocks());

describe("RotationGuard check, as the dynamic-provider host calls it", () => {
  it("fails a preview that promotes a key created in the same update (its outputs are unknown)", async () => {
    const olds = applied([key(0, "k1", "current")], T0);
    const news = {
      __provider: "exports.handler = …",
      ...SETTINGS,
      keys: [key(0, "k1", "previous"), key(1, "k2", "current", false)],
    };
    const { inputs, failures } = await provider.check(olds, news);
    expect(failures).toHaveLength(1);
    // No property: the engine prints "<type> resource '<name>' has a problem: <reason>" and echoes no inputs.
    expect(failures![0].property).toBe("");
    expect(failures![0].reason).toContain(
      'supabase-selfhosted:signingKeys[1] ("k2"): becomes current in the same update that creates it',
    );
    expect(inputs).not.toHaveProperty("__provider");
  });

  it("passes a first deployment and stores the ring it saw in the inputs it returns", async () => {
    const news = { ...SETTINGS, keys: [key(0, "k1", "current", false)] };
    const { inputs, failures } = await provider.check({}, news);
    expect(failures).toEqual([]);
    expect(inputs).toMatchObject({
      ...news,
      ring: [{ name: "k1", state: "current", algorithm: "ES256", source: "generated" }],
    });
    // An unknown kid is not remembered as a kid.
    expect((inputs as { ring: Array<Record<string, unknown>> }).ring[0]).not.toHaveProperty("kid");
  });

  it("judges against the ring stored with the old inputs, not against the old key list", async () => {
    const olds = applied([key(0, "k1", "current"), key(1, "k2", "standby")], T0);
    const promote = { ...SETTINGS, keys: [key(0, "k1", "previous"), key(1, "k2", "current")] };
    const early = checkRotationGuard(olds, promote, new Date(T0.getTime() + 300_000));
    expect(early.failures.map((f) => f.reason).join("\n")).toContain("was published only 300 s ago");
    const later = checkRotationGuard(olds, promote, new Date(T0.getTime() + 1_200_000));
    expect(later.failures).toEqual([]);
    expect(later.inputs.ring).toEqual([
      {
        name: "k1",
        state: "previous",
        algorithm: "ES256",
        source: "generated",
        kid: "kid-k1",
        publishedAt: T0.toISOString(),
        retiredAt: "2026-05-01T12:20:00.000Z",
      },
      {
        name: "k2",
        state: "current",
        algorithm: "ES256",
        source: "generated",
        kid: "kid-k2",
        publishedAt: T0.toISOString(),
      },
    ]);
  });

  it("lets an overridden problem through and prints it as a warning on stderr", async () => {
    const errors = vi.spyOn(console, "error").mockImplementation(() => undefined);
    const olds = applied([key(0, "k1", "current")], T0);
    const news = { ...SETTINGS, allowUnsafeRotation: true, keys: [key(0, "k2", "current", false)] };
    const { failures } = await provider.check(olds, news);
    expect(failures).toEqual([]);
    const printed = errors.mock.calls.map((c) => String(c[0])).join("\n");
    expect(printed).toContain("warning: allowUnsafeRotation let this through:");
    expect(printed).toContain("removing its entry deletes the key");
  });

  it("keeps its memory when the key list itself is unknown", () => {
    const olds = applied([key(0, "k1", "current")], T0);
    const { inputs, failures } = checkRotationGuard(olds, { ...SETTINGS, keys: UNKNOWN_INPUT }, T0);
    expect(failures).toEqual([]);
    expect(inputs.ring).toEqual(olds.ring);
  });
});

describe("RotationGuard diff, create and update", () => {
  it("reports no change for the same checked inputs, and a change when the ring or a setting moves", async () => {
    const stored = applied([key(0, "k1", "current")], T0);
    const { outs } = await provider.create({ __provider: "x", ...stored });
    expect(outs).toEqual(stored);
    expect(await provider.diff("rotation-guard", outs, { ...stored })).toMatchObject({ changes: false, replaces: [] });
    expect((await provider.diff("rotation-guard", outs, { ...stored, jwksCacheSeconds: 60 })).changes).toBe(true);
    const next = applied([key(0, "k1", "current"), key(1, "k2", "standby")], T0);
    expect((await provider.diff("rotation-guard", outs, next)).changes).toBe(true);
    expect((await provider.update("rotation-guard", outs, { __provider: "x", ...next })).outs).toEqual(next);
  });

  it("ignores the order of signingKeys (only the messages use positions)", async () => {
    const stored = applied([key(0, "k1", "current"), key(1, "k2", "standby")], T0);
    const reordered = applied([key(0, "k2", "standby"), key(1, "k1", "current")], T0);
    expect((await provider.diff("rotation-guard", stored, reordered)).changes).toBe(false);
  });
});

describe("RotationGuard on the engine's path", () => {
  let report: { failures: Array<{ reason: string }>; ring: unknown[]; required: string[] };

  beforeAll(() => {
    const root = join(__dirname, "..", "..");
    // Child 1: load the component as the CLI would and capture the provider text the SDK serializes into state.
    const serialize = `
      const { registerLikePulumiCli, projectRoot } = require(${JSON.stringify(join(__dirname, "..", "support", "cliRuntime.cjs"))});
      registerLikePulumiCli(projectRoot, { transpileOnly: true });
      const pulumi = require("@pulumi/pulumi");
      const { RotationGuard } = require("./components/keyring/rotationGuard.ts");
      let text;
      pulumi.runtime.setMocks({ newResource(a) { text = a.inputs.__provider; return { id: "g", state: {} }; }, call: (a) => a.inputs },
        "supabase-selfhosted", "test", true).then(async () => {
        new RotationGuard("probe", { keys: [], allowUnsafeRotation: false, jwksCacheSeconds: 1200, jwtExpiry: 3600 });
        await require("@pulumi/pulumi/runtime/settings").waitForRPCs();
        process.stdout.write(text);
      });`;
    const text = execFileSync(process.execPath, ["-e", serialize], { cwd: root, encoding: "utf8", timeout: 60_000 });
    const file = join(mkdtempSync(join(tmpdir(), "guard-")), "provider.js");
    writeFileSync(file, text);
    // Child 2: a fresh node loads that text as the dynamic-provider host does and runs check.
    const host = `
      const sdk = require.resolve("@pulumi/pulumi");
      const requireFromString = require(require.resolve("require-from-string", { paths: [require("path").dirname(sdk)] }));
      const text = require("fs").readFileSync(${JSON.stringify(file)}, "utf8");
      const provider = requireFromString(text).handler();
      const settings = { allowUnsafeRotation: false, jwksCacheSeconds: 1200, jwtExpiry: 3600 };
      const key = (index, name, state, kid) => ({ index, name, state, algorithm: "ES256", source: "generated", kid, createdAt: kid, expiresAt: kid });
      (async () => {
        const first = await provider.check({}, { ...settings, keys: [key(0, "k1", "current", ${JSON.stringify(UNKNOWN_INPUT)})] });
        const second = await provider.check(first.inputs, { ...settings, keys: [key(0, "k1", "previous", "kid-1"), key(1, "k2", "current", ${JSON.stringify(UNKNOWN_INPUT)})] });
        const required = [...text.matchAll(/require\\("([^"]+)"\\)/g)].map((m) => m[1]);
        process.stdout.write(JSON.stringify({ failures: second.failures, ring: first.inputs.ring, required }));
      })();`;
    try {
      report = JSON.parse(
        execFileSync(process.execPath, ["-e", host], { cwd: root, encoding: "utf8", timeout: 60_000 }),
      );
    } finally {
      rmSync(dirname(file), { recursive: true, force: true });
    }
  }, 90_000);

  it("serializes to a module that needs nothing but the SDK's own host", () => {
    expect(report.required).toEqual([]);
    expect(report.ring).toHaveLength(1);
  });

  it("fails the same preview from the serialized text", () => {
    expect(report.failures.map((f) => f.reason).join("\n")).toContain(
      "becomes current in the same update that creates it",
    );
  });
});

describe("RotationGuard under the stateful MockEngine", () => {
  /** A miniature keyring: one SigningKey per entry, and the guard over their outputs. */
  const program =
    (entries: Array<[string, string]>, settings: Partial<typeof SETTINGS> = {}) =>
    () => {
      const keys = entries.map(([name, state], index) => {
        const k = new SigningKey(`t-key-${name}`, { algorithm: "ES256", apiKeyLifetimeDays: 30 });
        return {
          index,
          name,
          state: state as "current",
          algorithm: "ES256" as const,
          source: "generated",
          kid: k.kid,
          createdAt: k.createdAt,
          expiresAt: k.expiresAt,
        };
      });
      const guard = new RotationGuard("t-guard", { keys, ...SETTINGS, ...settings });
      return { ring: guard.ring };
    };
  const snapshot = (engine: MockEngine) => JSON.stringify([...engine.stack.entries()]);

  it("walks the runbook when each step comes a day after the last, and a re-run changes nothing", async () => {
    const engine = new MockEngine();
    for (const step of [
      [["k1", "current"]],
      [
        ["k1", "current"],
        ["k2", "standby"],
      ],
      [
        ["k1", "previous"],
        ["k2", "current"],
      ],
      [
        ["k1", "revoked"],
        ["k2", "current"],
      ],
      [["k2", "current"]],
    ] as Array<Array<[string, string]>>) {
      await engine.run({}, program(step));
    }
    const again = await engine.run({}, program([["k2", "current"]]));
    expect(again.registered.find((r) => r.name === "t-guard")?.operation).toBe("same");
  });

  it(
    "fails a too-early promotion with the engine's wording, commits nothing, and accepts it once " +
      "the cache time has passed",
    async () => {
      const engine = new MockEngine();
      engine.secondsBetweenRuns = 0;
      await engine.run({}, program([["k1", "current"]]));
      await engine.run(
        {},
        program([
          ["k1", "current"],
          ["k2", "standby"],
        ]),
      );
      const before = snapshot(engine);
      const failed = engine.run(
        {},
        program([
          ["k1", "previous"],
          ["k2", "current"],
        ]),
      );
      await expect(failed).rejects.toThrow(
        /RotationGuard resource 't-guard' has a problem: supabase-selfhosted:signingKeys\[1\] \("k2"\): was published only 0 s ago/,
      );
      expect(snapshot(engine)).toBe(before);

      engine.clock = new Date(engine.clock.getTime() + 1200 * 1000);
      const { registered } = await engine.run(
        {},
        program([
          ["k1", "previous"],
          ["k2", "current"],
        ]),
      );
      expect(registered.find((r) => r.name === "t-guard")?.operation).toBe("update");
      const ring = engine.stack.get("t-guard")!.inputs.ring as Array<Record<string, unknown>>;
      expect(ring.find((r) => r.name === "k1")).toMatchObject({
        state: "previous",
        retiredAt: engine.clock.toISOString(),
      });
    },
  );

  it("keeps no key material in its state, even for an imported key", async () => {
    const { SigningKeyring } = await import("../../components/keyring/signingKeyring.js");
    const { parseConfig } = await import("../../components/config/parse.js");
    const jwk = await generateSigningJwk("ES256", "imported");
    const config = parseConfig({
      signingKeys: JSON.stringify([{ name: "k1", state: "current", privateJwk: JSON.stringify(jwk) }]),
    });
    const engine = new MockEngine();
    await engine.run({}, () => new SigningKeyring("supabase", { config }));
    const guard = engine.stack.get("supabase-rotation-guard")!;
    const text = JSON.stringify([guard.inputs, guard.state]);
    expect(text).not.toContain(String(jwk.d));
    expect(text).toContain("jwk-thumbprint:");
    expect(text).toContain('"kid":"imported"');
  });

  it("fails removing the current key even a day later", async () => {
    const engine = new MockEngine();
    await engine.run(
      {},
      program([
        ["k1", "current"],
        ["k2", "standby"],
      ]),
    );
    await expect(engine.run({}, program([["k2", "current"]]))).rejects.toThrow(
      /\("k1", removed\): is the key that signs every token/,
    );
  });
});
