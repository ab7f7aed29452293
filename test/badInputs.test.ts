/**
 * The bad-input catalogue: every configuration the program rejects, run through the real program (index.ts) under
 * the stateful MockEngine. Each case asserts the message (naming the offending key and what to do) and that the
 * failed run registered nothing (config errors) or changed nothing (guard rails, which need the previous state).
 */
import { generateKeyPairSync } from "node:crypto";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { loadConfig } from "../components/config/read";
import { generateSigningJwk } from "../components/keyring/tokens";
import { RESOURCE_TYPES } from "../components/targets/resourceTypes";
import { MockEngine } from "../testkit/engine/engine";

const CONTAINER = RESOURCE_TYPES.container;
/** Containers whose env or files hold keyring values: none of them may be planned when a guard rail fails. */
const KEY_CONSUMERS = ["auth", "rest", "realtime", "storage", "kong", "studio", "functions"].map(
  (role) => `supabase-${role}`,
);

/** Nothing rolls out: no key-consuming container is even registered, and the others stay as they are. */
function nothingRollsOut(engine: MockEngine): void {
  const containers = engine.registered.filter((r) => r.type === CONTAINER);
  expect(containers.filter((r) => KEY_CONSUMERS.includes(r.name))).toEqual([]);
  expect(containers.filter((r) => r.operation !== "same")).toEqual([]);
}
const K1 = [{ name: "k1", state: "current" }];

let runs = 0;
/**
 * One `pulumi up` of index.ts. A new query makes vitest evaluate index.ts afresh, so it reads this run's config; the
 * components it imports stay loaded (re-importing them every run took a quarter of this file's time), and they keep
 * no state between runs: the engine's stack is the only state.
 */
function up(engine: MockEngine, config: Record<string, unknown>, secretKeys: string[] = []) {
  return engine.run(config, () => import(/* @vite-ignore */ `../index.js?run=${++runs}`), { secretKeys });
}

afterEach(() => vi.restoreAllMocks());

let ecJwk: Record<string, unknown>;
let rsa1024: Record<string, unknown>;
beforeAll(async () => {
  ecJwk = await generateSigningJwk("ES256", "imported-1");
  rsa1024 = generateKeyPairSync("rsa", { modulusLength: 1024 }).privateKey.export({ format: "jwk" }) as Record<
    string,
    unknown
  >;
});

describe("rejected before any resource is registered", () => {
  // [case, config, the message the user sees]
  const cases: Array<[string, () => Record<string, unknown>, string]> = [
    // keyring
    ["no signingKeys", () => ({}), "supabase-selfhosted:signingKeys: is required"],
    [
      "signingKeys not a list",
      () => ({ signingKeys: "k1" }),
      // Only the kind of what was given: a list of keys may hold private keys.
      "supabase-selfhosted:signingKeys: must be a list of key entries, got a text of 2 characters",
    ],
    [
      "empty keyring",
      () => ({ signingKeys: [] }),
      "supabase-selfhosted:signingKeys: must hold at least one key, with state current",
    ],
    [
      "bad key name",
      () => ({ signingKeys: [{ name: "Key 1", state: "current" }] }),
      "supabase-selfhosted:signingKeys[0].name: must be 1-32 characters of a-z, 0-9 and -",
    ],
    [
      "duplicate key names",
      () => ({ signingKeys: [...K1, { name: "k1", state: "standby" }] }),
      'supabase-selfhosted:signingKeys[1].name: duplicates signingKeys[0].name "k1"',
    ],
    [
      "unknown state",
      () => ({ signingKeys: [{ name: "k1", state: "active" }] }),
      'supabase-selfhosted:signingKeys[0].state: "active" is not a key state; allowed: standby, current, previous, ' +
        "revoked",
    ],
    [
      "no current key",
      () => ({ signingKeys: [{ name: "k1", state: "standby" }] }),
      "supabase-selfhosted:signingKeys: has no key with state current",
    ],
    [
      "two current keys",
      () => ({ signingKeys: [...K1, { name: "k2", state: "current" }] }),
      "supabase-selfhosted:signingKeys: has 2 keys with state current (k1, k2)",
    ],
    [
      "HS256 as a key algorithm",
      () => ({ signingKeys: [{ name: "k1", state: "current", algorithm: "HS256" }] }),
      'supabase-selfhosted:signingKeys[0].algorithm: "HS256" is not a signing algorithm; allowed: ES256, RS256, EdDSA',
    ],
    [
      "unknown entry field",
      () => ({ signingKeys: [{ name: "k1", state: "current", kid: "x" }] }),
      "supabase-selfhosted:signingKeys[0].kid: is not a known field",
    ],
    [
      "privateJwk not JSON",
      () => ({ signingKeys: [{ name: "k1", state: "current", privateJwk: "{nope" }] }),
      "supabase-selfhosted:signingKeys[0].privateJwk: is not valid JSON",
    ],
    [
      "public JWK imported",
      () => {
        const { d: _d, ...pub } = ecJwk;
        return { signingKeys: [{ name: "k1", state: "current", privateJwk: JSON.stringify(pub) }] };
      },
      'supabase-selfhosted:signingKeys[0].privateJwk: is a public key (no "d")',
    ],
    [
      "EC key for RS256",
      () => ({
        signingKeys: [{ name: "k1", state: "current", algorithm: "RS256", privateJwk: JSON.stringify(ecJwk) }],
      }),
      "supabase-selfhosted:signingKeys[0].privateJwk: is an EC key but the entry's algorithm is RS256",
    ],
    [
      "RSA key under 2048 bits",
      () => ({
        signingKeys: [{ name: "k1", state: "current", algorithm: "RS256", privateJwk: JSON.stringify(rsa1024) }],
      }),
      "supabase-selfhosted:signingKeys[0].privateJwk: is an RSA key shorter than 2048 bits",
    ],
    [
      "reserved legacy kid",
      () => ({
        signingKeys: [{ name: "k1", state: "current", privateJwk: JSON.stringify({ ...ecJwk, kid: "legacy-hs256" }) }],
      }),
      'supabase-selfhosted:signingKeys[0].privateJwk: has kid "legacy-hs256", which is reserved',
    ],
    [
      "short jwtSecret",
      () => ({ signingKeys: K1, jwtSecret: "too-short" }),
      "supabase-selfhosted:jwtSecret: must be a secret of at least 32 characters (auth and PostgREST refuse shorter " +
        "secrets), got a text of 9 characters",
    ],
    [
      "legacyHs256 not a boolean",
      () => ({ signingKeys: K1, legacyHs256: "yes" }),
      'supabase-selfhosted:legacyHs256: must be a boolean (true or false), got "yes"',
    ],
    [
      "jwtExpiry zero",
      () => ({ signingKeys: K1, jwtExpiry: 0 }),
      "supabase-selfhosted:jwtExpiry: must be a positive integer, got 0",
    ],
    [
      "apiKeyLifetimeDays too long",
      () => ({ signingKeys: K1, apiKeyLifetimeDays: 40000 }),
      "supabase-selfhosted:apiKeyLifetimeDays: must be an integer from 1 to 36500, got 40000",
    ],
    ["misspelt setting", () => ({ signingkeys: K1 }), "supabase-selfhosted:signingkeys: is not a known setting"],
    // services
    [
      "siteUrl not a URL",
      () => ({ signingKeys: K1, siteUrl: "my site" }),
      "supabase-selfhosted:siteUrl: must be an absolute http(s) base URL such as http://localhost:3000 (no query, " +
        'fragment or credentials), got "my site"',
    ],
    [
      "apiExternalUrl not http",
      () => ({ signingKeys: K1, apiExternalUrl: "ftp://example.com" }),
      "supabase-selfhosted:apiExternalUrl: must be an absolute http(s) base URL such as http://localhost:8000 (no " +
        'query, fragment or credentials), got "ftp://example.com"',
    ],
    [
      "apiExternalUrl with a query",
      () => ({ signingKeys: K1, apiExternalUrl: "https://api.example.com/?x=1" }),
      "supabase-selfhosted:apiExternalUrl: must be an absolute http(s) base URL such as http://localhost:8000 (no " +
        'query, fragment or credentials), got "https://api.example.com/?x=1"',
    ],
    [
      "gatewayHttpPort out of range",
      () => ({ signingKeys: K1, gatewayHttpPort: 70000 }),
      "supabase-selfhosted:gatewayHttpPort: must be a port number from 1 to 65535, got 70000",
    ],
    [
      "gatewayHttpPort negative",
      () => ({ signingKeys: K1, gatewayHttpPort: -1 }),
      "supabase-selfhosted:gatewayHttpPort: must be a port number from 1 to 65535, got -1",
    ],
    [
      "gatewayHost a name instead of an address",
      () => ({ signingKeys: K1, gatewayHost: "localhost" }),
      'supabase-selfhosted:gatewayHost: must be an IP address of the Docker host to listen on (127.0.0.1 for the host only, 0.0.0.0 for every network), got "localhost"',
    ],
    [
      "unknown image key",
      () => ({ signingKeys: K1, images: { postgres: "supabase/postgres:17.6.1.136" } }),
      "supabase-selfhosted:images.postgres: is not a known image; allowed: db, auth",
    ],
    [
      "image on latest",
      () => ({ signingKeys: K1, images: { auth: "supabase/gotrue:latest" } }),
      "supabase-selfhosted:images.auth: must be pinned to a version tag or digest (not latest, not untagged), got " +
        '"supabase/gotrue:latest"',
    ],
    [
      "untagged image",
      () => ({ signingKeys: K1, images: { kong: "kong/kong" } }),
      "supabase-selfhosted:images.kong: must be pinned to a version tag or digest",
    ],
    [
      "studio not a boolean",
      () => ({ signingKeys: K1, studio: "on" }),
      "supabase-selfhosted:studio: must be a boolean",
    ],
    [
      "bad dashboard user",
      () => ({ signingKeys: K1, dashboardUsername: "admin user" }),
      "supabase-selfhosted:dashboardUsername: must be 1-64 characters",
    ],
    // auth, extraEnv, database access
    [
      "OAuth provider given as a string",
      () => ({ signingKeys: K1, auth: { externalProviders: { google: "my-client-id" } } }),
      "supabase-selfhosted:auth.externalProviders.google: must be an object such as {clientId: …, secret: …",
    ],
    [
      "redirect URL without a scheme",
      () => ({ signingKeys: K1, auth: { additionalRedirectUrls: ["app.example.com/callback"] } }),
      "supabase-selfhosted:auth.additionalRedirectUrls[0]: must be a URL such as https://app.example.com/**",
    ],
    [
      "SMTP port out of range",
      () => ({ signingKeys: K1, auth: { smtp: { host: "smtp.example.com", adminEmail: "a@b.c", port: 99999 } } }),
      "supabase-selfhosted:auth.smtp.port: must be a port number from 1 to 65535, got 99999",
    ],
    [
      "database published on a port out of range",
      () => ({ signingKeys: K1, database: { publish: { port: 0 } } }),
      "supabase-selfhosted:database.publish.port: must be a port number from 1 to 65535, got 0",
    ],
    [
      "extraEnv overriding the keyring",
      () => ({ signingKeys: K1, extraEnv: { auth: { GOTRUE_JWT_KEYS: "[]" } } }),
      "supabase-selfhosted:extraEnv.auth.GOTRUE_JWT_KEYS: is set by the program from the signing keyring",
    ],
    [
      "extraEnv for a service that does not exist",
      () => ({ signingKeys: K1, extraEnv: { gotrue: { GOTRUE_X: "1" } } }),
      "supabase-selfhosted:extraEnv.gotrue: is not a service of this stack",
    ],
    // platform services (the rest of their rejections: test/config/platform.test.ts)
    [
      "S3 backend without a bucket",
      () => ({ signingKeys: K1, storage: { backend: "s3" } }),
      "supabase-selfhosted:storage.s3.bucket: is required with storage.backend s3",
    ],
    [
      "pooler port clashing with the gateway's",
      () => ({ signingKeys: K1, gatewayHttpPort: 6543 }),
      "supabase-selfhosted:pooler.transactionPort: 6543 is already gatewayHttpPort's host port",
    ],
    [
      "functions.dir that does not exist",
      () => ({ signingKeys: K1, functions: { enabled: true, dir: "no-such-functions-dir" } }),
      'supabase-selfhosted:functions.dir: "no-such-functions-dir" (',
    ],
    // guard-rail settings
    [
      "jwksCacheSeconds not a number",
      () => ({ signingKeys: K1, jwksCacheSeconds: "20m" }),
      'supabase-selfhosted:jwksCacheSeconds: must be a positive integer, got "20m"',
    ],
    [
      "allowUnsafeRotation not a boolean",
      () => ({ signingKeys: K1, allowUnsafeRotation: "please" }),
      "supabase-selfhosted:allowUnsafeRotation: must be a boolean",
    ],
  ];

  it.each(cases)("%s", async (_case, config, message) => {
    const engine = new MockEngine();
    await expect(up(engine, config())).rejects.toThrow(message);
    expect(engine.registered).toEqual([]);
    expect(engine.stack.size).toBe(0);
  });

  it("reports every problem of one config at once", async () => {
    const engine = new MockEngine();
    const error = await up(engine, {
      signingKeys: [{ name: "k1", state: "active" }],
      gatewayHttpPort: 0,
      images: { auth: "x:latest" },
    }).catch((e) => e);
    expect(String(error)).toContain("(3 problems)");
    expect(engine.registered).toEqual([]);
  });
});

describe("guard rails, judged against the last applied update", () => {
  const S1 = [
    { name: "k1", state: "current" },
    { name: "k2", state: "standby" },
  ];
  let base: MockEngine;

  /** A copy of the stack after S0 and S1 (a day apart), at `secondsLater` after S1. */
  function afterS1(secondsLater: number): MockEngine {
    const engine = new MockEngine();
    for (const [name, resource] of base.stack) engine.stack.set(name, structuredClone(resource));
    engine.clock = new Date(base.clock.getTime() + secondsLater * 1000);
    return engine;
  }

  beforeAll(async () => {
    base = new MockEngine();
    await up(base, { signingKeys: K1 });
    await up(base, { signingKeys: S1 });
  }, 30_000);

  // [case, seconds after S1, config, the message the user sees]
  const cases: Array<[string, number, Record<string, unknown>, string]> = [
    [
      "promoting a key in the update that creates it",
      86_400,
      {
        signingKeys: [
          { name: "k1", state: "previous" },
          { name: "k2", state: "standby" },
          { name: "k3", state: "current" },
        ],
      },
      'supabase-selfhosted:signingKeys[2] ("k3"): becomes current in the same update that creates it',
    ],
    [
      "promoting a standby key published less than jwksCacheSeconds ago",
      300,
      {
        signingKeys: [
          { name: "k1", state: "previous" },
          { name: "k2", state: "current" },
        ],
      },
      'supabase-selfhosted:signingKeys[1] ("k2"): was published only 300 s ago',
    ],
    [
      "promoting a standby key before a longer jwksCacheSeconds has passed",
      3_600,
      {
        signingKeys: [
          { name: "k1", state: "previous" },
          { name: "k2", state: "current" },
        ],
        jwksCacheSeconds: 7_200,
      },
      "clients may cache the JWKS for jwksCacheSeconds (7200 s)",
    ],
    [
      "removing the current key's entry",
      86_400,
      { signingKeys: [{ name: "k2", state: "current" }] },
      'supabase-selfhosted:signingKeys ("k1", removed): is the key that signs every token issued so far; removing ' +
        "its entry deletes the key",
    ],
    [
      "revoking the current key while promoting",
      86_400,
      {
        signingKeys: [
          { name: "k1", state: "revoked" },
          { name: "k2", state: "current" },
        ],
      },
      'supabase-selfhosted:signingKeys[0] ("k1"): is the key that signs every token issued so far; revoking it',
    ],
    [
      "changing the current key's algorithm (a new key in place)",
      86_400,
      {
        signingKeys: [
          { name: "k1", state: "current", algorithm: "EdDSA" },
          { name: "k2", state: "standby" },
        ],
      },
      'supabase-selfhosted:signingKeys[0] ("k1"): becomes current in the same update that replaces it with a new key',
    ],
    [
      "importing other key material into the current entry",
      86_400,
      {
        signingKeys: [
          { name: "k1", state: "current", privateJwk: "IMPORTED" },
          { name: "k2", state: "standby" },
        ],
      },
      "changing its algorithm or privateJwk replaces the key",
    ],
  ];

  it.each(cases)("%s", async (_case, later, config, message) => {
    const engine = afterS1(later);
    const before = JSON.stringify([...engine.stack]);
    const resolved = JSON.parse(JSON.stringify(config).replace('"IMPORTED"', JSON.stringify(JSON.stringify(ecJwk))));
    const run = up(
      engine,
      resolved,
      resolved.signingKeys.some((k: { privateJwk?: string }) => k.privateJwk) ? ["signingKeys"] : [],
    );
    await expect(run).rejects.toThrow(message);
    await expect(run).rejects.toThrow("pulumi config set allowUnsafeRotation true");
    expect(JSON.stringify([...engine.stack])).toBe(before);
    nothingRollsOut(engine);
  });

  it("revoking a previous key before jwtExpiry + 15 min have passed", async () => {
    const engine = afterS1(86_400);
    await up(engine, {
      signingKeys: [
        { name: "k1", state: "previous" },
        { name: "k2", state: "current" },
      ],
    });
    engine.secondsBetweenRuns = 600;
    const before = JSON.stringify([...engine.stack]);
    await expect(
      up(engine, {
        signingKeys: [
          { name: "k1", state: "revoked" },
          { name: "k2", state: "current" },
        ],
      }),
    ).rejects.toThrow('supabase-selfhosted:signingKeys[0] ("k1"): stopped signing only 600 s ago');
    expect(JSON.stringify([...engine.stack])).toBe(before);
    nothingRollsOut(engine);
  });

  it("role JWTs of the current key that have expired", async () => {
    const engine = new MockEngine();
    await up(engine, { signingKeys: K1, apiKeyLifetimeDays: 1 });
    engine.secondsBetweenRuns = 2 * 86_400;
    await expect(up(engine, { signingKeys: K1, apiKeyLifetimeDays: 1 })).rejects.toThrow(
      /supabase-selfhosted:signingKeys\[0\] \("k1"\): the current key's anon and service_role JWTs expired at .*change apiKeyLifetimeDays/,
    );
    // Changing the lifetime re-mints the tokens: the same key passes again.
    await up(engine, { signingKeys: K1, apiKeyLifetimeDays: 30 });
  });

  it("are lifted by allowUnsafeRotation, with a warning at every run", async () => {
    const warn = vi.spyOn(console, "warn").mockImplementation(() => undefined);
    vi.spyOn(console, "error").mockImplementation(() => undefined);
    const engine = afterS1(10);
    await up(engine, {
      signingKeys: [
        { name: "k1", state: "previous" },
        { name: "k2", state: "current" },
      ],
      allowUnsafeRotation: true,
    });
    expect(warn.mock.calls.map((c) => String(c[0])).join("\n")).toContain(
      "supabase-selfhosted:allowUnsafeRotation is true: the rotation guard rails are off",
    );
  });
});

describe("guard rails that only warn", () => {
  const warnings = () =>
    vi
      .mocked(console.warn)
      .mock.calls.map((c) => String(c[0]))
      .join("\n");

  it("legacyHs256 without an imported jwtSecret", async () => {
    vi.spyOn(console, "warn").mockImplementation(() => undefined);
    await up(new MockEngine(), { signingKeys: K1, legacyHs256: true });
    expect(warnings()).toContain("supabase-selfhosted:legacyHs256 is true but no jwtSecret was imported");
  });

  it("role JWTs of the current key that expire within 90 days", async () => {
    vi.spyOn(console, "warn").mockImplementation(() => undefined);
    await up(new MockEngine(), { signingKeys: K1, apiKeyLifetimeDays: 30 });
    expect(warnings()).toMatch(
      /signingKeys\[0\] \("k1"\): the current key's anon and service_role JWTs expire at .* \(in 30 days\)/,
    );
  });

  it("secrets given in plain text, naming the command that encrypts each", async () => {
    vi.spyOn(console, "warn").mockImplementation(() => undefined);
    const config = {
      signingKeys: K1,
      gatewayHost: "127.0.0.1",
      auth: { smtp: { host: "smtp.example.com", adminEmail: "a@b.c", pass: "plain-smtp-password" } },
    };
    // The config stage of the program (what index.ts runs first), without declaring the stack: it is slow here.
    await new MockEngine().run(config, () => loadConfig());
    expect(warnings()).toContain(
      "supabase-selfhosted:auth.smtp.pass is stored in plain text in the stack file; encrypt it with " +
        "`pulumi config set --secret --path 'auth.smtp.pass' <value>`",
    );
    vi.mocked(console.warn).mockClear();
    await new MockEngine().run(config, () => loadConfig(), { secretKeys: ["auth"] });
    expect(warnings()).toBe("");
  });

  it("a default config: only that the dashboard's login goes over plain HTTP on every address", async () => {
    vi.spyOn(console, "warn").mockImplementation(() => undefined);
    await up(new MockEngine(), { signingKeys: K1 });
    expect(warnings()).toContain(
      "supabase-selfhosted:gatewayHost is 0.0.0.0 with plain HTTP and studio on: the dashboard's login",
    );
    expect(
      warnings()
        .split("\n")
        .filter((line) => line.includes("supabase-selfhosted:")),
    ).toHaveLength(1);
  });

  it("and stay quiet for a default config with the gateway on the loopback", async () => {
    vi.spyOn(console, "warn").mockImplementation(() => undefined);
    await up(new MockEngine(), { signingKeys: K1, gatewayHost: "127.0.0.1" });
    expect(warnings()).toBe("");
  });
});
