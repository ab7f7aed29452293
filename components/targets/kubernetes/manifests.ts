/**
 * The Kubernetes objects of one stack as plain values: per service a Deployment (db a StatefulSet) that rolls with
 * `maxUnavailable: 0`, a Service named after its first alias, a PodDisruptionBudget when it runs more than one pod,
 * the claims of its volumes; the gateway's Ingress. `kubernetesStack.ts` declares them; the tests read them without
 * Pulumi. Pure.
 */
import type * as k8s from "@pulumi/kubernetes";
import { VOLUME_SIZE_DEFAULTS, type KubernetesSettings } from "../../config/kubernetes";
import { defaultReplicas, type ServiceModule, type StackSettings, type VolumeRole } from "../../services/service";
import { objectLabels, selectorLabels, serviceName } from "./naming";
import { podTemplate, requireFacts, type PodContext, type PodInputs } from "./podSpec";

/** How many pods a service runs: `kubernetes.replicas`, or its module's default. */
export function replicasOf(service: ServiceModule, settings: StackSettings, kubernetes: KubernetesSettings): number {
  return kubernetes.replicas[service.role] ?? defaultReplicas(requireFacts(service), settings);
}

/** A Deployment's spec: a rolling update that starts a new pod and waits for it before it stops an old one. */
export function deploymentSpec(
  service: ServiceModule,
  context: PodContext,
  inputs: PodInputs,
): k8s.types.input.apps.v1.DeploymentSpec {
  return {
    replicas: replicasOf(service, context.settings, context.kubernetes),
    selector: { matchLabels: selectorLabels(context.instance, service.role) },
    strategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
    template: podTemplate(service, context, inputs),
  };
}

/**
 * db's StatefulSet: its volumes are claims from `volumeClaimTemplates` (`db-data-db-0`, `db-config-db-0`), which
 * the StatefulSet controller creates and, with the retention policy `Retain` on deletion and on scale-down, never
 * deletes. They are not in Pulumi's state, so no `pulumi destroy` (nor a replacement of the StatefulSet) can delete
 * them, and a StatefulSet created again under the same name mounts them again.
 */
export function statefulSetSpec(
  service: ServiceModule,
  context: PodContext,
  inputs: PodInputs,
): k8s.types.input.apps.v1.StatefulSetSpec {
  return {
    replicas: replicasOf(service, context.settings, context.kubernetes),
    serviceName: serviceName(service),
    selector: { matchLabels: selectorLabels(context.instance, service.role) },
    persistentVolumeClaimRetentionPolicy: { whenDeleted: "Retain", whenScaled: "Retain" },
    updateStrategy: { type: "RollingUpdate" },
    template: podTemplate(service, context, inputs, "claimTemplates"),
    volumeClaimTemplates: (service.volumes ?? []).map(({ volume }) => ({
      metadata: { name: volume, labels: objectLabels(context.instance, service.role) },
      spec: claimSpec(volume, context.kubernetes),
    })),
  };
}

/** A claim's spec: ReadWriteOnce, the configured class and size. */
export function claimSpec(
  volume: VolumeRole,
  kubernetes: Pick<KubernetesSettings, "storage">,
): k8s.types.input.core.v1.PersistentVolumeClaimSpec {
  const { className, sizes } = kubernetes.storage;
  return {
    accessModes: ["ReadWriteOnce"],
    ...(className !== undefined ? { storageClassName: className } : {}),
    resources: { requests: { storage: sizes[volume] ?? VOLUME_SIZE_DEFAULTS[volume] } },
  };
}

/** The ports of a service's Service: its own port, and each port it publishes (the pooler's two) on that port. */
export function servicePorts(
  service: ServiceModule,
  settings: StackSettings,
  nodePorts: Record<number, number | undefined> = {},
): k8s.types.input.core.v1.ServicePort[] {
  const ports = [{ port: service.port, targetPort: service.port }];
  for (const published of service.publishedPorts?.(settings) ?? []) {
    if (!ports.some((p) => p.port === published.external)) {
      ports.push({ port: published.external, targetPort: published.internal });
    }
  }
  return ports.map(({ port, targetPort }) => ({
    name: `tcp-${port}`,
    port,
    targetPort,
    protocol: "TCP",
    ...(nodePorts[port] !== undefined ? { nodePort: nodePorts[port] } : {}),
  }));
}

/**
 * The `kubernetes` field that exposes a service (`gateway`, or `pooler` when set), if any: its Service's type and
 * node ports.
 */
export function exposureOf(
  service: Pick<ServiceModule, "role" | "kubernetes">,
  kubernetes: Pick<KubernetesSettings, "gateway" | "pooler">,
): { type: string; nodePorts: Record<string, number | undefined> } | undefined {
  const exposure = requireFacts(service).exposedBy;
  const setting = exposure && kubernetes[exposure.setting];
  if (!exposure || !setting) return undefined;
  return { type: setting.type, nodePorts: setting as unknown as Record<string, number | undefined> };
}

/**
 * A service's Service: ClusterIP, except for a service its module says the `kubernetes` setting exposes (the
 * gateway with `kubernetes.gateway`, the pooler with `kubernetes.pooler`): that field's type, and its node ports on
 * the ports the service publishes.
 */
export function serviceSpec(
  service: ServiceModule,
  context: Pick<PodContext, "instance" | "settings" | "kubernetes">,
): k8s.types.input.core.v1.ServiceSpec {
  const { settings, kubernetes } = context;
  const selector = selectorLabels(context.instance, service.role);
  const exposure = exposureOf(service, kubernetes);
  if (!exposure) return { type: "ClusterIP", selector, ports: servicePorts(service, settings) };
  const fields = requireFacts(service).exposedBy?.nodePorts ?? [];
  const published = service.publishedPorts?.(settings) ?? [];
  const nodePorts = Object.fromEntries(published.map((p, i) => [p.external, exposure.nodePorts[fields[i]]]));
  return { type: exposure.type, selector, ports: servicePorts(service, settings, nodePorts) };
}

/** A PodDisruptionBudget for a service of more than one pod: a drain leaves one running. */
export function disruptionBudgetSpec(
  service: ServiceModule,
  context: Pick<PodContext, "instance" | "settings" | "kubernetes">,
): k8s.types.input.policy.v1.PodDisruptionBudgetSpec | undefined {
  if (replicasOf(service, context.settings, context.kubernetes) <= 1) return undefined;
  return {
    maxUnavailable: 1,
    selector: { matchLabels: selectorLabels(context.instance, service.role) },
    // A pod that is not ready serves nothing: evicting it never costs availability.
    unhealthyPodEvictionPolicy: "AlwaysAllow",
  };
}

/** The service the Ingress routes to: the one exposed by `kubernetes.gateway`. */
export function ingressBackend<S extends Pick<ServiceModule, "kubernetes">>(running: readonly S[]): S | undefined {
  return running.find((service) => service.kubernetes?.exposedBy?.setting === "gateway");
}

/** The Ingress (`kubernetes.ingress`): every path of the host to the gateway's Service, on `gatewayHttpPort`. */
export function ingressSpec(
  gateway: ServiceModule,
  settings: StackSettings,
  kubernetes: KubernetesSettings,
): k8s.types.input.networking.v1.IngressSpec | undefined {
  const ingress = kubernetes.ingress;
  if (!ingress) return undefined;
  const backend = { service: { name: serviceName(gateway), port: { number: settings.gatewayHttpPort } } };
  return {
    ...(ingress.className !== undefined ? { ingressClassName: ingress.className } : {}),
    rules: [{ host: ingress.host, http: { paths: [{ path: "/", pathType: "Prefix", backend }] } }],
    ...(ingress.tlsSecretName !== undefined
      ? { tls: [{ hosts: [ingress.host], secretName: ingress.tlsSecretName }] }
      : {}),
  };
}
