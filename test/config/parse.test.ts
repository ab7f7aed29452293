/**
 * Config parsing: defaults, and every rejected input with the message a user sees (key named, allowed values said).
 */
import { describe, expect, it } from "vitest";
import { parseConfig, settingsWarnings } from "../../components/config/parse";
import { ConfigError, type RawConfig } from "../../components/schema/setting";
import { isPinnedImage, parseImageReference } from "../../components/services/images";
import { generateSigningJwk } from "../../components/keyring/tokens";
import { IMAGE_DEFAULTS } from "../../components/services/images";
import { problemsOf } from "../support/config";

const keys = (list: unknown) => JSON.stringify(list);
const ok = { signingKeys: keys([{ name: "k1", state: "current" }]) };

/** Asserts the config is rejected with exactly one problem matching `pattern`, and returns it. */
function rejectOnce(raw: RawConfig, pattern: RegExp): string {
  const problems = problemsOf(raw);
  expect(problems).toHaveLength(1);
  expect(problems[0]).toMatch(pattern);
  return problems[0];
}

describe("parseConfig defaults", () => {
  it("fills in the documented defaults for a one-key ring", () => {
    const config = parseConfig(ok);
    expect(config).toEqual({
      signingKeys: [{ name: "k1", state: "current", algorithm: "ES256" }],
      apiKeys: [
        { name: "publishable", kind: "publishable", state: "active" },
        { name: "secret", kind: "secret", state: "active" },
      ],
      legacyHs256: false,
      jwtExpiry: 3600,
      apiKeyLifetimeDays: 1825,
      allowUnsafeRotation: false,
      jwksCacheSeconds: 1200,
      siteUrl: "http://localhost:3000",
      apiExternalUrl: "http://localhost:8000",
      gatewayHttpPort: 8000,
      gatewayHost: "0.0.0.0",
      images: { ...IMAGE_DEFAULTS },
      studio: true,
      dashboardUsername: "supabase",
      auth: {
        disableSignup: false,
        mailerAutoconfirm: false,
        additionalRedirectUrls: [],
        anonymousUsers: false,
        externalProviders: {},
      },
      extraEnv: {},
      extraEnvIsSecret: false,
      database: {},
      backup: { enabled: true, baseBackupHours: 24, keepBaseBackups: 7 },
      pooler: {
        enabled: true,
        sessionPort: 5432,
        transactionPort: 6543,
        host: "127.0.0.1",
        tenantId: "default",
        defaultPoolSize: 20,
        maxClientConnections: 100,
      },
      functions: { enabled: false, verifyJwt: true },
      storage: { backend: "file", tenantId: "stub", imageTransformation: true },
      target: "docker",
      instanceName: "supabase",
      containers: { logMaxSize: "10m", logMaxFiles: 3, memoryMb: {} },
      tls: { mode: "off", httpPort: 80, httpsPort: 443, host: "0.0.0.0" },
      kubernetes: {
        replicas: {},
        gateway: { type: "ClusterIP" },
        resources: {},
        imagePullPolicy: "IfNotPresent",
        storage: { sizes: {} },
      },
    });
  });

  it("reads typed values as Pulumi passes them (text)", () => {
    const config = parseConfig({
      ...ok,
      legacyHs256: "true",
      jwtSecret: "x".repeat(40),
      jwtExpiry: "900",
      apiKeyLifetimeDays: "365",
      siteUrl: "https://app.example.com/",
      apiExternalUrl: "https://api.example.com",
      gatewayHttpPort: "8080",
      images: JSON.stringify({ auth: "supabase/gotrue:v2.190.0" }),
      studio: "false",
    });
    expect(config.legacyHs256).toBe(true);
    expect(config.jwtSecret).toBe("x".repeat(40));
    expect(config.jwtExpiry).toBe(900);
    expect(config.apiKeyLifetimeDays).toBe(365);
    expect(config.siteUrl).toBe("https://app.example.com");
    expect(config.gatewayHttpPort).toBe(8080);
    expect(config.images.auth).toBe("supabase/gotrue:v2.190.0");
    expect(config.images.rest).toBe(IMAGE_DEFAULTS.rest);
    expect(config.studio).toBe(false);
  });

  it("imports a private JWK: keeps its kid, infers the algorithm, canonicalizes the text", async () => {
    const jwk = await generateSigningJwk("RS256", "imported-rsa");
    const reformatted = JSON.stringify(jwk, null, 2);
    const config = parseConfig({ signingKeys: keys([{ name: "old", state: "current", privateJwk: reformatted }]) });
    const [entry] = config.signingKeys;
    expect(entry.algorithm).toBe("RS256");
    expect(entry.importedKid).toBe("imported-rsa");
    expect(JSON.parse(entry.privateJwk!)).toEqual(jwk);
    expect(entry.privateJwk).not.toBe(reformatted);
  });

  it("accepts the one-key array `supabase gen signing-key` writes", async () => {
    const jwk = await generateSigningJwk("ES256", "cli-key");
    const config = parseConfig({
      signingKeys: keys([{ name: "k1", state: "current", privateJwk: JSON.stringify([jwk]) }]),
    });
    expect(config.signingKeys[0].importedKid).toBe("cli-key");
  });
});

describe("parseConfig rejects bad input, naming the key", () => {
  it("missing signingKeys", () => {
    rejectOnce({}, /^supabase-selfhosted:signingKeys: is required: a list of keys/);
  });

  it("signingKeys that is not a list", () => {
    rejectOnce({ signingKeys: keys({ name: "k1", state: "current" }) }, /signingKeys: must be a list of key entries/);
    rejectOnce({ signingKeys: "k1" }, /signingKeys: must be a list of key entries, got a text of 2 characters$/);
  });

  it("an empty ring", () => {
    rejectOnce({ signingKeys: "[]" }, /signingKeys: must hold at least one key/);
  });

  it("no current key", () => {
    rejectOnce(
      { signingKeys: keys([{ name: "k1", state: "standby" }]) },
      /signingKeys: has no key with state current; exactly one key must be current/,
    );
  });

  it("two current keys", () => {
    rejectOnce(
      {
        signingKeys: keys([
          { name: "k1", state: "current" },
          { name: "k2", state: "current" },
        ]),
      },
      /signingKeys: has 2 keys with state current \(k1, k2\); exactly one may be current/,
    );
  });

  it("duplicate name", () => {
    rejectOnce(
      {
        signingKeys: keys([
          { name: "k1", state: "current" },
          { name: "k1", state: "standby" },
        ]),
      },
      /signingKeys\[1\]\.name: duplicates signingKeys\[0\]\.name "k1"; names must be unique/,
    );
  });

  it.each([["K1"], ["has space"], [""], ["a".repeat(33)], [7]])("malformed name %j", (name) => {
    rejectOnce(
      { signingKeys: keys([{ name, state: "current" }]) },
      /signingKeys\[0\]\.name: must be 1-32 characters of a-z, 0-9 and -/,
    );
  });

  it("unknown state", () => {
    rejectOnce(
      {
        signingKeys: keys([
          { name: "k1", state: "current" },
          { name: "k2", state: "active" },
        ]),
      },
      /signingKeys\[1\]\.state: "active" is not a key state; allowed: standby, current, previous, revoked/,
    );
  });

  it("unknown algorithm", () => {
    rejectOnce(
      { signingKeys: keys([{ name: "k1", state: "current", algorithm: "PS256" }]) },
      /signingKeys\[0\]\.algorithm: "PS256" is not a signing algorithm; allowed: ES256, RS256, EdDSA/,
    );
  });

  it("unknown entry field", () => {
    rejectOnce(
      { signingKeys: keys([{ name: "k1", state: "current", kid: "x" }]) },
      /signingKeys\[0\]\.kid: is not a known field; allowed: name, state, algorithm, privateJwk/,
    );
  });

  it("privateJwk that is not JSON", () => {
    rejectOnce(
      { signingKeys: keys([{ name: "k1", state: "current", privateJwk: "-----BEGIN PRIVATE KEY-----" }]) },
      /signingKeys\[0\]\.privateJwk: is not valid JSON: expected a private JWK object/,
    );
  });

  it("privateJwk that is public-only", async () => {
    const { d: _d, ...pub } = await generateSigningJwk("ES256");
    rejectOnce(
      { signingKeys: keys([{ name: "k1", state: "current", privateJwk: JSON.stringify(pub) }]) },
      /signingKeys\[0\]\.privateJwk: is a public key \(no "d"\)/,
    );
  });

  it("privateJwk lacking a member its key type needs", async () => {
    const { qi: _qi, dp: _dp, ...partial } = await generateSigningJwk("RS256");
    rejectOnce(
      { signingKeys: keys([{ name: "k1", state: "current", privateJwk: JSON.stringify(partial) }]) },
      /signingKeys\[0\]\.privateJwk: lacks dp, qi, which a private RSA key needs/,
    );
  });

  it("privateJwk whose kty contradicts the algorithm", async () => {
    const jwk = await generateSigningJwk("RS256");
    rejectOnce(
      { signingKeys: keys([{ name: "k1", state: "current", algorithm: "ES256", privateJwk: JSON.stringify(jwk) }]) },
      /signingKeys\[0\]\.privateJwk: is an RSA key but the entry's algorithm is ES256, which needs kty EC/,
    );
  });

  it("privateJwk whose crv contradicts the algorithm", async () => {
    const jwk = { ...(await generateSigningJwk("ES256")), crv: "P-384", alg: undefined };
    rejectOnce(
      { signingKeys: keys([{ name: "k1", state: "current", privateJwk: JSON.stringify(jwk) }]) },
      /signingKeys\[0\]\.privateJwk: has crv "P-384" but ES256 needs crv P-256/,
    );
  });

  it("privateJwk whose alg contradicts the algorithm", async () => {
    const jwk = { ...(await generateSigningJwk("ES256")), alg: "ES512" };
    rejectOnce(
      { signingKeys: keys([{ name: "k1", state: "current", algorithm: "ES256", privateJwk: JSON.stringify(jwk) }]) },
      /signingKeys\[0\]\.privateJwk: has alg "ES512" but the entry's algorithm is ES256/,
    );
  });

  it.each([["ES256"], ["RS256"], ["EdDSA"]] as const)(
    "privateJwk whose public members belong to another %s key (it would fail only when auth signs)",
    async (algorithm) => {
      const mine = await generateSigningJwk(algorithm);
      const other = await generateSigningJwk(algorithm);
      const publicMembers = algorithm === "RS256" ? ["n"] : algorithm === "ES256" ? ["x", "y"] : ["x"];
      const mixed = { ...mine, ...Object.fromEntries(publicMembers.map((m) => [m, other[m]])) };
      rejectOnce(
        { signingKeys: keys([{ name: "k1", state: "current", privateJwk: JSON.stringify(mixed) }]) },
        /signingKeys\[0\]\.privateJwk: holds public members that do not belong to its private key \(d\)/,
      );
    },
  );

  it("privateJwk whose RSA members do not agree (a garbage d, which signing alone never reads)", async () => {
    const jwk = { ...(await generateSigningJwk("RS256")), d: "AAAA" };
    rejectOnce(
      { signingKeys: keys([{ name: "k1", state: "current", privateJwk: JSON.stringify(jwk) }]) },
      /signingKeys\[0\]\.privateJwk: has RSA members that do not agree/,
    );
  });

  it("privateJwk of an unsupported key type", () => {
    rejectOnce(
      { signingKeys: keys([{ name: "k1", state: "current", privateJwk: JSON.stringify({ kty: "oct", k: "abc" }) }]) },
      /signingKeys\[0\]\.privateJwk: has kty "oct"; allowed: EC \(ES256\), RSA \(RS256\), OKP \(EdDSA\)/,
    );
  });

  it("two imported keys with one kid", async () => {
    const a = await generateSigningJwk("ES256", "same");
    const b = await generateSigningJwk("ES256", "same");
    rejectOnce(
      {
        signingKeys: keys([
          { name: "a", state: "current", privateJwk: JSON.stringify(a) },
          { name: "b", state: "standby", privateJwk: JSON.stringify(b) },
        ]),
      },
      /signingKeys\[1\]\.privateJwk: has kid "same", already used by key "a"; kids must be unique/,
    );
  });

  it("jwtSecret shorter than 32 characters", () => {
    rejectOnce(
      { ...ok, jwtSecret: "too-short" },
      /^supabase-selfhosted:jwtSecret: must be a secret of at least 32 characters .*got a text of 9 characters$/,
    );
  });

  it.each([["0"], ["-5"], ["1.5"], ["soon"]])("non-positive or non-integer jwtExpiry %s", (value) => {
    rejectOnce({ ...ok, jwtExpiry: value }, /jwtExpiry: must be a positive integer/);
  });

  it.each([["0"], ["2.5"], ["forever"], ["36501"]])(
    "apiKeyLifetimeDays out of range or not an integer: %s",
    (value) => {
      rejectOnce({ ...ok, apiKeyLifetimeDays: value }, /apiKeyLifetimeDays: must be an integer from 1 to 36500, got /);
    },
  );

  it.each([["yes"], ["1"], ['"on"']])("non-boolean legacyHs256 %s", (value) => {
    rejectOnce({ ...ok, legacyHs256: value }, /legacyHs256: must be a boolean \(true or false\)/);
  });

  it("an unknown setting in the namespace (a typo)", () => {
    rejectOnce(
      { ...ok, jwtExpiery: "60" },
      /supabase-selfhosted:jwtExpiery: is not a known setting; known: signingKeys, /,
    );
  });

  it("reports every problem at once", () => {
    const problems = problemsOf({
      signingKeys: keys([
        { name: "k1", state: "current" },
        { name: "K2", state: "gone" },
      ]),
      jwtSecret: "short",
      jwtExpiry: "0",
    });
    expect(problems).toHaveLength(4);
    expect(problems.join("\n")).toMatch(/signingKeys\[1\]\.name/);
    expect(problems.join("\n")).toMatch(/signingKeys\[1\]\.state/);
    const message = new ConfigError(problems).message;
    expect(message).toMatch(/^Invalid stack configuration \(4 problems\):\n  - /);
  });
});

describe("image references", () => {
  it.each([
    ["supabase/gotrue:v2.196.0", true],
    ["registry.example.com:5000/team/gotrue:v2.196.0", true],
    [`supabase/gotrue@sha256:${"a".repeat(64)}`, true],
    [`supabase/gotrue:v2@sha256:${"b".repeat(64)}`, true],
    ["supabase/gotrue", false],
    ["supabase/gotrue:latest", false],
    ["registry.example.com:5000/team/gotrue", false],
  ])("%s pinned: %s", (ref, pinned) => {
    expect(isPinnedImage(ref)).toBe(pinned);
  });

  it("rejects malformed references and unpinned overrides, naming the image key", () => {
    rejectOnce(
      { ...ok, images: JSON.stringify({ rest: "Not An Image" }) },
      /images\.rest: must be an image reference such as postgrest\/postgrest:/,
    );
    rejectOnce(
      { ...ok, images: JSON.stringify({ rest: "postgrest/postgrest:latest" }) },
      /images\.rest: must be pinned to a version tag or digest/,
    );
    rejectOnce(
      { ...ok, images: JSON.stringify({ gotrue: "supabase/gotrue:v2" }) },
      /images\.gotrue: is not a known image; allowed: db, auth, /,
    );
    expect(parseImageReference("registry:5000/a/b:c")).toEqual({ repository: "registry:5000/a/b", tag: "c" });
  });
});

describe("imported legacy API keys (migration from HS256)", () => {
  const secret = "the-old-deployments-secret-with-40-chars!";
  const sign = async (claims: Record<string, unknown>, key = secret, alg = "HS256") => {
    const { SignJWT } = await import("jose");
    return new SignJWT(claims).setProtectedHeader({ alg, typ: "JWT" }).sign(new TextEncoder().encode(key));
  };
  const legacy = { ...ok, legacyHs256: "true", jwtSecret: secret };

  it("accepts the old deployment's anon and service_role keys", async () => {
    const anon = await sign({ role: "anon", iss: "supabase-demo", iat: 1641769200, exp: 1799535600 });
    const service = await sign({ role: "service_role", iss: "supabase-demo", iat: 1641769200, exp: 1799535600 });
    const config = parseConfig({ ...legacy, legacyAnonKey: anon, legacyServiceRoleKey: service });
    expect([config.legacyAnonKey, config.legacyServiceRoleKey]).toEqual([anon, service]);
  });

  it(
    "rejects them without legacy mode, without the secret, or when they don't match it, never echoing " + "the key",
    async () => {
      const anon = await sign({ role: "anon" });
      rejectOnce({ ...ok, legacyAnonKey: anon }, /legacyAnonKey: is only used with legacyHs256: true/);
      rejectOnce(
        { ...ok, legacyHs256: "true", legacyAnonKey: anon },
        /legacyAnonKey: needs the jwtSecret that signed it/,
      );
      const forged = await sign({ role: "anon" }, "some-other-secret-that-is-also-long-enough");
      const message = rejectOnce(
        { ...legacy, legacyAnonKey: forged },
        /legacyAnonKey: is not signed by the imported jwtSecret/,
      );
      expect(message).not.toContain(forged);
      rejectOnce(
        { ...legacy, legacyServiceRoleKey: anon },
        /legacyServiceRoleKey: has role "anon"; expected service_role/,
      );
      rejectOnce(
        { ...legacy, legacyAnonKey: await sign({ role: "anon" }, secret, "HS512") },
        /legacyAnonKey: must be an HS256 JWT, got alg "HS512"/,
      );
      rejectOnce({ ...legacy, legacyAnonKey: "not-a-jwt" }, /legacyAnonKey: must be the HS256 deployment's JWT/);
    },
  );
});

describe("auth settings", () => {
  const withAuth = (auth: unknown) => ({ ...ok, auth: JSON.stringify(auth) });

  it("reads every field, accepting booleans and ports as text (pulumi config set --path)", () => {
    const { auth } = parseConfig(
      withAuth({
        disableSignup: "true",
        mailerAutoconfirm: true,
        anonymousUsers: "false",
        additionalRedirectUrls: ["https://app.example.com/**", "com.example.app://login-callback", "exp+app://x"],
        smtp: { host: "smtp.example.com", port: "2525", adminEmail: "admin@example.com", senderName: "App" },
        externalProviders: { github: { clientId: "id", secret: "s" }, linkedin_oidc: { clientId: "l", secret: "t" } },
      }),
    );
    expect(auth).toEqual({
      disableSignup: true,
      mailerAutoconfirm: true,
      anonymousUsers: false,
      additionalRedirectUrls: ["https://app.example.com/**", "com.example.app://login-callback", "exp+app://x"],
      smtp: { host: "smtp.example.com", port: 2525, adminEmail: "admin@example.com", senderName: "App" },
      externalProviders: { github: { clientId: "id", secret: "s" }, linkedin_oidc: { clientId: "l", secret: "t" } },
    });
    // auth's own default port.
    expect(parseConfig(withAuth({ smtp: { host: "mail", adminEmail: "a@b.c" } })).auth.smtp?.port).toBe(587);
  });

  it.each([
    [{ disableSignup: "yes" }, /auth\.disableSignup: must be a boolean \(true or false\), got "yes"/],
    [{ signup: false }, /auth\.signup: is not a known field; allowed: disableSignup, mailerAutoconfirm/],
    [{ additionalRedirectUrls: "https://a.example.com" }, /auth\.additionalRedirectUrls: must be a list of URLs/],
    [{ additionalRedirectUrls: ["app.example.com/cb"] }, /auth\.additionalRedirectUrls\[0\]: must be a URL such as/],
    [{ additionalRedirectUrls: ["https://a.com,https://b.com"] }, /additionalRedirectUrls\[0\]: .*no spaces or commas/],
    [{ smtp: { host: "smtp.example.com" } }, /auth\.smtp\.adminEmail: is required/],
    [{ smtp: { adminEmail: "a@b.c" } }, /auth\.smtp\.host: is required/],
    [{ smtp: { host: "smtp://mail.example.com", adminEmail: "a@b.c" } }, /auth\.smtp\.host: must be a host name/],
    [{ smtp: { host: "mail", adminEmail: "a@b.c", port: 70000 } }, /auth\.smtp\.port: must be a port number from 1 to/],
    [{ smtp: { host: "mail", adminEmail: "admin" } }, /auth\.smtp\.adminEmail: must be an email address/],
    [{ smtp: "smtp.example.com" }, /auth\.smtp: must be an object such as \{host: smtp\.example\.com/],
    [{ externalProviders: { gogle: { clientId: "a", secret: "b" } } }, /externalProviders\.gogle: is not an OAuth/],
    [{ externalProviders: { google: "client-id" } }, /auth\.externalProviders\.google: must be an object such as/],
    [{ externalProviders: { google: { clientId: "a" } } }, /externalProviders\.google\.secret: is required/],
    [{ externalProviders: { google: { clientId: "a", secret: "b", scope: "x" } } }, /google\.scope: is not a known/],
    [
      { externalProviders: { google: { clientId: "a", secret: "b", redirectUri: "/callback" } } },
      /externalProviders\.google\.redirectUri: must be an absolute http\(s\) URL/,
    ],
    ["off", /supabase-selfhosted:auth: must be an object such as/],
  ])("rejects %j", (auth, pattern) => {
    rejectOnce(withAuth(auth), pattern);
  });
});

describe("extraEnv", () => {
  const withExtra = (extraEnv: unknown) => ({ ...ok, extraEnv: JSON.stringify(extraEnv) });

  it("passes plain settings through as text, per service", () => {
    const config = parseConfig(
      withExtra({
        auth: { GOTRUE_SMTP_MAX_FREQUENCY: "1s", GOTRUE_MFA_PHONE_ENROLL_ENABLED: true },
        rest: { PGRST_DB_MAX_ROWS: 500 },
      }),
      { secretKeys: new Set(["extraEnv"]) },
    );
    expect(config.extraEnv).toEqual({
      auth: { GOTRUE_SMTP_MAX_FREQUENCY: "1s", GOTRUE_MFA_PHONE_ENROLL_ENABLED: "true" },
      rest: { PGRST_DB_MAX_ROWS: "500" },
    });
    expect(config.extraEnvIsSecret).toBe(true);
  });

  it.each([
    [
      { auth: { GOTRUE_JWT_KEYS: "[]" } },
      /extraEnv\.auth\.GOTRUE_JWT_KEYS: is set by the program from the signing keyring/,
    ],
    [{ rest: { PGRST_JWT_SECRET: "x" } }, /extraEnv\.rest\.PGRST_JWT_SECRET: is set by the program from the signing/],
    [{ realtime: { API_JWT_JWKS: "{}" } }, /extraEnv\.realtime\.API_JWT_JWKS: is set by the program/],
    [{ storage: { JWT_JWKS: "{}" } }, /extraEnv\.storage\.JWT_JWKS: is set by the program/],
    [
      { auth: { GOTRUE_DB_DATABASE_URL: "postgres://x" } },
      /GOTRUE_DB_DATABASE_URL: is set by the program from the database/,
    ],
    [
      { db: { POSTGRES_PASSWORD: "x" } },
      /extraEnv\.db\.POSTGRES_PASSWORD: is set by the program from supabase-selfhosted:postgresPassword/,
    ],
    [
      { kong: { KONG_DECLARATIVE_CONFIG: "/x.yml" } },
      /KONG_DECLARATIVE_CONFIG: is set by the program from the gateway's kong\.yml/,
    ],
    [
      { auth: { GOTRUE_SITE_URL: "https://x" } },
      /GOTRUE_SITE_URL: is set by the program from supabase-selfhosted:siteUrl/,
    ],
    [
      { auth: { GOTRUE_SMTP_PASS: "x" } },
      /GOTRUE_SMTP_PASS: is set by the program from supabase-selfhosted:auth\.smtp/,
    ],
    [
      { auth: { GOTRUE_EXTERNAL_GOOGLE_SECRET: "x" } },
      /GOTRUE_EXTERNAL_GOOGLE_SECRET: is set by the program from supabase-selfhosted:auth\.externalProviders;/,
    ],
    [
      { gotrue: { A: "1" } },
      /extraEnv\.gotrue: is not a service of this stack; services: db, backup, backup-s3, auth, /,
    ],
    [{ auth: { "NOT-A-NAME": "1" } }, /extraEnv\.auth\.NOT-A-NAME: is not an environment variable name/],
    [{ auth: { A: { nested: 1 } } }, /extraEnv\.auth\.A: must be a text, number or boolean/],
    [{ auth: "GOTRUE_X=1" }, /extraEnv\.auth: must be a map of environment variable to value/],
    [["auth"], /supabase-selfhosted:extraEnv: must be a map of service to \{NAME: value\}/],
  ])("refuses %j", (extraEnv, pattern) => {
    rejectOnce(withExtra(extraEnv), pattern);
  });
});

describe("postgresPassword and database.publish", () => {
  it("reads the adopted password as it is, refusing what SQL and URLs cannot carry", () => {
    const adopted = "p@ss:w/rd'quote-long-enough";
    expect(parseConfig({ ...ok, postgresPassword: adopted }).postgresPassword).toBe(adopted);
    expect(parseConfig(ok).postgresPassword).toBeUndefined();
    rejectOnce({ ...ok, postgresPassword: "" }, /postgresPassword: must be a password of at least 16 characters/);
    rejectOnce(
      { ...ok, postgresPassword: "x" },
      /postgresPassword: must be a password of at least 16 .*got a text of 1 /,
    );
    rejectOnce(
      { ...ok, postgresPassword: "two\nlines-and-long-enough" },
      /postgresPassword: must be a password of at least 16 characters, without line breaks/,
    );
  });

  it("publishes Postgres only when asked, on 127.0.0.1:5432 unless told otherwise", () => {
    // The pooler (on by default) takes 127.0.0.1:5432 too: test/config/platform.test.ts checks the clash.
    const noPooler = { ...ok, pooler: JSON.stringify({ enabled: false }) };
    const publish = (database: unknown) => parseConfig({ ...noPooler, database: JSON.stringify(database) }).database;
    expect(parseConfig(ok).database).toEqual({});
    expect(publish({ publish: false })).toEqual({});
    expect(publish({ publish: true })).toEqual({ publish: { host: "127.0.0.1", port: 5432 } });
    expect(publish({ publish: { host: "0.0.0.0" } })).toEqual({ publish: { host: "0.0.0.0", port: 5432 } });
    expect(publish({ publish: { host: "::1", port: "6543" } })).toEqual({ publish: { host: "::1", port: 6543 } });
  });

  it.each([
    [{ publish: { port: 0 } }, /database\.publish\.port: must be a port number from 1 to 65535, got 0/],
    [{ publish: { port: 65536 } }, /database\.publish\.port: must be a port number from 1 to 65535, got 65536/],
    [{ publish: { host: "localhost" } }, /database\.publish\.host: must be an IP address of the Docker host/],
    [{ publish: { port: 8000 } }, /database\.publish\.port: 8000 is already gatewayHttpPort's host port/],
    [{ publish: "yes" }, /database\.publish: must be true, false or \{host, port\}, got "yes"/],
    [{ publish: { hostPort: 1 } }, /database\.publish\.hostPort: is not a known field; allowed: host, port/],
    [{ expose: true }, /supabase-selfhosted:database\.expose: is not a known field; allowed: publish/],
  ])("refuses %j", (database, pattern) => {
    rejectOnce({ ...ok, database: JSON.stringify(database) }, pattern);
  });
});

describe("warnings about a valid config", () => {
  // The gateway on the loopback: with plain HTTP on every address the dashboard's login draws a warning of its own.
  const quiet = { ...ok, gatewayHost: "127.0.0.1" };
  const full = {
    ...quiet,
    postgresPassword: "adopted-password-long-enough",
    auth: JSON.stringify({
      smtp: { host: "mail", adminEmail: "a@b.c", pass: "smtp-password" },
      externalProviders: { google: { clientId: "a", secret: "b" } },
    }),
    extraEnv: JSON.stringify({
      auth: { GOTRUE_HOOK_SEND_EMAIL_SECRETS: "v1,whsec_x", GOTRUE_SMTP_MAX_FREQUENCY: "1s" },
    }),
  };

  it("name the fix for each secret given in plain text", () => {
    const warnings = settingsWarnings(parseConfig(full), new Set());
    const fix = (path: string) =>
      `supabase-selfhosted:${path} is stored in plain text in the stack file; encrypt it with ` +
      `\`pulumi config set --secret --path '${path}' <value>\``;
    expect(warnings).toEqual([
      fix("auth.smtp.pass"),
      fix("auth.externalProviders.google.secret"),
      "supabase-selfhosted:postgresPassword is stored in plain text in the stack file; encrypt it with " +
        "`pulumi config set --secret postgresPassword <value>`",
      fix("extraEnv.auth.GOTRUE_HOOK_SEND_EMAIL_SECRETS"),
    ]);
    expect(settingsWarnings(parseConfig(full), new Set(["postgresPassword", "auth", "extraEnv"]))).toEqual([]);
    expect(settingsWarnings(parseConfig(quiet), new Set())).toEqual([]);
  });

  it("say when extraEnv targets a service that does not run", () => {
    const config = parseConfig({ ...quiet, studio: "false", extraEnv: JSON.stringify({ studio: { A: "1" } }) });
    expect(settingsWarnings(config, new Set(["extraEnv"]))).toEqual([
      "supabase-selfhosted:extraEnv.studio: studio does not run with these settings, so this has no effect.",
    ]);
  });
});
