/**
 * The key lifecycle through the real CLI: S0 create → S1 add standby → S2 promote → S3 revoke, each step a
 * config edit (with the project's own `npm run keys` where it can be) and a `pulumi up`, checked from Docker and
 * from the state file; then `pulumi destroy` and a fresh `pulumi up` on the kept database volume.
 */
import { checkDeployment } from "../checks/afterEveryStep";
import { checkApiKeysServed, checkRemovedKeyDeleted, checkRevokedKeyGone, LEAKED_KEY } from "../checks/apiKeys";
import { measureAvailability, type AuthEndpoint } from "../checks/auth/endpoint";
import { AuthChecks } from "../checks/auth/sessions";
import { SupabaseJsChecks } from "../checks/auth/supabaseJs";
import { checkMarkerKept, checkMarkerWritten, checkPoolerLogins } from "../checks/database";
import { layoutOf, observe, type Deployment, type Layout } from "../checks/deployment";
import { checkCreatedAll, checkNoChanges, checkReplacements, type BlastRadiusClaims } from "../checks/engineSteps";
import {
  API_KEY_STEP_LABELS,
  STEP_LABELS,
  predictedReplacements,
  readReadme,
  readmeReplacements,
  rolesOf,
  type StepLabel,
} from "../checks/expected";
import { checkProviderSchemas } from "../checks/providerSchemas";
import { authProbeRequests, probeDuring, recordProbe } from "../checks/requestProbe";
import { checkRejectedConfig } from "../checks/rejectedConfig";
import { checkRevokedTokensGone } from "../checks/signingKeys";
import type { CheckNamer } from "../core/report";
import { PulumiProject, type EngineSteps } from "../engines/pulumi/project";
import type { ScenarioContext } from "./context";
import { destroyAndRecreate } from "./recreate";
import { applyStep, authEndpointFor, configureStack, installPlugins } from "./stack";

/** One lifecycle run: its stack, what the stack runs, what its updates are compared with, and auth's judge. */
interface LifecycleRun {
  ctx: ScenarioContext;
  project: PulumiProject;
  layout: Layout;
  claims: BlastRadiusClaims;
  /** A check's name at `step` for this run's algorithm: `<check>:<step>:<algorithm>`. */
  tag: (name: string, step: string) => string;
  /** Absent when the suite does not run the real auth server. */
  endpoint?: AuthEndpoint;
  auth?: AuthChecks;
  /** The official client through the gateway, as the user `auth` creates; absent with `auth`. */
  supabaseJs?: SupabaseJsChecks;
}

/** What S0 (and A1) leave for the later steps to compare with. */
interface Baseline {
  /** The db container S0 created: no later step may recreate it. */
  dbId?: string;
  /** k1's role JWTs: after S3 revokes k1, no container may hold them. */
  k1Tokens: string[];
  /** The secret key A2 revokes, as A1 saw it: after A2, nothing but the state may hold it. */
  leakedKey?: string;
}

/**
 * The lifecycle for one algorithm, recording every check under `<check>:<step>`; in the full run (unless
 * `E2E_APIKEYS=0`) then the steps of a leaked secret key.
 */
export async function runLifecycle(ctx: ScenarioContext): Promise<void> {
  const lifecycle = await prepareLifecycle(ctx);
  let baseline: Baseline = { k1Tokens: [] };
  for (const step of STEP_LABELS) baseline = await runStep(lifecycle, step, baseline);
  if (ctx.full && process.env.E2E_APIKEYS !== "0") {
    const started = Date.now();
    for (const step of API_KEY_STEP_LABELS) baseline = await runStep(lifecycle, step, baseline);
    // What the API-key steps add to the suite, updates and checks together (CI's time budget).
    ctx.metrics[`apiKeyStepsSeconds:${ctx.algorithm}`] = Math.round((Date.now() - started) / 100) / 10;
  }
  await finishLifecycle(lifecycle);
}

/** The stack at S0's config, what it runs, and what the mocks and the README claim its updates replace. */
async function prepareLifecycle(ctx: ScenarioContext): Promise<LifecycleRun> {
  const { rec, algorithm } = ctx;
  const project = new PulumiProject(ctx.work, ctx.repoRoot, `e2e-${algorithm.toLowerCase()}`, ctx.env);
  await installPlugins(project, ctx.toolchain);
  await configureStack(project, ctx);
  const layout = await layoutOf(project);
  const functions = layout.settings.functions.enabled;
  const claims: BlastRadiusClaims = {
    predicted: await predictedReplacements(algorithm, { functions }),
    documented: readmeReplacements(readReadme(ctx.repoRoot)),
  };
  // The real auth server judges the tokens when the suite runs it (its own image, not a stand-in).
  const endpoint = authEndpointFor(ctx, layout.names);
  const auth = endpoint && new AuthChecks(rec, endpoint, algorithm);
  return {
    ctx,
    project,
    layout,
    claims,
    tag: (name, step) => `${name}:${step.split(" ")[0]}:${algorithm}`,
    endpoint,
    auth,
    supabaseJs: auth && new SupabaseJsChecks(rec, ctx.docker.host, algorithm, auth.user),
  };
}

/** One step: its update and every check after it. Returns what S0 left for the later steps. */
async function runStep(lifecycle: LifecycleRun, step: StepLabel, baseline: Baseline): Promise<Baseline> {
  const { ctx, project, layout, tag } = lifecycle;
  const { rec, docker } = ctx;
  const name: CheckNamer = (check) => tag(check, step);
  const { steps, plan } = await update(lifecycle, step);
  if (step === "S0 create") checkCreatedAll(rec, name, steps, layout);
  else checkReplacements(rec, name, step, { steps, plan }, lifecycle.claims);
  const deployment = await observe(project, docker.host, layout);
  const known = step === "S0 create" ? await checkCreated(lifecycle, deployment, name) : baseline;
  const checked = await checkDeployment(rec, docker.host, name, deployment, known.dbId);
  if (step === "S3 revoke")
    await checkRevokedTokensGone(rec, docker.host, name("keyring:revoked-tokens-gone"), deployment, known.k1Tokens);
  if (step.startsWith("A")) {
    await checkApiKeysServed(checked);
    if (step === "A1 add secret key")
      known.leakedKey = (deployment.outputs.apiKeys as Record<string, string>)[LEAKED_KEY];
    if (step === "A2 revoke secret key") await checkRevokedKeyGone(checked, known.leakedKey ?? "(A1 saw no key)");
    if (step === "A3 remove secret key") await checkRemovedKeyDeleted(checked);
  } else {
    // Sessions and supabase-js are judged through the signing-key steps; the API-key steps change no signing key.
    await lifecycle.auth?.afterStep(step, deployment);
    await lifecycle.supabaseJs?.afterStep(step, deployment, name);
  }
  await checkNoChanges(rec, name, project);
  if (step === "S0 create" && ctx.full)
    await checkRejectedConfig(rec, docker.host, project, name("config:rejected-by-preview"), layout);
  return known;
}

/**
 * The step's config edit, its plan (`pulumi preview --json`, from S1 on) and its `pulumi up`, whose engine steps
 * and wall time go to the report.
 */
async function update(
  lifecycle: LifecycleRun,
  step: StepLabel,
): Promise<{ steps: EngineSteps; plan: EngineSteps | undefined }> {
  const { ctx, project } = lifecycle;
  const { rec, algorithm, log } = ctx;
  log(`${step}: editing the stack config`);
  await applyStep(project, step, algorithm);
  const plan = step === "S0 create" ? undefined : await project.preview();
  log(`${step}: pulumi up`);
  const { steps, seconds } = await up(lifecycle, step);
  ctx.metrics[`upSeconds:${step.split(" ")[0]}:${algorithm}`] = Math.round(seconds * 10) / 10;
  rec.step(`${step} (${algorithm})`, steps, seconds);
  const replaced = rolesOf(steps.replaced);
  log(`${step}: up took ${seconds.toFixed(1)} s; replaced containers: ${replaced.join(", ") || "none"}`);
  return { steps, plan };
}

/**
 * `pulumi up` for the step; once auth runs (from S1), the request probe beside it (the figure the Kubernetes phase
 * reports for its rolling updates), and during the promotion also how long auth does not answer.
 */
async function up(lifecycle: LifecycleRun, step: StepLabel): ReturnType<PulumiProject["up"]> {
  const { ctx, project, endpoint, auth } = lifecycle;
  if (step === "S0 create" || !endpoint) return project.up(step);
  const { rec, metrics, algorithm } = ctx;
  const probed = probeDuring(project.up(step), authProbeRequests(await endpoint.start(), auth?.tokenDuring(step))).then(
    ({ result, tally }) => (recordProbe(rec, metrics, { target: "docker", step, algorithm }, tally), result),
  );
  if (step !== "S2 promote") return probed;
  // How long auth does not answer while the promotion recreates it.
  const measured = await measureAvailability(endpoint, probed);
  const update = measured.result;
  metrics[`authUnavailableSecondsDuringPromote:${algorithm}`] = measured.downSeconds;
  metrics[`authLongestGapSecondsDuringPromote:${algorithm}`] = measured.longestGap;
  rec.check(
    `auth:availability-during-promote:${algorithm}`,
    true,
    `auth did not answer /health for ${measured.downSeconds} s in all (longest gap ${measured.longestGap} s) during a ${update.seconds.toFixed(1)} s update; ${measured.probes} probes`,
  );
  return update;
}

/** S0's own checks: the provider schemas, the marker row, the pooler's logins. Returns what later steps compare with. */
async function checkCreated(lifecycle: LifecycleRun, deployment: Deployment, name: CheckNamer): Promise<Baseline> {
  const { ctx, project } = lifecycle;
  const { rec, docker } = ctx;
  const { containers, outputs } = deployment;
  await checkProviderSchemas(rec, ctx.repoRoot, ctx.toolchain, project);
  const baseline: Baseline = {
    dbId: containers[deployment.layout.names.container("db")]?.id,
    k1Tokens: [outputs.anonKey, outputs.serviceRoleKey].filter((t): t is string => typeof t === "string"),
  };
  await checkMarkerWritten(rec, docker.host, name("db:row-written"), deployment.layout);
  await checkPoolerLogins(rec, docker.host, name("db:pooler-logins"), deployment);
  return baseline;
}

/** After S3: the marker row is kept; for the full run destroy and a fresh up; then the stack is destroyed. */
async function finishLifecycle({ ctx, project, layout, tag, endpoint, auth }: LifecycleRun): Promise<void> {
  await checkMarkerKept(ctx.rec, ctx.docker.host, tag("db:row-kept", "S3"), layout);
  // The forwarder must leave the stack network before pulumi destroy deletes it.
  await endpoint?.stop();
  if (ctx.full) await destroyAndRecreate(ctx, project, tag, auth, layout);
  await project.destroy();
}
