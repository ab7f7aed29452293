/**
 * A scenario's stack: the built plugins registered, the S0 config, each lifecycle step's config edit (with the
 * project's own `npm run keys` where it can be), and the suite's door to auth on the stack network.
 */
import { randomBytes } from "node:crypto";
import type { Algorithm } from "../../../components/keyring/algorithms";
import { AuthEndpoint } from "../checks/auth/endpoint";
import type { DockerNames } from "../checks/deployment";
import { SECOND_SECRET_KEY } from "../../../testkit/blastRadius";
import { LEAKED_KEY } from "../checks/apiKeys";
import type { StepLabel } from "../checks/expected";
import { freeHostPorts } from "../core/ports";
import type { PulumiProject } from "../engines/pulumi/project";
import type { Toolchain } from "../toolchain/obtain";
import type { ScenarioContext } from "./context";

/** Registers the built plugins with the stack's Pulumi home (`pulumi plugin install … --file`). */
export async function installPlugins(project: PulumiProject, toolchain: Toolchain): Promise<void> {
  for (const plugin of toolchain.plugins) {
    if (!plugin.file) continue;
    await project.pulumi(["plugin", "install", "resource", plugin.name, plugin.version, "--file", plugin.file], {
      timeoutSeconds: 300,
    });
  }
}

/**
 * The stack config of S0: one current key, the local images, a free gateway port, a 1 s JWKS cache.
 * @param ports the gateway's and the pooler's two host ports (free ones when not given).
 */
export async function configureStack(
  project: PulumiProject,
  ctx: ScenarioContext,
  ports?: readonly number[],
): Promise<void> {
  await project.pulumi(["stack", "init", project.stack, "--secrets-provider", "passphrase"]);
  // The gateway and the pooler publish on 127.0.0.1: free ports, so nothing on the host clashes, and distinct ones,
  // or the program refuses the config.
  const [port, sessionPort, transactionPort] = ports ?? (await freeHostPorts(3));
  const set = (key: string, value: string) => project.configSet(key, value, { path: true });
  await set("signingKeys[0].name", "k1");
  await set("signingKeys[0].state", "current");
  await set("signingKeys[0].algorithm", ctx.algorithm);
  for (const [service, image] of Object.entries(ctx.images.program)) await set(`images.${service}`, image.ref);
  await project.configSet("gatewayHttpPort", String(port));
  // The suite reaches the gateway (its kong stand-in routes /auth/v1 only) from this host: nothing beyond the loopback.
  await project.configSet("gatewayHost", "127.0.0.1");
  await set("pooler.sessionPort", String(sessionPort));
  await set("pooler.transactionPort", String(transactionPort));
  await project.configSet("apiExternalUrl", `http://localhost:${port}`);
  // The guard rail wants a standby key published this long before it signs; the suite does not wait 20 minutes.
  await project.configSet("jwksCacheSeconds", "1");
  // The full run goes through destroy and a fresh up on the kept volumes: its database passwords must outlive the
  // state, so they come from config (the other runs keep the generated ones).
  if (ctx.full) {
    await project.configSet("postgresPassword", `e2e-${randomBytes(18).toString("base64url")}`, { secret: true });
    // The edge functions (off by default) run in the full run: their files travel as uploads, their container is
    // judged against the mocks' blast radius, and their environment like every other's.
    await set("functions.enabled", "true");
  }
}

/**
 * The config edit that makes each step, through `npm run keys` (and the guard-rail override for S3, which the API-key
 * steps take back: revoking an API key needs no override).
 */
export async function applyStep(project: PulumiProject, step: StepLabel, algorithm: Algorithm): Promise<void> {
  if (step === "S1 add standby") await project.keys(["add-standby", "k2", "--algorithm", algorithm]);
  if (step === "S2 promote") await project.keys(["promote", "k2"]);
  if (step === "S3 revoke") {
    // The guard rail would make the suite wait jwtExpiry + 15 minutes after the promotion.
    await project.configSet("allowUnsafeRotation", "true");
    await project.keys(["revoke", "k1"]);
  }
  if (step === "A1 add secret key") {
    await project.pulumi(["config", "rm", "allowUnsafeRotation", "--stack", project.stack]);
    await project.keys(["api-keys", "add", SECOND_SECRET_KEY, "--kind", "secret"]);
  }
  if (step === "A2 revoke secret key") await project.keys(["api-keys", "revoke", LEAKED_KEY]);
  if (step === "A3 remove secret key") await project.keys(["api-keys", "remove", LEAKED_KEY]);
}

/**
 * The suite's door to auth when the suite runs the real auth server (its own image, not a stand-in) and has the
 * forwarder image to reach it with; otherwise none.
 */
export function authEndpointFor(ctx: ScenarioContext, names: DockerNames): AuthEndpoint | undefined {
  return ctx.images.program.auth.real && ctx.images.proxy
    ? new AuthEndpoint(ctx.docker.host, ctx.images.proxy, names)
    : undefined;
}
