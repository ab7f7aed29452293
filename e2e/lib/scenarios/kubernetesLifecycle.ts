/**
 * The key lifecycle on the suite's cluster (`target: kubernetes`): S0 create → S1 add standby → S2 promote →
 * S3 revoke through the real CLI and the real Kubernetes provider, each step checked from the cluster (which
 * workloads rolled, what the Secrets hold, the NetworkPolicies), from the state file and by the real auth server,
 * with a probe calling auth through its Service during every update; then, for the full run, `pulumi destroy` with
 * the claims and their data kept and a fresh `pulumi up` on them where the S0 user signs in again.
 */
import * as fs from "node:fs";
import { randomBytes } from "node:crypto";
import type { Algorithm } from "../../../components/keyring/algorithms";
import { AuthChecks } from "../checks/auth/sessions";
import { checkNoChanges } from "../checks/engineSteps";
import { STEP_LABELS, predictedReplacements, type StepLabel } from "../checks/expected";
import { ClusterAuthDoor } from "../checks/kubernetes/authDoor";
import { awaitSettled, rolledBetween, workloadStates } from "../checks/kubernetes/observe";
import { checkRolledAsPredicted, checkStepObjects } from "../checks/kubernetes/steps";
import { authProbeRequests, probeDuring, recordProbe } from "../checks/requestProbe";
import type { CheckNamer, Recorder } from "../core/report";
import type { SuiteImages } from "../engines/docker/images";
import { STORAGE_CLASS } from "../engines/kubernetes/addons";
import type { KubernetesCluster } from "../engines/kubernetes/cluster";
import type { ClusterImages } from "../engines/kubernetes/images";
import { PulumiProject } from "../engines/pulumi/project";
import { readStackState } from "../engines/pulumi/state";
import type { Toolchain } from "../toolchain/obtain";
import type { KubernetesToolchain } from "../toolchain/kubernetes";
import { applyStep, installPlugins } from "./stack";
import { checkDataKept } from "../checks/kubernetes/data";

/** What one Kubernetes lifecycle run needs. */
export interface KubernetesLifecycleContext {
  rec: Recorder;
  repoRoot: string;
  /** An empty directory for the run's project copy and backend. */
  work: string;
  /** The environment of every `pulumi` command (the toolchain on PATH). */
  env: NodeJS.ProcessEnv;
  toolchain: Toolchain;
  kubernetes: KubernetesToolchain;
  cluster: KubernetesCluster;
  images: SuiteImages;
  clusterImages: ClusterImages;
  algorithm: Algorithm;
  /** Also `pulumi destroy` and a fresh `pulumi up` on the kept claims. */
  full: boolean;
  log: (text: string) => void;
  metrics: Record<string, number>;
}

/** One run's stack and judges. */
interface Run {
  ctx: KubernetesLifecycleContext;
  project: PulumiProject;
  namespace: string;
  door: ClusterAuthDoor;
  auth: AuthChecks;
  predicted: Record<StepLabel, string[]>;
}

/** A check's name at `step`: `k8s:<check>:<step>:<algorithm>` (the Kubernetes checks carry `k8s:` already). */
const namer =
  (step: string, algorithm: string): CheckNamer =>
  (check) =>
    `${check.startsWith("k8s:") ? "" : "k8s:"}${check}:${step.split(" ")[0]}:${algorithm}`;

/**
 * The S0 config on Kubernetes: the cluster from the suite's kubeconfig, a namespace of the run's own, the suite's
 * images never pulled (they were imported into the cluster's containerd), the suite's StorageClass.
 */
async function configure(run: Run): Promise<void> {
  const { ctx, project, namespace } = run;
  await project.pulumi(["stack", "init", project.stack, "--secrets-provider", "passphrase"]);
  const set = (key: string, value: string) => project.configSet(key, value, { path: true });
  await project.configSet("kubernetes:kubeconfig", ctx.cluster.kubeconfig);
  await project.configSet("target", "kubernetes");
  await set("signingKeys[0].name", "k1");
  await set("signingKeys[0].state", "current");
  await set("signingKeys[0].algorithm", ctx.algorithm);
  for (const [service, image] of Object.entries(ctx.images.program)) {
    const standIn = ctx.clusterImages.standIns[service as keyof ClusterImages["standIns"]];
    await set(`images.${service}`, (standIn ?? image).ref);
  }
  await set("kubernetes.namespace", namespace);
  await set("kubernetes.imagePullPolicy", "Never");
  await set("kubernetes.storage.className", STORAGE_CLASS);
  await project.configSet("apiExternalUrl", "http://localhost:8000");
  await project.configSet("jwksCacheSeconds", "1");
  // The full run's database passwords must outlive the state (destroy, then a fresh up on the kept data).
  if (ctx.full)
    await project.configSet("postgresPassword", `e2e-${randomBytes(18).toString("base64url")}`, { secret: true });
}

/**
 * The update of one step and the rollouts it started, until the namespace settles (every workload ready, no pod
 * terminating); from S1 on, with the request probe calling auth through its Service all that time.
 */
async function update(run: Run, step: StepLabel) {
  const { ctx, project, door, auth, namespace } = run;
  const { rec, metrics, algorithm, cluster } = ctx;
  const at = `${step.split(" ")[0]}:${algorithm}`;
  const settle = async <T>(result: T) => {
    const seconds = await awaitSettled(cluster.api, namespace);
    if (seconds !== undefined) metrics[`settleSeconds:kubernetes:${at}`] = seconds;
    return result;
  };
  if (step === "S0 create") return project.up(step).then(settle);
  const requests = authProbeRequests(await door.start(), auth.tokenDuring(step));
  const { result, tally } = await probeDuring(project.up(step).then(settle), requests);
  recordProbe(rec, metrics, { target: "kubernetes", step, algorithm }, tally);
  return result;
}

/** One step: its config edit, its update, and every check after it. */
async function runStep(run: Run, step: StepLabel): Promise<void> {
  const { ctx, project, namespace } = run;
  const { rec, algorithm, log, cluster } = ctx;
  const name = namer(step, algorithm);
  await applyStep(project, step, algorithm);
  const before = await workloadStates(cluster.api, namespace);
  log(`kubernetes ${step}: pulumi up`);
  const { steps, seconds } = await update(run, step);
  ctx.metrics[`upSeconds:kubernetes:${step.split(" ")[0]}:${algorithm}`] = Math.round(seconds * 10) / 10;
  rec.step(`${step} (${algorithm})`, steps, seconds, "kubernetes");
  const after = await workloadStates(cluster.api, namespace);
  const { rolled, created } = rolledBetween(before, after);
  log(`kubernetes ${step}: up took ${seconds.toFixed(1)} s; rolled: ${rolled.join(", ") || "none"}`);
  if (step === "S0 create") checkRolledAsPredicted({ rec, name }, created, [...after.keys()], after);
  else checkRolledAsPredicted({ rec, name }, rolled, run.predicted[step], after);
  const state = await readStackState(project);
  const outputs = await project.outputs();
  await checkStepObjects({ rec, name, api: cluster.api, namespace, state, outputs });
  await run.auth.afterStep(step, { outputs });
  await checkNoChanges(rec, name, project);
}

/** `pulumi destroy` keeps the claims and their data; a fresh `pulumi up` on them lets the S0 user sign in again. */
async function destroyAndRecreate(run: Run): Promise<void> {
  const { ctx, project, namespace, auth } = run;
  const { rec, algorithm, log, cluster } = ctx;
  log("kubernetes: pulumi destroy");
  const destroyed = await project.destroy();
  rec.step(`destroy (${algorithm})`, { replaced: [], created: [], deleted: [] }, destroyed.seconds, "kubernetes");
  await checkDataKept(rec, `k8s:data-after-destroy:${algorithm}`, cluster.api, namespace);
  log("kubernetes: pulumi up on the kept claims");
  const again = await project.up("fresh up");
  rec.step(`fresh up on kept claims (${algorithm})`, again.steps, again.seconds, "kubernetes");
  await auth.signInAfterRecreate(String((await project.outputs()).anonKey), `k8s:sign-in-after-destroy:${algorithm}`);
}

/** The lifecycle for one algorithm on the cluster; the stack is destroyed at the end. */
export async function runKubernetesLifecycle(ctx: KubernetesLifecycleContext): Promise<void> {
  fs.mkdirSync(ctx.work, { recursive: true });
  const slug = ctx.algorithm.toLowerCase();
  const project = new PulumiProject(ctx.work, ctx.repoRoot, `k8s-${slug}`, ctx.env);
  // The scheduler weighs each runnable thread outside the pods' cgroup (nice 0: 1024) against the whole pods' group
  // (its cpu.shares: 1024 per allocatable core), so at the default priority the CLI's, the program's and the
  // provider's threads take the node's two cores from the pods they roll. At nice 19 each weighs 15, as a CLI on an
  // operator's own machine takes nothing from the cluster it updates.
  project.niceness = 19;
  const namespace = `e2e-${slug}`;
  const door = new ClusterAuthDoor(ctx.cluster.api, namespace);
  const run: Run = {
    ctx,
    project,
    namespace,
    door,
    auth: new AuthChecks(ctx.rec, door, ctx.algorithm, "k8s:"),
    predicted: await predictedReplacements(ctx.algorithm, { functions: false, target: "kubernetes" }),
  };
  await installPlugins(project, { ...ctx.toolchain, plugins: [...ctx.toolchain.plugins, ctx.kubernetes.provider] });
  // db's two claims, storage's and studio's: local volumes for each, as a cluster's provisioner would make them.
  await ctx.cluster.addVolumes(4);
  await configure(run);
  try {
    for (const step of STEP_LABELS) await runStep(run, step);
    if (ctx.full) await destroyAndRecreate(run);
  } finally {
    await project.destroy().catch((e) => ctx.log(`kubernetes: destroy: ${e instanceof Error ? e.message : e}`));
  }
}
