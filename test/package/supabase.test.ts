/**
 * The `Supabase` component under the stateful mock engine, and its provider: it declares what the program declares,
 * under itself; its outputs are the program's, secrets kept; bad arguments are refused before anything registers;
 * the provider awaits another program's inputs and keeps the keyring's resources as the package's own.
 */
import * as pulumi from "@pulumi/pulumi";
import { decodeProtectedHeader } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import { DEFAULTS } from "../../components/config/settings";
import { pluginToken, SIGNING_KEY_TOKEN } from "../../components/keyring/resourceTokens";
import { OUTPUTS } from "../../components/package/outputs";
import { resolveArgs, SupabaseProvider } from "../../components/package/provider";
import { Supabase, SUPABASE_TYPE, type SupabaseArgs } from "../../components/package/supabase";
import { supabaseProgram } from "../../components/program";
import { RESOURCE_TYPES } from "../../components/targets/resourceTypes";
import { MockEngine } from "../../testkit/engine/engine";
import { valueOf } from "../../testkit/engine/sdk";

const SETTINGS: SupabaseArgs = {
  signingKeys: [{ name: "k1", state: "current" }],
  studio: false,
  gatewayHttpPort: 8100,
};

/** The custom resources a run registered, as `type name` lines. */
const declared = (engine: MockEngine) => engine.registered.map((r) => `${r.type} ${r.name}`).sort();

describe("the Supabase component", () => {
  // One run of the program and one of the component with the same settings, for the first two tests.
  const program = new MockEngine();
  const engine = new MockEngine();
  let result: Supabase;
  beforeAll(async () => {
    await program.run(SETTINGS, () => supabaseProgram());
    result = (await engine.run({}, () => new Supabase("supabase", SETTINGS))).result;
  }, 60_000);

  it("declares exactly the resources the program declares for the same settings, under itself", () => {
    expect(declared(engine)).toEqual([...declared(program), `${SUPABASE_TYPE} supabase`].sort());
    const parentOf = (name: string) => engine.options.get(name)?.parent ?? "";
    expect(parentOf("supabase-key-k1")).toContain(
      `${SUPABASE_TYPE}$supabase-selfhosted:index:SigningKeyring::supabase`,
    );
    expect(parentOf("supabase-auth")).toContain(`${SUPABASE_TYPE}$supabase-selfhosted:index:SupabaseStack::supabase`);
  });

  it("gives the program's outputs, every secret one a Pulumi secret", async () => {
    expect(await valueOf(result.apiUrl!)).toBe(DEFAULTS.apiExternalUrl);
    const anonKey = await valueOf(result.anonKey);
    expect(decodeProtectedHeader(anonKey).kid).toBe(await valueOf(result.currentKid));
    for (const [name, spec] of Object.entries(OUTPUTS)) {
      const output = result[name as keyof typeof OUTPUTS] as pulumi.Output<unknown> | undefined;
      if (output) expect(await pulumi.isSecret(output), name).toBe("secret" in spec);
    }
    // Studio is off: no dashboard; the pooler is on: its connection strings.
    expect(result.dashboardPassword).toBeUndefined();
    expect(await valueOf(result.poolerSessionUrl!)).toMatch(/^postgresql:\/\/postgres\.default@127\.0\.0\.1:5432\//);
  });

  it("refuses bad arguments with every key named, before anything is registered (the component neither)", async () => {
    const engine = new MockEngine();
    const bad = { signingKeys: [{ name: "k1", state: "active" }], jwtExpiry: 0 } as never;
    await expect(engine.run({}, () => new Supabase("supabase", bad))).rejects.toThrow(
      /signingKeys\[0\]\.state: "active" is not a key state[\s\S]*supabase-selfhosted:jwtExpiry/,
    );
    expect(engine.registered).toEqual([]);
    expect(engine.options.size).toBe(0);
  });

  it("takes jwtSecret as another resource's output, and keeps it secret", async () => {
    const secret = "s".repeat(40);
    const { result } = await new MockEngine().run(
      {},
      () => new Supabase("supabase", { ...SETTINGS, legacyHs256: true, jwtSecret: pulumi.output(secret) }),
    );
    const jwtSecret = result.deployment.keyring.jwtSecret;
    expect(await valueOf(jwtSecret)).toBe(secret);
    expect(await pulumi.isSecret(jwtSecret)).toBe(true);
  });
});

describe("the component's provider", () => {
  it("awaits inputs: values as they are, secrets opened and noted, an unknown one refused by its key", async () => {
    const resolved = await resolveArgs({ instanceName: "a", postgresPassword: pulumi.secret("p".repeat(20)) });
    expect(resolved.args).toEqual({ instanceName: "a", postgresPassword: "p".repeat(20) });
    expect([...resolved.secretKeys]).toEqual(["postgresPassword"]);
    const unknown = pulumi.output(pulumi.unknown) as pulumi.Output<string>;
    await expect(resolveArgs({ siteUrl: unknown })).rejects.toThrow(
      /supabase-selfhosted:siteUrl: is not known yet \(an output of a resource this update creates\)/,
    );
    // jwtSecret alone may stay an output: the keyring checks it when it is known.
    expect((await resolveArgs({ jwtSecret: unknown })).args.jwtSecret).toBe(unknown);
  });

  it("says so when a setting that is not a secret arrives as one (it is used in plain text)", async () => {
    const { warnings } = await resolveArgs({ siteUrl: pulumi.secret("https://app.example.com") });
    expect(warnings).toEqual([
      "siteUrl arrived as a secret, but the settings do not keep it as one: it is used in plain text",
    ]);
  });

  it("constructs the component with the keyring's resources as the package's own, and returns its outputs", async () => {
    const provider = new SupabaseProvider("0.1.0");
    const inputs = { ...SETTINGS, extraEnv: pulumi.secret({ kong: { KONG_NGINX_WORKER_PROCESSES: "2" } }) };
    const engine = new MockEngine();
    const { result } = await engine.run({}, () => provider.construct("supabase", SUPABASE_TYPE, inputs, {}));
    expect(Object.keys(result.state).sort()).toEqual(
      Object.keys(OUTPUTS)
        .filter(
          (name) =>
            ![
              "legacyAnonKey",
              "legacyServiceRoleKey",
              "dashboardUsername",
              "dashboardPassword",
              "kubernetesNamespace",
            ].includes(name),
        )
        .sort(),
    );
    const types = engine.registered.map((r) => r.type);
    expect(types).toContain(pluginToken(SIGNING_KEY_TOKEN));
    expect(types.filter((t) => t.startsWith("pulumi-nodejs:"))).toEqual([]);
    // extraEnv arrived as a secret: kong's environment, which holds none otherwise, is a secret now.
    const kong = engine.registered.find((r) => r.type === RESOURCE_TYPES.container && r.name === "supabase-kong");
    expect(kong?.secretInputs).toContain("envs");
  });

  it("refuses a type it does not construct", async () => {
    await expect(
      new SupabaseProvider("0.1.0").construct("x", "supabase-selfhosted:index:Other", {}, {}),
    ).rejects.toThrow(
      /unknown resource type supabase-selfhosted:index:Other; this package has supabase-selfhosted:index:Supabase/,
    );
  });

  it("serves the schema for its version", async () => {
    expect(JSON.parse(await new SupabaseProvider("9.9.9").getSchema())).toMatchObject({ version: "9.9.9" });
  });
});
