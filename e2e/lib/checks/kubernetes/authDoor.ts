/**
 * The suite's door to the real auth server on its cluster: auth's Service, reached from the host at its ClusterIP
 * (kube-proxy's rules route the node's own connections to a ready pod, as they route a pod's).
 */
import { AUTH_PORT } from "../../../../components/services/auth/paths";
import { serviceOf } from "../../../../components/services/index";
import { serviceName } from "../../../../components/targets/kubernetes/naming";
import type { KubeApi } from "../../engines/kubernetes/api";
import { awaitAuthHealthy, requestAuth, type AuthAnswer, type AuthDoor } from "../auth/endpoint";

/** auth through its Service in a namespace of the suite's cluster. */
export class ClusterAuthDoor implements AuthDoor {
  private url = "";

  constructor(
    private readonly api: KubeApi,
    private readonly namespace: string,
  ) {}

  /** Looks up the Service's ClusterIP (again after a fresh `pulumi up`, which makes a new Service). */
  async start(): Promise<string> {
    const name = serviceName(serviceOf("auth"));
    const service = await this.api.find("Service", this.namespace, name);
    const ip = (service?.spec as { clusterIP?: string } | undefined)?.clusterIP;
    if (!ip) throw new Error(`no Service ${this.namespace}/${name} with a ClusterIP`);
    this.url = `http://${ip}:${AUTH_PORT}`;
    return this.url;
  }

  /** Forgets the address (the Service goes with `pulumi destroy`). */
  async stop(): Promise<void> {
    this.url = "";
  }

  awaitHealthy(seconds = 90): Promise<boolean> {
    return awaitAuthHealthy(this, seconds);
  }

  request(
    method: string,
    path: string,
    options: { token?: string; apikey?: string; body?: unknown } = {},
  ): Promise<AuthAnswer> {
    return requestAuth(this.base, method, path, options);
  }

  get base(): string {
    return this.url;
  }
}
