/**
 * The `kubernetes` setting: how the stack runs on a cluster (`target: kubernetes`). The per-service defaults
 * (replicas, requests and limits) are each service module's own (`services/<role>/`, its `kubernetes` facts); this
 * file holds what belongs to the cluster as a whole: the namespace, how the gateway (and the pooler) are exposed,
 * the image pull policy and the volumes' storage class and sizes.
 */
import { integer, map, object, oneOf, text } from "../schema/fields";
import { defineSetting, type SettingsValues } from "../schema/setting";
import { SERVICES, SERVICE_ROLES } from "../services/index";
import { VOLUME_ROLES, type VolumeRole } from "../services/service";

/** The Service types the gateway (and a published pooler) may have. */
export const SERVICE_TYPES = ["ClusterIP", "NodePort", "LoadBalancer"] as const;

/** The image pull policies Kubernetes knows; the images are pinned, so `IfNotPresent` is the default. */
export const IMAGE_PULL_POLICIES = ["IfNotPresent", "Always", "Never"] as const;

/**
 * The default size of each volume's claim. db's holds the database (upstream's compose gives it no limit: size it
 * for your data); storage's the file backend's objects; the others hold kilobytes to a few hundred megabytes.
 */
export const VOLUME_SIZE_DEFAULTS: Record<VolumeRole, string> = {
  "db-data": "8Gi",
  "db-config": "1Gi",
  "storage-data": "8Gi",
  "studio-snippets": "1Gi",
  "functions-cache": "1Gi",
  "tls-data": "1Gi",
  // The backup service runs on the Docker target only for now (backup.enabled is off on Kubernetes).
  backups: "16Gi",
};

/** A DNS-1123 label: a namespace's name. */
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/** A DNS-1123 subdomain: a Secret's or an ingress class's name. */
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** A CPU quantity: millicores (`250m`) or cores (`1`, `0.5`). */
const cpu = () =>
  text({
    pattern: /^([1-9]\d*m|\d+(\.\d+)?)$/,
    expected: "a CPU quantity such as 250m or 1",
    type: "CPU, e.g. `250m`",
  });

/** A memory or storage quantity in binary units. */
const bytes = (example: string) =>
  text({
    pattern: /^[1-9]\d*(Ki|Mi|Gi|Ti)$/,
    expected: `a quantity in Ki, Mi, Gi or Ti such as ${example}`,
    type: `quantity, e.g. \`${example}\``,
  });

/** Requests or limits of one container. */
const amounts = () =>
  object(
    {
      cpu: cpu().optional().describe("CPU"),
      memory: bytes("256Mi").optional().describe("memory"),
    },
    "{cpu: 100m, memory: 256Mi}",
  );

/** A NodePort in Kubernetes's default range. */
const nodePort = () => integer({ min: 30000, max: 32767 });

/** How each service's defaults read, for the reference: `auth 2, rest 2, …` and its requests. */
const replicaDefaults = SERVICES.filter((s) => s.kubernetes)
  .map(
    (s) =>
      `${s.role} ${typeof s.kubernetes!.replicas.default === "number" ? s.kubernetes!.replicas.default : "2 with the S3 backend, else 1"}`,
  )
  .join(", ");

const services = {
  values: SERVICE_ROLES as unknown as readonly [string, ...string[]],
  noun: "a service of this stack",
};

/** Every setting of the Kubernetes target. */
export const KUBERNETES_SETTINGS = [
  defineSetting({
    key: "kubernetes",
    schema: object(
      {
        namespace: text({ pattern: DNS_LABEL, expected: "a namespace name (a DNS label: a-z, 0-9 and -)" })
          .optional()
          .meta({ "x-default": "`instanceName` (`supabase`)" })
          .describe(
            "the namespace every object goes into: created when missing, taken over when it exists, never deleted " +
              "(it holds db's retained claims)",
          ),
        replicas: map(integer({ min: 1, max: 50 }), "a map of service to its replica count, e.g. {auth: 3}", services)
          .default({})
          .meta({ "x-type": "map service → count", "x-default": replicaDefaults })
          .describe(
            "pods per service; db runs one. Above one, a PodDisruptionBudget keeps one up during node drains (why each " +
              "default: docs/kubernetes.md)",
          ),
        gateway: object(
          {
            type: oneOf(SERVICE_TYPES, "a Service type").default("ClusterIP").describe("the gateway Service's type"),
            nodePort: nodePort()
              .optional()
              .describe("the node port of a NodePort or LoadBalancer gateway (the cluster picks one when not set)"),
          },
          "{type: NodePort, nodePort: 30080}",
        )
          .prefault({})
          .describe("the gateway's Service (`kong`), on port `gatewayHttpPort`"),
        pooler: object(
          {
            type: oneOf(SERVICE_TYPES, "a Service type").default("ClusterIP").describe("the pooler Service's type"),
            sessionNodePort: nodePort().optional().describe("the node port of session mode"),
            transactionNodePort: nodePort().optional().describe("the node port of transaction mode"),
          },
          "{type: LoadBalancer}",
        )
          .optional()
          .describe(
            "publish the pooler outside the namespace (its ports `pooler.sessionPort`, `pooler.transactionPort`); " +
              "unset, only the stack's own pods reach it",
          ),
        ingress: object(
          {
            className: text({ pattern: DNS_SUBDOMAIN, expected: "an ingress class name" })
              .optional()
              .describe("the ingress class (the cluster's default class when not set)"),
            host: text({ pattern: DNS_SUBDOMAIN, expected: "a host name such as api.example.com" }).describe(
              "the host it routes to the gateway (the host of `apiExternalUrl`)",
            ),
            tlsSecretName: text({ pattern: DNS_SUBDOMAIN, expected: "a Secret name" })
              .optional()
              .describe("a `kubernetes.io/tls` Secret in the namespace: the Ingress terminates HTTPS with it"),
          },
          "{host: api.example.com, tlsSecretName: api-tls}",
        )
          .optional()
          .describe("an Ingress in front of the gateway"),
        resources: map(
          object({ requests: amounts().optional(), limits: amounts().optional() }, "{requests: {memory: 512Mi}}"),
          "a map of service to {requests, limits}, e.g. {db: {limits: {memory: 4Gi}}}",
          services,
        )
          .default({})
          .meta({ "x-type": "map service → {requests, limits}", "x-default": "per service (docs/kubernetes.md)" })
          .describe("CPU and memory per service, merged over the defaults field by field"),
        imagePullPolicy: oneOf(IMAGE_PULL_POLICIES, "an image pull policy")
          .default("IfNotPresent")
          .describe("every container's image pull policy"),
        storage: object(
          {
            className: text({ pattern: DNS_SUBDOMAIN, expected: "a storage class name" })
              .optional()
              .describe("the claims' storage class (the cluster's default class when not set)"),
            sizes: map(bytes("8Gi"), "a map of volume to its size, e.g. {db-data: 20Gi}", {
              values: VOLUME_ROLES as unknown as readonly [string, ...string[]],
              noun: "a volume of this stack",
            })
              .default({})
              .meta({ "x-type": "map volume → size", "x-default": "`db-data` and `storage-data` 8Gi, others 1Gi" })
              .describe("each claim's size when it is created"),
          },
          "{className: fast, sizes: {db-data: 20Gi}}",
        )
          .prefault({})
          .describe("the volumes' claims"),
      },
      "{namespace: supabase, gateway: {type: LoadBalancer}}",
    )
      .prefault({})
      .transform((value) => value as KubernetesSettings),
    type: "object",
    default: "one namespace, `ClusterIP` gateway, no Ingress",
    doc:
      "with `target: kubernetes`: the namespace, replicas and resources per service, how the gateway (and the " +
      "pooler) are exposed, an optional Ingress, the image pull policy and the claims' storage class and sizes",
    details: "docs/kubernetes.md",
  }),
] as const;

/** The validated `kubernetes` setting. */
export interface KubernetesSettings {
  namespace?: string;
  replicas: Record<string, number>;
  gateway: { type: (typeof SERVICE_TYPES)[number]; nodePort?: number };
  pooler?: {
    type: (typeof SERVICE_TYPES)[number];
    sessionNodePort?: number;
    transactionNodePort?: number;
  };
  ingress?: { className?: string; host: string; tlsSecretName?: string };
  resources: Record<
    string,
    { requests?: { cpu?: string; memory?: string }; limits?: { cpu?: string; memory?: string } }
  >;
  imagePullPolicy: (typeof IMAGE_PULL_POLICIES)[number];
  storage: { className?: string; sizes: Partial<Record<VolumeRole, string>> };
}

/** The validated Kubernetes settings, by key. */
export type KubernetesConfig = SettingsValues<typeof KUBERNETES_SETTINGS>;
