/**
 * What the suite's cluster runs besides the control plane: CoreDNS (the suite's image, built from its Go module),
 * storage a PersistentVolumeClaim can bind without a dynamic provisioner (a StorageClass with
 * `kubernetes.io/no-provisioner` and local PersistentVolumes in directories under the suite's work directory), and
 * the readiness probes of the cluster itself.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { Resolver } from "node:dns/promises";
import { poll } from "../../core/proc";
import type { KubeApi, KubeObject } from "./api";
import { CLUSTER_DNS_IP, CLUSTER_DOMAIN } from "./configs";

type Manifest = KubeObject & { kind: string; apiVersion: string };

/** The StorageClass the suite's stacks name (`kubernetes.storageClass`); also the cluster's default. */
export const STORAGE_CLASS = "supabase-e2e-local";

/** The Corefile: the cluster's names, the host's resolver for the rest, health and readiness endpoints. */
const COREFILE = `.:53 {
    errors
    health
    ready
    kubernetes ${CLUSTER_DOMAIN} in-addr.arpa ip6.arpa {
        pods insecure
        fallthrough in-addr.arpa ip6.arpa
    }
    forward . /etc/resolv.conf
    cache 30
    loadbalance
}
`;

/** CoreDNS's objects: its identity and read access to what it serves, its config, Deployment and the kube-dns Service. */
export function corednsManifests(image: string): Manifest[] {
  const ns = "kube-system";
  const labels = { "k8s-app": "kube-dns" };
  return [
    { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "coredns", namespace: ns } },
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "ClusterRole",
      metadata: { name: "supabase-e2e:coredns" },
      rules: [
        { apiGroups: [""], resources: ["endpoints", "services", "pods", "namespaces"], verbs: ["list", "watch"] },
        { apiGroups: ["discovery.k8s.io"], resources: ["endpointslices"], verbs: ["list", "watch"] },
      ],
    },
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "ClusterRoleBinding",
      metadata: { name: "supabase-e2e:coredns" },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "supabase-e2e:coredns" },
      subjects: [{ kind: "ServiceAccount", name: "coredns", namespace: ns }],
    },
    { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "coredns", namespace: ns }, data: { Corefile: COREFILE } },
    {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "coredns", namespace: ns, labels },
      spec: {
        replicas: 1,
        selector: { matchLabels: labels },
        template: {
          metadata: { labels },
          spec: {
            serviceAccountName: "coredns",
            // As kubernetes/kubernetes cluster/addons/dns/coredns/coredns.yaml.base has it: without requests the pod
            // is BestEffort, the lowest CPU share of the node, and a rollout of the stack's pods on two cores starved
            // it until lookups of `db` took over 5 s.
            priorityClassName: "system-cluster-critical",
            dnsPolicy: "Default",
            containers: [
              {
                name: "coredns",
                image,
                imagePullPolicy: "Never",
                args: ["-conf", "/etc/coredns/Corefile"],
                ports: [
                  { name: "dns", containerPort: 53, protocol: "UDP" },
                  { name: "dns-tcp", containerPort: 53, protocol: "TCP" },
                ],
                resources: { requests: { cpu: "100m", memory: "70Mi" }, limits: { memory: "170Mi" } },
                readinessProbe: { httpGet: { path: "/ready", port: 8181 }, periodSeconds: 1 },
                livenessProbe: { httpGet: { path: "/health", port: 8080 }, periodSeconds: 10 },
                volumeMounts: [{ name: "config", mountPath: "/etc/coredns", readOnly: true }],
              },
            ],
            volumes: [{ name: "config", configMap: { name: "coredns" } }],
          },
        },
      },
    },
    {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "kube-dns", namespace: ns, labels },
      spec: {
        clusterIP: CLUSTER_DNS_IP,
        selector: labels,
        ports: [
          { name: "dns", port: 53, protocol: "UDP" },
          { name: "dns-tcp", port: 53, protocol: "TCP" },
        ],
      },
    },
  ];
}

/**
 * The StorageClass: no provisioner, so claims bind the suite's pre-made volumes. They bind at once (`Immediate`):
 * with one node there is no placement to wait for, and the provider then awaits a declared claim until it is Bound
 * (pulumi/pulumi-kubernetes provider/pkg/await/awaiters.go, untilCoreV1PersistentVolumeClaimReady).
 */
export function storageClassManifest(): Manifest {
  return {
    apiVersion: "storage.k8s.io/v1",
    kind: "StorageClass",
    metadata: {
      name: STORAGE_CLASS,
      annotations: { "storageclass.kubernetes.io/is-default-class": "true" },
    },
    provisioner: "kubernetes.io/no-provisioner",
    volumeBindingMode: "Immediate",
    reclaimPolicy: "Retain",
  };
}

/**
 * A local PersistentVolume in `dir` on the node, kept when its claim goes (Retain). Its capacity is what it claims
 * to hold, not a quota: local volumes are directories, and a claim of up to this size binds it.
 */
export function localVolumeManifest(name: string, dir: string, node: string): Manifest {
  return {
    apiVersion: "v1",
    kind: "PersistentVolume",
    metadata: { name, labels: { "supabase-e2e/volume": "local" } },
    spec: {
      capacity: { storage: "100Gi" },
      accessModes: ["ReadWriteOnce"],
      persistentVolumeReclaimPolicy: "Retain",
      storageClassName: STORAGE_CLASS,
      volumeMode: "Filesystem",
      local: { path: dir },
      nodeAffinity: {
        required: {
          nodeSelectorTerms: [
            { matchExpressions: [{ key: "kubernetes.io/hostname", operator: "In", values: [node] }] },
          ],
        },
      },
    },
  };
}

/** Makes `count` more local volumes under `root` (directories `<root>/pv-<n>`); returns their names. */
export async function addLocalVolumes(api: KubeApi, root: string, node: string, count: number): Promise<string[]> {
  fs.mkdirSync(root, { recursive: true });
  const taken = fs.readdirSync(root).filter((n) => n.startsWith("pv-")).length;
  const names: string[] = [];
  for (let i = taken; i < taken + count; i++) {
    const name = `supabase-e2e-pv-${i}`;
    const dir = path.join(root, `pv-${i}`);
    fs.mkdirSync(dir, { mode: 0o755 });
    await api.apply(localVolumeManifest(name, dir, node));
    names.push(name);
  }
  return names;
}

/** A Deployment of `replicas` pods of a local image that serves HTTP on port 80, ready when it answers there. */
export function smokeDeployment(image: string, namespace: string, replicas = 2): Manifest {
  const labels = { app: "supabase-e2e-smoke" };
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "smoke", namespace, labels },
    spec: {
      replicas,
      selector: { matchLabels: labels },
      template: {
        metadata: { labels },
        spec: {
          automountServiceAccountToken: false,
          containers: [
            {
              name: "web",
              image,
              imagePullPolicy: "Never",
              ports: [{ containerPort: 80 }],
              readinessProbe: { httpGet: { path: "/", port: 80 }, periodSeconds: 1 },
            },
          ],
        },
      },
    },
  };
}

/** Whether a Deployment has all its replicas updated and ready for its latest spec. */
export function deploymentReady(d: KubeObject): boolean {
  const spec = d.spec as { replicas?: number };
  const status = (d.status ?? {}) as {
    observedGeneration?: number;
    readyReplicas?: number;
    updatedReplicas?: number;
    replicas?: number;
  };
  const want = spec.replicas ?? 1;
  return (
    (status.observedGeneration ?? 0) >= ((d.metadata as { generation?: number }).generation ?? 0) &&
    status.readyReplicas === want &&
    status.updatedReplicas === want &&
    status.replicas === want
  );
}

/** Waits at most `seconds` for a Deployment to be ready; the seconds it took, or throws with its status. */
export async function awaitDeployment(api: KubeApi, namespace: string, name: string, seconds: number) {
  const t0 = performance.now();
  const ready = await poll(
    async () =>
      (await api.find("Deployment", namespace, name).then((d) => d && deploymentReady(d))) ? true : undefined,
    seconds * 4,
    250,
  );
  if (!ready) {
    const d = await api.find("Deployment", namespace, name).catch(() => undefined);
    const pods = await api.list("Pod", namespace).catch(() => []);
    const states = pods.map(
      (p) =>
        `${p.metadata.name}: ${JSON.stringify((p.status as { containerStatuses?: unknown })?.containerStatuses ?? p.status).slice(0, 300)}`,
    );
    throw new Error(
      `Deployment ${namespace}/${name} not ready within ${seconds} s: ${JSON.stringify(d?.status ?? "absent")}; pods: ${states.join("; ")}`,
    );
  }
  return Math.round((performance.now() - t0) / 100) / 10;
}

/** Whether the node reports Ready. */
export async function nodeReady(api: KubeApi, node: string): Promise<boolean> {
  const found = await api.find<KubeObject>("Node", undefined, node);
  const conditions = (found?.status as { conditions?: Array<{ type: string; status: string }> })?.conditions ?? [];
  return conditions.some((c) => c.type === "Ready" && c.status === "True");
}

/** Asks CoreDNS, through its ClusterIP from the host, for the `kubernetes` Service's address. */
export async function resolveThroughCoredns(): Promise<string[]> {
  const resolver = new Resolver({ timeout: 2000, tries: 1 });
  resolver.setServers([CLUSTER_DNS_IP]);
  return resolver.resolve4(`kubernetes.default.svc.${CLUSTER_DOMAIN}`);
}
