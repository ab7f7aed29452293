/**
 * The checks that depend on the target: a setting that means something on one target only is refused on the other
 * (naming the key and what to use instead), and what Kubernetes cannot hold is refused before any resource exists.
 * Pure.
 */
import { configKey } from "../schema/project";
import {
  decode,
  defineRule,
  type Problems,
  type RawConfig,
  type SettingsInput,
  type SettingsRule,
} from "../schema/setting";
import { runningServices, serviceOf } from "../services/index";
import type { StackSettings } from "../services/service";
import type { KubernetesSettings } from "./kubernetes";
import type { Target } from "./deployment";

/**
 * The most a Kubernetes Secret's values may hold together: `MaxSecretSize`, which the API server checks against the
 * sum of the values' bytes (kubernetes/kubernetes `pkg/apis/core/validation/validation.go`, `ValidateSecret`).
 */
export const SECRET_MAX_BYTES = 1024 * 1024;

/** Settings of the Docker target only, each with what takes its place on Kubernetes. */
const DOCKER_ONLY: ReadonlyArray<[path: string, instead: string]> = [
  ["gatewayHost", "expose the gateway with kubernetes.gateway.type or kubernetes.ingress"],
  ["database.publish", "Postgres stays inside the namespace; publish the pooler with kubernetes.pooler"],
  ["tls", "terminate TLS at the Ingress (kubernetes.ingress.tlsSecretName) or at your load balancer"],
  ["containers", "set requests and limits with kubernetes.resources; the cluster keeps the logs"],
  ["pooler.host", "publish the pooler with kubernetes.pooler"],
];

/** Settings of the Kubernetes target only. */
const KUBERNETES_ONLY = ["kubernetes"] as const;

/**
 * A rule about the Docker host (host ports that would clash on it) that runs only with `target: docker`: on
 * Kubernetes the same ports are those of separate Services, which never clash.
 */
export function onDockerOnly<V>(rule: SettingsRule<V>): SettingsRule<V & { target: Target }> {
  return defineRule<V & { target: Target }>({
    reads: [...rule.reads, "target"] as SettingsRule<V & { target: Target }>["reads"],
    check: (values, problems) =>
      values.target === "docker" ? (rule.check(values, problems) as Partial<V & { target: Target }> | void) : undefined,
  });
}

/** Whether the raw config gives a value at `path` (`pooler.host`): the user wrote it, whatever its default. */
export function isGiven(raw: RawConfig | SettingsInput, path: string): boolean {
  const [top, ...rest] = path.split(".");
  let value: unknown = raw[top];
  if (typeof value === "string" && rest.length > 0) value = decode(value);
  for (const field of rest) {
    if (value === null || typeof value !== "object" || Array.isArray(value)) return false;
    value = (value as Record<string, unknown>)[field];
  }
  return value !== undefined;
}

/** What the target checks read of the parsed config. */
export interface TargetChecked {
  target: Target;
  kubernetes: KubernetesSettings;
  pooler: { enabled: boolean };
  functions: { enabled: boolean; files?: ReadonlyArray<{ path: string; content: string }> };
}

/**
 * Adds a problem for each setting the target does not use, and for what the Kubernetes target cannot run.
 * @param raw the config as given, to tell a value the user wrote from a default.
 */
export function targetProblems(config: TargetChecked, raw: RawConfig | SettingsInput, problems: Problems): void {
  if (config.target === "docker") {
    for (const key of KUBERNETES_ONLY.filter((k) => isGiven(raw, k))) {
      problems.add(key, `is for target kubernetes only (target is docker); remove it, or set target: kubernetes`);
    }
    return;
  }
  for (const [path, instead] of DOCKER_ONLY.filter(([p]) => isGiven(raw, p))) {
    problems.add(path, `is for the Docker target only (target is kubernetes): ${instead}`);
  }
  kubernetesProblems(config, problems);
}

/** What the settings ask of Kubernetes that it cannot do. */
function kubernetesProblems(config: TargetChecked, problems: Problems): void {
  const { kubernetes } = config;
  for (const [role, count] of Object.entries(kubernetes.replicas)) {
    const facts = serviceOf(role).kubernetes;
    if (!facts) problems.add(`kubernetes.replicas.${role}`, `${role} does not run on Kubernetes`);
    else if (facts.replicas.max !== undefined && count > facts.replicas.max) {
      problems.add(
        `kubernetes.replicas.${role}`,
        `${count} is more than ${role} can run (at most ${facts.replicas.max}): ${facts.replicas.why}`,
      );
    }
  }
  if (kubernetes.gateway.nodePort !== undefined && kubernetes.gateway.type === "ClusterIP") {
    problems.add("kubernetes.gateway.nodePort", "needs kubernetes.gateway.type NodePort or LoadBalancer");
  }
  const pooler = kubernetes.pooler;
  if (pooler && !config.pooler.enabled) {
    problems.add("kubernetes.pooler", "publishes the pooler, which is off (pooler.enabled: false)");
  }
  if (pooler?.type === "ClusterIP") {
    for (const field of ["sessionNodePort", "transactionNodePort"] as const) {
      if (pooler[field] !== undefined) {
        problems.add(`kubernetes.pooler.${field}`, "needs kubernetes.pooler.type NodePort or LoadBalancer");
      }
    }
  }
  if (config.functions.enabled) {
    for (const file of config.functions.files ?? []) {
      const size = Buffer.byteLength(file.content, "utf8");
      if (size > SECRET_MAX_BYTES) {
        problems.add(
          "functions.dir",
          `${file.path} is ${size} bytes; on Kubernetes a file travels in a Secret, which holds at most ` +
            `${SECRET_MAX_BYTES} bytes (the files are spread over several Secrets, but one file cannot be split)`,
        );
      }
    }
  }
}

/**
 * Warnings about a valid Kubernetes config: an https URL nothing in the stack terminates, an Ingress for another
 * host, replicas or resources for a service that does not run with these settings.
 */
export function kubernetesWarnings(config: StackSettings & { kubernetes: KubernetesSettings }): string[] {
  const warnings: string[] = [];
  const running = runningServices(config).map((service) => service.role as string);
  for (const field of ["replicas", "resources"] as const) {
    for (const role of Object.keys(config.kubernetes[field]).filter((r) => !running.includes(r))) {
      warnings.push(
        `${configKey(`kubernetes.${field}.${role}`)}: ${role} does not run with these settings, so this has no effect.`,
      );
    }
  }
  const url = new URL(config.apiExternalUrl);
  const ingress = config.kubernetes.ingress;
  if (url.protocol === "https:" && !ingress?.tlsSecretName) {
    warnings.push(
      `${configKey("apiExternalUrl")} is https but nothing in the stack terminates TLS: set ` +
        "kubernetes.ingress.tlsSecretName, or terminate it at your load balancer.",
    );
  }
  if (ingress && ingress.host !== url.hostname) {
    warnings.push(
      `${configKey("kubernetes.ingress.host")} is ${ingress.host} but apiExternalUrl's host is ${url.hostname}: ` +
        "auth's links and the dashboard point at apiExternalUrl.",
    );
  }
  return warnings;
}
