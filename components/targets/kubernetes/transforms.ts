/**
 * Hooks that change a Kubernetes object's arguments or options before the stack declares it, one per kind, as the
 * Docker target's are (`../docker/transforms.ts`): labels, node selectors, tolerations, await annotations.
 */
import type * as k8s from "@pulumi/kubernetes";
import type { Transform } from "../docker/transforms";

export { transformed, type Transform } from "../docker/transforms";

/** One hook per kind of Kubernetes object the stack declares. */
export interface KubernetesTransforms {
  /** The namespace. */
  namespace?: Transform<k8s.core.v1.NamespaceArgs>;
  /** Every Secret (environments and files). */
  secret?: Transform<k8s.core.v1.SecretArgs>;
  /**
   * Every Deployment (all services but db).
   * @example
   * ```ts
   * deployment: (args, opts) => { opts.customTimeouts = { create: "20m", update: "20m" }; }
   * ```
   */
  deployment?: Transform<k8s.apps.v1.DeploymentArgs>;
  /** db's StatefulSet. */
  statefulSet?: Transform<k8s.apps.v1.StatefulSetArgs>;
  /** Every Service. */
  service?: Transform<k8s.core.v1.ServiceArgs>;
  /** Every claim Pulumi declares (db's come from its StatefulSet's templates). */
  claim?: Transform<k8s.core.v1.PersistentVolumeClaimArgs>;
  /** Every PodDisruptionBudget. */
  disruptionBudget?: Transform<k8s.policy.v1.PodDisruptionBudgetArgs>;
  /** Every NetworkPolicy. */
  networkPolicy?: Transform<k8s.networking.v1.NetworkPolicyArgs>;
  /** The gateway's Ingress. */
  ingress?: Transform<k8s.networking.v1.IngressArgs>;
}
