/**
 * The gateway after a step: kong's configuration in its container is the uploaded one and accepts the keys; with the
 * suite's kong stand-in, what it routes.
 */
import { AUTH_HEALTH_PATH } from "../../../components/services/auth/paths";
import { AUTH_GATEWAY_PATH, JWKS_PATH } from "../../../components/services/kong/routes";
import { KONG_CONFIG_PATH } from "../../../components/services/kong/gateway";
import { poll, run } from "../core/proc";
import type { CheckNamer, Recorder } from "../core/report";
import { dockerEnv } from "../engines/docker/engine";
import { recordedUploads } from "../engines/pulumi/state";
import type { Layout, StepContext } from "./deployment";
import { kongCredentials } from "./expected";

/**
 * `kong:uploaded-config`: the `kong.yml` in kong's container is the one the state records as uploaded, it accepts
 * the stack outputs' anon and service_role keys (JWTs and `sb_` keys), and it routes the JWKS.
 */
export async function checkKongConfig({ rec, name, deployment, state, files }: StepContext): Promise<void> {
  const { outputs } = deployment;
  await rec.attempt(name("kong:uploaded-config"), async () => {
    const kong = deployment.layout.names.container("kong");
    const inContainer = await files(kong, KONG_CONFIG_PATH);
    const sent = recordedUploads(state, kong).find((u) => u.file === KONG_CONFIG_PATH)?.content;
    if (sent === undefined) throw new Error("the state records no kong.yml upload");
    if (inContainer === undefined) throw new Error("the container has no kong.yml");
    if (inContainer !== sent) throw new Error("the kong.yml in the container is not the one in state");
    const credentials = kongCredentials(inContainer);
    const wanted: Array<[string, unknown]> = [
      ["anon", outputs.anonKey],
      ["anon", outputs.publishableKey],
      ["service_role", outputs.serviceRoleKey],
      ["service_role", outputs.secretKey],
    ];
    const missing = wanted.filter(([consumer, key]) => !credentials[consumer]?.includes(String(key)));
    if (missing.length)
      throw new Error(`kong.yml lacks the ${missing.map(([c]) => c).join(", ")} keys of the stack outputs`);
    if (!inContainer.includes(JWKS_PATH)) throw new Error("kong.yml has no JWKS route");
    return `kong.yml in the container is the uploaded one (${inContainer.length} bytes) and accepts the output keys`;
  });
}

/**
 * The gateway as a client on the host reaches it: on 127.0.0.1 (the suite sets `gatewayHost`) at
 * `gatewayHttpPort`. The stack's `apiUrl` output says `http://localhost:<port>`, which Node may resolve to ::1
 * first, where nothing is published.
 */
export function gatewayUrl(layout: Layout): string {
  return `http://127.0.0.1:${layout.settings.gatewayHttpPort}`;
}

/**
 * Polls `<url>/auth/v1/health` through the gateway once a second until it answers 200, `seconds` times at most.
 * Returns undefined once it did, else the last answer (a rotation step may just have recreated auth).
 */
export async function awaitAuthThroughGateway(url: string, seconds = 60): Promise<string | undefined> {
  let last = "no answer";
  const healthy = await poll(
    async () => {
      const response = await fetch(`${url}${AUTH_GATEWAY_PATH}${AUTH_HEALTH_PATH}`, {
        signal: AbortSignal.timeout(5000),
      }).catch((e: unknown) => void (last = e instanceof Error ? e.message : String(e)));
      if (!response) return undefined;
      last = `${response.status} ${(await response.text()).slice(0, 200)}`;
      return response.status === 200 ? true : undefined;
    },
    seconds,
    1000,
  );
  return healthy ? undefined : last;
}

/** Docker's health status of a container (`none` when its image or the program gives it no health check). */
async function healthStatus(host: string, container: string): Promise<string> {
  const r = await run(
    "docker",
    ["inspect", "--format", "{{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}}", container],
    {
      env: dockerEnv(host),
      allowFailure: true,
      timeoutSeconds: 30,
    },
  );
  return r.status === 0 ? r.stdout.trim() : `unknown (${r.stderr.trim()})`;
}

/**
 * `gateway:stand-in-routes`: the suite's kong stand-in (Caddy, e2e/images/kong-standin) routes `/auth/v1/*` to the
 * real auth server (after a promotion too, which recreates auth at a new address and leaves kong running), answers
 * any other path with its own 404, and Docker reports it healthy by the program's own `kong health` check.
 */
export async function checkGatewayStandIn(rec: Recorder, host: string, name: CheckNamer, layout: Layout) {
  await rec.attempt(name("gateway:stand-in-routes"), async () => {
    const url = gatewayUrl(layout);
    const down = await awaitAuthThroughGateway(url);
    if (down)
      throw new Error(`GET ${AUTH_GATEWAY_PATH}${AUTH_HEALTH_PATH} through ${url} did not answer 200 in 60 s: ${down}`);
    const other = await fetch(`${url}/rest/v1/`, { signal: AbortSignal.timeout(5000) });
    const body = await other.text();
    if (other.status !== 404 || !body.includes("stand-in for kong"))
      throw new Error(`GET /rest/v1/ answered ${other.status} ${body.slice(0, 200)}; expected the stand-in's 404`);
    const kong = layout.names.container("kong");
    const health = await poll(
      async () => ((await healthStatus(host, kong)) === "healthy" ? true : undefined),
      30,
      1000,
    );
    if (!health) throw new Error(`Docker reports ${kong} ${await healthStatus(host, kong)}, not healthy, after 30 s`);
    return (
      `through ${url}: ${AUTH_GATEWAY_PATH}${AUTH_HEALTH_PATH} answered 200 from auth, /rest/v1/ the stand-in's 404 ` +
      `(Caddy, not kong: nothing but /auth/v1 is routed, no API key checked); Docker: ${kong} healthy by \`kong health\``
    );
  });
}
