/**
 * The pure service modules: each container's environment read back the way its service reads it, which
 * environments are secret, the container layout, and the db init SQL.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { parseConfig } from "../../components/config/parse";
import {
  deriveKeyring,
  hasPrivateMember,
  legacyOctJwk,
  PRIVATE_MEMBERS,
  type Jwk,
  type KeyringEntry,
  type KeyringValues,
  type KeyringView,
} from "../../components/keyring/model";
import { mintRoleTokens } from "../../components/keyring/tokens";
import { auth, MAILER_URL_PATH } from "../../components/services/auth/auth";
import { OAUTH_PROVIDERS } from "../../components/services/auth/settings";
import { db, postgresUrl } from "../../components/services/db/db";
import {
  MIGRATIONS_DIR,
  SERVICE_DB_ROLES,
  SUPERUSER_DB_ROLES,
  dbInitFiles,
  jwtSql,
  rolesSql,
  sqlLiteral,
  type ServiceDbRole,
} from "../../components/services/db/init";
import {
  runningServices,
  SERVICE_ROLES,
  SERVICES,
  serviceUrl,
  type ServiceRole,
} from "../../components/services/index";
import { KONG_CONFIG_PATH, kongDocument } from "../../components/services/kong/gateway";
import { KONG_PLUGINS } from "../../components/services/kong/format";
import { kong } from "../../components/services/kong/kong";
import { REALTIME_HOST, realtime } from "../../components/services/realtime/realtime";
import { STUDIO_SNIPPETS_PATH, studio } from "../../components/services/studio/studio";
import {
  envIsSecret,
  managedBy,
  toEnvList,
  VOLUME_ROLES,
  withExtraEnv,
  type Builder,
  type EnvMap,
  type ServiceModule,
  type StackSecrets,
  type StackSettings,
} from "../../components/services/service";
import { runBuilder } from "../support/builders";
import { makeEntry, verifyWithJwks } from "../support/keys";
import { apiKeySetOf, BACKUP_S3, DB_PASSWORDS, OPAQUE_KEYS, SECRETS, STACK_SECRETS } from "../support/world";

/** The raw config of {@link SETTINGS}; tests add settings to it. */
const RAW = {
  signingKeys: JSON.stringify([{ name: "k1", state: "current" }]),
  siteUrl: "https://app.example.com",
  apiExternalUrl: "https://api.example.com",
  backup: JSON.stringify({ s3: BACKUP_S3 }),
};

const SETTINGS: StackSettings = parseConfig(RAW);

/** Config values as the engine passes them: text, JSON for anything but a string. */
const stringify = (config: Record<string, unknown>): Record<string, string> =>
  Object.fromEntries(Object.entries(config).map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)]));

/** The keyring values a view and the secrets above give the services. */
function keyringValues(view: KeyringView): KeyringValues {
  return {
    ...view,
    ...OPAQUE_KEYS,
    jwtSecret: SECRETS.jwtSecret,
  };
}

/** Runs a builder as the stack does: given only the keyring values, secrets and db passwords it names. */
function run<T>(
  builder: Builder<T>,
  keyring: KeyringValues,
  secrets: StackSecrets = STACK_SECRETS,
  settings: StackSettings = SETTINGS,
  dbPasswords: Record<ServiceDbRole, string> = DB_PASSWORDS,
): T {
  return runBuilder(builder, { settings, keyring, secrets, dbPasswords });
}

interface World {
  ring: KeyringEntry[];
  view: KeyringView;
  envs: Record<ServiceRole, EnvMap>;
}

/** Every service's environment for one keyring, built with the real builders. */
function buildEnvs(view: KeyringView): Record<ServiceRole, EnvMap> {
  const keyring = keyringValues(view);
  return Object.fromEntries(SERVICES.map((s) => [s.role, run((s as ServiceModule).env, keyring)])) as Record<
    ServiceRole,
    EnvMap
  >;
}

/** Every private member value of every key in the ring (the material that must stay in auth). */
function privateValues(ring: KeyringEntry[]): string[] {
  return ring.flatMap((e) =>
    PRIVATE_MEMBERS.map((m) => e.privateJwk[m]).filter((v): v is string => typeof v === "string"),
  );
}

/** PostgREST's documented parse order for `jwt-secret`: a JWKS object, else one JWK, else an HMAC secret. */
function postgrestSecretKind(value: string): "jwks" | "jwk" | "hmac" {
  try {
    const parsed = JSON.parse(value);
    if (parsed && typeof parsed === "object" && !Array.isArray(parsed)) {
      if (Array.isArray(parsed.keys)) return "jwks";
      if (typeof parsed.kty === "string") return "jwk";
    }
  } catch {
    // not JSON: a plain secret
  }
  return "hmac";
}

/** A JWKS as rest, realtime and storage need it: an object with `keys`, no private member, every key with a kid. */
function expectVerifierJwks(text: string, allowOct: boolean): Jwk[] {
  const parsed = JSON.parse(text);
  expect(Array.isArray(parsed)).toBe(false);
  expect(Array.isArray(parsed.keys)).toBe(true);
  for (const key of parsed.keys as Jwk[]) {
    if (key.kty === "oct") expect(allowOct).toBe(true);
    else expect(hasPrivateMember(key)).toBe(false);
    expect(typeof key.kid).toBe("string");
  }
  return parsed.keys;
}

describe("service environments for a rotating keyring (k0 revoked, k1 previous, k2 current, k3 standby)", () => {
  let world: World;

  beforeAll(async () => {
    const ring = [
      await makeEntry("k0", "revoked"),
      await makeEntry("k1", "previous"),
      await makeEntry("k2", "current"),
      await makeEntry("k3", "standby", "RS256"),
    ];
    const view = deriveKeyring(ring);
    world = { ring, view, envs: buildEnvs(view) };
  });

  it("gives auth a JSON array with exactly one signer, the current key, and both valid-methods names", () => {
    const { envs, ring } = world;
    const keys = JSON.parse(envs.auth.GOTRUE_JWT_KEYS);
    expect(Array.isArray(keys)).toBe(true);
    const signers = (keys as Jwk[]).filter((k) => (k.key_ops as string[]).includes("sign"));
    expect(signers).toHaveLength(1);
    expect(signers[0].kid).toBe(ring[2].kid);
    expect(signers[0].d).toBe(ring[2].privateJwk.d);
    // Trusted keys only (no revoked k0), each with a unique kid and an alg auth maps.
    expect((keys as Jwk[]).map((k) => k.kid)).toEqual([ring[1].kid, ring[2].kid, ring[3].kid]);
    for (const k of (keys as Jwk[]).filter((k) => k !== signers[0])) expect(hasPrivateMember(k)).toBe(false);
    expect(envs.auth.GOTRUE_JWT_VALID_METHODS).toBe("ES256,RS256");
    expect(envs.auth.GOTRUE_JWT_VALIDMETHODS).toBe(envs.auth.GOTRUE_JWT_VALID_METHODS);
    expect(envs.auth.GOTRUE_JWT_SECRET).toBe(SECRETS.authJwtSecret);
    expect(envs.auth.GOTRUE_JWT_EXP).toBe("3600");
    expect(envs.auth.GOTRUE_JWT_AUD).toBe("authenticated");
    expect(envs.auth.GOTRUE_JWT_ADMIN_ROLES).toBe("service_role");
    expect(envs.auth.GOTRUE_SITE_URL).toBe("https://app.example.com");
    expect(envs.auth.API_EXTERNAL_URL).toBe("https://api.example.com");
    expect(envs.auth.GOTRUE_DB_DATABASE_URL).toBe(postgresUrl("supabase_auth_admin", SECRETS.auth));
  });

  it("keeps auth's database connections open between requests (an idle pool of 0 dials db for every query)", () => {
    const { envs } = world;
    // envconfig reads these as Go ints; database/sql keeps at most MaxOpenConns idle.
    const open = Number(envs.auth.GOTRUE_DB_MAX_POOL_SIZE);
    const idle = Number(envs.auth.GOTRUE_DB_MAX_IDLE_POOL_SIZE);
    expect(Number.isInteger(open) && Number.isInteger(idle)).toBe(true);
    expect(idle).toBeGreaterThan(0);
    expect(idle).toBeLessThanOrEqual(open);
  });

  it("gives rest the JWKS object in PGRST_JWT_SECRET and never the HS256 secret (no app.settings.jwt_secret)", async () => {
    const { envs, view } = world;
    expect(postgrestSecretKind(envs.rest.PGRST_JWT_SECRET)).toBe("jwks");
    expectVerifierJwks(envs.rest.PGRST_JWT_SECRET, false);
    // PostgREST would hand it to every request's SQL as app.settings.jwt_secret.
    expect(envs.rest).not.toHaveProperty("PGRST_APP_SETTINGS_JWT_SECRET");
    for (const [name, value] of Object.entries(envs.rest)) expect(value.includes(SECRETS.jwtSecret), name).toBe(false);
    expect(envs.rest.PGRST_APP_SETTINGS_JWT_EXP).toBe("3600");
    // The keys rest will hold verify what clients send: the current and previous keys' role JWTs.
    const jwks = JSON.parse(envs.rest.PGRST_JWT_SECRET);
    for (const token of [...view.gatewayTokens.anon, ...view.gatewayTokens.serviceRole]) {
      await expect(verifyWithJwks(token, jwks)).resolves.toBeTruthy();
    }
    expect(envs.rest.PGRST_DB_URI).toBe(postgresUrl("authenticator", SECRETS.authenticator));
    expect(envs.rest.PGRST_DB_ANON_ROLE).toBe("anon");
  });

  it("gives realtime a JWKS object holding the kid of every token it must accept, and the secrets it requires", () => {
    const { envs, view, ring } = world;
    const keys = expectVerifierJwks(envs.realtime.API_JWT_JWKS, false);
    // realtime rejects an asymmetric token whose kid is not in API_JWT_JWKS.keys.
    for (const token of [view.anonKey, ring[1].anonKey]) {
      const header = JSON.parse(Buffer.from(token.split(".")[0], "base64url").toString());
      expect(keys.some((k) => k.kid === header.kid)).toBe(true);
    }
    expect(keys.map((k) => k.kid)).not.toContain(ring[0].kid); // revoked
    // Its own HS256 secret: the shared jwtSecret only in legacy mode.
    expect(envs.realtime.API_JWT_SECRET).toBe(SECRETS.realtimeJwtSecret);
    expect(envs.realtime.METRICS_JWT_SECRET).toBe(SECRETS.realtimeJwtSecret);
    expect(envs.realtime.SEED_SELF_HOST).toBe("true");
    expect(envs.realtime.DB_ENC_KEY).toHaveLength(16);
  });

  it("gives storage a JWKS its jose verifier accepts the longest-trusted role JWTs with, plus the keys it requires", async () => {
    const { envs, view } = world;
    const jwks = JSON.parse(envs.storage.JWT_JWKS);
    expectVerifierJwks(envs.storage.JWT_JWKS, false);
    const { payload } = await verifyWithJwks(envs.storage.SERVICE_KEY, jwks);
    expect(payload.role).toBe("service_role");
    expect(envs.storage.ANON_KEY).toBe(view.longestTrustedAnonKey);
    expect((await verifyWithJwks(envs.storage.ANON_KEY, jwks)).payload.role).toBe("anon");
    expect(envs.storage.AUTH_JWT_SECRET).toBe(SECRETS.storageJwtSecret);
    expect(envs.storage.STORAGE_BACKEND).toBe("file");
    expect(envs.storage.FILE_STORAGE_BACKEND_PATH).toBe("/var/lib/storage");
  });

  it("puts no private key material in any container but auth", () => {
    const { envs, ring } = world;
    const secrets = privateValues(ring);
    expect(secrets.length).toBeGreaterThan(0);
    for (const role of SERVICE_ROLES.filter((r) => r !== "auth")) {
      for (const [key, value] of Object.entries(envs[role])) {
        for (const secret of secrets) expect(value.includes(secret), `${role} ${key}`).toBe(false);
      }
    }
    // And auth holds the current key's private half only.
    const authText = envs.auth.GOTRUE_JWT_KEYS;
    expect(authText.includes(ring[2].privateJwk.d as string)).toBe(true);
    for (const other of [ring[0], ring[1], ring[3]])
      expect(authText.includes(other.privateJwk.d as string)).toBe(false);
  });

  it("marks a service's environment secret exactly when an entry holds a secret", () => {
    const { envs, ring, view } = world;
    const secretValues = [...Object.values(SECRETS), ...privateValues(ring), view.anonKey, view.serviceRoleKey];
    for (const service of SERVICES) {
      const holding = Object.entries(envs[service.role]).filter(([, value]) =>
        secretValues.some((s) => value.includes(s)),
      );
      expect(service.secretEnv, `${service.role}: ${holding.map(([key]) => key).join(", ") || "no secret"}`).toBe(
        holding.length > 0,
      );
    }
  });
});

describe("service environments in legacy HS256 mode", () => {
  it("adds the oct key to the verifiers (so their JWKS is secret) and legacy tokens verify with it", async () => {
    const oct = legacyOctJwk(SECRETS.jwtSecret);
    const legacy = await mintRoleTokens(oct, 1_700_000_000, 3650);
    const view = deriveKeyring([await makeEntry("k1", "current")], {
      jwk: oct,
      anonKey: legacy.anonKey,
      serviceRoleKey: legacy.serviceRoleKey,
    });
    const envs = buildEnvs(view);
    for (const [role, key] of [
      ["rest", "PGRST_JWT_SECRET"],
      ["realtime", "API_JWT_JWKS"],
      ["storage", "JWT_JWKS"],
    ] as const) {
      const keys = expectVerifierJwks(envs[role][key], true);
      expect(keys.some((k) => k.kty === "oct")).toBe(true);
      expect(SERVICES.find((s) => s.role === role)!.secretEnv, role).toBe(true);
    }
    const { payload } = await verifyWithJwks(legacy.anonKey, JSON.parse(envs.storage.JWT_JWKS));
    expect(payload.role).toBe("anon");
    expect(envs.auth.GOTRUE_JWT_VALID_METHODS).toBe("ES256,HS256");
  });
});

describe("service builders refuse what the service would refuse", () => {
  it("auth: no signer, or two signers", async () => {
    const a = await makeEntry("a", "current");
    const b = await makeEntry("b", "current");
    const base = keyringValues(deriveKeyring([a]));
    expect(() => run(auth.env, { ...base, authKeys: [a.publicJwk] })).toThrow(/exactly one signing key, got 0/);
    expect(() => run(auth.env, { ...base, authKeys: [a.privateJwk, b.privateJwk] })).toThrow(
      /exactly one signing key, got 2/,
    );
  });

  it("realtime: a DB_ENC_KEY that is not 16 characters, a short SECRET_KEY_BASE", async () => {
    const keyring = keyringValues(deriveKeyring([await makeEntry("a", "current")]));
    expect(() => run(realtime.env, keyring, { ...STACK_SECRETS, realtimeDbEncKey: "short" })).toThrow(
      /DB_ENC_KEY must be exactly 16/,
    );
    expect(() => run(realtime.env, keyring, { ...STACK_SECRETS, realtimeSecretKeyBase: "short" })).toThrow(
      /SECRET_KEY_BASE must be at least 64/,
    );
  });

  it("kong: enables exactly the plugins kong.yml uses and reads the uploaded file, DB-less", async () => {
    const keyring = keyringValues(deriveKeyring([await makeEntry("a", "current")]));
    const env = run(kong.env, keyring, STACK_SECRETS);
    expect(env.KONG_PLUGINS).toBe(KONG_PLUGINS.join(","));
    expect(KONG_PLUGINS.length).toBeGreaterThan(0);
    expect(env.KONG_DECLARATIVE_CONFIG).toBe(KONG_CONFIG_PATH);
    expect(env.KONG_DATABASE).toBe("off");
    expect(env.KONG_ROUTER_FLAVOR).toBe("expressions");
  });

  it("URL-encodes passwords in connection strings", () => {
    expect(postgresUrl("authenticator", "p@ss:w/rd")).toBe("postgres://authenticator:p%40ss%3Aw%2Frd@db:5432/postgres");
  });

  it("turns an env map into Docker's K=V list in a stable order, refusing names Docker cannot carry", () => {
    expect(toEnvList({ B: "2", A: "x=y" })).toEqual(["B=2", "A=x=y"]);
    expect(() => toEnvList({ "NOT VALID": "1" })).toThrow(/invalid environment variable name/);
  });
});

describe("container layout", () => {
  it("writes every health check duration as Docker reads it back (Go's time.Duration text), so a re-run changes nothing", () => {
    // Docker returns durations in nanoseconds and the provider prints them with Go's Duration.String(): "60s" comes
    // back as "1m0s", a difference the next preview would plan as a replacement.
    const goDuration = (text: string) => {
      const seconds = Number(/^(\d+)s$/.exec(text)?.[1] ?? NaN);
      return seconds >= 60 ? `${Math.floor(seconds / 60)}m${seconds % 60}s` : text;
    };
    for (const service of SERVICES) {
      const { interval, timeout, startPeriod } = service.healthcheck;
      for (const value of [interval, timeout, startPeriod].filter((v): v is string => v !== undefined))
        expect(value, service.role).toBe(goDuration(value));
    }
  });

  const deps = (running: ServiceModule[], role: string) =>
    running.find((s) => s.role === role)!.dependsOn(running.map((s) => s.role));

  it("reaches realtime under its tenant host, starts db first and kong last, each service after what it needs", () => {
    const running = runningServices({ ...SETTINGS, studio: true, functions: { ...SETTINGS.functions, enabled: true } });
    expect(running.map((s) => s.role)).toEqual([
      "db",
      "backup",
      "backup-s3",
      "auth",
      "rest",
      "realtime",
      "imgproxy",
      "storage",
      "meta",
      "studio",
      "pooler",
      "functions",
      "kong",
    ]);
    // The TLS proxy runs only with tls.mode acme, certificate or internal, in front of kong.
    expect(SERVICE_ROLES).toEqual([...running.map((s) => s.role), "tls"]);
    expect(running.find((s) => s.role === "realtime")!.aliases).toContain(REALTIME_HOST);
    const seen = new Set<string>();
    for (const s of running) {
      for (const d of deps(running, s.role)) expect(seen.has(d), `${s.role} depends on ${d}`).toBe(true);
      seen.add(s.role);
    }
    for (const role of ["auth", "rest", "realtime", "storage", "meta", "pooler", "functions"]) {
      expect(deps(running, role)).toContain("db");
    }
    expect(deps(running, "storage")).toEqual(["db", "rest", "imgproxy"]);
    // kong waits for every other service but db.
    expect(deps(running, "kong")).toEqual(
      SERVICE_ROLES.filter((r) => !["db", "backup", "backup-s3", "kong", "tls"].includes(r)),
    );
    // The backup service starts once db is healthy, its off-site copy after it, and nothing waits for either.
    expect(deps(running, "backup")).toEqual(["db"]);
    expect(deps(running, "backup-s3")).toEqual(["backup"]);
  });

  it("calls each service by its first DNS name and its port", () => {
    expect(serviceUrl("rest")).toBe("http://rest:3000");
    expect(serviceUrl("realtime")).toBe(`http://${REALTIME_HOST}:4000`);
    expect(serviceUrl("kong")).toBe("http://kong:8000");
    expect(serviceUrl("functions")).toBe("http://functions:9000");
    expect(() => serviceUrl("vector")).toThrow(/no service "vector"; services: db, backup, backup-s3, auth/);
  });

  it("drops studio and meta when the dashboard is off", () => {
    const running = runningServices({ ...SETTINGS, studio: false });
    expect(running.map((s) => s.role)).toEqual([
      "db",
      "backup",
      "backup-s3",
      "auth",
      "rest",
      "realtime",
      "imgproxy",
      "storage",
      "pooler",
      "kong",
    ]);
    expect(deps(running, "kong")).not.toContain("studio");
  });

  it("keeps db data, the pgsodium key and storage files on named volumes", () => {
    const running = runningServices({ ...SETTINGS, studio: false });
    expect(running.find((s) => s.role === "db")!.volumes!.map((v) => v.volume)).toEqual(["db-data", "db-config"]);
    expect(running.find((s) => s.role === "storage")!.volumes).toEqual([
      { volume: "storage-data", containerPath: "/var/lib/storage" },
    ]);
  });

  it("gives every container a health check that holds no key-dependent value", () => {
    for (const service of SERVICES) {
      expect(service.healthcheck.tests[0]).toMatch(/^CMD(-SHELL)?$/);
      expect(service.healthcheck.tests.length).toBeGreaterThan(1);
      expect(service.healthcheck.tests.join(" ")).not.toMatch(/Bearer|eyJ/);
    }
  });
});

describe("db init SQL", () => {
  const passwords = Object.fromEntries(SERVICE_DB_ROLES.map((r, i) => [r, `password-${r}-${i}-0123456789`])) as Record<
    ServiceDbRole,
    string
  >;

  it("sets a password for each service role, each its own", () => {
    const sql = rolesSql(passwords);
    for (const role of [
      "authenticator",
      "pgbouncer",
      "supabase_auth_admin",
      "supabase_functions_admin",
      "supabase_storage_admin",
    ]) {
      expect(sql).toContain(`ALTER ROLE ${role} WITH PASSWORD '${passwords[role as ServiceDbRole]}';`);
    }
    expect(() => rolesSql({ ...passwords, authenticator: "short" })).toThrow(/authenticator must be at least 16/);
  });

  it("quotes literals so a quote cannot end the statement", () => {
    expect(sqlLiteral("it's")).toBe("'it''s'");
    expect(() => sqlLiteral("a\nb")).toThrow(/line breaks/);
  });

  it("ships the roles, realtime schema and JWT settings into the migrations phase, only the roles file secret", () => {
    const files = dbInitFiles({ rolePasswords: passwords, jwtExpiry: 900 });
    expect(files.map((f) => f.file)).toEqual([
      `${MIGRATIONS_DIR}/97-supabase-internal.sql`,
      `${MIGRATIONS_DIR}/99-jwt.sql`,
      `${MIGRATIONS_DIR}/99-pooler.sql`,
      `${MIGRATIONS_DIR}/99-realtime.sql`,
      `${MIGRATIONS_DIR}/99-roles.sql`,
    ]);
    // In the order the image runs them: name order.
    expect(files.map((f) => f.file)).toEqual(files.map((f) => f.file).sort());
    for (const f of files) {
      const holdsPassword = Object.values(passwords).some((p) => f.content.includes(p));
      expect(f.secret).toBe(holdsPassword);
    }
    const content = (name: string) => files.find((f) => f.file.endsWith(name))!.content;
    expect(content("99-jwt.sql")).toContain(`ALTER DATABASE postgres SET "app.settings.jwt_exp" TO '900';`);
    expect(content("99-realtime.sql")).toContain("CREATE SCHEMA IF NOT EXISTS _realtime;");
    expect(content("99-realtime.sql")).toContain("ALTER SCHEMA _realtime OWNER TO supabase_admin;");
    // The pooler's database and schema, as upstream's _supabase.sql and pooler.sql make them.
    expect(content("97-supabase-internal.sql")).toContain("CREATE DATABASE _supabase WITH OWNER supabase_admin;");
    expect(content("99-pooler.sql").split("\n").slice(1, 4)).toEqual([
      "\\connect _supabase",
      "CREATE SCHEMA IF NOT EXISTS _supavisor;",
      "ALTER SCHEMA _supavisor OWNER TO supabase_admin;",
    ]);
    expect(() => jwtSql(0)).toThrow(/positive integer/);
  });
});

describe("auth settings in auth's environment", () => {
  let keyring: KeyringValues;
  beforeAll(async () => {
    keyring = keyringValues(deriveKeyring([await makeEntry("k1", "current")]));
  });
  const authEnv = (config: Record<string, unknown>) =>
    run(auth.env, keyring, STACK_SECRETS, parseConfig({ ...RAW, ...stringify(config) }));

  it("links mails to the gateway's verify route, which leads to auth's /verify", () => {
    const env = authEnv({});
    for (const kind of ["INVITE", "CONFIRMATION", "RECOVERY", "EMAIL_CHANGE"])
      expect(env[`GOTRUE_MAILER_URLPATHS_${kind}`], kind).toBe("/auth/v1/verify");
    const route = kongDocument({
      apiKeys: { publishable: [SECRETS.publishableKey], secret: [SECRETS.secretKey] },
      anonKey: keyring.longestTrustedAnonKey,
      serviceRoleKey: keyring.longestTrustedServiceRoleKey,
      gatewayTokens: keyring.gatewayTokens,
      dashboard: { username: "u", password: "p" },
      studio: false,
      url: serviceUrl,
      issuer: "https://api.example.com",
    }).services.find((s) => s.routes.some((r) => "paths" in r && r.paths.includes(MAILER_URL_PATH)));
    expect(route?.url).toBe(`${serviceUrl("auth")}/verify`);
  });

  it("has upstream's defaults: sign-up open, mail confirmation on, no anonymous users, no extra redirects", () => {
    const env = authEnv({});
    expect(env.GOTRUE_DISABLE_SIGNUP).toBe("false");
    expect(env.GOTRUE_MAILER_AUTOCONFIRM).toBe("false");
    expect(env.GOTRUE_EXTERNAL_ANONYMOUS_USERS_ENABLED).toBe("false");
    expect(env.GOTRUE_EXTERNAL_EMAIL_ENABLED).toBe("true");
    expect(env.GOTRUE_URI_ALLOW_LIST).toBe("");
    expect(Object.keys(env).filter((k) => k.startsWith("GOTRUE_SMTP_"))).toEqual([]);
    expect(Object.keys(env).filter((k) => /^GOTRUE_EXTERNAL_(?!EMAIL|ANONYMOUS)/.test(k))).toEqual([]);
  });

  it("renders the sign-up policy, SMTP and OAuth providers as the official compose names them", () => {
    const env = authEnv({
      auth: {
        disableSignup: true,
        mailerAutoconfirm: "true",
        anonymousUsers: true,
        additionalRedirectUrls: ["https://app.example.com/**", "com.example.app://login-callback"],
        smtp: { host: "smtp.example.com", port: 465, user: "mailer", pass: "SMTPPASS", adminEmail: "a@example.com" },
        externalProviders: {
          google: { clientId: "g-id", secret: "GOOGLESECRET" },
          keycloak: {
            clientId: "kc",
            secret: "KCSECRET",
            url: "https://sso.example.com/realms/app",
            redirectUri: "https://auth.example.com/auth/v1/callback",
          },
        },
      },
    });
    expect(env).toMatchObject({
      GOTRUE_DISABLE_SIGNUP: "true",
      GOTRUE_MAILER_AUTOCONFIRM: "true",
      GOTRUE_EXTERNAL_ANONYMOUS_USERS_ENABLED: "true",
      GOTRUE_URI_ALLOW_LIST: "https://app.example.com/**,com.example.app://login-callback",
      GOTRUE_SMTP_HOST: "smtp.example.com",
      GOTRUE_SMTP_PORT: "465",
      GOTRUE_SMTP_USER: "mailer",
      GOTRUE_SMTP_PASS: "SMTPPASS",
      GOTRUE_SMTP_ADMIN_EMAIL: "a@example.com",
      GOTRUE_EXTERNAL_GOOGLE_ENABLED: "true",
      GOTRUE_EXTERNAL_GOOGLE_CLIENT_ID: "g-id",
      GOTRUE_EXTERNAL_GOOGLE_SECRET: "GOOGLESECRET",
      // Through the gateway: upstream's docs register <API_EXTERNAL_URL>/auth/v1/callback with the provider.
      GOTRUE_EXTERNAL_GOOGLE_REDIRECT_URI: "https://api.example.com/auth/v1/callback",
      GOTRUE_EXTERNAL_KEYCLOAK_URL: "https://sso.example.com/realms/app",
      GOTRUE_EXTERNAL_KEYCLOAK_REDIRECT_URI: "https://auth.example.com/auth/v1/callback",
    });
    expect(env).not.toHaveProperty("GOTRUE_SMTP_SENDER_NAME");
    expect(env).not.toHaveProperty("GOTRUE_EXTERNAL_GOOGLE_URL");
    // auth's env is one Pulumi secret as a whole: the SMTP password and provider secrets are inside it.
    expect(auth.secretEnv).toBe(true);
  });
});

describe("gateway, studio and db settings", () => {
  let keyring: KeyringValues;
  beforeAll(async () => {
    keyring = keyringValues(deriveKeyring([await makeEntry("k1", "current")]));
  });

  it("kong resolves upstreams with a 5 s DNS TTL and runs the expressions router, in a constant environment", async () => {
    const env = run(kong.env, keyring);
    expect(env.KONG_DNS_VALID_TTL).toBe("5");
    expect(env.KONG_ROUTER_FLAVOR).toBe("expressions");
    // Nothing from the keyring, so no rotation step can change it.
    expect(kong.env.keyring).toEqual([]);
    expect(kong.env.secrets).toEqual([]);
    const other = keyringValues(deriveKeyring([await makeEntry("k2", "current", "EdDSA")]));
    expect(run(kong.env, other, { ...STACK_SECRETS, dashboardPassword: "other" })).toEqual(env);
  });

  it("studio keeps saved SQL snippets on the retained studio-snippets volume", () => {
    expect(VOLUME_ROLES).toContain("studio-snippets");
    expect(studio.volumes).toEqual([{ volume: "studio-snippets", containerPath: STUDIO_SNIPPETS_PATH }]);
    expect(run(studio.env, keyring).SNIPPETS_MANAGEMENT_FOLDER).toBe(STUDIO_SNIPPETS_PATH);
  });

  it("db is published on the host only when database.publish says so, on the host's loopback by default", () => {
    // The pooler (on by default) takes 127.0.0.1:5432 too; here it is off, so 5432 is free for Postgres itself.
    const ports = (database: unknown) =>
      db.publishedPorts!(
        parseConfig({
          ...RAW,
          ...stringify({ pooler: { enabled: false } }),
          ...(database === undefined ? {} : stringify({ database })),
        }),
      );
    expect(ports(undefined)).toEqual([]);
    expect(ports({ publish: false })).toEqual([]);
    expect(ports({ publish: true })).toEqual([{ internal: 5432, external: 5432, ip: "127.0.0.1" }]);
    expect(ports({ publish: { port: 6432 } })).toEqual([{ internal: 5432, external: 6432, ip: "127.0.0.1" }]);
    expect(ports({ publish: { host: "0.0.0.0", port: "15432" } })).toEqual([
      { internal: 5432, external: 15432, ip: "0.0.0.0" },
    ]);
  });
});

describe("the gateway's published port", () => {
  const ports = (raw: Record<string, string>) => kong.publishedPorts!(parseConfig({ ...RAW, ...raw }));

  it("is gatewayHttpPort on every address by default, as upstream's compose publishes kong", () => {
    // No address: the docker provider's own default (0.0.0.0), the ports input kong had before gatewayHost existed.
    expect(ports({})).toEqual([{ internal: 8000, external: 8000 }]);
    expect(ports({ gatewayHost: "0.0.0.0" })).toEqual([{ internal: 8000, external: 8000 }]);
  });

  it("listens on gatewayHost alone when it names an address (a TLS proxy on the same host)", () => {
    expect(ports({ gatewayHost: "127.0.0.1", gatewayHttpPort: "8443" })).toEqual([
      { internal: 8000, external: 8443, ip: "127.0.0.1" },
    ]);
  });
});

describe("postgresPassword (adopting a data volume)", () => {
  const ADOPTED = "old-POSTGRES_PASSWORD-from-.env";

  it("gives the superuser and every service role the one password, and the roles file sets them all", async () => {
    const keyring = keyringValues(deriveKeyring([await makeEntry("k1", "current")]));
    const settings = parseConfig({ ...RAW, postgresPassword: ADOPTED });
    const passwords = Object.fromEntries(SERVICE_DB_ROLES.map((r) => [r, ADOPTED])) as Record<ServiceDbRole, string>;
    const secrets = { ...STACK_SECRETS, postgresPassword: ADOPTED };
    const envs = Object.fromEntries(
      SERVICES.map((s) => [s.role, run((s as ServiceModule).env, keyring, secrets, settings, passwords)]),
    ) as Record<ServiceRole, EnvMap>;
    expect(envs.db.POSTGRES_PASSWORD).toBe(ADOPTED);
    expect(envs.auth.GOTRUE_DB_DATABASE_URL).toBe(postgresUrl("supabase_auth_admin", ADOPTED));
    expect(envs.rest.PGRST_DB_URI).toBe(postgresUrl("authenticator", ADOPTED));
    expect(envs.storage.DATABASE_URL).toBe(postgresUrl("supabase_storage_admin", ADOPTED));
    expect(envs.realtime.DB_PASSWORD).toBe(ADOPTED);
    expect(envs.meta.PG_META_DB_PASSWORD).toBe(ADOPTED);
    expect(envs.studio.POSTGRES_PASSWORD).toBe(ADOPTED);
    const [roles] = run(db.files!, keyring, secrets, settings, passwords).filter((f) => f.file.endsWith("roles.sql"));
    for (const role of [...SERVICE_DB_ROLES, ...SUPERUSER_DB_ROLES])
      expect(roles.content).toContain(`ALTER ROLE ${role} WITH PASSWORD '${ADOPTED}';`);
  });

  it("leaves the roles file of a stack without it as it was: the service roles only", async () => {
    const keyring = keyringValues(deriveKeyring([await makeEntry("k1", "current")]));
    const [roles] = run(db.files!, keyring).filter((f) => f.file.endsWith("roles.sql"));
    expect(roles.content).toBe(rolesSql(DB_PASSWORDS));
    expect(roles.content).not.toContain(SECRETS.postgres);
  });
});

describe("extraEnv", () => {
  /** A second world in which every keyring value, generated secret, password and setting differs. */
  async function worlds() {
    const a = keyringValues(deriveKeyring([await makeEntry("k1", "current")]));
    const b = {
      ...keyringValues(deriveKeyring([await makeEntry("k2", "current"), await makeEntry("k3", "standby")])),
      publishableKey: `${SECRETS.publishableKey}2`,
      secretKey: `${SECRETS.secretKey}2`,
      apiKeys: apiKeySetOf(`${SECRETS.publishableKey}2`, `${SECRETS.secretKey}2`),
      jwtSecret: `${SECRETS.jwtSecret}2`,
    };
    const secretsB = Object.fromEntries(
      // Secrets of a fixed length keep it.
      Object.entries(STACK_SECRETS).map(([k, v]) => [k, /EncKey$/.test(k) ? `${v.slice(1)}2` : `${v}2`]),
    ) as unknown as StackSecrets;
    const passwordsB = Object.fromEntries(SERVICE_DB_ROLES.map((r) => [r, `${DB_PASSWORDS[r]}2`])) as Record<
      ServiceDbRole,
      string
    >;
    const settingsB = parseConfig({
      ...RAW,
      ...stringify({
        siteUrl: "https://other.example.com",
        apiExternalUrl: "https://other-api.example.com",
        jwtExpiry: 900,
        dashboardUsername: "other",
        auth: {
          disableSignup: true,
          mailerAutoconfirm: true,
          anonymousUsers: true,
          additionalRedirectUrls: ["https://x.example.com"],
          smtp: { host: "smtp.example.com", user: "u", pass: "p", adminEmail: "a@example.com", senderName: "n" },
          externalProviders: Object.fromEntries(
            OAUTH_PROVIDERS.map((p) => [p, { clientId: "c", secret: "s", url: "https://idp.example.com" }]),
          ),
        },
        postgresPassword: "adopted-password-long-enough",
        pooler: { tenantId: "other", defaultPoolSize: 30, maxClientConnections: 200 },
        functions: { enabled: true, verifyJwt: false },
        storage: {
          backend: "s3",
          tenantId: "other",
          imageTransformation: false,
          s3: {
            endpoint: "https://s3.example.com",
            bucket: "b-1",
            region: "eu-1",
            accessKeyId: "a",
            secretAccessKey: "s",
          },
        },
      }),
    });
    return { a, b, secretsB, passwordsB, settingsB };
  }

  it("may not set what the keyring, the secrets, the database or a config key decides, in any service", async () => {
    const { a, b, secretsB, passwordsB, settingsB } = await worlds();
    let checked = 0;
    for (const service of SERVICES as readonly ServiceModule[]) {
      const before = run(service.env, a);
      const after = run(service.env, b, secretsB, settingsB, passwordsB);
      const derived = [...new Set([...Object.keys(before), ...Object.keys(after)])].filter(
        (name) => before[name] !== after[name],
      );
      for (const name of derived) expect(managedBy(service.env.managed, name), `${service.role} ${name}`).toBeDefined();
      checked += derived.length;
    }
    expect(checked).toBeGreaterThan(50);
  });

  it("is merged last over the program's plain defaults, and the env is secret when a secret extraEnv holds a value", () => {
    const settings = parseConfig({ ...RAW, ...stringify({ extraEnv: { rest: { PGRST_DB_MAX_ROWS: 50 } } }) });
    expect(withExtraEnv("rest", { PGRST_DB_MAX_ROWS: "1000", A: "1" }, settings)).toEqual({
      PGRST_DB_MAX_ROWS: "50",
      A: "1",
    });
    expect(withExtraEnv("auth", { A: "1" }, settings)).toEqual({ A: "1" });
    expect(envIsSecret(kong, settings)).toBe(false);
    const kongExtra = parseConfig(
      { ...RAW, extraEnv: JSON.stringify({ kong: { KONG_LOG_LEVEL: "debug" } }) },
      { secretKeys: new Set(["extraEnv"]) },
    );
    expect(envIsSecret(kong, kongExtra)).toBe(true);
    expect(envIsSecret(kong, { ...kongExtra, extraEnvIsSecret: false })).toBe(false);
  });
});
