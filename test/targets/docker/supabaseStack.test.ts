/**
 * SupabaseStack: the Docker resources the program declares in one run, read back from what the engine receives
 * (inputs, secret markers, resource options), for a ring mid-rotation. Shapes only, so the stateless mock.
 */
import { RESOURCE_TYPES } from "../../../components/targets/resourceTypes";
import * as pulumi from "@pulumi/pulumi";
import { parse as parseYaml } from "yaml";
import { beforeAll, describe, expect, it } from "vitest";
import { ConfigError } from "../../../components/schema/setting";
import { hasPrivateMember, PRIVATE_MEMBERS, type Jwk } from "../../../components/keyring/model";
import { IMAGE_DEFAULTS } from "../../../components/services/images";
import { SERVICE_ROLES, SERVICES, serviceOf, type ServiceRole } from "../../../components/services/index";
import { HBA_FILE } from "../../../components/services/db/hba";
import { KONG_CONFIG_PATH } from "../../../components/services/kong/gateway";
import { REALTIME_HOST } from "../../../components/services/realtime/realtime";
import { ENV_DIGEST_FILE, envDigestFile } from "../../../components/targets/envDigest";
import { RETAIN_LABEL } from "../../../components/targets/docker/naming";
import { supabaseProgram } from "../../../components/program";
import { SupabaseStack } from "../../../components/targets/docker/supabaseStack";
import type { RegisteredOptions } from "../../../testkit/engine/sdk";
import { valueOf } from "../../../testkit/engine/sdk";
import { verifyWithJwks } from "../../support/keys";
import { BACKUP_S3 } from "../../support/world";
import { declare, ShapeMocks, type Declared } from "../../support/shapes";

/** The program's stack on the Docker target (the default). */
function docker(stack: unknown): SupabaseStack {
  if (!(stack instanceof SupabaseStack)) throw new Error("the stack is not the Docker target's");
  return stack;
}

const {
  container: CONTAINER,
  remoteImage: IMAGE,
  volume: VOLUME,
  network: NETWORK,
  signingKey: SIGNING_KEY,
} = RESOURCE_TYPES;

const MID_ROTATION = {
  signingKeys: [
    { name: "k1", state: "previous" },
    { name: "k2", state: "current" },
    { name: "k3", state: "standby", algorithm: "RS256" },
  ],
  siteUrl: "https://app.example.com",
  apiExternalUrl: "https://api.example.com",
  gatewayHttpPort: 8123,
  dashboardUsername: "admin",
  images: { auth: "supabase/gotrue:v2.195.0" },
  // Every optional service runs, so every module is declared (the TLS proxy too, with Caddy's own CA).
  functions: { enabled: true },
  tls: { mode: "internal" },
  pooler: { host: "10.1.2.3" },
  backup: { s3: BACKUP_S3 },
};

type Registered = Declared;

/** A container's `envs` list as a map. */
function envOf(r: Registered): Record<string, string> {
  return Object.fromEntries(
    (r.inputs.envs as string[]).map((e) => [e.slice(0, e.indexOf("=")), e.slice(e.indexOf("=") + 1)]),
  );
}

function uploadsOf(r: Registered): Array<{ file: string; content: string }> {
  return (r.inputs.uploads as Array<{ file: string; content: string }>) ?? [];
}

/** Everything of one engine run, indexed. */
interface Run {
  options: Map<string, RegisteredOptions>;
  registered: Registered[];
  containers: Map<ServiceRole, Registered>;
  result: ReturnType<typeof supabaseProgram>;
}

async function runProgram(config: Record<string, unknown>): Promise<Run> {
  const { result, declared: registered, options } = await declare(config, supabaseProgram);
  const containers = new Map<ServiceRole, Registered>();
  for (const r of registered.filter((r) => r.type === CONTAINER))
    containers.set(r.name.replace(/^supabase-/, "") as ServiceRole, r);
  return { options, registered, containers, result };
}

/** Private key material of every key in the run's state (what must reach auth and nothing else). */
function privateMaterial(run: Run): string[] {
  return run.registered
    .filter((r) => r.type === SIGNING_KEY)
    .flatMap((r) =>
      PRIVATE_MEMBERS.map((m) => (r.state.privateJwk as Jwk)[m]).filter((v): v is string => typeof v === "string"),
    );
}

/** Every secret value the run produced: generated passwords, role JWTs, opaque keys, private key material. */
async function secretValues(run: Run): Promise<string[]> {
  const passwords = run.registered.filter((r) => r.type.startsWith("random:")).map((r) => r.state.result as string);
  const tokens = run.registered
    .filter((r) => r.type === SIGNING_KEY)
    .flatMap((r) => [r.state.anonKey as string, r.state.serviceRoleKey as string]);
  const opaque = [await valueOf(run.result.keyring.publishableKey), await valueOf(run.result.keyring.secretKey)].filter(
    (key): key is string => key !== undefined,
  );
  // The secrets of the config: the backups' bucket key.
  return [...passwords, ...tokens, ...opaque, ...privateMaterial(run), BACKUP_S3.secretAccessKey];
}

describe("SupabaseStack mid-rotation (k1 previous, k2 current, k3 standby RS256)", () => {
  let run: Run;

  beforeAll(async () => {
    run = await runProgram(MID_ROTATION);
  }, 30_000);

  it("declares a user network, retained named volumes and one kept, pinned image per service", () => {
    const { registered, options } = run;
    const networks = registered.filter((r) => r.type === NETWORK);
    expect(networks.map((n) => n.inputs.name)).toEqual(["supabase-network"]);
    const volumes = registered.filter((r) => r.type === VOLUME);
    expect(volumes.map((v) => v.inputs.name).sort()).toEqual([
      "supabase-backups",
      "supabase-db-config",
      "supabase-db-data",
      "supabase-functions-cache",
      "supabase-storage-data",
      "supabase-studio-snippets",
      "supabase-tls-data",
    ]);
    for (const v of volumes) expect(options.get(v.name)?.retainOnDelete, v.name).toBe(true);
    // The label is how the policy pack recognizes a retained volume: it must go with the option, on every volume.
    for (const v of volumes) expect(v.inputs.labels, v.name).toEqual([{ label: RETAIN_LABEL, value: "true" }]);
    const images = registered.filter((r) => r.type === IMAGE);
    expect(Object.fromEntries(images.map((i) => [i.name.replace("supabase-image-", ""), i.inputs.name]))).toEqual({
      ...IMAGE_DEFAULTS,
      auth: "supabase/gotrue:v2.195.0",
    });
    for (const i of images) expect(i.inputs.keepLocally).toBe(true);
  });

  it(
    "runs every container from its image's id, named supabase-<role>, on the network, restarting " + "unless stopped",
    () => {
      const { containers, registered, options } = run;
      expect([...containers.keys()].sort()).toEqual([...SERVICE_ROLES].sort());
      const stackUrn = options.get("supabase-auth")!.parent;
      expect(stackUrn).toMatch(/SupabaseStack::supabase$/);
      for (const [role, c] of containers) {
        // The backup service runs db's image.
        const key = serviceOf(role).image;
        const image = registered.find((r) => r.type === IMAGE && r.name === `supabase-image-${key}`)!;
        expect(c.inputs.image, role).toBe(image.state.imageId);
        expect(c.inputs.name).toBe(`supabase-${role}`);
        expect(c.inputs.restart).toBe("unless-stopped");
        expect((c.inputs.networksAdvanced as Array<{ name: string }>)[0].name).toBe("supabase-network");
        const registration = options.get(c.name)!;
        expect(registration.parent).toBe(stackUrn);
        expect(registration.replaceOnChanges).toEqual(["healthcheck"]);
        expect((c.inputs.healthcheck as { tests: string[] }).tests.length).toBeGreaterThan(1);
      }
      const aliases = (role: ServiceRole) =>
        (containers.get(role)!.inputs.networksAdvanced as Array<{ aliases: string[] }>)[0].aliases;
      expect(aliases("realtime")).toContain(REALTIME_HOST);
      for (const role of ["db", "auth", "rest", "storage", "kong", "meta", "studio"] as const)
        expect(aliases(role)).toContain(role);
      // Behind the TLS proxy the gateway is unpublished; the proxy takes 80 and 443.
      expect(containers.get("kong")!.inputs.ports).toBeUndefined();
      expect(containers.get("tls")!.inputs.ports).toEqual([
        { internal: 8080, external: 80, ip: "0.0.0.0" },
        { internal: 8443, external: 443, ip: "0.0.0.0" },
      ]);
      expect(containers.get("pooler")!.inputs.ports).toEqual([
        { internal: 5432, external: 5432, ip: "10.1.2.3" },
        { internal: 6543, external: 6543, ip: "10.1.2.3" },
      ]);
      for (const role of SERVICE_ROLES.filter((r) => r !== "tls" && r !== "pooler"))
        expect(containers.get(role)!.inputs.ports, role).toBeUndefined();
    },
  );

  it("mounts db data, the pgsodium key and storage files from the named volumes", () => {
    const mounts = (role: ServiceRole) => containers(role).inputs.volumes;
    const containers = (role: ServiceRole) => run.containers.get(role)!;
    expect(mounts("db")).toEqual([
      { volumeName: "supabase-db-data", containerPath: "/var/lib/postgresql/data" },
      { volumeName: "supabase-db-config", containerPath: "/etc/postgresql-custom" },
    ]);
    // The backup service writes its volume and reads db's pgsodium key, which it copies next to the backups.
    expect(mounts("backup")).toEqual([
      { volumeName: "supabase-backups", containerPath: "/backups" },
      { volumeName: "supabase-db-config", containerPath: "/etc/postgresql-custom", readOnly: true },
    ]);
    expect(mounts("storage")).toEqual([{ volumeName: "supabase-storage-data", containerPath: "/var/lib/storage" }]);
    expect(mounts("imgproxy")).toEqual(mounts("storage"));
    expect(mounts("functions")).toEqual([
      { volumeName: "supabase-functions-cache", containerPath: "/root/.cache/deno" },
    ]);
    expect(envOf(containers("storage")).FILE_STORAGE_BACKEND_PATH).toBe("/var/lib/storage");
    // Saved SQL snippets outlive studio's container (recreated at a revocation, an image change).
    expect(mounts("studio")).toEqual([{ volumeName: "supabase-studio-snippets", containerPath: "/app/snippets" }]);
    expect(envOf(containers("studio")).SNIPPETS_MANAGEMENT_FOLDER).toBe("/app/snippets");
  });

  it("starts db first (awaited healthy), the services after it, kong after all of them", () => {
    const { containers, options } = run;
    const urn = (role: ServiceRole) =>
      `urn:pulumi:test::supabase-selfhosted::supabase-selfhosted:index:SupabaseStack$docker:index/container:Container::supabase-${role}`;
    const deps = (role: ServiceRole) => options.get(`supabase-${role}`)!.dependencies;
    expect(deps("db").filter((d) => d.includes("container:Container"))).toEqual([]);
    expect(containers.get("db")!.inputs.wait).toBe(true);
    for (const role of ["auth", "rest", "realtime", "storage", "meta"] as const)
      expect(deps(role), role).toContain(urn("db"));
    for (const role of ["auth", "rest", "realtime", "storage", "meta", "studio"] as const)
      expect(deps("kong"), role).toContain(urn(role));
  });

  it(
    "gives each service its keys in the shape it parses: one signer in auth, public JWKS objects " + "to the verifiers",
    async () => {
      const { containers, result } = run;
      const currentKid = await valueOf(result.keyring.currentKid);
      const auth = envOf(containers.get("auth")!);
      const authKeys = JSON.parse(auth.GOTRUE_JWT_KEYS) as Jwk[];
      expect(Array.isArray(authKeys)).toBe(true);
      const signers = authKeys.filter((k) => (k.key_ops as string[]).includes("sign"));
      expect(signers.map((k) => k.kid)).toEqual([currentKid]);
      expect(signers[0].d).toBeDefined();
      expect(auth.GOTRUE_JWT_VALID_METHODS).toBe("ES256,RS256");
      expect(auth.GOTRUE_JWT_VALIDMETHODS).toBe("ES256,RS256");
      const anonKey = await valueOf(result.keyring.anonKey);
      for (const [role, key] of [
        ["rest", "PGRST_JWT_SECRET"],
        ["realtime", "API_JWT_JWKS"],
        ["storage", "JWT_JWKS"],
      ] as const) {
        const jwks = JSON.parse(envOf(containers.get(role)!)[key]);
        expect(Array.isArray(jwks), role).toBe(false);
        expect(jwks.keys).toHaveLength(3);
        for (const k of jwks.keys as Jwk[]) expect(hasPrivateMember(k), `${role} ${k.kid}`).toBe(false);
        await expect(verifyWithJwks(anonKey, jwks)).resolves.toBeTruthy();
      }
      // Without legacyHs256 each service that insists on an HS256 secret has its own, generated; none is the keyring's.
      const jwtSecret = await valueOf(result.keyring.jwtSecret);
      const { realtimeJwtSecret, storageJwtSecret } = result.stack.generated;
      expect(envOf(containers.get("rest")!).PGRST_APP_SETTINGS_JWT_SECRET).toBeUndefined();
      for (const key of ["API_JWT_SECRET", "METRICS_JWT_SECRET"])
        expect(envOf(containers.get("realtime")!)[key]).toBe(await valueOf(realtimeJwtSecret!));
      expect(envOf(containers.get("storage")!).AUTH_JWT_SECRET).toBe(await valueOf(storageJwtSecret!));
      expect(await valueOf(storageJwtSecret!)).not.toBe(jwtSecret);
      // storage and studio call the others with the longest-trusted key's JWTs (k1, previous): valid across the
      // promotion that made k2 current.
      const steady = await valueOf(result.keyring.longestTrustedAnonKey);
      expect(steady).not.toBe(anonKey);
      expect(envOf(containers.get("storage")!).ANON_KEY).toBe(steady);
      expect(envOf(containers.get("studio")!).SUPABASE_ANON_KEY).toBe(steady);
      await expect(
        verifyWithJwks(steady, JSON.parse(envOf(containers.get("storage")!).JWT_JWKS)),
      ).resolves.toBeTruthy();
    },
  );

  it("lets no container but auth hold private key material, in its env or its files", () => {
    const material = privateMaterial(run);
    expect(material.length).toBeGreaterThanOrEqual(3 + 5); // EC d ×2, RSA d,p,q,dp,dq,qi
    const docker = run.registered.filter((r) => r.type.startsWith("docker:") && r.name !== "supabase-auth");
    for (const r of docker) {
      const text = JSON.stringify(r.inputs);
      for (const m of material) expect(text.includes(m), r.name).toBe(false);
    }
  });

  it("sends every env list and uploaded file that holds a secret to the engine as a secret", async () => {
    const secrets = await secretValues(run);
    let checked = 0;
    for (const [role, c] of run.containers) {
      const envHolds = (c.inputs.envs as string[]).some((e) => secrets.some((s) => e.includes(s)));
      if (envHolds) {
        expect(c.secretInputs, `${role} envs`).toContain("envs");
        checked++;
      }
      const uploads = uploadsOf(c);
      if (uploads.some((u) => secrets.some((s) => u.content.includes(s)))) {
        expect(c.secretInputs, `${role} uploads`).toContain("uploads");
        checked++;
      }
    }
    // Every container but kong, imgproxy and the TLS proxy has a secret in its environment; db and kong have secrets in
    // their files (the TLS proxy's Caddyfile holds none with Caddy's own CA).
    expect(checked).toBe(SERVICE_ROLES.length - 3 + 2);
    await expect(pulumi.isSecret(docker(run.result.stack).envs.auth!)).resolves.toBe(true);
    await expect(pulumi.isSecret(docker(run.result.stack).uploads.kong!)).resolves.toBe(true);
    // Uploads are secret as a whole, the functions' source and the pooler's script included.
    for (const role of ["db", "kong", "pooler", "functions", "tls"] as const) {
      expect(run.containers.get(role)!.secretInputs, role).toContain("uploads");
    }
    for (const name of ["s3ProtocolAccessKeyId", "s3ProtocolAccessKeySecret", "postgresPassword"] as const) {
      await expect(pulumi.isSecret(run.result.stack.generated[name]), name).resolves.toBe(true);
    }
  });

  it("ships every container whose env reads the keyring a digest of that env, secret when the env is", () => {
    for (const [role, c] of run.containers) {
      const digest = uploadsOf(c).find((u) => u.file === ENV_DIGEST_FILE);
      const readsKeyring = SERVICES.find((s) => s.role === role)!.env.keyring.length > 0;
      expect(digest !== undefined, role).toBe(readsKeyring);
      if (!digest) continue;
      expect(digest.content).toBe(envDigestFile(c.inputs.envs as string[]).content);
      if (c.secretInputs.includes("envs")) expect(c.secretInputs, role).toContain("uploads");
    }
    // db and meta never read the keyring: no digest, so their inputs are as before.
    expect(uploadsOf(run.containers.get("meta")!)).toEqual([]);
  });

  it("ships the db its init SQL, with the password each service logs in with", () => {
    const { containers } = run;
    const db = containers.get("db")!;
    const files = uploadsOf(db);
    expect(files.map((f) => f.file)).toEqual([
      "/docker-entrypoint-initdb.d/migrations/97-supabase-internal.sql",
      "/docker-entrypoint-initdb.d/migrations/99-jwt.sql",
      "/docker-entrypoint-initdb.d/migrations/99-pooler.sql",
      "/docker-entrypoint-initdb.d/migrations/99-realtime.sql",
      "/docker-entrypoint-initdb.d/migrations/99-roles.sql",
      HBA_FILE,
    ]);
    // Postgres reads the program's pg_hba.conf, which adds the backup role's replication logins to the image's rules.
    expect(db.inputs.command).toContain(`hba_file=${HBA_FILE}`);
    expect(files.find((f) => f.file === HBA_FILE)!.content).toMatch(
      /^host replication supabase_backup 0\.0\.0\.0\/0 scram-sha-256$[\s\S]*^include \/etc\/postgresql\/pg_hba\.conf$/m,
    );
    const roles = files.find((f) => f.file.endsWith("99-roles.sql"))!.content;
    const passwordIn = (url: string) => decodeURIComponent(new URL(url).password);
    const userIn = (url: string) => new URL(url).username;
    for (const url of [
      envOf(containers.get("auth")!).GOTRUE_DB_DATABASE_URL,
      envOf(containers.get("rest")!).PGRST_DB_URI,
      envOf(containers.get("storage")!).DATABASE_URL,
    ]) {
      expect(roles).toContain(`ALTER ROLE ${userIn(url)} WITH PASSWORD '${passwordIn(url)}';`);
    }
    const superuser = envOf(db).POSTGRES_PASSWORD;
    expect(envOf(db).PGPASSWORD).toBe(superuser);
    expect(envOf(containers.get("realtime")!).DB_PASSWORD).toBe(superuser);
    expect(envOf(containers.get("meta")!).PG_META_DB_PASSWORD).toBe(superuser);
    expect(envOf(containers.get("studio")!).POSTGRES_PASSWORD).toBe(superuser);
    // Each service role has its own password, none of them the superuser's.
    const rolePasswords = [...roles.matchAll(/PASSWORD '([^']+)'/g)].map((m) => m[1]);
    expect(new Set(rolePasswords).size).toBe(5);
    expect(rolePasswords).not.toContain(superuser);
    expect(files.find((f) => f.file.endsWith("99-jwt.sql"))!.content).toContain(`"app.settings.jwt_exp" TO '3600'`);
    // The pooler's tenant user logs in with pgbouncer's own password.
    expect(roles).toContain(
      `ALTER ROLE pgbouncer WITH PASSWORD '${envOf(containers.get("pooler")!).POOLER_PGBOUNCER_PASSWORD}';`,
    );
    expect(envOf(containers.get("functions")!).SUPABASE_DB_URL).toContain(`:${superuser}@db:5432/postgres`);
  });

  it("ships kong its rendered kong.yml and enables every plugin the file uses", async () => {
    const kong = run.containers.get("kong")!;
    const env = envOf(kong);
    expect(env.KONG_DATABASE).toBe("off");
    const [file] = uploadsOf(kong);
    expect(file.file).toBe(KONG_CONFIG_PATH);
    expect(env.KONG_DECLARATIVE_CONFIG).toBe(KONG_CONFIG_PATH);
    const doc = parseYaml(file.content);
    const used = new Set<string>();
    const collect = (plugins?: Array<{ name: string }>) => plugins?.forEach((p) => used.add(p.name));
    collect(doc.plugins);
    for (const s of doc.services ?? []) {
      collect(s.plugins);
      for (const r of s.routes ?? []) collect(r.plugins);
    }
    expect(used.size).toBeGreaterThan(0);
    // Docker's DNS answers with a 600 s TTL; kong must re-resolve a recreated upstream within seconds.
    expect(env.KONG_DNS_VALID_TTL).toBe("5");
    expect(env.KONG_ROUTER_FLAVOR).toBe("expressions");
    const enabled = env.KONG_PLUGINS.split(",");
    for (const name of used) expect(enabled, name).toContain(name);
    // The gateway accepts the current and previous role JWTs and the dashboard credentials it was given.
    const tokens = await valueOf(run.result.keyring.gatewayTokens);
    for (const t of [...tokens.anon, ...tokens.serviceRole]) expect(file.content).toContain(t);
    expect(file.content).toContain(await valueOf(run.result.stack.dashboardPassword!));
    expect(file.content).toContain("admin");
  });
});

describe("SupabaseStack without the dashboard", () => {
  it("runs neither studio nor meta, and kong waits only for the services that exist", async () => {
    const run = await runProgram({ signingKeys: [{ name: "k1", state: "current" }], studio: false });
    expect([...run.containers.keys()].sort()).toEqual([
      "auth",
      "backup",
      "db",
      "imgproxy",
      "kong",
      "pooler",
      "realtime",
      "rest",
      "storage",
    ]);
    expect(run.registered.filter((r) => r.type === IMAGE).map((r) => r.name)).not.toContain("supabase-image-studio");
    expect(run.result.stack.dashboardPassword).toBeUndefined();
    const kongDeps = run.options.get("supabase-kong")!.dependencies.filter((d) => d.includes("container:Container"));
    expect(kongDeps.map((d) => d.slice(d.lastIndexOf("::supabase-") + 11)).sort()).toEqual([
      "auth",
      "imgproxy",
      "pooler",
      "realtime",
      "rest",
      "storage",
    ]);
    // Without functions there is no Deno cache volume.
    expect(run.registered.filter((r) => r.type === VOLUME).map((v) => v.inputs.name)).not.toContain(
      "supabase-functions-cache",
    );
  }, 30_000);
});

describe("SupabaseStack with storage on S3", () => {
  it("hands storage the bucket's secret key in an env list the engine receives as a secret", async () => {
    const run = await runProgram({
      signingKeys: [{ name: "k1", state: "current" }],
      studio: false,
      pooler: { enabled: false },
      storage: {
        backend: "s3",
        s3: { bucket: "files", region: "eu-west-1", accessKeyId: "AKID", secretAccessKey: "S3SECRET" },
      },
    });
    const storage = run.containers.get("storage")!;
    expect(envOf(storage)).toMatchObject({ STORAGE_BACKEND: "s3", AWS_SECRET_ACCESS_KEY: "S3SECRET" });
    expect(storage.secretInputs).toContain("envs");
    expect([...run.containers.keys()]).not.toContain("pooler");
  }, 30_000);
});

describe("bad configuration", () => {
  it.each([
    [{ siteUrl: "not a url" }, /supabase-selfhosted:siteUrl: must be an absolute http\(s\) base URL/],
    [{ apiExternalUrl: "ftp://api.example.com" }, /apiExternalUrl: must be an absolute http\(s\) base URL .*"ftp:/],
    [{ gatewayHttpPort: 70000 }, /supabase-selfhosted:gatewayHttpPort: must be a port number from 1 to 65535, got 7/],
    [{ gatewayHttpPort: 0 }, /supabase-selfhosted:gatewayHttpPort: must be a port number from 1 to 65535, got 0/],
    [
      { images: { gotrue: "supabase/gotrue:v2.196.0" } },
      /supabase-selfhosted:images\.gotrue: is not a known image; allowed: db, auth, rest/,
    ],
  ])("%j is refused, naming the key, before any resource is registered", async (bad, message) => {
    const mocks = new ShapeMocks();
    const attempt = mocks.run({ signingKeys: [{ name: "k1", state: "current" }], ...bad }, supabaseProgram);
    await expect(attempt).rejects.toBeInstanceOf(ConfigError);
    await expect(attempt).rejects.toThrow(message);
    expect(mocks.declared).toEqual([]);
  });
});

describe("SupabaseStack with auth settings, extraEnv, postgresPassword and database.publish", () => {
  const K1 = [{ name: "k1", state: "current" }];
  const SECRET_CONFIG = {
    signingKeys: K1,
    postgresPassword: "ADOPTED-postgres-password",
    auth: {
      smtp: { host: "smtp.example.com", adminEmail: "a@example.com", user: "u", pass: "SMTP-PASSWORD" },
      externalProviders: { github: { clientId: "gh", secret: "GITHUB-SECRET" } },
    },
    extraEnv: { kong: { KONG_LOG_LEVEL: "debug" }, auth: { GOTRUE_HOOK_SEND_EMAIL_SECRETS: "HOOK-SECRET" } },
    database: { publish: { port: 15432 } },
  };
  let run: Run;

  beforeAll(async () => {
    const { result, declared, options } = await declare(SECRET_CONFIG, supabaseProgram, {
      secretKeys: ["postgresPassword", "auth", "extraEnv"],
    });
    const containers = new Map<ServiceRole, Registered>();
    for (const r of declared.filter((r) => r.type === CONTAINER))
      containers.set(r.name.replace(/^supabase-/, "") as ServiceRole, r);
    run = { result, registered: declared, options, containers };
  }, 30_000);

  it("keeps every secret it was given a Pulumi secret, in every env list and uploaded file that holds one", async () => {
    const secrets = ["ADOPTED-postgres-password", "SMTP-PASSWORD", "GITHUB-SECRET", "HOOK-SECRET"];
    let holding = 0;
    for (const [role, c] of run.containers) {
      if ((c.inputs.envs as string[]).some((e) => secrets.some((s) => e.includes(s)))) {
        expect(c.secretInputs, `${role} envs`).toContain("envs");
        await expect(pulumi.isSecret(docker(run.result.stack).envs[role]!), role).resolves.toBe(true);
        holding++;
      }
      if (uploadsOf(c).some((u) => secrets.some((s) => u.content.includes(s))))
        expect(c.secretInputs, `${role} uploads`).toContain("uploads");
    }
    // Every container that runs but kong and imgproxy, whose environments hold no password.
    expect(holding).toBe(run.containers.size - 2);
    // kong's environment holds no key, but an extraEnv given as a secret makes it one.
    expect(envOf(run.containers.get("kong")!).KONG_LOG_LEVEL).toBe("debug");
    await expect(pulumi.isSecret(docker(run.result.stack).envs.kong!)).resolves.toBe(true);
    expect(run.containers.get("kong")!.secretInputs).toContain("envs");
  });

  it("renders them into auth's environment, merged with extraEnv", () => {
    const env = envOf(run.containers.get("auth")!);
    expect(env.GOTRUE_SMTP_PASS).toBe("SMTP-PASSWORD");
    expect(env.GOTRUE_EXTERNAL_GITHUB_SECRET).toBe("GITHUB-SECRET");
    expect(env.GOTRUE_HOOK_SEND_EMAIL_SECRETS).toBe("HOOK-SECRET");
  });

  it("publishes Postgres on the host's loopback, and generates no database password", () => {
    expect(run.containers.get("db")!.inputs.ports).toEqual([{ internal: 5432, external: 15432, ip: "127.0.0.1" }]);
    const generated = run.registered.filter((r) => r.type.startsWith("random:")).map((r) => r.name);
    expect(generated.filter((n) => n.includes("db-password"))).toEqual([]);
  });

  it("keeps every database password valid across `pulumi destroy` and a fresh `pulumi up` on the kept volume", async () => {
    // A fresh stateless run is what a fresh `pulumi up` after `pulumi destroy` is: no state, new random values.
    const again = await declare(SECRET_CONFIG, supabaseProgram, {
      secretKeys: ["postgresPassword", "auth", "extraEnv"],
    });
    const passwordsOf = (registered: Registered[]) => {
      const container = (role: string) => registered.find((r) => r.name === `supabase-${role}`)!;
      const url = (role: string, key: string) => decodeURIComponent(new URL(envOf(container(role))[key]).password);
      return {
        superuser: envOf(container("db")).POSTGRES_PASSWORD,
        auth: url("auth", "GOTRUE_DB_DATABASE_URL"),
        rest: url("rest", "PGRST_DB_URI"),
        storage: url("storage", "DATABASE_URL"),
        realtime: envOf(container("realtime")).DB_PASSWORD,
        roles: uploadsOf(container("db")).find((f) => f.file.endsWith("roles.sql"))!.content,
      };
    };
    const first = passwordsOf(run.registered);
    expect(passwordsOf(again.declared)).toEqual(first);
    expect(new Set([first.superuser, first.auth, first.rest, first.storage, first.realtime])).toEqual(
      new Set(["ADOPTED-postgres-password"]),
    );
    // The roles file names the superusers too, so `psql -f` of it makes a kept data directory match the stack.
    for (const role of ["supabase_admin", "postgres", "authenticator", "supabase_auth_admin"])
      expect(first.roles).toContain(`ALTER ROLE ${role} WITH PASSWORD 'ADOPTED-postgres-password';`);
    // Without postgresPassword every fresh up draws new passwords, which a kept data directory does not have.
    // (One run at a time: the mocks are global.)
    const a = passwordsOf((await declare({ signingKeys: K1 }, supabaseProgram)).declared);
    const b = passwordsOf((await declare({ signingKeys: K1 }, supabaseProgram)).declared);
    expect(a.auth).not.toBe(b.auth);
    expect(a.superuser).not.toBe(b.superuser);
  }, 60_000);
});

describe("SupabaseStack backups", () => {
  const K1 = [{ name: "k1", state: "current" }];

  it("runs the backup service on db's image with its own replication password, and db the same either way", async () => {
    const on = await runProgram({ signingKeys: K1 });
    const off = await runProgram({ signingKeys: K1, backup: { enabled: false } });
    const backup = on.containers.get("backup")!;
    expect(backup.inputs.entrypoints).toEqual(["sh", "/usr/local/bin/supabase-backup"]);
    expect(backup.inputs.command).toEqual(["run"]);
    const env = envOf(backup);
    const password = on.registered.find((r) => r.name === "supabase-backup-replication-password")!;
    expect(env.PGPASSWORD).toBe(password.state.result);
    expect(env).toMatchObject({ PGHOST: "db", BACKUP_INTERVAL_SECONDS: "86400", BACKUP_KEEP_COUNT: "7" });
    expect(env.BACKUP_KEEP_DAYS).toBeUndefined();
    expect(uploadsOf(backup).map((f) => f.file)).toEqual(["/usr/local/bin/supabase-backup"]);
    // Turned off: no container, volume or password; db's inputs do not change, so turning it on or off keeps db.
    expect(off.containers.has("backup")).toBe(false);
    expect(off.registered.map((r) => r.name)).not.toContain("supabase-backups");
    expect(off.registered.map((r) => r.name)).not.toContain("supabase-backup-replication-password");
    const dbInputs = (run: Run) => {
      const { envs, uploads, command, volumes } = run.containers.get("db")!.inputs;
      return JSON.stringify({ envs: valueOf(envs), uploads: valueOf(uploads), command, volumes });
    };
    expect(dbInputs(off)).toBe(dbInputs(on));
  });

  it("mounts the data volume database.dataVolume names (a restore's), keeping it retained", async () => {
    const run = await runProgram({ signingKeys: K1, database: { dataVolume: "supabase-db-data-20260101t000000z" } });
    const volume = run.registered.find((r) => r.name === "supabase-db-data")!;
    expect(volume.inputs.name).toBe("supabase-db-data-20260101t000000z");
    expect(run.options.get("supabase-db-data")?.retainOnDelete).toBe(true);
    expect((run.containers.get("db")!.inputs.volumes as Array<{ containerPath: string }>)[0]).toEqual({
      volumeName: "supabase-db-data-20260101t000000z",
      containerPath: "/var/lib/postgresql/data",
    });
  });
});
