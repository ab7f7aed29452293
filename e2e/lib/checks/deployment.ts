/**
 * The deployment as the checks see it after a step: the containers and retained volumes its own config runs, its
 * stack outputs, and every container as `docker inspect` reports it. The scenarios read it, the checks judge it.
 */
import { parseConfig } from "../../../components/config/parse";
import { runningServices, type ServiceRole } from "../../../components/services/index";
import { mountedVolumes, type ServiceModule } from "../../../components/services/service";
import { dockerName } from "../../../components/targets/docker/naming";
import type { CheckNamer, Recorder } from "../core/report";
import { inspectContainers, type ContainerFiles, type InspectedContainer } from "../engines/docker/inspect";
import type { PulumiProject } from "../engines/pulumi/project";
import type { StackState } from "../engines/pulumi/state";

/** The program's network (components/targets/docker/supabaseStack.ts names it so). */
export const NETWORK = dockerName("network");

/** The Docker name of a service's container. */
export const containerName = (role: ServiceRole): string => dockerName(role);

/** The containers and retained volumes of one stack, from its own config as the program's parser fills it in. */
export interface Layout {
  /** The stack's settings, as the program reads them. */
  settings: ReturnType<typeof parseConfig>;
  /** The services that run, in start order. */
  specs: ServiceModule<ServiceRole>[];
  /** Their containers, by Docker name. */
  containerNames: string[];
  /** The volumes those containers mount, by Docker name (the program declares no other, and retains them all). */
  retainedVolumes: string[];
}

/** The deployment as seen after one step. */
export interface Deployment {
  project: PulumiProject;
  outputs: Record<string, unknown>;
  containers: Record<string, InspectedContainer>;
  /** What the stack's config runs. */
  layout: Layout;
}

/** What every check after a step gets: where to record it, its name, and what was read once for all of them. */
export interface StepContext {
  rec: Recorder;
  name: CheckNamer;
  deployment: Deployment;
  /** The state file as the step left it. */
  state: StackState;
  /** The files in the containers. */
  files: ContainerFiles;
}

/** The layout of the stack `project` has configured (read with `pulumi config`). */
export async function layoutOf(project: PulumiProject): Promise<Layout> {
  const settings = parseConfig(await project.rawConfig());
  const specs = runningServices(settings);
  return {
    settings,
    specs,
    containerNames: specs.map((s) => containerName(s.role)),
    retainedVolumes: mountedVolumes(specs).map(dockerName),
  };
}

/** Reads the deployment back: stack outputs and every container. */
export async function observe(project: PulumiProject, host: string, layout: Layout): Promise<Deployment> {
  const outputs = await project.outputs();
  const containers = await inspectContainers(host, layout.containerNames);
  return { project, outputs, containers, layout };
}

/** A service's container as inspected; throws (failing the check that asks) when it does not exist. */
export function containerOf({ containers }: Pick<Deployment, "containers">, role: ServiceRole): InspectedContainer {
  const c = containers[containerName(role)];
  if (!c) throw new Error(`container ${containerName(role)} does not exist`);
  return c;
}
