/**
 * The rotation guard rails as pure functions: each scenario is a sequence of updates, each judged against the ring
 * the previous one recorded, with explicit clocks.
 */
import { calculateJwkThumbprint } from "jose";
import { describe, expect, it } from "vitest";
import type { Algorithm } from "../../components/keyring/algorithms";
import type { KeyState } from "../../components/keyring/model";
import {
  configWarnings,
  evaluateRotation,
  expiryFindings,
  importedKeySource,
  keySource,
  type GuardOptions,
  type GuardVerdict,
  type KeyFacts,
  type KeyRecord,
} from "../../components/keyring/rotationRules";
import { generateSigningJwk } from "../../components/keyring/tokens";

const T0 = new Date("2026-05-01T12:00:00Z");
const at = (seconds: number) => new Date(T0.getTime() + seconds * 1000);
const OPTIONS: GuardOptions = { allowUnsafeRotation: false, jwksCacheSeconds: 1200, jwtExpiry: 3600 };
const FAR = Math.floor(T0.getTime() / 1000) + 1825 * 86_400;

type Spec = [name: string, state: KeyState, extra?: Partial<KeyFacts>];

/** The keys of one planned update, in config order; kids default to one per name (known, as after an apply). */
function ring(...specs: Spec[]): KeyFacts[] {
  return specs.map(([name, state, extra], index) => ({
    index,
    name,
    state,
    algorithm: "ES256" as Algorithm,
    source: "generated",
    kid: `kid-${name}`,
    expiresAt: FAR,
    ...extra,
  }));
}

/** Runs updates in order, each against the ring the one before recorded; returns every verdict. */
function updates(steps: Array<[seconds: number, next: KeyFacts[]]>, options: GuardOptions = OPTIONS): GuardVerdict[] {
  let previous: KeyRecord[] | undefined;
  return steps.map(([seconds, next]) => {
    const verdict = evaluateRotation({ previous, next, now: at(seconds), options });
    if (verdict.errors.length === 0) previous = verdict.ring; // a failed preview changes nothing
    return verdict;
  });
}

const last = <T>(list: T[]) => list[list.length - 1];

describe("the runbook passes", () => {
  it("add standby, wait the cache time, promote, wait jwtExpiry + 15 min, revoke, remove", () => {
    const verdicts = updates([
      [0, ring(["k1", "current"])],
      [60, ring(["k1", "current"], ["k2", "standby"])],
      [60 + 1200, ring(["k1", "previous"], ["k2", "current"])],
      [60 + 1200 + 3600 + 900, ring(["k1", "revoked"], ["k2", "current"])],
      [60 + 1200 + 3600 + 960, ring(["k2", "current"])],
    ]);
    for (const v of verdicts) expect(v.errors).toEqual([]);
    expect(verdicts.every((v) => v.warnings.length === 0)).toBe(true);
  });

  it("lets a previous key sign again (rolling back a promotion) at once", () => {
    const verdicts = updates([
      [0, ring(["k1", "current"], ["k2", "standby"])],
      [1300, ring(["k1", "previous"], ["k2", "current"])],
      [1310, ring(["k1", "current"], ["k2", "previous"])],
    ]);
    expect(last(verdicts).errors).toEqual([]);
  });

  it("does not mistake an updated key (kid unknown during preview) for a new one", () => {
    const verdicts = updates([
      [0, ring(["k1", "current"], ["k2", "standby"])],
      // apiKeyLifetimeDays changed: both keys are updated in place, so their outputs are unknown in the preview.
      [
        1300,
        ring(
          ["k1", "previous", { kid: undefined, expiresAt: undefined }],
          ["k2", "current", { kid: undefined, expiresAt: undefined }],
        ),
      ],
    ]);
    expect(last(verdicts).errors).toEqual([]);
  });

  it("checks nothing but expiry on a first deployment", () => {
    const [first] = updates([[0, ring(["k1", "revoked"], ["k2", "current", { kid: undefined }])]]);
    expect(first.errors).toEqual([]);
  });
});

describe("promoting a key", () => {
  it("in the update that creates it is an error that names the entry and says to add it as standby first", () => {
    const [, v] = updates([
      [0, ring(["k1", "current"])],
      [5000, ring(["k1", "previous"], ["k2", "current", { kid: undefined, createdAt: undefined }])],
    ]);
    expect(v.errors).toHaveLength(1);
    expect(v.errors[0]).toContain('supabase-selfhosted:signingKeys[1] ("k2")');
    expect(v.errors[0]).toContain("becomes current in the same update that creates it");
    expect(v.errors[0]).toContain("Add it with state standby");
    expect(v.errors[0]).toContain("allowUnsafeRotation");
  });

  it("that is new even though its kid is already known (pulumi up after a skipped preview) is an error too", () => {
    const [, v] = updates([
      [0, ring(["k1", "current"])],
      [5000, ring(["k1", "previous"], ["k2", "current"])],
    ]);
    expect(v.errors.join("\n")).toContain("creates it");
  });

  it("whose algorithm changed in this update (a replacement) is an error", () => {
    const [, , v] = updates([
      [0, ring(["k1", "current"], ["k2", "standby"])],
      [5000, ring(["k1", "current"], ["k2", "standby"])],
      [9000, ring(["k1", "previous"], ["k2", "current", { algorithm: "RS256", kid: undefined }])],
    ]);
    expect(v.errors.join("\n")).toContain("replaces it with a new key (its algorithm or privateJwk changed)");
  });

  it("published less than jwksCacheSeconds ago is an error that says when it becomes safe", () => {
    const verdicts = updates([
      [0, ring(["k1", "current"])],
      [100, ring(["k1", "current"], ["k2", "standby"])],
      [100 + 600, ring(["k1", "previous"], ["k2", "current"])],
    ]);
    const error = last(verdicts).errors.join("\n");
    expect(error).toContain('signingKeys[1] ("k2"): was published only 600 s ago (at 2026-05-01T12:01:40.000Z)');
    expect(error).toContain("jwksCacheSeconds (1200 s)");
    expect(error).toContain("Promote it after 2026-05-01T12:21:40.000Z (in 10 min)");
  });

  it("respects a shorter jwksCacheSeconds", () => {
    const verdicts = updates(
      [
        [0, ring(["k1", "current"])],
        [100, ring(["k1", "current"], ["k2", "standby"])],
        [100 + 61, ring(["k1", "previous"], ["k2", "current"])],
      ],
      { ...OPTIONS, jwksCacheSeconds: 60 },
    );
    expect(last(verdicts).errors).toEqual([]);
  });

  it("that is revoked in the last applied update is an error, even if it was published long ago", () => {
    const verdicts = updates([
      [0, ring(["k1", "current"], ["k2", "standby"])],
      [2000, ring(["k1", "previous"], ["k2", "current"])],
      [9000, ring(["k1", "revoked"], ["k2", "current"])],
      [99000, ring(["k1", "current"], ["k2", "previous"])],
    ]);
    expect(last(verdicts).errors.join("\n")).toContain('signingKeys[0] ("k1"): is revoked in the last applied update');
  });

  it("counts the cache time again from when a revoked key is published again", () => {
    const verdicts = updates([
      [0, ring(["k1", "current"], ["k2", "standby"])],
      [2000, ring(["k1", "previous"], ["k2", "current"])],
      [9000, ring(["k1", "revoked"], ["k2", "current"])],
      [20000, ring(["k1", "standby"], ["k2", "current"])],
      [20600, ring(["k1", "current"], ["k2", "previous"])],
      [21300, ring(["k1", "current"], ["k2", "previous"])],
    ]);
    expect(verdicts[4].errors.join("\n")).toContain("published only 600 s ago");
    expect(verdicts[5].errors).toEqual([]);
  });

  it("of a stack that predates the guard uses the key's creation time as its publication time", () => {
    const created = at(-10_000).toISOString();
    const verdicts = updates([
      [0, ring(["k1", "current", { createdAt: created }], ["k2", "standby", { createdAt: at(-300).toISOString() }])],
      [100, ring(["k1", "previous"], ["k2", "current"])],
    ]);
    expect(verdicts[0].ring.find((r) => r.name === "k1")?.publishedAt).toBe(created);
    expect(last(verdicts).errors.join("\n")).toContain("was published only 400 s ago");
  });
});

describe("retiring the key that signs", () => {
  it("removing the current key's entry is an error", () => {
    const [, v] = updates([
      [0, ring(["k1", "current"], ["k2", "standby"])],
      [5000, ring(["k2", "current"])],
    ]);
    const error = v.errors.join("\n");
    expect(error).toContain('supabase-selfhosted:signingKeys ("k1", removed)');
    expect(error).toContain("removing its entry deletes the key");
    expect(error).toContain("signs every user out");
    expect(error).toContain("set this one to previous");
  });

  it("revoking the only trusted key (by promoting a revoked one) names both problems", () => {
    const verdicts = updates([
      [0, ring(["k1", "current"], ["k2", "standby"])],
      [2000, ring(["k1", "previous"], ["k2", "current"])],
      [9000, ring(["k1", "revoked"], ["k2", "current"])],
      [20000, ring(["k1", "current"], ["k2", "revoked"])],
    ]);
    const error = last(verdicts).errors.join("\n");
    expect(error).toContain(
      'signingKeys[1] ("k2"): is the only key verifiers trust and the key that signs every token ' +
        "issued so far; revoking " +
        "it",
    );
    expect(error).toContain('signingKeys[0] ("k1"): is revoked in the last applied update');
  });

  it("revoking the current key while promoting a ready standby key is still an error", () => {
    const [, v] = updates([
      [0, ring(["k1", "current"], ["k2", "standby"])],
      [5000, ring(["k1", "revoked"], ["k2", "current"])],
    ]);
    expect(v.errors).toHaveLength(1);
    expect(v.errors[0]).toContain(
      'signingKeys[0] ("k1"): is the key that signs every token issued so far; revoking it',
    );
  });

  it("changing the current key's algorithm (which replaces it) is an error", () => {
    const [, v] = updates([
      [0, ring(["k1", "current"])],
      [5000, ring(["k1", "current", { algorithm: "EdDSA", kid: undefined }])],
    ]);
    const error = v.errors.join("\n");
    expect(error).toContain("changing its algorithm or privateJwk replaces the key");
    expect(error).toContain("replaces it with a new key");
  });

  it("revoking or removing a previous key before jwtExpiry + 15 min have passed is an error", () => {
    const base: Array<[number, KeyFacts[]]> = [
      [0, ring(["k1", "current"], ["k2", "standby"])],
      [2000, ring(["k1", "previous"], ["k2", "current"])],
    ];
    const revoked = updates([...base, [2000 + 3600, ring(["k1", "revoked"], ["k2", "current"])]]);
    expect(last(revoked).errors.join("\n")).toContain(
      'signingKeys[0] ("k1"): stopped signing only 3600 s ago (at 2026-05-01T12:33:20.000Z); access tokens it signed ' +
        "stay valid for jwtExpiry (3600 s), so revoking it now signs those users out. Do it after 2026-05-01T13:48:20.000Z " +
        "(in 15 min)",
    );
    const removed = updates([...base, [2000 + 60, ring(["k2", "current"])]]);
    expect(last(removed).errors.join("\n")).toContain('("k1", removed): stopped signing only 60 s ago');
    const later = updates([...base, [2000 + 3600 + 900, ring(["k2", "current"])]]);
    expect(last(later).errors).toEqual([]);
  });

  it("revoking a standby key that never signed is fine at any time", () => {
    const [, v] = updates([
      [0, ring(["k1", "current"], ["k2", "standby"])],
      [10, ring(["k1", "current"], ["k2", "revoked"])],
    ]);
    expect(v.errors).toEqual([]);
  });
});

describe("role JWT expiry", () => {
  const nowS = Math.floor(T0.getTime() / 1000);

  it("warns when the current key's JWTs expire within 90 days, and says how many days are left", () => {
    const { errors, warnings } = expiryFindings(ring(["k1", "current", { expiresAt: nowS + 30 * 86_400 }]), T0);
    expect(errors).toEqual([]);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain("expire at 2026-05-31T12:00:00.000Z (in 30 days)");
    expect(warnings[0]).toContain("apiKeyLifetimeDays");
  });

  it("counts a last day as one day", () => {
    expect(expiryFindings(ring(["k1", "current", { expiresAt: nowS + 3600 }]), T0).warnings[0]).toContain("(in 1 day)");
  });

  it("fails when they have expired, and the error blocks the update", () => {
    const next = ring(["k1", "current", { expiresAt: nowS - 1 }]);
    expect(expiryFindings(next, T0).errors[0]).toContain("expired at 2026-05-01T11:59:59.000Z");
    expect(evaluateRotation({ next, now: T0, options: OPTIONS }).errors).toHaveLength(1);
  });

  it("warns (never blocks) when a previous key's JWTs expired: the sb_ keys may still map to them", () => {
    const { errors, warnings } = expiryFindings(
      ring(["k1", "previous", { expiresAt: nowS - 1 }], ["k2", "current"]),
      T0,
    );
    expect(errors).toEqual([]);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/signingKeys\[0\].*previous key's anon and service_role JWTs expired.*sb_ API keys/);
    expect(warnings[0]).toContain("Revoke it");
  });

  it("ignores far expiries, unexpired previous keys and unknown ones", () => {
    expect(expiryFindings(ring(["k1", "previous", { expiresAt: nowS + 86_400 }], ["k2", "current"]), T0)).toEqual({
      errors: [],
      warnings: [],
    });
    expect(expiryFindings(ring(["k1", "current", { expiresAt: undefined }]), T0)).toEqual({ errors: [], warnings: [] });
  });
});

describe("allowUnsafeRotation", () => {
  it("lets every error through as an overridden note and still records the ring", () => {
    const unsafe = { ...OPTIONS, allowUnsafeRotation: true };
    const first = evaluateRotation({ next: ring(["k1", "current"]), now: T0, options: unsafe });
    const v = evaluateRotation({
      previous: first.ring,
      next: ring(["k2", "current", { kid: undefined }]),
      now: at(5),
      options: unsafe,
    });
    expect(v.errors).toEqual([]);
    expect(v.overridden.join("\n")).toContain("creates it");
    expect(v.overridden.join("\n")).toContain("removing its entry deletes the key");
    expect(v.ring.map((r) => r.name)).toEqual(["k2"]);
  });
});

describe("the recorded ring", () => {
  it("keeps the publication time of a key across updates and stamps when a key stops signing", () => {
    const verdicts = updates([
      [0, ring(["k1", "current"])],
      [100, ring(["k1", "current"], ["k2", "standby", { kid: undefined }])],
      [200, ring(["k1", "current"], ["k2", "standby"])],
      [2000, ring(["k1", "previous"], ["k2", "current"])],
    ]);
    const k2 = (v: GuardVerdict) => v.ring.find((r) => r.name === "k2");
    expect(k2(verdicts[1])).toEqual({
      name: "k2",
      state: "standby",
      algorithm: "ES256",
      source: "generated",
      publishedAt: at(100).toISOString(),
    });
    expect(k2(verdicts[2])).toMatchObject({ kid: "kid-k2", publishedAt: at(100).toISOString() });
    expect(last(verdicts).ring.find((r) => r.name === "k1")).toMatchObject({
      state: "previous",
      retiredAt: at(2000).toISOString(),
    });
    expect(k2(last(verdicts))).not.toHaveProperty("retiredAt");
  });

  it("is the same for the same plan at the same time (no hidden randomness)", () => {
    const next = ring(["k1", "current"], ["k2", "standby"]);
    expect(evaluateRotation({ next, now: T0, options: OPTIONS })).toEqual(
      evaluateRotation({ next, now: T0, options: OPTIONS }),
    );
  });
});

describe("key sources", () => {
  it.each(["ES256", "RS256", "EdDSA"] as const)(
    "fingerprints an imported %s key by its public half (RFC 7638)",
    async (alg) => {
      const jwk = await generateSigningJwk(alg, "imported");
      const expected = await calculateJwkThumbprint(jwk as never, "sha256");
      expect(importedKeySource(JSON.stringify(jwk))).toBe(`jwk-thumbprint:${expected}`);
      // Reformatting or another kid is the same material; another key is not.
      const { kid: _kid, ...noKid } = jwk;
      expect(importedKeySource(JSON.stringify(noKid, null, 2))).toBe(importedKeySource(JSON.stringify(jwk)));
      expect(importedKeySource(JSON.stringify(await generateSigningJwk(alg)))).not.toBe(
        importedKeySource(JSON.stringify(jwk)),
      );
    },
  );

  it("calls a key without privateJwk generated", () => {
    expect(keySource({})).toBe("generated");
  });
});

describe("config-only warnings", () => {
  it("warns about legacyHs256 without an imported jwtSecret", () => {
    const [warning] = configWarnings({ legacyHs256: true, allowUnsafeRotation: false });
    expect(warning).toContain("supabase-selfhosted:legacyHs256 is true but no jwtSecret was imported");
    expect(configWarnings({ legacyHs256: true, jwtSecret: "x".repeat(40), allowUnsafeRotation: false })).toEqual([]);
    expect(configWarnings({ legacyHs256: false, allowUnsafeRotation: false })).toEqual([]);
  });

  it("warns while allowUnsafeRotation is on", () => {
    expect(configWarnings({ legacyHs256: false, allowUnsafeRotation: true })[0]).toContain(
      "rotation guard rails are off",
    );
  });
});
