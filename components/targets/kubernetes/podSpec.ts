/**
 * One service's pod template, from its module: the image and command, the environment from its Secret, its files
 * mounted one by one from theirs, probes from its health check, and the least privilege its image allows. Pure:
 * plain values in, a plain pod template out.
 */
import type * as k8s from "@pulumi/kubernetes";
import type { KubernetesSettings } from "../../config/kubernetes";
import {
  UNNEEDED_CAPABILITIES,
  type Healthcheck,
  type ResourceAmounts,
  type ServiceModule,
  type StackSettings,
} from "../../services/service";
import { envSecretName, INPUTS_DIGEST_ANNOTATION, mountsLabel, objectLabels, selectorLabels } from "./naming";
import type { FileMount } from "./secretData";

type PodTemplate = k8s.types.input.core.v1.PodTemplateSpec;
type Container = k8s.types.input.core.v1.Container;
type Probe = k8s.types.input.core.v1.Probe;
type Volume = k8s.types.input.core.v1.Volume;
type VolumeMount = k8s.types.input.core.v1.VolumeMount;

/**
 * Seconds a terminating pod keeps serving before it is signalled: the Service's endpoints drop it asynchronously
 * (kube-proxy on every node, and kong's resolver, catch up within moments), so requests still routed to it are
 * answered instead of refused. Needs the `sleep` lifecycle action (Kubernetes 1.30 and later).
 */
export const PRE_STOP_SLEEP_SECONDS = 5;

/** How often a starting container is probed, so a new pod is ready moments after its service is. */
export const STARTUP_PROBE_PERIOD_SECONDS = 2;

/** What every pod of the stack is built from besides its service's module. */
export interface PodContext {
  /** The stack's `instanceName`: the label that tells its pods from others. */
  instance: string;
  settings: StackSettings;
  kubernetes: KubernetesSettings;
}

/** The values of one run that a pod template holds. */
export interface PodInputs {
  /** The digest of the service's environment and files ({@link INPUTS_DIGEST_ANNOTATION}). */
  digest: string;
  /** Its files, each from its Secret. */
  files: readonly FileMount[];
  /** Names resolved through the pod's hosts file: its own aliases, and other services' extra aliases. */
  hostAliases: ReadonlyArray<{ ip: string; hostnames: string[] }>;
}

/** A Docker duration (`5s`, `1m30s`, `500ms`) in whole seconds, at least one. */
export function seconds(duration: string): number {
  const units: Record<string, number> = { h: 3600, m: 60, s: 1, ms: 0.001 };
  const parts = [...duration.matchAll(/(\d+(?:\.\d+)?)(ms|h|m|s)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join("") !== duration) {
    throw new Error(`${JSON.stringify(duration)} is not a duration such as 5s`);
  }
  const total = parts.reduce((sum, [, value, unit]) => sum + Number(value) * units[unit], 0);
  return Math.max(1, Math.ceil(total));
}

/** The command a Docker health check runs, as an exec probe runs it; none for `NONE`. */
export function probeCommand(check: Pick<Healthcheck, "tests">): string[] | undefined {
  const [kind, ...rest] = check.tests;
  if (kind === "CMD") return rest;
  if (kind === "CMD-SHELL") return ["/bin/sh", "-c", rest.join(" ")];
  if (kind === "NONE") return undefined;
  throw new Error(`health check ${JSON.stringify(check.tests)} is neither CMD, CMD-SHELL nor NONE`);
}

/**
 * The probes of a service, from its health check: a startup probe that allows the check's start period and its
 * retries (or the time dependants wait for it, for db's first start), then readiness and liveness on the check's
 * own interval, timeout and retries.
 */
export function probes(
  service: Pick<ServiceModule, "healthcheck" | "healthyBeforeDependants">,
): Pick<Container, "startupProbe" | "readinessProbe" | "livenessProbe"> {
  const command = probeCommand(service.healthcheck);
  if (!command) return {};
  const { interval, timeout, retries, startPeriod } = service.healthcheck;
  const exec = { command };
  const window = Math.max(
    (startPeriod ? seconds(startPeriod) : 0) + seconds(interval) * retries,
    service.healthyBeforeDependants?.timeoutSeconds ?? 0,
  );
  const steady: Probe = {
    exec,
    periodSeconds: seconds(interval),
    timeoutSeconds: seconds(timeout),
    failureThreshold: retries,
  };
  return {
    startupProbe: {
      exec,
      periodSeconds: STARTUP_PROBE_PERIOD_SECONDS,
      timeoutSeconds: seconds(timeout),
      failureThreshold: Math.ceil(window / STARTUP_PROBE_PERIOD_SECONDS),
    },
    readinessProbe: steady,
    livenessProbe: steady,
  };
}

/** The requests and limits of a service: its module's defaults with `kubernetes.resources` merged field by field. */
export function resourcesOf(
  service: Pick<ServiceModule, "role" | "kubernetes">,
  kubernetes: Pick<KubernetesSettings, "resources">,
): { requests: Record<string, string>; limits: Record<string, string> } {
  const defaults = requireFacts(service).resources;
  const given = kubernetes.resources[service.role] ?? {};
  const defined = (amounts: ResourceAmounts) =>
    Object.fromEntries(Object.entries(amounts).filter((entry): entry is [string, string] => entry[1] !== undefined));
  return {
    requests: defined({ ...defaults.requests, ...given.requests }),
    limits: defined({ ...defaults.limits, ...given.limits }),
  };
}

/** A module's Kubernetes facts; every service the target runs has them. */
export function requireFacts(service: Pick<ServiceModule, "role" | "kubernetes">) {
  if (!service.kubernetes) throw new Error(`${service.role} does not run on Kubernetes`);
  return service.kubernetes;
}

/** The volumes a pod mounts and where: its files (one volume per Secret), its claims, its writable directories. */
export function podVolumes(
  service: Pick<ServiceModule, "role" | "volumes" | "kubernetes">,
  files: readonly FileMount[],
  claims: "volumes" | "claimTemplates",
): { volumes: Volume[]; mounts: VolumeMount[] } {
  const volumes: Volume[] = [];
  const mounts: VolumeMount[] = [];
  const secrets = [...new Set(files.map((f) => f.secret))];
  secrets.forEach((secretName, i) => volumes.push({ name: `files-${i}`, secret: { secretName, defaultMode: 0o444 } }));
  // One mount per file (subPath): a directory mount would hide what the image keeps beside it.
  for (const file of files) {
    mounts.push({
      name: `files-${secrets.indexOf(file.secret)}`,
      mountPath: file.path,
      subPath: file.key,
      readOnly: true,
    });
  }
  for (const { volume, containerPath } of service.volumes ?? []) {
    if (claims === "volumes") volumes.push({ name: volume, persistentVolumeClaim: { claimName: volume } });
    // A directory inside the claim, not its root: a filesystem's lost+found there would make Postgres's initdb
    // refuse a data directory that is not empty (a Docker volume starts empty).
    mounts.push({ name: volume, mountPath: containerPath, subPath: volume });
  }
  (requireFacts(service).image.writableDirs ?? []).forEach((dir, i) => {
    volumes.push({ name: `writable-${i}`, emptyDir: {} });
    mounts.push({ name: `writable-${i}`, mountPath: dir });
  });
  return { volumes, mounts };
}

/** The container's ports: the service's own, and the ports it publishes on Docker (the pooler's two). */
export function containerPorts(service: Pick<ServiceModule, "port" | "publishedPorts">, settings: StackSettings) {
  const internal = [service.port, ...(service.publishedPorts?.(settings) ?? []).map((p) => p.internal)];
  return [...new Set(internal)].map((containerPort) => ({ name: `tcp-${containerPort}`, containerPort }));
}

/** The pod template of one service. */
export function podTemplate(
  service: ServiceModule,
  context: PodContext,
  inputs: PodInputs,
  claims: "volumes" | "claimTemplates" = "volumes",
): PodTemplate {
  const { instance, settings, kubernetes } = context;
  const facts = requireFacts(service);
  const { volumes, mounts } = podVolumes(service, inputs.files, claims);
  const runAsUser = facts.image.runAsUser;
  const mountLabels = Object.fromEntries((service.volumes ?? []).map((v) => [mountsLabel(v.volume), "true"]));
  const container: Container = {
    name: service.role,
    image: settings.images[service.image],
    imagePullPolicy: kubernetes.imagePullPolicy,
    // Docker's `command` replaces the image's CMD, which Kubernetes calls args (the entrypoint stays).
    ...(service.command ? { args: [...service.command] } : {}),
    ports: containerPorts(service, settings),
    envFrom: [{ secretRef: { name: envSecretName(service.role) } }],
    volumeMounts: mounts,
    resources: resourcesOf(service, kubernetes),
    ...probes(service),
    lifecycle: { preStop: { sleep: { seconds: PRE_STOP_SLEEP_SECONDS } } },
    securityContext: {
      // Docker's no-new-privileges.
      allowPrivilegeEscalation: false,
      capabilities: { drop: [...(service.dropCapabilities ?? UNNEEDED_CAPABILITIES)] },
      readOnlyRootFilesystem: facts.image.readOnlyRootFilesystem,
    },
  };
  return {
    metadata: {
      labels: { ...objectLabels(instance, service.role), ...mountLabels },
      annotations: { [INPUTS_DIGEST_ANNOTATION]: inputs.digest },
    },
    spec: {
      // No service calls the Kubernetes API, and none reads the Docker-style `<SERVICE>_PORT` variables the
      // kubelet would otherwise add for every Service (`DB_PORT=tcp://…` beside realtime's own DB_PORT).
      automountServiceAccountToken: false,
      enableServiceLinks: false,
      securityContext: {
        seccompProfile: { type: "RuntimeDefault" },
        ...(runAsUser !== undefined ? { runAsNonRoot: true, runAsUser } : {}),
      },
      ...(inputs.hostAliases.length > 0 ? { hostAliases: inputs.hostAliases.map((h) => ({ ...h })) } : {}),
      topologySpreadConstraints: [
        {
          maxSkew: 1,
          topologyKey: "kubernetes.io/hostname",
          // Soft: pods that share a ReadWriteOnce claim must share a node (see below), and a one-node cluster runs all.
          whenUnsatisfiable: "ScheduleAnyway",
          labelSelector: { matchLabels: selectorLabels(instance, service.role) },
          matchLabelKeys: ["pod-template-hash"],
        },
      ],
      ...volumeAffinity(service),
      containers: [container],
      ...(volumes.length > 0 ? { volumes } : {}),
    },
  };
}

/**
 * Pods that mount a ReadWriteOnce claim must run on the node it is attached to: every pod mounting a volume is
 * scheduled beside the pods that already mount it (its own earlier pods during a rolling update, storage beside
 * imgproxy). The first pod of a group goes anywhere.
 */
function volumeAffinity(service: Pick<ServiceModule, "volumes">): Pick<k8s.types.input.core.v1.PodSpec, "affinity"> {
  const volumes = service.volumes ?? [];
  if (volumes.length === 0) return {};
  return {
    affinity: {
      podAffinity: {
        requiredDuringSchedulingIgnoredDuringExecution: volumes.map((v) => ({
          topologyKey: "kubernetes.io/hostname",
          labelSelector: { matchLabels: { [mountsLabel(v.volume)]: "true" } },
        })),
      },
    },
  };
}
