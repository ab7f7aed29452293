/**
 * The CrossGuard policy pack: each policy called with passing and failing resource arguments, the real program's
 * resources checked against the whole pack, and the pack started the way `pulumi preview --policy-pack policy`
 * starts it (the SDK's policy runner, cwd = the pack) and asked over gRPC.
 */
import type { PolicyResourceOptions, ResourceValidationArgs, ResourceValidationPolicy } from "@pulumi/policy";
import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import YAML from "yaml";
import { UNKNOWN_INPUT } from "../components/keyring/engineValues";
import { legacyOctJwk, publicJwk } from "../components/keyring/model";
import { generateSigningJwk } from "../components/keyring/tokens";
import {
  containerRole,
  dbDataRetained,
  imagesPinned,
  kongConfigByUpload,
  noPrivateJwkOutsideAuth,
  PACK_NAME,
  policies,
  privateJwkMembers,
  RETAIN_LABEL,
  TYPES,
} from "../policy/policies";
import { ShapeMocks } from "./support/shapes";

const OPTS: PolicyResourceOptions = {
  protect: false,
  ignoreChanges: [],
  aliases: [],
  customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 },
  additionalSecretOutputs: [],
};

/** Calls a policy's validation as the policy SDK would, returning the violation messages. */
async function violations(
  policy: ResourceValidationPolicy,
  resource: { type: string; name: string; props: Record<string, unknown>; opts?: Partial<PolicyResourceOptions> },
): Promise<string[]> {
  const found: string[] = [];
  const args = {
    type: resource.type,
    name: resource.name,
    urn: `urn:pulumi:test::supabase-selfhosted::${resource.type}::${resource.name}`,
    props: resource.props,
    opts: { ...OPTS, ...resource.opts },
    stackTags: new Map(),
    isType: () => false,
    asType: () => undefined,
    getConfig: () => ({}),
    notApplicable: () => {
      throw new Error("not applicable");
    },
  } as unknown as ResourceValidationArgs;
  const validations = [policy.validateResource ?? []].flat();
  for (const validate of validations) await validate(args, (message: string) => void found.push(message));
  return found;
}

const container = (role: string, props: Record<string, unknown> = {}) => ({
  type: TYPES.container,
  name: `supabase-${role}`,
  props: { name: `supabase-${role}`, image: `sha256:${"a".repeat(64)}`, envs: [], ...props },
});

describe("images-pinned", () => {
  it.each([
    ["supabase/gotrue:v2.196.0", true],
    ["registry.example.com:5000/supabase/gotrue:v2.196.0", true],
    [`kong/kong@sha256:${"b".repeat(64)}`, true],
    ["supabase/gotrue:latest", false],
    ["supabase/gotrue", false],
    ["registry.example.com:5000/supabase/gotrue", false],
  ])("RemoteImage %s pinned: %s", async (ref, pinned) => {
    const found = await violations(imagesPinned, {
      type: TYPES.remoteImage,
      name: "supabase-image-auth",
      props: { name: ref },
    });
    expect(found).toHaveLength(pinned ? 0 : 1);
    if (!pinned) expect(found[0]).toContain(`image ${JSON.stringify(ref)} is not pinned`);
  });

  it("accepts a container running an image ID and rejects one running a floating tag", async () => {
    expect(await violations(imagesPinned, container("auth"))).toEqual([]);
    const found = await violations(imagesPinned, container("auth", { image: "supabase/gotrue:latest" }));
    expect(found).toEqual([
      expect.stringContaining('container auth runs image "supabase/gotrue:latest", which is not pinned'),
    ]);
  });

  it("skips images not known yet during a preview", async () => {
    expect(await violations(imagesPinned, container("auth", { image: UNKNOWN_INPUT }))).toEqual([]);
    expect(
      await violations(imagesPinned, { type: TYPES.remoteImage, name: "i", props: { name: UNKNOWN_INPUT } }),
    ).toEqual([]);
  });
});

describe("no-private-jwk-outside-auth", () => {
  let signing: Record<string, unknown>;
  let rsa: Record<string, unknown>;
  beforeAll(async () => {
    signing = await generateSigningJwk("ES256", "k1");
    rsa = await generateSigningJwk("RS256", "k2");
  });

  it("finds private members in a JWKS, an array, a bare JWK, and JSON embedded in text", () => {
    expect(privateJwkMembers(JSON.stringify({ keys: [publicJwk(signing as never), signing] }))).toEqual(["d"]);
    expect(privateJwkMembers(JSON.stringify([rsa]))).toEqual(["d", "dp", "dq", "p", "q", "qi"]);
    expect(privateJwkMembers(`prefix ${JSON.stringify(signing)} suffix`)).toEqual(["d"]);
    expect(privateJwkMembers(JSON.stringify({ keys: [publicJwk(signing as never)] }))).toEqual([]);
    expect(privateJwkMembers("plain-secret-value")).toEqual([]);
  });

  it(
    "treats the legacy HS256 oct key as the shared secret verifiers hold anyway, and any other " + "oct key as private",
    () => {
      expect(privateJwkMembers(JSON.stringify({ keys: [legacyOctJwk("s".repeat(40))] }))).toEqual([]);
      expect(privateJwkMembers(JSON.stringify({ keys: [{ ...legacyOctJwk("s".repeat(40)), kid: "other" }] }))).toEqual([
        "k",
      ]);
    },
  );

  it("lets auth hold its signing key", async () => {
    const envs = [`GOTRUE_JWT_KEYS=${JSON.stringify([signing])}`];
    expect(await violations(noPrivateJwkOutsideAuth, container("auth", { envs }))).toEqual([]);
  });

  it("reports a verifier whose JWKS holds a private key, naming the env entry and member", async () => {
    const envs = ["PGRST_DB_URI=postgres://x", `PGRST_JWT_SECRET=${JSON.stringify({ keys: [signing] })}`];
    expect(await violations(noPrivateJwkOutsideAuth, container("rest", { envs }))).toEqual([
      "container rest: env PGRST_JWT_SECRET holds a private JWK (member d); only auth may hold private key material. " +
        "Give verifiers the public JWKS (verifierJwks) instead.",
    ]);
    const publicOnly = [`PGRST_JWT_SECRET=${JSON.stringify({ keys: [publicJwk(signing as never)] })}`];
    expect(await violations(noPrivateJwkOutsideAuth, container("rest", { envs: publicOnly }))).toEqual([]);
  });

  it("reports private keys in uploaded files too, and skips unknown entries", async () => {
    const uploads = [{ file: "/etc/x.json", content: JSON.stringify(rsa) }];
    const found = await violations(noPrivateJwkOutsideAuth, container("kong", { envs: [UNKNOWN_INPUT], uploads }));
    expect(found).toEqual([expect.stringContaining("container kong: uploaded file /etc/x.json holds a private JWK")]);
  });
});

describe("kong-config-by-upload", () => {
  const path = "/usr/local/kong/kong.yml";
  const env = [`KONG_DATABASE=off`, `KONG_DECLARATIVE_CONFIG=${path}`];

  it("passes kong with its config in uploads", async () => {
    expect(
      await violations(
        kongConfigByUpload,
        container("kong", { envs: env, uploads: [{ file: path, content: "_format_version: '2.1'" }] }),
      ),
    ).toEqual([]);
  });

  it("fails kong without the upload, with an empty upload, or without KONG_DECLARATIVE_CONFIG", async () => {
    expect(await violations(kongConfigByUpload, container("kong", { envs: env }))).toEqual([
      `container kong: KONG_DECLARATIVE_CONFIG is ${path}, but no upload writes that file; add {file: "${path}", ` +
        `content: <kong.yml>} to uploads.`,
    ]);
    expect(await violations(kongConfigByUpload, container("kong", { envs: env, uploads: [{ file: path }] }))).toEqual([
      `container kong: the upload of ${path} has no content; render kong.yml into its content.`,
    ]);
    expect((await violations(kongConfigByUpload, container("kong", { envs: ["KONG_DATABASE=off"] })))[0]).toContain(
      "KONG_DECLARATIVE_CONFIG is not set",
    );
  });

  it("fails a bind mount of the config's file or directory", async () => {
    const volumes = [{ hostPath: "/srv/supabase/kong", containerPath: "/usr/local/kong" }];
    const mounts = [{ type: "bind", source: "/srv/kong.yml", target: path }];
    const found = await violations(
      kongConfigByUpload,
      container("kong", { envs: env, volumes, mounts, uploads: [{ file: path, content: "x" }] }),
    );
    expect(found).toHaveLength(2);
    expect(found[0]).toContain("/usr/local/kong is a bind mount of host path /srv/supabase/kong");
  });

  it("ignores other containers and uploads not known yet", async () => {
    expect(await violations(kongConfigByUpload, container("rest", { envs: ["PGRST_DB_URI=x"] }))).toEqual([]);
    expect(await violations(kongConfigByUpload, container("kong", { envs: env, uploads: UNKNOWN_INPUT }))).toEqual([]);
  });
});

describe("db-data-retained", () => {
  const volume = (props: Record<string, unknown>, opts: Partial<PolicyResourceOptions> = {}) => ({
    type: TYPES.volume,
    name: "supabase-db-data",
    props: { name: "supabase-db-data", ...props },
    opts,
  });

  it("passes the db data volume when it carries the retain label or is protected", async () => {
    expect(await violations(dbDataRetained, volume({ labels: [{ label: RETAIN_LABEL, value: "true" }] }))).toEqual([]);
    expect(await violations(dbDataRetained, volume({}, { protect: true }))).toEqual([]);
  });

  it("fails an unmarked db data volume and explains why the label is needed", async () => {
    const [message] = await violations(dbDataRetained, volume({ labels: [{ label: RETAIN_LABEL, value: "false" }] }));
    expect(message).toContain("volume supabase-db-data holds the database");
    expect(message).toContain(`${RETAIN_LABEL}=true`);
  });

  it("holds the backups volume to the same rule", async () => {
    const backups = { type: TYPES.volume, name: "supabase-backups", props: { name: "supabase-backups" }, opts: {} };
    const [message] = await violations(dbDataRetained, backups);
    expect(message).toContain("volume supabase-backups holds the database's backups");
    expect(
      await violations(dbDataRetained, {
        ...backups,
        props: { ...backups.props, labels: [{ label: RETAIN_LABEL, value: "true" }] },
      }),
    ).toEqual([]);
  });

  it("leaves other volumes alone", async () => {
    expect(
      await violations(dbDataRetained, {
        type: TYPES.volume,
        name: "supabase-storage-data",
        props: { name: "supabase-storage-data" },
      }),
    ).toEqual([]);
  });
});

describe("the policies on the Kubernetes target", () => {
  const deployment = (image: string) => ({
    type: TYPES.deployment,
    name: "supabase-rest",
    props: { spec: { template: { spec: { containers: [{ name: "rest", image }] } } } },
  });
  const secret = (name: string, stringData: Record<string, string>) => ({
    type: TYPES.secret,
    name: `supabase-${name}`,
    props: { metadata: { name }, stringData },
  });

  it("images-pinned: a pod's image names one version", async () => {
    expect(await violations(imagesPinned, deployment("postgrest/postgrest:v14.17"))).toEqual([]);
    expect(await violations(imagesPinned, deployment("postgrest/postgrest:latest"))).toEqual([
      expect.stringContaining('container rest runs image "postgrest/postgrest:latest", which is not pinned'),
    ]);
    expect(await violations(imagesPinned, { ...deployment("x"), props: { spec: UNKNOWN_INPUT } })).toEqual([]);
  });

  it("no-private-jwk-outside-auth: only auth's Secret holds a private key", async () => {
    const jwk = await generateSigningJwk("ES256", "k1");
    const keys = JSON.stringify([jwk]);
    expect(await violations(noPrivateJwkOutsideAuth, secret("auth-env", { GOTRUE_JWT_KEYS: keys }))).toEqual([]);
    expect(await violations(noPrivateJwkOutsideAuth, secret("rest-env", { PGRST_JWT_SECRET: keys }))).toEqual([
      expect.stringContaining("Secret rest-env: PGRST_JWT_SECRET holds a private JWK"),
    ]);
    const files = {
      type: TYPES.secret,
      name: "supabase-kong-files-0",
      props: { data: { k: Buffer.from(keys).toString("base64") } },
    };
    expect(await violations(noPrivateJwkOutsideAuth, files)).toEqual([
      expect.stringContaining("Secret kong-files-0: k"),
    ]);
    const verifier = JSON.stringify({ keys: [publicJwk(jwk)] });
    expect(await violations(noPrivateJwkOutsideAuth, secret("rest-env", { PGRST_JWT_SECRET: verifier }))).toEqual([]);
  });

  it("db-data-retained: db's StatefulSet keeps its claims when it is deleted", async () => {
    const statefulSet = (whenDeleted?: string) => ({
      type: TYPES.statefulSet,
      name: "supabase-db",
      props: { spec: whenDeleted ? { persistentVolumeClaimRetentionPolicy: { whenDeleted } } : {} },
    });
    expect(await violations(dbDataRetained, statefulSet("Retain"))).toEqual([]);
    expect(await violations(dbDataRetained, statefulSet())).toEqual([]);
    expect(await violations(dbDataRetained, statefulSet("Delete"))).toEqual([
      expect.stringContaining("persistentVolumeClaimRetentionPolicy.whenDeleted must be Retain"),
    ]);
  });

  it("passes the real program on Kubernetes", async () => {
    vi.resetModules();
    const { declared } = await new ShapeMocks().run(
      { signingKeys: [{ name: "k1", state: "current" }], target: "kubernetes", functions: { enabled: true } },
      () => import("../index.js"),
    );
    const objects = declared.filter((r) => r.type.startsWith("kubernetes:"));
    expect(objects.filter((r) => r.type === TYPES.secret).length).toBeGreaterThan(10);
    const report: string[] = [];
    for (const r of objects) {
      for (const policy of policies) {
        for (const message of await violations(policy as ResourceValidationPolicy, {
          type: r.type,
          name: r.name,
          props: r.inputs,
        })) {
          report.push(`${policy.name} ${r.name}: ${message}`);
        }
      }
    }
    expect(report).toEqual([]);
  }, 60_000);
});

describe("the pack", () => {
  it("holds the four policies, all mandatory, and names roles from Docker or resource names", () => {
    expect(policies.map((p) => [p.name, p.enforcementLevel])).toEqual([
      ["images-pinned", "mandatory"],
      ["no-private-jwk-outside-auth", "mandatory"],
      ["kong-config-by-upload", "mandatory"],
      ["db-data-retained", "mandatory"],
    ]);
    expect(containerRole({ name: "supabase-auth", props: { name: UNKNOWN_INPUT } })).toBe("auth");
  });

  it("index.ts serves exactly those policies under the pack name", async () => {
    const served: unknown[] = [];
    vi.resetModules();
    vi.doMock("@pulumi/policy", () => ({
      PolicyPack: vi.fn(function (this: unknown, ...args: unknown[]) {
        served.push(args);
      }),
    }));
    await import("../policy/index.js");
    vi.doUnmock("@pulumi/policy");
    expect(served).toHaveLength(1);
    const [name, args] = served[0] as [string, { policies: unknown[]; enforcementLevel: string }];
    expect(name).toBe(PACK_NAME);
    expect(args.enforcementLevel).toBe("mandatory");
    expect(args.policies).toHaveLength(policies.length);
  });

  it("has the manifest the CLI loads (PulumiPolicy.yaml, runtime nodejs) and the version PolicyPack requires", () => {
    const manifest = YAML.parse(readFileSync(join(__dirname, "..", "policy", "PulumiPolicy.yaml"), "utf8"));
    expect(manifest.runtime).toBe("nodejs");
    const pkg = JSON.parse(readFileSync(join(__dirname, "..", "policy", "package.json"), "utf8"));
    expect(pkg.version).toMatch(/^\d+\.\d+\.\d+$/);
  });
});

describe("the real program against the pack", () => {
  it("passes every policy with the dev stack's config", async () => {
    vi.resetModules();
    const { declared, options } = await new ShapeMocks().run(
      { signingKeys: [{ name: "k1", state: "current" }] },
      () => import("../index.js"),
    );
    const docker = declared.filter((r) => r.type.startsWith("docker:"));
    expect(docker.some((r) => r.type === TYPES.container)).toBe(true);
    const report: string[] = [];
    for (const r of docker) {
      const opts = options.get(r.name) as { protect?: boolean } | undefined;
      for (const policy of policies) {
        for (const message of await violations(policy as ResourceValidationPolicy, {
          type: r.type,
          name: r.name,
          props: r.inputs,
          opts: { protect: opts?.protect ?? false },
        })) {
          report.push(`${policy.name} ${r.name}: ${message}`);
        }
      }
    }
    expect(report).toEqual([]);
    expect(docker.some((r) => r.type === TYPES.volume && r.name.endsWith("-db-data"))).toBe(true);
  });
});

describe("the pack as `pulumi preview --policy-pack policy` runs it", () => {
  let child: ChildProcess;
  let client: any;
  let proto: any;

  beforeAll(async () => {
    const root = join(__dirname, "..");
    // The CLI's analyzer plugin runs @pulumi/pulumi/cmd/run-policy-pack with the pack directory as its cwd.
    const runner = require.resolve("@pulumi/pulumi/cmd/run-policy-pack", { paths: [join(root, "policy")] });
    child = spawn(process.execPath, [runner, "127.0.0.1:1", "."], {
      cwd: join(root, "policy"),
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stderr = "";
    child.stderr!.on("data", (d) => (stderr += d));
    const port = await new Promise<number>((resolve, reject) => {
      child.stdout!.once("data", (d) => resolve(Number(String(d).trim())));
      child.once("exit", (code) => reject(new Error(`policy pack exited with ${code}: ${stderr}`)));
    });
    const grpc = require("@grpc/grpc-js");
    const services = require("@pulumi/pulumi/proto/analyzer_grpc_pb");
    proto = {
      ...require("@pulumi/pulumi/proto/analyzer_pb"),
      Struct: require("google-protobuf/google/protobuf/struct_pb").Struct,
    };
    client = new services.AnalyzerClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  }, 60_000);

  afterAll(() => {
    client?.close();
    child?.kill();
  });

  const call = <T>(method: string, request: unknown): Promise<T> =>
    new Promise((resolve, reject) =>
      client[method](request, (err: Error | null, res: T) => (err ? reject(err) : resolve(res))),
    );

  it("loads from the repository's node_modules and lists its policies", async () => {
    const { Empty } = require("google-protobuf/google/protobuf/empty_pb");
    const info: any = await call("getAnalyzerInfo", new Empty());
    expect(info.getName()).toBe(PACK_NAME);
    expect(info.getPoliciesList().map((p: any) => p.getName())).toEqual(policies.map((p) => p.name));
  });

  it("reports violations of a resource sent over the wire, secret values included", async () => {
    const request = new proto.AnalyzeRequest();
    request.setType(TYPES.container);
    request.setName("supabase-rest");
    request.setUrn("urn:pulumi:dev::supabase-selfhosted::docker:index/container:Container::supabase-rest");
    const jwk = await generateSigningJwk("ES256", "k1");
    // The engine sends secrets wrapped; the policy still sees the value.
    const secret = {
      "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270",
      value: [`PGRST_JWT_SECRET=${JSON.stringify({ keys: [jwk] })}`],
    };
    request.setProperties(
      proto.Struct.fromJavaScript({ name: "supabase-rest", image: "postgrest/postgrest:latest", envs: secret }),
    );
    request.setOptions(new proto.AnalyzerResourceOptions());
    const res: any = await call("analyze", request);
    const found = res.getDiagnosticsList().map((d: any) => `${d.getPolicyname()}: ${d.getMessage()}`);
    // The SDK puts the policy's description before the message.
    expect(found).toEqual([
      expect.stringMatching(
        /^images-pinned: Container images are pinned.*\ncontainer rest runs image "postgrest\/postgrest:latest"/,
      ),
      expect.stringMatching(
        /^no-private-jwk-outside-auth: .*\ncontainer rest: env PGRST_JWT_SECRET holds a private JWK \(member d\)/,
      ),
    ]);
  });
});
