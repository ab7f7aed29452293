/**
 * What a service module says about running it on Kubernetes, beside what every target reads (image, port, aliases,
 * environment, files, health check): how many replicas it runs by default and why, what its upstream image lets the
 * pod assert (a numeric non-root user, a read-only root filesystem) and the resources it asks for. The Kubernetes
 * target (`targets/kubernetes/`) turns these facts into pod specs without knowing any service by name. Pure.
 */
import type { StackSettings } from "./builder";

/** How many pods of a service run by default, the most it may run, and why. */
export interface ReplicaFacts {
  /** The default count (a function when it depends on the settings, e.g. storage's backend). */
  default: number | ((settings: StackSettings) => number);
  /** The most it may run; absent: no limit. `kubernetes.replicas` above it is refused with {@link why}. */
  max?: number;
  /** Why the default is what it is: what a second pod would share or break, or why it is safe. */
  why: string;
}

/** What the service's upstream image allows its pod to assert, read from the image's Dockerfile. */
export interface ImageFacts {
  /**
   * The numeric user the image declares (`USER`): the pod then asserts `runAsNonRoot` with it. Absent when the
   * image runs as root or as a user given only by name (the kubelet refuses `runAsNonRoot` for a user it cannot
   * check by number).
   */
  runAsUser?: number;
  /** Whether the process writes nowhere on its root filesystem but {@link writableDirs} and its volumes. */
  readOnlyRootFilesystem: boolean;
  /** Directories it writes to with a read-only root filesystem: an empty directory is mounted on each. */
  writableDirs?: readonly string[];
  /** Where the facts come from (the upstream Dockerfile) and what keeps a stricter setting out. */
  why: string;
}

/** Requests and limits of one container, as Kubernetes quantities (`100m`, `256Mi`). */
export interface ResourceAmounts {
  cpu?: string;
  memory?: string;
}

/** What the service asks for: requests near its idle footprint, and a memory limit with room for load. */
export interface ResourceFacts {
  requests: Required<ResourceAmounts>;
  limits: { memory: string };
}

/**
 * The field of the `kubernetes` setting that exposes a service outside the namespace (its Service's type and node
 * ports), and the node-port field of each port it publishes, in the order of its `publishedPorts`.
 */
export interface Exposure {
  /** `gateway` (always set: the gateway is always exposed) or `pooler` (exposed when that field is set). */
  setting: "gateway" | "pooler";
  nodePorts: readonly string[];
}

/** Everything the Kubernetes target needs to know about one service beyond what every target reads. */
export interface KubernetesFacts {
  /**
   * `statefulSet` for a service whose volumes are claims of its own that must outlive it (db): they come from the
   * StatefulSet's templates. Absent: a Deployment, its claims declared beside it.
   */
  workload?: "statefulSet";
  /** How it is exposed outside the namespace, if it is (the gateway, a published pooler). */
  exposedBy?: Exposure;
  replicas: ReplicaFacts;
  image: ImageFacts;
  /**
   * Default requests and limits. Estimates of each image's footprint at idle, with headroom for the limit: not yet
   * measured by this project on a real cluster (`kubernetes.resources` overrides them).
   */
  resources: ResourceFacts;
}

/** The default replica count of a service under these settings. */
export function defaultReplicas(facts: Pick<KubernetesFacts, "replicas">, settings: StackSettings): number {
  const { default: count } = facts.replicas;
  return typeof count === "function" ? count(settings) : count;
}
