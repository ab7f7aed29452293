/**
 * The SDK internals the mock engines rely on (`testkit/engine/sdk.ts`), checked against the installed
 * `@pulumi/pulumi`: when an upgrade moves one, this test names it instead of a hundred tests failing obscurely.
 */
import * as pulumi from "@pulumi/pulumi";
import { describe, expect, it } from "vitest";
import { secretConfigKeys } from "../../components/config/read";
import { PROJECT } from "../../components/schema/project";
import { UNKNOWN_INPUT } from "../../components/keyring/engineValues";
import { runUnderMocks } from "../../testkit/engine/run";
import { isSecretWrapper, unwrapSecrets, valueOf, type RegisteredOptions } from "../../testkit/engine/sdk";

/** A custom resource of a made-up type: the SDK's base class is abstract. */
class Thing extends pulumi.CustomResource {
  constructor(name: string, props: pulumi.Inputs, opts?: pulumi.CustomResourceOptions) {
    super("test:index:Thing", name, props, opts);
  }
}

describe("@pulumi/pulumi internals used by the mock engines", () => {
  it("runtime/rpc still marks secrets with specialSigKey/specialSecretSig and unknowns with unknownValue", () => {
    const rpc = require("@pulumi/pulumi/runtime/rpc");
    expect(typeof rpc.specialSigKey, "runtime/rpc.specialSigKey").toBe("string");
    expect(typeof rpc.specialSecretSig, "runtime/rpc.specialSecretSig").toBe("string");
    // The providers and the policy pack compare inputs with their own copy of the marker.
    expect(rpc.unknownValue, "runtime/rpc.unknownValue vs components/keyring/engineValues.ts").toBe(UNKNOWN_INPUT);
    const wrapped = { [rpc.specialSigKey]: rpc.specialSecretSig, value: "s" };
    expect(isSecretWrapper(wrapped)).toBe(true);
    expect(unwrapSecrets({ a: [wrapped] })).toEqual({ a: ["s"] });
  });

  it("runtime/settings still exposes getMonitor() and waitForRPCs()", () => {
    const settings = require("@pulumi/pulumi/runtime/settings");
    expect(typeof settings.getMonitor, "runtime/settings.getMonitor").toBe("function");
    expect(typeof settings.waitForRPCs, "runtime/settings.waitForRPCs").toBe("function");
  });

  it("an Output still has promise(), and the mock monitor's requests still carry the options the engines read", async () => {
    const secret = pulumi.secret("s");
    expect(typeof (secret as unknown as { promise?: unknown }).promise, "Output.promise").toBe("function");
    await expect(valueOf(secret)).resolves.toBe("s");
    const seen: Array<Record<string, unknown>> = [];
    const mocks: pulumi.runtime.Mocks = {
      newResource: (args) => {
        seen.push(args.inputs);
        return { id: `${args.name}-id`, state: args.inputs };
      },
      call: (args) => args.inputs,
    };
    const { options } = await runUnderMocks(mocks, {}, () => {
      const parent = new pulumi.ComponentResource("test:index:Parent", "parent");
      const first = new Thing("first", { v: pulumi.secret("x") }, { parent });
      new Thing(
        "second",
        {},
        { parent, dependsOn: [first], retainOnDelete: true, replaceOnChanges: ["v"], deleteBeforeReplace: true },
      );
    });
    const second = options.get("second") as RegisteredOptions;
    expect(second, "RegisterResourceRequest getters (getName, getParent, …)").toBeDefined();
    expect(second.parent).toMatch(/test:index:Parent::parent$/);
    expect(second.dependencies).toEqual([expect.stringMatching(/test:index:Thing::first$/)]);
    expect(second).toMatchObject({ retainOnDelete: true, replaceOnChanges: ["v"], deleteBeforeReplace: true });
    // newResource sees the secret in the wire format isSecretWrapper reads.
    expect(seen.some((inputs) => isSecretWrapper(inputs.v))).toBe(true);
  });
});

describe("@pulumi/pulumi internals the program relies on", () => {
  it("runtime/config still exports isConfigSecret, which tells the keys set with --secret (secretConfigKeys)", () => {
    const runtime = require("@pulumi/pulumi/runtime/config");
    expect(typeof runtime.isConfigSecret, "runtime/config.isConfigSecret").toBe("function");
    pulumi.runtime.setAllConfig({ [`${PROJECT}:auth`]: "{}", [`${PROJECT}:siteUrl`]: "https://x.example.com" }, [
      `${PROJECT}:auth`,
    ]);
    expect([...secretConfigKeys({ auth: "{}", siteUrl: "https://x.example.com" })]).toEqual(["auth"]);
  });
});
