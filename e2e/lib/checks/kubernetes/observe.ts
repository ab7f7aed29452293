/**
 * What the suite's cluster shows of a stack, read from its API as `kubectl get -o json` would: each workload's
 * revision and readiness, each Secret's data, the NetworkPolicies.
 */
import { envSecretName } from "../../../../components/targets/kubernetes/naming";
import type { KubeApi, KubeObject } from "../../engines/kubernetes/api";
import { deploymentReady } from "../../engines/kubernetes/addons";
import { poll } from "../../core/proc";

/** The revision annotation the Deployment controller sets, one more each time it rolls the pod template. */
export const DEPLOYMENT_REVISION = "deployment.kubernetes.io/revision";

/** One workload as the cluster shows it. */
export interface WorkloadState {
  kind: "Deployment" | "StatefulSet";
  /** A Deployment's revision annotation, a StatefulSet's `updateRevision` (the hash of its current template). */
  revision: string;
  ready: boolean;
  /** The ReplicaSets (Deployments) or ControllerRevisions it has rolled through, for the report. */
  detail: string;
}

/** Whether a StatefulSet runs all its replicas of its latest template. */
function statefulSetReady(s: KubeObject): boolean {
  const spec = s.spec as { replicas?: number };
  const status = (s.status ?? {}) as {
    observedGeneration?: number;
    readyReplicas?: number;
    updatedReplicas?: number;
    currentRevision?: string;
    updateRevision?: string;
  };
  const want = spec.replicas ?? 1;
  return (
    (status.observedGeneration ?? 0) >= ((s.metadata as { generation?: number }).generation ?? 0) &&
    status.readyReplicas === want &&
    status.updatedReplicas === want &&
    status.currentRevision === status.updateRevision
  );
}

/** The stack's workloads in `namespace`, by name (the program names each after its service's role). */
export async function workloadStates(api: KubeApi, namespace: string): Promise<Map<string, WorkloadState>> {
  const out = new Map<string, WorkloadState>();
  for (const d of await api.list("Deployment", namespace)) {
    const revision = d.metadata.annotations?.[DEPLOYMENT_REVISION] ?? "?";
    out.set(d.metadata.name, {
      kind: "Deployment",
      revision,
      ready: deploymentReady(d),
      detail: `revision ${revision}`,
    });
  }
  for (const s of await api.list("StatefulSet", namespace)) {
    const revision = String((s.status as { updateRevision?: string } | undefined)?.updateRevision ?? "?");
    out.set(s.metadata.name, { kind: "StatefulSet", revision, ready: statefulSetReady(s), detail: revision });
  }
  return out;
}

/**
 * Waits (at most `seconds`, polling twice a second) until every workload in `namespace` is ready on its latest
 * template and no pod is terminating: `pulumi up` returns once a Deployment's new pods are available
 * (pulumi/pulumi-kubernetes provider/pkg/await/deployment.go), while the old ones may still be stopping (each after
 * its preStop pause). Returns the seconds it took, or undefined when the namespace did not settle.
 */
export async function awaitSettled(api: KubeApi, namespace: string, seconds = 120): Promise<number | undefined> {
  const t0 = performance.now();
  const settled = await poll(
    async () => {
      const workloads = await workloadStates(api, namespace);
      if (![...workloads.values()].every((w) => w.ready)) return undefined;
      const pods = await api.list("Pod", namespace);
      return pods.some((p) => p.metadata.deletionTimestamp) ? undefined : true;
    },
    seconds * 2,
    500,
  );
  return settled ? Math.round((performance.now() - t0) / 100) / 10 : undefined;
}

/** The workloads whose revision differs between two observations (that rolled), and those new in `after`. */
export function rolledBetween(
  before: Map<string, WorkloadState>,
  after: Map<string, WorkloadState>,
): { rolled: string[]; created: string[] } {
  const rolled: string[] = [];
  const created: string[] = [];
  for (const [name, state] of after) {
    const was = before.get(name);
    if (!was) created.push(name);
    else if (was.revision !== state.revision) rolled.push(name);
  }
  return { rolled, created };
}

/** A Secret's data as text (the API returns it base64-encoded). */
export function secretText(secret: KubeObject): Record<string, string> {
  const data = (secret.data ?? {}) as Record<string, string>;
  return Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v, "base64").toString("utf8")]));
}

/** A service's environment as its `<role>-env` Secret holds it. */
export async function serviceEnv(api: KubeApi, namespace: string, role: string): Promise<Record<string, string>> {
  const secret = await api.find("Secret", namespace, envSecretName(role));
  if (!secret) throw new Error(`no Secret ${namespace}/${envSecretName(role)}`);
  return secretText(secret);
}

/**
 * Whether `declared` is contained in `actual`: every field it sets is there with the same value (arrays element by
 * element). The API server adds defaults (a port's `protocol: TCP`, `policyTypes`), which are not the program's.
 */
export function containedIn(declared: unknown, actual: unknown): boolean {
  if (Array.isArray(declared))
    return (
      Array.isArray(actual) && declared.length === actual.length && declared.every((d, i) => containedIn(d, actual[i]))
    );
  if (declared && typeof declared === "object") {
    if (!actual || typeof actual !== "object") return false;
    return Object.entries(declared).every(([k, v]) => containedIn(v, (actual as Record<string, unknown>)[k]));
  }
  return declared === actual;
}
