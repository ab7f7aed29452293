/**
 * The platform services (pooler, functions, imgproxy, and storage's S3 backend): their environments, files,
 * commands, health checks and images against the official self-hosted compose (supabase/supabase
 * `docker/docker-compose.yml` at the commit `components/services/images.ts` names, and `docker/docker-compose.s3.yml`),
 * and the functions' main entry deciding real calls with real keys.
 */
import * as jose from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import { parseConfig } from "../../components/config/parse";
import { readFunctionsDir } from "../../components/config/read";
import type { RawConfig } from "../../components/schema/setting";
import { deriveKeyring, legacyOctJwk, type KeyringEntry, type KeyringValues } from "../../components/keyring/model";
import { mintRoleTokens } from "../../components/keyring/tokens";
import {
  checkCall,
  functionName,
  jwksTokenCheck,
  tokenOf,
  type Jose,
  type TokenCheck,
} from "../../components/services/functions/default/main/verify";
import type { ServiceDbRole } from "../../components/services/db/init";
import { FUNCTIONS_ROOT, functions } from "../../components/services/functions/functions";
import { IMAGE_DEFAULTS } from "../../components/services/images";
import { imgproxy } from "../../components/services/imgproxy/imgproxy";
import { runningServices } from "../../components/services/index";
import {
  POOLER_SCRIPT_PATH,
  pooler,
  poolerConnectionString,
  poolerTenantScript,
} from "../../components/services/pooler/pooler";
import type { Builder, StackSecrets, StackSettings } from "../../components/services/service";
import { storage } from "../../components/services/storage/storage";
import { runBuilder } from "../support/builders";
import { makeEntry } from "../support/keys";
import { OPAQUE_KEYS } from "../support/world";

const SECRETS: StackSecrets = {
  postgresPassword: "PGPASSWORDpostgres0123456789",
  realtimeSecretKeyBase: "R".repeat(64),
  realtimeDbEncKey: "D".repeat(16),
  poolerSecretKeyBase: "POOLERSECRETKEYBASE".padEnd(64, "p"),
  poolerVaultEncKey: "VAULTENCKEY".padEnd(32, "v"),
  s3ProtocolAccessKeyId: "S3ACCESSKEYID".padEnd(32, "a"),
  s3ProtocolAccessKeySecret: "S3ACCESSKEYSECRET".padEnd(64, "s"),
  authJwtSecret: "AUTHOWN".padEnd(64, "1"),
  realtimeJwtSecret: "REALTIMEOWN".padEnd(64, "2"),
  storageJwtSecret: "STORAGEOWN".padEnd(64, "3"),
  studioJwtSecret: "STUDIOOWN".padEnd(64, "4"),
  poolerJwtSecret: "POOLEROWN".padEnd(64, "5"),
};
const PGBOUNCER_PASSWORD = "PGPASSWORDpgbouncer01234567";
const DB_PASSWORDS: Record<ServiceDbRole, string> = {
  authenticator: "PGPASSWORDauthenticator0123",
  supabase_auth_admin: "PGPASSWORDauthadmin01234567",
  supabase_storage_admin: "PGPASSWORDstorageadmin01234",
  supabase_functions_admin: "PGPASSWORDfunctionsadmin0123",
  pgbouncer: PGBOUNCER_PASSWORD,
};
const JWT_SECRET = "JWTSECRET-0123456789abcdefghijklmnopqrstuvwxyz";

function settings(extra: RawConfig = {}): StackSettings {
  return parseConfig(
    { signingKeys: JSON.stringify([{ name: "k1", state: "current" }]), ...extra },
    { readFunctionsDir },
  );
}

let ring: KeyringEntry[];
let keyring: KeyringValues;
beforeAll(async () => {
  ring = [
    await makeEntry("k1", "previous", "EdDSA"),
    await makeEntry("k2", "current"),
    await makeEntry("k3", "standby", "RS256"),
  ];
  keyring = {
    ...deriveKeyring(ring),
    ...OPAQUE_KEYS,
    jwtSecret: JWT_SECRET,
  };
});

/** Runs a builder as the stack does: given only what it names. */
function run<T>(builder: Builder<T>, config: StackSettings, secrets: StackSecrets = SECRETS): T {
  return runBuilder(builder, { settings: config, keyring, secrets, dbPasswords: DB_PASSWORDS });
}

/** The variables each service's block in the pinned compose sets (commented-out JWKS lines included). */
const UPSTREAM_ENV = {
  pooler: [
    "PORT",
    "POSTGRES_PORT",
    "POSTGRES_HOST",
    "POSTGRES_DB",
    "POSTGRES_PASSWORD",
    "DATABASE_URL",
    "CLUSTER_POSTGRES",
    "SECRET_KEY_BASE",
    "VAULT_ENC_KEY",
    "API_JWT_SECRET",
    "METRICS_JWT_SECRET",
    "REGION",
    "ERL_AFLAGS",
    "POOLER_TENANT_ID",
    "POOLER_DEFAULT_POOL_SIZE",
    "POOLER_MAX_CLIENT_CONN",
    "POOLER_POOL_MODE",
    "DB_POOL_SIZE",
  ],
  functions: [
    "JWT_SECRET",
    "SUPABASE_JWKS",
    "SUPABASE_URL",
    "SUPABASE_PUBLIC_URL",
    "SUPABASE_ANON_KEY",
    "SUPABASE_SERVICE_ROLE_KEY",
    "SUPABASE_PUBLISHABLE_KEYS",
    "SUPABASE_SECRET_KEYS",
    "SUPABASE_DB_URL",
    "VERIFY_JWT",
  ],
  imgproxy: [
    "IMGPROXY_BIND",
    "IMGPROXY_LOCAL_FILESYSTEM_ROOT",
    "IMGPROXY_USE_ETAG",
    "IMGPROXY_AUTO_WEBP",
    "IMGPROXY_MAX_SRC_RESOLUTION",
  ],
};

describe("the services' upstream facts", () => {
  it("pins the tags of the compose the other images come from", () => {
    expect(IMAGE_DEFAULTS.pooler).toBe("supabase/supavisor:2.9.12");
    expect(IMAGE_DEFAULTS.functions).toBe("supabase/edge-runtime:v1.76.2");
    expect(IMAGE_DEFAULTS.imgproxy).toBe("darthsim/imgproxy:v3.31.4");
  });

  it("probes each as upstream does", () => {
    expect(pooler.healthcheck).toEqual({
      tests: ["CMD", "curl", "-sSfL", "--head", "-o", "/dev/null", "http://127.0.0.1:4000/api/health"],
      interval: "10s",
      timeout: "5s",
      retries: 10,
      startPeriod: "30s",
    });
    expect(functions.healthcheck.tests).toEqual(["CMD-SHELL", "timeout 1 bash -c '</dev/tcp/127.0.0.1/9000'"]);
    expect(imgproxy.healthcheck.tests).toEqual(["CMD", "imgproxy", "health"]);
  });

  it("sets upstream's variable names: the pooler's pgbouncer password under its own name, nothing else added", () => {
    const config = settings();
    const poolerEnv = Object.keys(run(pooler.env, config));
    expect(poolerEnv.filter((k) => !UPSTREAM_ENV.pooler.includes(k))).toEqual(["POOLER_PGBOUNCER_PASSWORD"]);
    // Upstream's POSTGRES_PASSWORD only feeds its tenant script the pgbouncer password; ours reads the role's own.
    expect(UPSTREAM_ENV.pooler.filter((k) => !poolerEnv.includes(k))).toEqual(["POSTGRES_PASSWORD"]);
    // Upstream's JWT_SECRET only with legacyHs256: without it no worker gets a secret that mints tokens.
    expect(Object.keys(run(functions.env, config))).toEqual(UPSTREAM_ENV.functions.filter((k) => k !== "JWT_SECRET"));
    expect(Object.keys(run(functions.env, settings({ legacyHs256: "true" })))).toEqual(UPSTREAM_ENV.functions);
    expect(Object.keys(run(imgproxy.env, config))).toEqual(UPSTREAM_ENV.imgproxy);
  });
});

describe("pooler (supavisor)", () => {
  it("connects to the _supabase database as the superuser, and registers the tenant with pgbouncer's own password", () => {
    const env = run(pooler.env, settings({ pooler: JSON.stringify({ tenantId: "acme", defaultPoolSize: 30 }) }));
    expect(env.DATABASE_URL).toBe(`ecto://supabase_admin:${SECRETS.postgresPassword}@db:5432/_supabase`);
    expect(env.POOLER_TENANT_ID).toBe("acme");
    expect(env.POOLER_DEFAULT_POOL_SIZE).toBe("30");
    expect(env.POOLER_MAX_CLIENT_CONN).toBe("100");
    expect(env.POOLER_POOL_MODE).toBe("transaction");
    expect(env.POOLER_PGBOUNCER_PASSWORD).toBe(PGBOUNCER_PASSWORD);
    // Its API secret is its own HS256 secret (the stable shared one with legacyHs256): no keyring change reaches it.
    expect(pooler.env.keyring).toEqual(["jwtSecret"]);
    expect(env.API_JWT_SECRET).toBe(SECRETS.poolerJwtSecret);
    expect(run(pooler.env, settings({ legacyHs256: "true" })).API_JWT_SECRET).toBe(JWT_SECRET);
    expect(pooler.secretEnv).toBe(true);
  });

  it("refuses generated secrets supavisor would refuse", () => {
    const config = settings();
    expect(() => run(pooler.env, config, { ...SECRETS, poolerVaultEncKey: "short" })).toThrow(/exactly 32/);
    expect(() => run(pooler.env, config, { ...SECRETS, poolerSecretKeyBase: "short" })).toThrow(/at least 64/);
  });

  it("runs migrate, the tenant script and the server, the script reading every value from the environment", () => {
    expect(pooler.command).toEqual([
      "/bin/sh",
      "-c",
      `/app/bin/migrate && /app/bin/supavisor eval "$(cat ${POOLER_SCRIPT_PATH})" && /app/bin/server`,
    ]);
    const [file] = run(pooler.files!, settings());
    expect(file.file).toBe(POOLER_SCRIPT_PATH);
    const script = poolerTenantScript();
    expect(file.content).toBe(script);
    expect(script).toContain('"auth_query" => "SELECT * FROM pgbouncer.get_auth($1)"');
    expect(script).toContain('"db_user" => "pgbouncer"');
    const read = [...script.matchAll(/env\.\("([A-Z_]+)"\)/g)].map((m) => m[1]);
    const env = run(pooler.env, settings());
    for (const name of read) expect(env, name).toHaveProperty(name);
    expect(script).not.toContain(PGBOUNCER_PASSWORD);
  });

  it("publishes session and transaction pooling on pooler.host, and gives the strings clients type", () => {
    const config = settings({ pooler: JSON.stringify({ sessionPort: 6432, host: "10.0.0.5" }) });
    expect(pooler.publishedPorts!(config)).toEqual([
      { internal: 5432, external: 6432, ip: "10.0.0.5" },
      { internal: 6543, external: 6543, ip: "10.0.0.5" },
    ]);
    expect(poolerConnectionString(config.pooler, "session")).toBe(
      "postgresql://postgres.default@10.0.0.5:6432/postgres",
    );
    const open = settings({ pooler: JSON.stringify({ host: "0.0.0.0" }) }).pooler;
    expect(poolerConnectionString(open, "transaction")).toBe("postgresql://postgres.default@localhost:6543/postgres");
    expect(poolerConnectionString({ ...open, host: "::1" }, "session")).toBe(
      "postgresql://postgres.default@[::1]:5432/postgres",
    );
    expect(runningServices(settings({ pooler: JSON.stringify({ enabled: false }) })).map((s) => s.role)).not.toContain(
      "pooler",
    );
  });
});

describe("functions (edge-runtime)", () => {
  it("gives the runtime the verifier JWKS, keys that survive a promotion's other inputs, and upstream's command", () => {
    const env = run(functions.env, settings({ functions: JSON.stringify({ enabled: true }) }));
    expect(JSON.parse(env.SUPABASE_JWKS)).toEqual(keyring.verifierJwks);
    expect(env.SUPABASE_URL).toBe("http://kong:8000");
    expect(JSON.parse(env.SUPABASE_PUBLISHABLE_KEYS)).toEqual({ default: keyring.publishableKey });
    expect(JSON.parse(env.SUPABASE_SECRET_KEYS)).toEqual({ default: keyring.secretKey });
    expect(env.SUPABASE_DB_URL).toBe(`postgresql://postgres:${SECRETS.postgresPassword}@db:5432/postgres`);
    expect(env.VERIFY_JWT).toBe("true");
    expect(env.JWT_SECRET).toBeUndefined();
    expect(functions.command).toEqual([
      "start",
      "--user-worker-request-idle-timeout",
      "150000",
      "--main-service",
      "/home/deno/functions/main",
    ]);
    expect(runningServices(settings()).map((s) => s.role)).not.toContain("functions");
  });

  it("uploads the files of functions.dir (here the default main entry) under /home/deno/functions", () => {
    const uploads = run(functions.files!, settings({ functions: JSON.stringify({ enabled: true }) }));
    expect(uploads.map((u) => u.file)).toEqual([`${FUNCTIONS_ROOT}/main/index.ts`, `${FUNCTIONS_ROOT}/main/verify.ts`]);
    expect(uploads[0].content).toContain('from "./verify.ts"');
    expect(() => run(functions.files!, { ...settings(), functions: { enabled: true, verifyJwt: true } })).toThrow(
      /files were not read/,
    );
  });
});

describe("the functions' main entry decides calls with the keyring's JWKS", () => {
  let check: TokenCheck;
  let legacyCheck: TokenCheck;
  let legacy: { anonKey: string; serviceRoleKey: string };
  const api = jose as unknown as Jose;
  const headers = (h: Record<string, string>) => new Headers(h);
  const call = (h: Record<string, string>, method = "POST") => checkCall({ method, headers: headers(h) }, check);

  beforeAll(async () => {
    check = jwksTokenCheck(JSON.stringify(keyring.verifierJwks), api);
    const oct = legacyOctJwk(JWT_SECRET);
    legacy = await mintRoleTokens(oct, Math.floor(Date.now() / 1000), 30);
    const legacyView = deriveKeyring(ring, { jwk: oct, ...legacy });
    legacyCheck = jwksTokenCheck(JSON.stringify(legacyView.verifierJwks), api);
  });

  it("accepts the role JWTs of every trusted key, whatever its algorithm (EdDSA too, which upstream's refuses)", async () => {
    for (const entry of ring) {
      await expect(check(entry.anonKey), entry.name).resolves.toBeUndefined();
      await expect(check(entry.serviceRoleKey), entry.name).resolves.toBeUndefined();
    }
  });

  it("refuses a revoked key's tokens, expired tokens, and HS256 tokens outside legacy mode", async () => {
    const revoked = await makeEntry("k0", "revoked");
    const view = deriveKeyring([revoked, ...ring]);
    const withoutRevoked = jwksTokenCheck(JSON.stringify(view.verifierJwks), api);
    await expect(withoutRevoked(revoked.anonKey)).resolves.toMatchObject({ code: "UNAUTHORIZED_ASYMMETRIC_JWT" });
    const { kty: _kty, key_ops: _ops, ...rest } = ring[1].privateJwk;
    const key = await jose.importJWK({ kty: ring[1].privateJwk.kty, ...rest }, "ES256");
    const expired = await new jose.SignJWT({ role: "anon" })
      .setProtectedHeader({ alg: "ES256", typ: "JWT", kid: ring[1].kid })
      .setExpirationTime(Math.floor(Date.now() / 1000) - 60)
      .sign(key);
    await expect(check(expired)).resolves.toMatchObject({ code: "UNAUTHORIZED_ASYMMETRIC_JWT" });
    await expect(check(legacy.anonKey)).resolves.toMatchObject({ code: "UNAUTHORIZED_LEGACY_JWT" });
    await expect(check("not.a.jwt")).resolves.toMatchObject({ code: "UNAUTHORIZED_INVALID_JWT_FORMAT" });
  });

  it("in legacy mode, accepts HS256 tokens signed with the secret, and still the asymmetric ones", async () => {
    await expect(legacyCheck(legacy.anonKey)).resolves.toBeUndefined();
    await expect(legacyCheck(ring[1].anonKey)).resolves.toBeUndefined();
    const forged = await new jose.SignJWT({ role: "service_role" })
      .setProtectedHeader({ alg: "HS256", typ: "JWT" })
      .sign(new TextEncoder().encode("another-secret-that-is-long-enough-too"));
    await expect(legacyCheck(forged)).resolves.toMatchObject({ code: "UNAUTHORIZED_LEGACY_JWT" });
  });

  it("takes the token from Authorization, or from the gateway's sb-api-key when Authorization holds an sb_ key", async () => {
    expect(tokenOf(headers({ authorization: `Bearer ${ring[1].anonKey}` }))).toBe(ring[1].anonKey);
    expect(tokenOf(headers({ authorization: `Bearer ${keyring.publishableKey}`, "sb-api-key": ring[0].anonKey }))).toBe(
      ring[0].anonKey,
    );
    expect(tokenOf(headers({ "sb-api-key": ring[0].anonKey }))).toBe(ring[0].anonKey);
    expect(tokenOf(headers({ authorization: `Bearer ${keyring.publishableKey}` }))).toMatchObject({
      code: "UNAUTHORIZED_INVALID_JWT_FORMAT",
    });
    expect(tokenOf(headers({}))).toMatchObject({ code: "UNAUTHORIZED_NO_AUTH_HEADER" });
    expect(tokenOf(headers({ authorization: "Basic abc" }))).toMatchObject({ code: "UNAUTHORIZED_INVALID_JWT_FORMAT" });
    await expect(call({})).resolves.toMatchObject({ code: "UNAUTHORIZED_NO_AUTH_HEADER" });
    await expect(call({}, "OPTIONS")).resolves.toBeUndefined();
    await expect(call({ authorization: `Bearer ${ring[2].serviceRoleKey}` })).resolves.toBeUndefined();
  });

  it("starts only plain function names, never main itself", () => {
    expect(functionName("/hello")).toBe("hello");
    expect(functionName("/hello-world/sub/path")).toBe("hello-world");
    for (const path of ["/", "/main", "/main/x", "/..", "/a.b", "/%2e%2e"])
      expect(functionName(path), path).toBeUndefined();
  });
});

describe("storage's backend and image transformations", () => {
  it("keeps the file backend's variables of today, and adds imgproxy and the S3-protocol keys", () => {
    const env = run(storage.env, settings());
    expect(env).toMatchObject({
      STORAGE_BACKEND: "file",
      GLOBAL_S3_BUCKET: "stub",
      FILE_STORAGE_BACKEND_PATH: "/var/lib/storage",
      TENANT_ID: "stub",
      REGION: "stub",
      ENABLE_IMAGE_TRANSFORMATION: "true",
      IMGPROXY_URL: "http://imgproxy:5001",
      S3_PROTOCOL_ACCESS_KEY_ID: SECRETS.s3ProtocolAccessKeyId,
      S3_PROTOCOL_ACCESS_KEY_SECRET: SECRETS.s3ProtocolAccessKeySecret,
    });
    const plain = run(storage.env, settings({ storage: JSON.stringify({ imageTransformation: false }) }));
    expect(plain).not.toHaveProperty("ENABLE_IMAGE_TRANSFORMATION");
    expect(plain).not.toHaveProperty("IMGPROXY_URL");
    expect(
      runningServices(settings({ storage: JSON.stringify({ imageTransformation: false }) })).map((s) => s.role),
    ).not.toContain("imgproxy");
  });

  it("sets docker-compose.s3.yml's variables for an S3 bucket, and no file path", () => {
    const env = run(
      storage.env,
      settings({
        storage: JSON.stringify({
          backend: "s3",
          tenantId: "acme",
          s3: {
            endpoint: "https://minio.example.com",
            bucket: "files",
            region: "eu-1",
            accessKeyId: "id",
            secretAccessKey: "sk",
          },
        }),
      }),
    );
    expect(env).toMatchObject({
      STORAGE_BACKEND: "s3",
      GLOBAL_S3_BUCKET: "files",
      GLOBAL_S3_ENDPOINT: "https://minio.example.com",
      GLOBAL_S3_PROTOCOL: "https",
      GLOBAL_S3_FORCE_PATH_STYLE: "true",
      AWS_ACCESS_KEY_ID: "id",
      AWS_SECRET_ACCESS_KEY: "sk",
      TENANT_ID: "acme",
      REGION: "eu-1",
    });
    expect(env).not.toHaveProperty("FILE_STORAGE_BACKEND_PATH");
  });

  it("mounts the storage volume into imgproxy at storage's path", () => {
    expect(imgproxy.volumes).toEqual(storage.volumes);
    expect(imgproxy.secretEnv).toBe(false);
  });
});
