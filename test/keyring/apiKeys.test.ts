/**
 * The API keys as settings and as a model: what the `apiKeys` setting accepts and refuses (an imported key's checksum
 * verified), which keys each service is given, and the guard rule of a key revoked as it is created. Pure.
 */
import { createHash, randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { parseConfig } from "../../components/config/parse";
import {
  activeApiKeysByName,
  apiKeyFacts,
  apiKeyGuardProblems,
  apiKeyResourceSuffix,
  apiKeySet,
  apiKeyWarnings,
  DEFAULT_API_KEYS,
  isDefaultApiKeys,
  type ApiKeyConfig,
} from "../../components/keyring/apiKeys";
import { ConfigError } from "../../components/schema/setting";
import { functionsKeyMap } from "../../components/services/functions/functions";
import { OPAQUE_PREFIXES, opaqueKey } from "../../components/keyring/tokens";

const RING = [{ name: "k1", state: "current" }];

/** A key as Supabase's self-hosted scripts make one: the checksum computed here, independently of tokens.ts. */
function upstreamKey(prefix: string): string {
  const body = prefix + randomBytes(17).toString("base64url").slice(0, 22);
  return `${body}_${createHash("sha256").update(`supabase-self-hosted|${body}`).digest("base64url").slice(0, 8)}`;
}

/** The problems parseConfig reports for these API keys (and settings), or [] when it accepts them. */
function problems(apiKeys: unknown, more: Record<string, unknown> = {}): string[] {
  try {
    parseConfig({ signingKeys: RING, apiKeys, ...more });
    return [];
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
}

describe("the apiKeys setting", () => {
  it("is one active key of each kind, named after its kind, when it is not set", () => {
    const config = parseConfig({ signingKeys: RING });
    expect(config.apiKeys).toEqual([
      { name: "publishable", kind: "publishable", state: "active" },
      { name: "secret", kind: "secret", state: "active" },
    ]);
    expect(isDefaultApiKeys(config.apiKeys)).toBe(true);
    // The same list written out is the default too; any change to it is not.
    expect(isDefaultApiKeys(parseConfig({ signingKeys: RING, apiKeys: DEFAULT_API_KEYS }).apiKeys)).toBe(true);
    expect(isDefaultApiKeys([...DEFAULT_API_KEYS, { name: "b2", kind: "secret", state: "active" }])).toBe(false);
  });

  it("accepts several keys of a kind, revoked ones, and keys imported from upstream's scripts", () => {
    const imported = upstreamKey(OPAQUE_PREFIXES.secret);
    const config = parseConfig({
      signingKeys: RING,
      apiKeys: [
        { name: "web", kind: "publishable", state: "active" },
        { name: "backend-1", kind: "secret", state: "revoked" },
        { name: "backend-2", kind: "secret", state: "active", value: imported },
      ],
    });
    expect(config.apiKeys[2]).toEqual({ name: "backend-2", kind: "secret", state: "active", value: imported });
  });

  it("refuses bad entries, naming the key and never showing an imported value", () => {
    const publishable = upstreamKey(OPAQUE_PREFIXES.publishable);
    const tampered = publishable.slice(0, -1) + (publishable.endsWith("A") ? "B" : "A");
    const found = problems([
      { name: "web", kind: "publishable", state: "active" },
      { name: "web", kind: "secret", state: "active" },
      { name: "default", kind: "secret", state: "active" },
      { name: "Bad_Name", kind: "secret", state: "active" },
      { name: "x1", kind: "admin", state: "active" },
      { name: "x2", kind: "secret", state: "paused" },
      { name: "x3", kind: "secret", state: "active", value: publishable },
      { name: "x4", kind: "publishable", state: "active", value: tampered },
      { name: "x5", kind: "publishable", state: "active", value: "sb_publishable_short" },
      { name: "x6", kind: "secret", state: "active", extra: 1 },
    ]);
    const at = (i: number, field: string) =>
      found.find((p) => p.startsWith(`supabase-selfhosted:apiKeys[${i}].${field}`));
    expect(at(1, "name")).toContain('duplicates apiKeys[0].name "web"');
    expect(at(2, "name")).toContain("the edge functions see each kind's first active key under");
    expect(at(3, "name")).toContain("1-32 characters of a-z, 0-9 and -");
    expect(at(4, "kind")).toContain('"admin" is not an API key kind; allowed: publishable, secret');
    expect(at(5, "state")).toContain("allowed: active, revoked");
    expect(at(6, "value")).toContain("is an sb_publishable_ key, but the entry's kind is secret");
    expect(at(7, "value")).toContain("checksum that does not match");
    expect(at(8, "value")).toContain("checksum that does not match");
    expect(at(9, "extra")).toContain("is not a known field");
    for (const problem of found) {
      expect(problem).not.toContain(publishable);
      expect(problem).not.toContain(tampered);
    }
  });

  it("refuses the same imported key twice", () => {
    const value = upstreamKey(OPAQUE_PREFIXES.secret);
    expect(
      problems([
        { name: "publishable", kind: "publishable", state: "active" },
        { name: "a", kind: "secret", state: "active", value },
        { name: "b", kind: "secret", state: "active", value },
      ]),
    ).toEqual(["supabase-selfhosted:apiKeys[2].value: is the same key as apiKeys[1].value"]);
  });

  it("keeps an active key of each kind, unless allowUnsafeRotation lets the last one go (then it warns)", () => {
    const lastRevoked: ApiKeyConfig[] = [
      { name: "publishable", kind: "publishable", state: "active" },
      { name: "secret", kind: "secret", state: "revoked" },
    ];
    expect(problems(lastRevoked)).toEqual([
      expect.stringMatching(/^supabase-selfhosted:apiKeys: has no active secret key, so the gateway would refuse/),
    ]);
    expect(problems([])).toHaveLength(2);
    expect(problems(lastRevoked, { allowUnsafeRotation: true })).toEqual([]);
    expect(apiKeyWarnings(lastRevoked)).toEqual([expect.stringContaining("has no active secret key")]);
    expect(apiKeyWarnings(DEFAULT_API_KEYS)).toEqual([]);
  });
});

describe("what the services are given", () => {
  const keys = [
    { name: "web-2", kind: "publishable", state: "active", value: "sb_publishable_w2" },
    { name: "zeta", kind: "secret", state: "active", value: "sb_secret_z" },
    { name: "old", kind: "secret", state: "revoked", value: "sb_secret_old" },
    { name: "alpha", kind: "secret", state: "active", value: "sb_secret_a" },
    { name: "beta", kind: "secret", state: "active", value: "sb_secret_b" },
  ] as const satisfies ReadonlyArray<ApiKeyConfig & { value: string }>;

  it("lists each kind's active keys, the first active one (the primary) first, then the others by name", () => {
    expect(apiKeySet(keys)).toEqual({
      publishable: [{ name: "web-2", value: "sb_publishable_w2" }],
      secret: [
        { name: "zeta", value: "sb_secret_z" },
        { name: "alpha", value: "sb_secret_a" },
        { name: "beta", value: "sb_secret_b" },
      ],
    });
    expect(activeApiKeysByName(apiKeySet(keys))).toEqual({
      alpha: "sb_secret_a",
      beta: "sb_secret_b",
      "web-2": "sb_publishable_w2",
      zeta: "sb_secret_z",
    });
    // A revoked key is in nothing the services or the outputs get.
    expect(JSON.stringify(apiKeySet(keys))).not.toContain("sb_secret_old");
  });

  it("gives the functions JSON maps that parse as function code reads them: the primary under default", () => {
    const set = apiKeySet(keys);
    // As upstream's docs have function code read them: JSON.parse(Deno.env.get("SUPABASE_SECRET_KEYS")).default.
    const secret = JSON.parse(functionsKeyMap(set.secret)) as Record<string, string>;
    expect(secret.default).toBe("sb_secret_z");
    expect(secret).toEqual({ default: "sb_secret_z", alpha: "sb_secret_a", beta: "sb_secret_b" });
    expect(JSON.parse(functionsKeyMap(set.publishable))).toEqual({ default: "sb_publishable_w2" });
    expect(JSON.parse(functionsKeyMap([]))).toEqual({});
    // The default list gives exactly what the functions always had: one `default` entry per kind.
    const value = opaqueKey(OPAQUE_PREFIXES.secret, "A".repeat(22));
    expect(functionsKeyMap([{ name: "secret", value }])).toBe(JSON.stringify({ default: value }));
  });

  it("keeps the two keys every stack had in their resources, and gives every other key one named with its kind", () => {
    expect(DEFAULT_API_KEYS.map(apiKeyResourceSuffix)).toEqual(["publishable-key", "secret-key"]);
    expect(apiKeyResourceSuffix({ name: "web", kind: "publishable" })).toBe("publishable-key-web");
    // A key named after the other kind is not the old one of that kind.
    expect(apiKeyResourceSuffix({ name: "publishable", kind: "secret" })).toBe("secret-key-publishable");
  });
});

describe("the guard rule", () => {
  const facts = (keys: ApiKeyConfig[]) => apiKeyFacts(keys);
  const b2 = { name: "b2", kind: "secret", state: "active" } as const;

  it("refuses a key revoked in the update that creates it", () => {
    const next = facts([...DEFAULT_API_KEYS, { ...b2, state: "revoked" }]);
    expect(apiKeyGuardProblems(facts([...DEFAULT_API_KEYS]), next)).toEqual([
      expect.stringMatching(/^supabase-selfhosted:apiKeys\[2\] \("b2"\): is revoked in the same update that creates/),
    ]);
    // On a first deployment every key is new.
    expect(apiKeyGuardProblems(undefined, facts([...DEFAULT_API_KEYS, { ...b2, state: "revoked" }]))).toHaveLength(1);
    // The same name as a key of the other kind, or imported instead of generated, is a new key too.
    const asPublishable = facts([...DEFAULT_API_KEYS, { ...b2, kind: "publishable" }]);
    expect(apiKeyGuardProblems(asPublishable, next)).toHaveLength(1);
    const imported = facts([...DEFAULT_API_KEYS, { ...b2, value: "x" }]);
    expect(apiKeyGuardProblems(imported, next)).toHaveLength(1);
  });

  it("lets a key that exists be revoked at once: a leaked key cannot wait", () => {
    const before = facts([...DEFAULT_API_KEYS, b2]);
    const after = facts([DEFAULT_API_KEYS[0], { ...DEFAULT_API_KEYS[1], state: "revoked" }, b2]);
    expect(apiKeyGuardProblems(before, after)).toEqual([]);
  });
});
