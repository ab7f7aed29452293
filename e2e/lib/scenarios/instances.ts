/**
 * Two stacks on one Docker engine at once, each under its own `instanceName`: both come up side by side, neither
 * sees the other's containers, network or volumes, and destroying one leaves the other running as it was.
 */
import * as path from "node:path";
import { layoutOf, observe, type Deployment } from "../checks/deployment";
import type { Recorder } from "../core/report";
import { freeHostPorts } from "../core/ports";
import { inspectContainers, volumeNames } from "../engines/docker/inspect";
import { SUITE_INSTANCES } from "../engines/docker/programObjects";
import { PulumiProject } from "../engines/pulumi/project";
import type { ScenarioContext } from "./context";
import { configureStack, installPlugins } from "./stack";

/** The two instances: the suite's own names, so its cleanup finds their objects. */
const INSTANCES = SUITE_INSTANCES.slice(1);

/** One stack of its instance, configured with ports of its own. */
async function instanceStack(ctx: ScenarioContext, instance: string, ports: number[]): Promise<PulumiProject> {
  const project = new PulumiProject(path.join(ctx.work, instance), ctx.repoRoot, `e2e-${instance}`, ctx.env);
  await installPlugins(project, ctx.toolchain);
  await configureStack(project, ctx, ports);
  await project.configSet("instanceName", instance);
  return project;
}

/** `instances:own-names`: every container, volume and the network of a stack carry its instance name, and exist. */
async function checkOwnNames(rec: Recorder, host: string, deployments: Deployment[]): Promise<void> {
  await rec.attempt("instances:own-names", async () => {
    const volumes = await volumeNames(host);
    const problems: string[] = [];
    for (const { layout, containers } of deployments) {
      const prefix = `${layout.names.instance}-`;
      const missing = layout.containerNames.filter((n) => !containers[n]);
      if (missing.length) problems.push(`${layout.names.instance}: no container ${missing.join(", ")}`);
      if (layout.containerNames.some((n) => !n.startsWith(prefix))) problems.push(`${prefix}* names differ`);
      const absent = layout.retainedVolumes.filter((v) => !volumes.includes(v) || !v.startsWith(prefix));
      if (absent.length) problems.push(`${layout.names.instance}: volumes ${absent.join(", ")}`);
    }
    if (problems.length) throw new Error(problems.join("; "));
    return deployments
      .map(
        ({ layout }) =>
          `${layout.names.instance}: ${layout.containerNames.length} containers, ${layout.retainedVolumes.join(", ")}`,
      )
      .join("; ");
  });
}

/** `instances:apart`: a stack's containers join only its own network and mount only its own volumes. */
async function checkApart(rec: Recorder, deployments: Deployment[]): Promise<void> {
  await rec.attempt("instances:apart", () => {
    const problems: string[] = [];
    for (const { layout, containers } of deployments) {
      const prefix = `${layout.names.instance}-`;
      for (const container of Object.values(containers)) {
        const networks = Object.keys(container.aliases);
        if (networks.join() !== layout.names.network) problems.push(`${container.name} is on ${networks.join(", ")}`);
        const foreign = Object.keys(container.volumes).filter((v) => !v.startsWith(prefix));
        if (foreign.length) problems.push(`${container.name} mounts ${foreign.join(", ")}`);
      }
    }
    if (problems.length) throw new Error(problems.join("; "));
    return "each stack's containers are on its own network only, with its own volumes only";
  });
}

/** `instances:destroy-leaves-other`: after one stack's `pulumi destroy`, the other's containers run unchanged. */
async function checkDestroyLeavesOther(rec: Recorder, host: string, other: Deployment): Promise<void> {
  await rec.attempt("instances:destroy-leaves-other", async () => {
    const after = await inspectContainers(host, other.layout.containerNames);
    const changed = other.layout.containerNames.filter(
      (n) => !after[n]?.running || after[n].id !== other.containers[n]?.id,
    );
    if (changed.length) throw new Error(`changed or stopped: ${changed.join(", ")}`);
    return `${other.layout.names.instance}'s ${other.layout.containerNames.length} containers run as before`;
  });
}

/** The scenario: both stacks up at once, the checks, one destroyed while the other runs, then the other. */
export async function runTwoInstances(ctx: ScenarioContext): Promise<void> {
  const { rec, docker, log } = ctx;
  const ports = await freeHostPorts(3 * INSTANCES.length);
  const projects: PulumiProject[] = [];
  for (const [i, instance] of INSTANCES.entries()) {
    projects.push(await instanceStack(ctx, instance, ports.slice(3 * i, 3 * i + 3)));
  }
  try {
    log(`pulumi up of ${INSTANCES.join(" and ")} at once`);
    const ups = await Promise.all(projects.map((p) => p.up(`instance ${p.stack}`)));
    ups.forEach((up, i) => rec.step(`up ${INSTANCES[i]} beside the other`, up.steps, up.seconds));
    const deployments = await Promise.all(projects.map(async (p) => observe(p, docker.host, await layoutOf(p))));
    await checkOwnNames(rec, docker.host, deployments);
    await checkApart(rec, deployments);
    await projects[0].destroy();
    await checkDestroyLeavesOther(rec, docker.host, deployments[1]);
  } finally {
    for (const project of projects) await project.destroy().catch((e) => log(`destroying ${project.stack}: ${e}`));
  }
}
