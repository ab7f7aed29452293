/**
 * TLS in front of the gateway on the real engine: a stack with `tls.mode: internal` (Caddy's own CA, the one mode that
 * needs no public name), then, from the host as a client reaches it: a TLS handshake that verifies against the CA
 * Caddy made and names `apiExternalUrl`'s host, auth answering through it, plain HTTP redirected to the HTTPS URL,
 * `npm run verify` passing over HTTPS, and the gateway itself no longer published.
 *
 * The image is plain Caddy built from its Go module (e2e/images/caddy), in place of the official `caddy` image the
 * program pins; ACME (Let's Encrypt) is not run: it needs a public name and the internet.
 */
import * as fs from "node:fs";
import * as http from "node:http";
import * as https from "node:https";
import * as path from "node:path";
import type { TLSSocket } from "node:tls";
import { layoutOf, observe, containerOf } from "../checks/deployment";
import { freeHostPorts } from "../core/ports";
import { run } from "../core/proc";
import { readContainerFile } from "../engines/docker/inspect";
import { PulumiProject } from "../engines/pulumi/project";
import type { ScenarioContext } from "./context";
import { configureStack, installPlugins } from "./stack";

/** Where Caddy keeps the root certificate of its internal CA (its data directory, XDG_DATA_HOME=/data). */
const CADDY_ROOT_CERTIFICATE = "/data/caddy/pki/authorities/local/root.crt";

/** What a request through the proxy got back. */
interface Answer {
  status: number;
  location?: string;
  body: string;
  /** The certificate the server presented (HTTPS only). */
  peer?: { subjectAltName?: string; issuer: string };
}

/**
 * One GET with a 10 s limit. With `secure` it is HTTPS with `localhost` as the server name, verified against
 * `secure.ca` (or only the system's CAs when absent).
 */
function get(port: number, pathname: string, secure?: { ca?: string }): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const options = {
      host: "127.0.0.1",
      port,
      path: pathname,
      headers: { host: `localhost:${port}` },
      timeout: 10_000,
    };
    const callback = (response: http.IncomingMessage) => {
      // The socket goes back to the agent once the body is read: ask it for the certificate now.
      const peer = secure ? (response.socket as TLSSocket).getPeerCertificate() : undefined;
      let body = "";
      response.on("data", (chunk) => (body += chunk));
      response.on("end", () => {
        resolve({
          status: response.statusCode ?? 0,
          location: response.headers.location,
          body,
          ...(peer ? { peer: { subjectAltName: peer.subjectaltname, issuer: String(peer.issuer?.CN ?? "") } } : {}),
        });
      });
    };
    const request = secure
      ? https.get({ ...options, ...(secure.ca ? { ca: secure.ca } : {}), servername: "localhost" }, callback)
      : http.get(options, callback);
    request.on("timeout", () => request.destroy(new Error(`no answer on port ${port} within 10 s`)));
    request.on("error", reject);
  });
}

/** Retries `attempt` up to `times` times, a second apart (Caddy issues its certificate just after it starts). */
async function retried<T>(times: number, attempt: () => Promise<T>): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await attempt();
    } catch (error) {
      if (i >= times) throw error;
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  }
}

/** The scenario: one stack with TLS on, the checks, destroy. */
export async function runTls(ctx: ScenarioContext): Promise<void> {
  const { rec, docker, log } = ctx;
  if (!ctx.images.caddy) {
    rec.check("tls:skipped", true, "no locally built Caddy image (the suite runs real images): TLS not exercised");
    return;
  }
  const [gateway, session, transaction, httpsPort, httpPort] = await freeHostPorts(5);
  const project = new PulumiProject(ctx.work, ctx.repoRoot, "e2e-tls", ctx.env);
  await installPlugins(project, ctx.toolchain);
  await configureStack(project, ctx, [gateway, session, transaction]);
  const set = (key: string, value: string) => project.configSet(key, value, { path: true });
  await set("tls.mode", "internal");
  await set("tls.httpsPort", String(httpsPort));
  await set("tls.httpPort", String(httpPort));
  await set("tls.host", "127.0.0.1");
  await set("images.tls", ctx.images.caddy);
  await project.configSet("apiExternalUrl", `https://localhost:${httpsPort}`);
  try {
    const up = await project.up("tls");
    rec.step("up with tls.mode internal", up.steps, up.seconds);
    const deployment = await observe(project, docker.host, await layoutOf(project));
    const proxy = containerOf(deployment, "tls");
    const ca = await readContainerFile(docker.host, proxy.name, CADDY_ROOT_CERTIFICATE);
    const caFile = path.join(ctx.work, "caddy-root.crt");
    fs.writeFileSync(caFile, ca);
    await rec.attempt("tls:handshake", async () => {
      const answer = await retried(20, () => get(httpsPort, "/auth/v1/health", { ca }));
      if (answer.status !== 200 || !answer.body.includes("GoTrue")) {
        throw new Error(`GET https://localhost:${httpsPort}/auth/v1/health → ${answer.status} ${answer.body}`);
      }
      if (!answer.peer?.subjectAltName?.includes("DNS:localhost")) {
        throw new Error(`the certificate names ${answer.peer?.subjectAltName}, not localhost`);
      }
      // Without Caddy's CA the same request must fail: the certificate is not self-evidently trusted.
      const untrusted = await get(httpsPort, "/auth/v1/health", {}).then(
        () => "accepted",
        (error: Error) => error.message,
      );
      if (untrusted === "accepted") throw new Error("the certificate was accepted without Caddy's CA");
      return (
        `auth answered through HTTPS on 127.0.0.1:${httpsPort}; certificate ${answer.peer.subjectAltName} issued by ` +
        `"${answer.peer.issuer}", verified against the CA in the proxy's data volume; without it: ${untrusted}`
      );
    });
    await rec.attempt("tls:redirect", async () => {
      const answer = await get(httpPort, "/auth/v1/health?x=1");
      const expected = `https://localhost:${httpsPort}/auth/v1/health?x=1`;
      if (answer.status !== 308 && answer.status !== 301) throw new Error(`plain HTTP answered ${answer.status}`);
      if (answer.location !== expected) throw new Error(`redirected to ${answer.location}, not ${expected}`);
      return `plain HTTP on ${httpPort} → ${answer.status} ${answer.location}`;
    });
    await rec.attempt("tls:gateway-unpublished", () => {
      const kong = containerOf(deployment, "kong");
      const published = Object.values(kong.ports).flat();
      if (published.length) throw new Error(`the gateway is still published on ${published.join(", ")}`);
      const ports = Object.entries(proxy.ports).map(([inside, bound]) => `${inside} → ${bound.join(", ")}`);
      return `kong publishes nothing; the proxy publishes ${ports.join("; ")}`;
    });
    await rec.attempt("tls:verify-over-https", async () => {
      const outputs = deployment.outputs as Record<string, string>;
      const verify = await run(
        "npm",
        ["run", "--silent", "verify", "--", "--url", outputs.apiUrl, "--anon-key", outputs.anonKey],
        { cwd: ctx.repoRoot, env: { ...process.env, NODE_EXTRA_CA_CERTS: caFile }, timeoutSeconds: 120 },
      );
      return `npm run verify --url ${outputs.apiUrl} (Caddy's CA trusted through NODE_EXTRA_CA_CERTS): ${
        verify.stdout.trim().split("\n").slice(-1)[0]
      }`;
    });
  } finally {
    await project.destroy().catch((e) => log(`destroying the TLS stack: ${e}`));
  }
}
