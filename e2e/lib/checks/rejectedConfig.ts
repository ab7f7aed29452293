/** A config the program rejects: `pulumi preview` fails with the program's message and nothing changes. */
import type { Recorder } from "../core/report";
import { inspectContainers } from "../engines/docker/inspect";
import type { PulumiProject } from "../engines/pulumi/project";
import type { Layout } from "./deployment";

/** A config the program rejects fails `pulumi preview` with the program's message and changes nothing. */
export async function checkRejectedConfig(
  rec: Recorder,
  host: string,
  project: PulumiProject,
  name: string,
  layout: Layout,
): Promise<void> {
  await rec.attempt(name, async () => {
    const containerIds = async () =>
      Object.values(await inspectContainers(host, layout.containerNames)).map((c) => c.id);
    const before = await project.exportState(false);
    const idsBefore = await containerIds();
    await project.configSet("signingKeys[0].state", "active", { path: true });
    const result = await project.pulumi(["preview", "--stack", project.stack], { allowFailure: true });
    await project.configSet("signingKeys[0].state", "current", { path: true });
    const text = result.stdout + result.stderr;
    const expected =
      'supabase-selfhosted:signingKeys[0].state: "active" is not a key state; allowed: standby, current, previous, revoked';
    if (result.status === 0) throw new Error("pulumi preview accepted signingKeys[0].state = active");
    if (!text.includes(expected))
      throw new Error(`pulumi preview failed without the program's message:\n${text.slice(-800)}`);
    const after = await project.exportState(false);
    const idsAfter = await containerIds();
    if (before !== after) throw new Error("the state changed");
    if (JSON.stringify(idsBefore) !== JSON.stringify(idsAfter)) throw new Error("containers changed");
    return `preview failed with "${expected}"; state and containers unchanged`;
  });
}
