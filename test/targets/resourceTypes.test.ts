/** The type tokens the policy pack, the mock engines and the e2e suite match by are the SDKs' own. */
import * as docker from "@pulumi/docker";
import * as k8s from "@pulumi/kubernetes";
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
    expect(RESOURCE_TYPES.namespace).toBe(token(k8s.core.v1.Namespace));
    expect(RESOURCE_TYPES.secret).toBe(token(k8s.core.v1.Secret));
    expect(RESOURCE_TYPES.service).toBe(token(k8s.core.v1.Service));
    expect(RESOURCE_TYPES.persistentVolumeClaim).toBe(token(k8s.core.v1.PersistentVolumeClaim));
    expect(RESOURCE_TYPES.deployment).toBe(token(k8s.apps.v1.Deployment));
    expect(RESOURCE_TYPES.statefulSet).toBe(token(k8s.apps.v1.StatefulSet));
    expect(RESOURCE_TYPES.podDisruptionBudget).toBe(token(k8s.policy.v1.PodDisruptionBudget));
    expect(RESOURCE_TYPES.networkPolicy).toBe(token(k8s.networking.v1.NetworkPolicy));
    expect(RESOURCE_TYPES.ingress).toBe(token(k8s.networking.v1.Ingress));
  });
});
