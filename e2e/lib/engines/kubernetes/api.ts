/**
 * The suite's client of the cluster's API server: HTTPS with the admin's client certificate, JSON in and out, every
 * request bounded in time. It reads objects the way `kubectl get -o json` does and applies the suite's own objects
 * with server-side apply (what `kubectl apply --server-side` sends), so applying twice changes nothing.
 */
import * as https from "node:https";

/** A Kubernetes object as JSON (only the fields the suite reads are typed). */
export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: {
    name: string;
    namespace?: string;
    uid?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    ownerReferences?: Array<{ kind: string; name: string; uid: string }>;
    deletionTimestamp?: string;
  };
  [field: string]: unknown;
}

/** A list answer (`…List`). */
export interface KubeList<T = KubeObject> {
  items: T[];
}

/** An answer of the API server. */
export interface KubeAnswer {
  status: number;
  body: unknown;
}

/** The URL path segment of each kind the suite reads or applies, with its API group path. */
const RESOURCES: Record<string, { group: string; plural: string; namespaced: boolean }> = {
  Namespace: { group: "api/v1", plural: "namespaces", namespaced: false },
  Node: { group: "api/v1", plural: "nodes", namespaced: false },
  Pod: { group: "api/v1", plural: "pods", namespaced: true },
  Service: { group: "api/v1", plural: "services", namespaced: true },
  Secret: { group: "api/v1", plural: "secrets", namespaced: true },
  ConfigMap: { group: "api/v1", plural: "configmaps", namespaced: true },
  ServiceAccount: { group: "api/v1", plural: "serviceaccounts", namespaced: true },
  PersistentVolume: { group: "api/v1", plural: "persistentvolumes", namespaced: false },
  PersistentVolumeClaim: { group: "api/v1", plural: "persistentvolumeclaims", namespaced: true },
  Deployment: { group: "apis/apps/v1", plural: "deployments", namespaced: true },
  StatefulSet: { group: "apis/apps/v1", plural: "statefulsets", namespaced: true },
  ReplicaSet: { group: "apis/apps/v1", plural: "replicasets", namespaced: true },
  DaemonSet: { group: "apis/apps/v1", plural: "daemonsets", namespaced: true },
  NetworkPolicy: { group: "apis/networking.k8s.io/v1", plural: "networkpolicies", namespaced: true },
  Ingress: { group: "apis/networking.k8s.io/v1", plural: "ingresses", namespaced: true },
  PodDisruptionBudget: { group: "apis/policy/v1", plural: "poddisruptionbudgets", namespaced: true },
  StorageClass: { group: "apis/storage.k8s.io/v1", plural: "storageclasses", namespaced: false },
  ClusterRole: { group: "apis/rbac.authorization.k8s.io/v1", plural: "clusterroles", namespaced: false },
  ClusterRoleBinding: { group: "apis/rbac.authorization.k8s.io/v1", plural: "clusterrolebindings", namespaced: false },
};

/** The path of a kind's collection (in `namespace` when it is namespaced), or of one object `name` in it. */
export function resourcePath(kind: string, namespace?: string, name?: string): string {
  const resource = RESOURCES[kind];
  if (!resource) throw new Error(`the suite's API client does not know the kind ${kind}`);
  if (resource.namespaced && !namespace) throw new Error(`${kind} is namespaced: give a namespace`);
  const scope = resource.namespaced ? `/namespaces/${namespace}` : "";
  return `/${resource.group}${scope}/${resource.plural}${name ? `/${name}` : ""}`;
}

/** Client credentials and the server, as the kubeconfig holds them (PEM text). */
export interface KubeCredentials {
  server: string;
  ca: string;
  cert: string;
  key: string;
}

/** The API server's client. */
export class KubeApi {
  private readonly agent: https.Agent;

  constructor(readonly credentials: KubeCredentials) {
    this.agent = new https.Agent({
      ca: credentials.ca,
      cert: credentials.cert,
      key: credentials.key,
      keepAlive: true,
      maxSockets: 8,
    });
  }

  /** One request; a connection failure or a timeout is status 0 with the error as the body. */
  request(method: string, path: string, body?: unknown, contentType = "application/json"): Promise<KubeAnswer> {
    const url = new URL(path, this.credentials.server);
    const payload = body === undefined ? undefined : JSON.stringify(body);
    return new Promise((resolve) => {
      const req = https.request(
        url,
        {
          method,
          agent: this.agent,
          timeout: 20_000,
          headers: {
            Accept: "application/json",
            ...(payload === undefined
              ? {}
              : { "Content-Type": contentType, "Content-Length": Buffer.byteLength(payload) }),
          },
        },
        (res) => {
          let text = "";
          res.setEncoding("utf8");
          res.on("data", (chunk: string) => (text += chunk));
          res.on("end", () => {
            let parsed: unknown = text;
            try {
              parsed = JSON.parse(text);
            } catch {
              // not JSON: /readyz and friends answer text
            }
            resolve({ status: res.statusCode ?? 0, body: parsed });
          });
        },
      );
      req.on("timeout", () => req.destroy(new Error(`${method} ${path}: no answer within 20 s`)));
      req.on("error", (err) => resolve({ status: 0, body: err.message }));
      req.end(payload);
    });
  }

  /** GET of a path; throws unless it answers 200. */
  async get<T = KubeObject>(path: string): Promise<T> {
    const answer = await this.request("GET", path);
    if (answer.status !== 200) throw new Error(`GET ${path}: ${describe(answer)}`);
    return answer.body as T;
  }

  /** GET of one object, or undefined when it does not exist. */
  async find<T = KubeObject>(kind: string, namespace: string | undefined, name: string): Promise<T | undefined> {
    const path = resourcePath(kind, namespace, name);
    const answer = await this.request("GET", path);
    if (answer.status === 404) return undefined;
    if (answer.status !== 200) throw new Error(`GET ${path}: ${describe(answer)}`);
    return answer.body as T;
  }

  /** The items of a kind, in a namespace or in all (`namespace` undefined for a namespaced kind lists all). */
  async list<T = KubeObject>(kind: string, namespace?: string, labelSelector?: string): Promise<T[]> {
    const resource = RESOURCES[kind];
    const path =
      resource?.namespaced && !namespace ? `/${resource.group}/${resource.plural}` : resourcePath(kind, namespace);
    const query = labelSelector ? `?labelSelector=${encodeURIComponent(labelSelector)}` : "";
    return (await this.get<KubeList<T>>(`${path}${query}`)).items;
  }

  /** Server-side apply of the suite's own object (created or updated to exactly these fields). */
  async apply(object: KubeObject & { kind: string; apiVersion: string }): Promise<KubeObject> {
    const path = resourcePath(object.kind, object.metadata.namespace, object.metadata.name);
    const answer = await this.request(
      "PATCH",
      `${path}?fieldManager=supabase-e2e&force=true`,
      object,
      "application/apply-patch+yaml",
    );
    if (answer.status !== 200 && answer.status !== 201)
      throw new Error(`apply ${object.kind} ${object.metadata.name}: ${describe(answer)}`);
    return answer.body as KubeObject;
  }

  /** Deletes one object (gone already is fine); `graceSeconds` 0 removes a pod without waiting for it. */
  async remove(kind: string, namespace: string | undefined, name: string, graceSeconds?: number): Promise<void> {
    const path = resourcePath(kind, namespace, name);
    const answer = await this.request("DELETE", path, {
      kind: "DeleteOptions",
      apiVersion: "v1",
      propagationPolicy: "Background",
      ...(graceSeconds === undefined ? {} : { gracePeriodSeconds: graceSeconds }),
    });
    if (answer.status !== 200 && answer.status !== 202 && answer.status !== 404)
      throw new Error(`DELETE ${path}: ${describe(answer)}`);
  }

  /** Closes the kept-alive connections. */
  close(): void {
    this.agent.destroy();
  }
}

/** An answer in a message: status and the API server's own message. */
export function describe(answer: KubeAnswer): string {
  const body = answer.body as { message?: string } | string;
  const message = typeof body === "string" ? body : (body?.message ?? JSON.stringify(body));
  return `${answer.status} ${String(message).slice(0, 400)}`;
}
