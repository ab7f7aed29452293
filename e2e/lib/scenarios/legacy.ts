/** The legacy scenario: an HS256 deployment's users keep their tokens until `legacyHs256` is turned off. */
import { layoutOf } from "../checks/deployment";
import { checkLegacyTokenAccepted, checkLegacyTokenRejected, legacyTokenForNewUser } from "../checks/auth/legacy";
import { PulumiProject } from "../engines/pulumi/project";
import type { ScenarioContext } from "./context";
import { authEndpointFor, configureStack, installPlugins } from "./stack";

/**
 * Migration from an HS256 deployment: a stack with `legacyHs256` and the old deployment's imported `jwtSecret`.
 * A user token signed with that secret (what the old deployment's users hold) is accepted by auth; once
 * `legacyHs256` is turned off it is rejected.
 */
export async function runLegacyMigration(ctx: ScenarioContext): Promise<void> {
  const { rec, log } = ctx;
  const project = new PulumiProject(ctx.work, ctx.repoRoot, "e2e-legacy", ctx.env);
  await installPlugins(project, ctx.toolchain);
  await configureStack(project, ctx);
  const oldSecret = `old-deployment-secret-${Math.random().toString(36).slice(2)}-${Date.now()}`;
  await project.configSet("legacyHs256", "true");
  await project.configSet("jwtSecret", oldSecret, { secret: true });
  log("legacy: pulumi up with legacyHs256 and the imported jwtSecret");
  await project.up("legacy on");
  const endpoint = authEndpointFor(ctx, (await layoutOf(project)).names);
  if (!endpoint) {
    // With E2E_REAL_IMAGES there is no local base to build the forwarder on, so nothing can reach auth.
    log("legacy: skipped, the suite cannot reach auth without its forwarder image (E2E_REAL_IMAGES)");
    await project.destroy();
    return;
  }
  try {
    await endpoint.start();
    const outputs = await project.outputs();
    if (!(await endpoint.awaitHealthy())) throw new Error("auth did not answer /health within 90 s");
    const token = await legacyTokenForNewUser(endpoint, oldSecret, String(outputs.serviceRoleKey));
    await checkLegacyTokenAccepted(rec, endpoint, token, String(outputs.anonKey));
    log("legacy: pulumi up with legacyHs256 off");
    await project.configSet("legacyHs256", "false");
    await project.up("legacy off");
    if (!(await endpoint.awaitHealthy()))
      throw new Error("auth did not answer /health within 90 s after legacyHs256 was turned off");
    await checkLegacyTokenRejected(rec, endpoint, token, String(outputs.anonKey));
  } finally {
    await endpoint.stop();
    await project.destroy();
  }
}
