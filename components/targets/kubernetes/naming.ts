/**
 * How the Kubernetes target names and labels what it creates. Pure, so the policy pack, the tests and the e2e can
 * find the objects without loading the Kubernetes SDK.
 *
 * Objects carry the plain role names (Deployment `auth`, Secret `auth-env`) inside the stack's own namespace: a
 * Service must be named as the other services call it (`http://auth:9999`), so two stacks on one cluster use two
 * namespaces (the namespace defaults to `instanceName`).
 */
import { createHash } from "node:crypto";
import { PROJECT } from "../../schema/project";
import type { ServiceModule } from "../../services/service";

/** The recommended labels (kubernetes.io/docs/concepts/overview/working-with-objects/common-labels). */
export const LABELS = {
  name: "app.kubernetes.io/name",
  instance: "app.kubernetes.io/instance",
  partOf: "app.kubernetes.io/part-of",
} as const;

/** The labels that select one service's pods: never change them (a Deployment's selector cannot change). */
export function selectorLabels(instance: string, role: string): Record<string, string> {
  return { [LABELS.name]: role, [LABELS.instance]: instance };
}

/** The labels of every object the stack creates for a service. */
export function objectLabels(instance: string, role: string): Record<string, string> {
  return { ...selectorLabels(instance, role), [LABELS.partOf]: PROJECT };
}

/** The labels every pod of the stack carries, whatever its service: what the default-deny policy selects. */
export function stackLabels(instance: string): Record<string, string> {
  return { [LABELS.instance]: instance, [LABELS.partOf]: PROJECT };
}

/**
 * The pod template annotation holding the digest of a service's environment and files: a key step that changes
 * them changes the template, so exactly that service's pods roll.
 */
export const INPUTS_DIGEST_ANNOTATION = `${PROJECT}/inputs-digest`;

/** The label a pod carries for each volume it mounts: pods sharing a ReadWriteOnce claim are kept on one node. */
export const mountsLabel = (volume: string): string => `${PROJECT}/mounts-${volume}`;

/** A DNS-1035 label, the form a Service name must have. */
const DNS_1035_LABEL = /^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/;

/**
 * The name of a service's Kubernetes Service: its first alias that can be one, so the URLs the other services are
 * given (`http://auth:9999`) resolve through cluster DNS. realtime's first alias, `realtime-dev.supabase-realtime`,
 * is not a DNS label (realtime reads its tenant from the first label of the Host), so its Service is `realtime` and
 * the first alias is resolved through `hostAliases` (see {@link extraAliases}).
 */
export function serviceName(service: Pick<ServiceModule, "role" | "aliases">): string {
  const name = service.aliases.find((alias) => DNS_1035_LABEL.test(alias));
  if (!name) throw new Error(`${service.role} has no alias that can name a Kubernetes Service`);
  return name;
}

/** A service's aliases that its Service does not answer to: pods resolve them with `hostAliases`. */
export function extraAliases(service: Pick<ServiceModule, "role" | "aliases">): string[] {
  const name = serviceName(service);
  return service.aliases.filter((alias) => alias !== name);
}

/** The Secret holding a service's environment. */
export const envSecretName = (role: string): string => `${role}-env`;

/** The Secret holding (a part of) a service's files: `<role>-files-0`, `-1`, … */
export const filesSecretName = (role: string, index: number): string => `${role}-files-${index}`;

/**
 * The key a file is stored under in its Secret: its base name (characters a key may not hold replaced) and a short
 * hash of its whole path, so two files of the same name in different directories never collide.
 */
export function fileKey(path: string): string {
  const base = (path.split("/").pop() ?? "file").replace(/[^-._a-zA-Z0-9]/g, "_").slice(0, 200);
  const hash = createHash("sha256").update(path).digest("hex").slice(0, 10);
  return `${base}-${hash}`;
}
