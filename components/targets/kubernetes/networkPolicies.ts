/**
 * The stack's NetworkPolicies, ingress only: every pod of the stack is closed to traffic by default; each service
 * takes traffic on its ports from the stack's own pods; only the gateway (and the pooler when
 * `kubernetes.pooler` publishes it) takes it from anywhere else; db takes it only from the services that hold a
 * database password. Egress stays open (SMTP, OAuth providers and S3 are outside the cluster). Pure.
 */
import type * as k8s from "@pulumi/kubernetes";
import type { KubernetesSettings } from "../../config/kubernetes";
import type { ServiceModule, StackSettings } from "../../services/service";
import { POSTGRES } from "../../services/db/settings";
import { exposureOf, servicePorts } from "./manifests";
import { LABELS, selectorLabels, stackLabels } from "./naming";

type NetworkPolicySpec = k8s.types.input.networking.v1.NetworkPolicySpec;

/** One NetworkPolicy: its name and spec. */
export interface NamedPolicy {
  name: string;
  spec: NetworkPolicySpec;
}

/** The policy that closes every pod of the stack to traffic the other policies do not allow. */
export const DEFAULT_DENY_POLICY = "default-deny";

/** Whether a service is Postgres itself: the one the others reach under Postgres's host name. */
export const isDatabase = (service: Pick<ServiceModule, "aliases">): boolean => service.aliases.includes(POSTGRES.host);

/**
 * Whether a service connects to Postgres: it holds a password of a database role (its environment or files read
 * one), as every client of db must. db's own environment holds the superuser's for its init, not as a client.
 */
export function usesDatabase(service: Pick<ServiceModule, "aliases" | "env" | "files">): boolean {
  if (isDatabase(service)) return false;
  return [service.env, service.files].some(
    (builder) => builder !== undefined && (builder.dbRoles.length > 0 || builder.secrets.includes("postgresPassword")),
  );
}

/** The container ports a service publishes (on Docker, on the host): the gateway's, the pooler's two. */
function publishedPorts(service: ServiceModule, settings: StackSettings): number[] {
  return [...new Set((service.publishedPorts?.(settings) ?? []).map((p) => p.internal))];
}

/** Whether a service takes traffic from outside the namespace: the `kubernetes` setting exposes it. */
function openToAll(service: ServiceModule, kubernetes: KubernetesSettings): boolean {
  return exposureOf(service, kubernetes) !== undefined;
}

/**
 * Every NetworkPolicy of the stack for the services that run.
 * @param instance the stack's `instanceName`, whose pods the policies select.
 */
export function networkPolicies(
  running: readonly ServiceModule[],
  instance: string,
  settings: StackSettings,
  kubernetes: KubernetesSettings,
): NamedPolicy[] {
  const fromStack = [{ podSelector: { matchLabels: stackLabels(instance) } }];
  const dbClients = running.filter(usesDatabase).map((s) => s.role);
  const policies: NamedPolicy[] = [
    {
      name: DEFAULT_DENY_POLICY,
      spec: { podSelector: { matchLabels: stackLabels(instance) }, policyTypes: ["Ingress"] },
    },
  ];
  for (const service of running) {
    const ports = servicePorts(service, settings).map((p) => ({ port: p.targetPort, protocol: "TCP" }));
    const from = isDatabase(service)
      ? [
          {
            podSelector: {
              matchLabels: stackLabels(instance),
              matchExpressions: [{ key: LABELS.name, operator: "In", values: dbClients }],
            },
          },
        ]
      : fromStack;
    // No `from`: any source, inside or outside the cluster, on the ports it publishes.
    const published = openToAll(service, kubernetes)
      ? [{ ports: publishedPorts(service, settings).map((port) => ({ port, protocol: "TCP" })) }]
      : [];
    policies.push({
      name: service.role,
      spec: {
        podSelector: { matchLabels: selectorLabels(instance, service.role) },
        policyTypes: ["Ingress"],
        ingress: [{ from, ports }, ...published],
      },
    });
  }
  return policies;
}
