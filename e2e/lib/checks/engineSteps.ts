/**
 * What the real engine did in an update, against what was planned and claimed: the containers it created or
 * replaced, the stateful mock engine's prediction, the README's blast-radius tables and `pulumi preview`'s plan;
 * afterwards, a preview plans no change.
 */
import type { ServiceRole } from "../../../components/services/index";
import type { CheckNamer, Recorder } from "../core/report";
import type { EngineSteps, PulumiProject } from "../engines/pulumi/project";
import type { Layout } from "./deployment";
import { containerOps, rolesOf, sameSet, type ReadmeBlastRadius, type StepLabel } from "./expected";

/** What the replacements of each step are compared with. */
export interface BlastRadiusClaims {
  /** Per the stateful mock engine (testkit/blastRadius.ts), for the stack's settings. */
  predicted: Record<StepLabel, ServiceRole[]>;
  /** Per the README's tables. */
  documented: ReadmeBlastRadius;
}

/** `engine:created-all`: S0 created every container the stack's config runs. */
export function checkCreatedAll(rec: Recorder, name: CheckNamer, steps: EngineSteps, layout: Layout): void {
  rec.check(
    name("engine:created-all"),
    sameSet(
      rolesOf(steps.created),
      layout.specs.map((s) => s.role),
    ).ok,
    `created ${rolesOf(steps.created).join(", ")}`,
  );
}

/**
 * `engine:replaced-as-predicted`, `engine:replaced-as-readme`, `engine:preview-matches-up`: the containers an
 * update replaced are the mocks', the README's and the ones `plan` (its `pulumi preview --json`) showed.
 */
export function checkReplacements(
  rec: Recorder,
  name: CheckNamer,
  step: StepLabel,
  { steps, plan }: { steps: EngineSteps; plan: EngineSteps | undefined },
  { predicted, documented }: BlastRadiusClaims,
): void {
  const replaced = rolesOf(steps.replaced);
  const planned = plan && rolesOf(plan.replaced);
  const vsMocks = sameSet(replaced, predicted[step]);
  rec.check(
    name("engine:replaced-as-predicted"),
    vsMocks.ok,
    `real [${replaced}] vs testkit/blastRadius.ts [${predicted[step]}] ${vsMocks.detail}`,
  );
  // The README's tables show the default settings; a container they have no column for (the edge functions)
  // is judged against the mocks alone.
  const inReadme = replaced.filter((r) => documented.columns.includes(r));
  const vsReadme = sameSet(inReadme, documented.replaced[step]);
  rec.check(
    name("engine:replaced-as-readme"),
    vsReadme.ok,
    `real [${inReadme}] vs README table [${documented.replaced[step]}] ${vsReadme.detail}`,
  );
  const vsPreview = sameSet(replaced, planned ?? []);
  rec.check(
    name("engine:preview-matches-up"),
    vsPreview.ok,
    `up [${replaced}] vs preview [${planned}] ${vsPreview.detail}; preview ops: ${containerOps(plan?.ops ?? {})}`,
  );
}

/** `preview:no-changes`: after the update, `pulumi preview --expect-no-changes` passes. */
export async function checkNoChanges(rec: Recorder, name: CheckNamer, project: PulumiProject): Promise<void> {
  await rec.attempt(name("preview:no-changes"), async () => {
    await project.pulumi(["preview", "--expect-no-changes", "--stack", project.stack]);
    return "pulumi preview --expect-no-changes passed";
  });
}
