/** The type tokens the policy pack, the mock engines and the e2e suite match by are the SDKs' own. */
import * as docker from "@pulumi/docker";
import * as random from "@pulumi/random";
import { describe, expect, it } from "vitest";
import { RESOURCE_TYPES } from "../../components/targets/resourceTypes";

const token = (resource: unknown) => (resource as { __pulumiType: string }).__pulumiType;

describe("RESOURCE_TYPES", () => {
  it("names each SDK class's own type token", () => {
    expect(RESOURCE_TYPES.container).toBe(token(docker.Container));
    expect(RESOURCE_TYPES.remoteImage).toBe(token(docker.RemoteImage));
    expect(RESOURCE_TYPES.network).toBe(token(docker.Network));
    expect(RESOURCE_TYPES.volume).toBe(token(docker.Volume));
    expect(RESOURCE_TYPES.randomPassword).toBe(token(random.RandomPassword));
  });
});
