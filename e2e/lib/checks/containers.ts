/**
 * The containers after a step, against what the stack's config runs and what the state records: they run, their
 * environment and uploaded files are the state's, Docker bound the ports the program publishes, the network
 * aliases are the ones the services expect, and the db container was never recreated; after `pulumi destroy`, the
 * volumes are retained.
 */
import type { CheckNamer, Recorder } from "../core/report";
import { inspectContainers, volumeNames } from "../engines/docker/inspect";
import { recordedEnvs, recordedUploads } from "../engines/pulumi/state";
import { UNNEEDED_CAPABILITIES } from "../../../components/services/service";
import { containerOf, type Deployment, type Layout, type StepContext } from "./deployment";

/** `containers:running`: every container the stack's config runs is running. */
export async function checkRunning(rec: Recorder, name: CheckNamer, { containers, layout }: Deployment): Promise<void> {
  await rec.attempt(name("containers:running"), () => {
    const down = layout.specs.filter((s) => !containers[layout.names.container(s.role)]?.running).map((s) => s.role);
    if (down.length) throw new Error(`not running: ${down.join(", ")}`);
    return `${layout.specs.length} containers running`;
  });
}

/** `containers:env-as-in-state`: every env entry the state records is in the container, with that value. */
export async function checkEnvAsInState({ rec, name, deployment, state }: StepContext): Promise<void> {
  const { containers, layout } = deployment;
  await rec.attempt(name("containers:env-as-in-state"), () => {
    const problems: string[] = [];
    for (const spec of layout.specs) {
      const container = layout.names.container(spec.role);
      const recorded = recordedEnvs(state, container);
      if (recorded.length === 0) problems.push(`${container}: no envs in state`);
      const actual = containers[container]?.env ?? {};
      for (const entry of recorded) {
        const key = entry.slice(0, entry.indexOf("="));
        if (actual[key] !== entry.slice(entry.indexOf("=") + 1))
          problems.push(`${container}: ${key} differs from the state's value`);
      }
    }
    if (problems.length) throw new Error(problems.join("; "));
    return "every env entry the state records is what docker inspect shows, for all containers";
  });
}

/** `containers:uploads-as-in-state`: every file the state records as uploaded is in its container. */
export async function checkUploadsAsInState({ rec, name, deployment, state, files }: StepContext): Promise<void> {
  await rec.attempt(name("containers:uploads-as-in-state"), async () => {
    // Every file the state says was uploaded (init SQL, kong.yml, the tenant script, env digests, the functions'
    // files) is in its container with that content.
    const problems: string[] = [];
    const counted: string[] = [];
    for (const spec of deployment.layout.specs) {
      const container = deployment.layout.names.container(spec.role);
      const uploads = recordedUploads(state, container);
      for (const upload of uploads) {
        const inContainer = await files(container, upload.file);
        if (inContainer !== upload.content)
          problems.push(`${container}:${upload.file} ${inContainer === undefined ? "is missing" : "differs"}`);
      }
      if (uploads.length) counted.push(`${spec.role} ${uploads.length}`);
    }
    if (problems.length) throw new Error(problems.join("; "));
    return `uploaded files in place: ${counted.join(", ")}`;
  });
}

/** `ports:published`: Docker bound exactly the ports the program publishes for the stack's config. */
export async function checkPublishedPorts({ rec, name, deployment }: StepContext): Promise<void> {
  await rec.attempt(name("ports:published"), async () => {
    // What the program publishes for this stack's config (the gateway, the pooler's two ports), as Docker bound it.
    const { settings, specs } = deployment.layout;
    const problems: string[] = [];
    const seen: string[] = [];
    for (const spec of specs) {
      const wanted = spec.publishedPorts?.(settings) ?? [];
      const bound = containerOf(deployment, spec.role).ports;
      const expected = Object.fromEntries(
        // The docker provider binds a port without an address on every IPv4 address.
        wanted.map((p) => [`${p.internal}/tcp`, [`${p.ip ?? "0.0.0.0"}:${p.external}`]]),
      );
      if (JSON.stringify(bound) !== JSON.stringify(expected))
        problems.push(`${spec.role}: ${JSON.stringify(bound)}, the program publishes ${JSON.stringify(expected)}`);
      for (const [port, at] of Object.entries(bound)) seen.push(`${spec.role} ${port} on ${at.join(", ")}`);
    }
    if (problems.length) throw new Error(problems.join("; "));
    return seen.join("; ");
  });
}

/** `network:aliases`: each container has the aliases its service module declares on the program's network. */
export async function checkNetworkAliases({ rec, name, deployment }: StepContext): Promise<void> {
  const { specs, names } = deployment.layout;
  await rec.attempt(name("network:aliases"), () => {
    const problems = specs.flatMap((spec) => {
      const aliases = containerOf(deployment, spec.role).aliases[names.network] ?? [];
      return spec.aliases.filter((a) => !aliases.includes(a)).map((a) => `${spec.role} lacks ${a}`);
    });
    if (problems.length) throw new Error(problems.join("; "));
    return `aliases on ${names.network}: ${specs.map((s) => `${s.role}=[${s.aliases}]`).join(" ")}`;
  });
}

/**
 * `containers:hardened`: Docker runs every container with rotated logs, `no-new-privileges` and the capabilities its
 * service module drops, as the program asks, and each runs that way (the real auth server with every capability
 * dropped, the suite's Postgres with the unneeded ones dropped).
 */
export async function checkHardened({ rec, name, deployment }: StepContext): Promise<void> {
  const { specs } = deployment.layout;
  await rec.attempt(name("containers:hardened"), () => {
    const problems = specs.flatMap((spec) => {
      const { host, running } = containerOf(deployment, spec.role);
      const drops = [...(spec.dropCapabilities ?? UNNEEDED_CAPABILITIES)];
      const wrong: string[] = [];
      if (!running) wrong.push("not running");
      if (host.logType !== "json-file" || !host.logOpts["max-size"] || !host.logOpts["max-file"])
        wrong.push(`log ${host.logType} ${JSON.stringify(host.logOpts)}`);
      if (!host.securityOpt.includes("no-new-privileges:true")) wrong.push(`security ${host.securityOpt}`);
      // Docker may store a capability with or without its CAP_ prefix.
      const capabilities = (list: readonly string[]) =>
        list
          .map((c) => c.replace(/^CAP_/, ""))
          .sort()
          .join();
      if (capabilities(host.capDrop) !== capabilities(drops))
        wrong.push(`drops [${host.capDrop}], the module [${drops}]`);
      return wrong.map((w) => `${spec.role}: ${w}`);
    });
    if (problems.length) throw new Error(problems.join("; "));
    return `${specs.length} containers: json-file log with max-size and max-file, no-new-privileges, capabilities as their modules drop them`;
  });
}

/** `db:not-recreated`: the db container is the one S0 created (its id is `dbId`). */
export function checkDbNotRecreated({ rec, name, deployment }: StepContext, dbId: string): void {
  const db = containerOf(deployment, "db");
  rec.check(name("db:not-recreated"), db.id === dbId, `db container ${db.id.slice(0, 12)} (S0: ${dbId.slice(0, 12)})`);
}

/** `destroy:volumes-retained`: after `pulumi destroy` no container is left and every retained volume still exists. */
export async function checkVolumesRetained(
  rec: Recorder,
  host: string,
  checkName: string,
  layout: Layout,
): Promise<void> {
  await rec.attempt(checkName, async () => {
    const volumes = await volumeNames(host);
    const missing = layout.retainedVolumes.filter((v) => !volumes.includes(v));
    const left = Object.keys(await inspectContainers(host, layout.containerNames));
    if (missing.length) throw new Error(`pulumi destroy removed ${missing.join(", ")}`);
    if (left.length) throw new Error(`containers left after destroy: ${left.join(", ")}`);
    return `no containers left; docker volume ls still lists ${layout.retainedVolumes.join(", ")}`;
  });
}
