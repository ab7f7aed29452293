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

/** The Docker names of one instance's objects, as `components/targets/docker/naming.ts` makes them. */
export interface DockerNames {
  instance: string;
  /** The program's network. */
  network: string;
  /** A service's container. */
  container(role: string): string;
  /** A volume. */
  volume(role: string): string;
}

/** The Docker names of the instance `instance` (the stack's `instanceName`). */
export function dockerNamesOf(instance: string): DockerNames {
  return {
    instance,
    network: dockerName(instance, "network"),
    container: (role) => dockerName(instance, role),
    volume: (role) => dockerName(instance, role),
  };
}

/** The containers and retained volumes of one stack, from its own config as the program's parser fills it in. */
export interface Layout {
  /** The stack's settings, as the program reads them. */
  settings: ReturnType<typeof parseConfig>;
  /** The Docker names of its objects. */
  names: DockerNames;
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
  return layoutFrom(parseConfig(await project.rawConfig()));
}

/** The layout of validated settings (a stack config's, or a component's arguments). */
export function layoutFrom(settings: Layout["settings"]): Layout {
  const specs = runningServices(settings);
  const names = dockerNamesOf(settings.instanceName);
  return {
    settings,
    names,
    specs,
    containerNames: specs.map((s) => names.container(s.role)),
    retainedVolumes: mountedVolumes(specs).map(names.volume),
  };
}

/** Reads the deployment back: stack outputs and every container. */
export async function observe(project: PulumiProject, host: string, layout: Layout): Promise<Deployment> {
  const outputs = await project.outputs();
  const containers = await inspectContainers(host, layout.containerNames);
  return { project, outputs, containers, layout };
}

/** A service's container as inspected; throws (failing the check that asks) when it does not exist. */
export function containerOf(
  { containers, layout }: Pick<Deployment, "containers" | "layout">,
  role: ServiceRole,
): InspectedContainer {
  const c = containers[layout.names.container(role)];
  if (!c) throw new Error(`container ${layout.names.container(role)} does not exist`);
  return c;
}
