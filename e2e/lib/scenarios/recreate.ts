/**
 * The end of the full run: `pulumi destroy` keeps the volumes, and a fresh `pulumi up` on them finds the row
 * written at S0 and lets the user created at S0 sign in again.
 */
import type { AuthChecks } from "../checks/auth/sessions";
import { checkVolumesRetained } from "../checks/containers";
import { checkMarkerAfterRecreate } from "../checks/database";
import type { Layout } from "../checks/deployment";
import type { PulumiProject } from "../engines/pulumi/project";
import type { ScenarioContext } from "./context";

/** `pulumi destroy` keeps the volumes; a fresh `pulumi up` on them finds the row written at S0. */
export async function destroyAndRecreate(
  ctx: ScenarioContext,
  project: PulumiProject,
  tag: (name: string, step: string) => string,
  auth: AuthChecks | undefined,
  layout: Layout,
): Promise<void> {
  const { rec, docker, log, algorithm } = ctx;
  log("pulumi destroy");
  const destroyed = await project.destroy();
  rec.step(`destroy (${algorithm})`, { replaced: [], created: [], deleted: [] }, destroyed.seconds);
  await checkVolumesRetained(rec, docker.host, tag("destroy:volumes-retained", "destroy"), layout);
  log("pulumi up on the kept volumes");
  const again = await project.up("fresh up");
  rec.step(`fresh up on kept volumes (${algorithm})`, again.steps, again.seconds);
  await checkMarkerAfterRecreate(rec, docker.host, tag("db:row-kept-after-destroy", "fresh"), layout);
  // The stack keeps its database passwords in config (postgresPassword), so the new containers can log in to the
  // kept database; the S0 user signs in again (with new signing keys: the old ones went with the state).
  await auth?.signInAfterRecreate(
    String((await project.outputs()).anonKey),
    tag("auth:sign-in-after-destroy", "fresh"),
  );
  await auth?.stop();
}
