/**
 * The components as another Pulumi program uses them, from the package entry: settings given as values, a stack
 * under its own instance name (so several share one Docker host), and the transform hooks.
 */
import * as pulumi from "@pulumi/pulumi";
import { describe, expect, it } from "vitest";
import { parseConfig, SigningKeyring, SupabaseStack } from "../../../components/index";
import { RESOURCE_TYPES } from "../../../components/targets/resourceTypes";
import { declare } from "../../support/shapes";

const K1 = [{ name: "k1", state: "current" }];

/** A program of another user: its own names, settings as values, the two components. */
function otherProgram(
  settings: Record<string, unknown>,
  transform?: ConstructorParameters<typeof SupabaseStack>[1]["transform"],
) {
  return () => {
    const config = parseConfig(settings);
    const keyring = new SigningKeyring("app-keys", { config });
    return new SupabaseStack("app", {
      config,
      keyring,
      instanceName: config.instanceName,
      ...(transform ? { transform } : {}),
    });
  };
}

const dockerNames = (declared: Array<{ type: string; inputs: Record<string, unknown> }>) =>
  declared
    .filter((r) => [RESOURCE_TYPES.container, RESOURCE_TYPES.volume, RESOURCE_TYPES.network].includes(r.type as never))
    .map((r) => String(r.inputs.name));

describe("the components from another program", () => {
  it("name every Docker object after the instance, so two stacks share a host", async () => {
    const staging = await declare(
      {},
      otherProgram({ signingKeys: K1, instanceName: "staging", gatewayHttpPort: 8100 }),
    );
    const names = dockerNames(staging.declared);
    expect(names.length).toBe(17);
    expect(names.filter((n) => !n.startsWith("staging-"))).toEqual([]);
    expect(names).toContain("staging-auth");
    expect(names).toContain("staging-db-data");
    expect(names).toContain("staging-network");
    const byDefault = await declare({}, otherProgram({ signingKeys: K1 }));
    expect(dockerNames(byDefault.declared).filter((n) => !n.startsWith("supabase-"))).toEqual([]);
  });

  it("refuses an instance name Docker or Kubernetes could not carry, before any resource", () => {
    expect(() => parseConfig({ signingKeys: K1, instanceName: "Staging_1" })).toThrow(
      'supabase-selfhosted:instanceName: must be 1-32 characters of a-z, 0-9 and -, starting with a letter and not ending with -, got "Staging_1"',
    );
  });

  it("let a transform hook change each kind of resource, on copies of what the stack computed", async () => {
    const seen: string[] = [];
    const run = await declare(
      {},
      otherProgram(
        { signingKeys: K1 },
        {
          container: (args, opts, name) => {
            seen.push(name);
            args.labels = [{ label: "team", value: "platform" }];
            args.logOpts = { "max-size": "50m" };
            opts.ignoreChanges = ["image"];
          },
          volume: (args) => {
            args.driverOpts = { type: "tmpfs" };
          },
          network: (args) => {
            args.internal = false;
          },
          image: (args) => {
            args.forceRemove = false;
          },
        },
      ),
    );
    const containers = run.declared.filter((r) => r.type === RESOURCE_TYPES.container);
    expect(containers.map((c) => c.inputs.labels)).toEqual(
      containers.map(() => [{ label: "team", value: "platform" }]),
    );
    expect(containers.every((c) => (c.inputs.logOpts as Record<string, string>)["max-size"] === "50m")).toBe(true);
    expect(seen.sort()).toEqual(containers.map((c) => c.name).sort());
    expect(run.options.get("app-auth")?.parent).toContain("SupabaseStack::app");
    const volumes = run.declared.filter((r) => r.type === RESOURCE_TYPES.volume);
    expect(volumes.every((v) => (v.inputs.driverOpts as Record<string, string>).type === "tmpfs")).toBe(true);
    expect(run.declared.find((r) => r.type === RESOURCE_TYPES.network)?.inputs.internal).toBe(false);
    expect(
      run.declared.filter((r) => r.type === RESOURCE_TYPES.remoteImage).every((i) => i.inputs.forceRemove === false),
    ).toBe(true);
  });

  it("take the legacy secret from another resource's output, still a secret", async () => {
    const run = await declare({}, () => {
      const config = parseConfig({ signingKeys: K1, legacyHs256: true });
      const fromVault = pulumi.output("a-secret-from-another-resource-40-chars!!");
      return new SigningKeyring("app-keys", { config: { ...config, jwtSecret: fromVault } });
    });
    expect(await pulumi.isSecret(run.result.jwtSecret)).toBe(true);
    const secret = await new Promise((resolve) => run.result.jwtSecret.apply(resolve));
    expect(secret).toBe("a-secret-from-another-resource-40-chars!!");
    expect(run.declared.filter((r) => r.name === "app-keys-jwt-secret")).toEqual([]);
  });
});
