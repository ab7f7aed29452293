/**
 * The repository as a component package, used from a program in another language with the real CLI: a YAML
 * program runs `pulumi package add` on a copy of the repository (by path, as a user's clone), and its `pulumi up`
 * deploys the stack on the suite's engine; the real auth server signs a user in with the component's outputs; a key
 * promotion through that program's own stack config recreates auth alone; `pulumi destroy` keeps the volumes.
 * Every check is `package:*`.
 *
 * What differs from a user's machine, and why: the suite's plugins are registered in the program's Pulumi home
 * (the CLI cannot download them here), and a plugin the package's dependencies name but the toolchain lacks is
 * registered as a stand-in that refuses to run (see {@link registerStandIns}); the component gets the suite's
 * images, free host ports on 127.0.0.1 and a 1 s `jwksCacheSeconds`, as every scenario's stack does.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { parseConfig } from "../../../components/config/parse";
import { checkDeployment } from "../checks/afterEveryStep";
import { checkVolumesRetained } from "../checks/containers";
import { layoutFrom, observe, type Layout } from "../checks/deployment";
import { checkNoChanges } from "../checks/engineSteps";
import {
  checkComponentTree,
  checkPackageAdd,
  checkPromotedKeySigns,
  checkPromotionSteps,
  checkSignIn,
} from "../checks/package";
import { freeHostPorts } from "../core/ports";
import { consumerProgram, copyPackageSource } from "../engines/pulumi/consumer";
import { PulumiProject } from "../engines/pulumi/project";
import type { ScenarioContext } from "./context";
import { authEndpointFor, installPlugins } from "./stack";

/** The keyring the consumer starts with: a current key and a standby one, to promote later. */
const KEYS = [
  { name: "k1", state: "current" },
  { name: "k2", state: "standby" },
];

/**
 * Registers a stand-in for each resource plugin the package's dependencies name that the toolchain did not build
 * (`pulumi package add` wants every one installed; the Node host lists them all from package.json): a script that
 * says what it is and fails, should anything start it. With target docker nothing does. A CLI on PATH downloads the
 * real plugins instead.
 */
async function registerStandIns(ctx: ScenarioContext, project: PulumiProject): Promise<string[]> {
  if (ctx.toolchain.source === "path") return [];
  const manifest = JSON.parse(fs.readFileSync(path.join(ctx.repoRoot, "package.json"), "utf8")) as {
    dependencies: Record<string, string>;
  };
  const built = new Set(ctx.toolchain.plugins.map((p) => p.name));
  const registered: string[] = [];
  for (const [name, version] of Object.entries(manifest.dependencies)) {
    const plugin = path.join(ctx.repoRoot, "node_modules", name, "package.json");
    const info = JSON.parse(fs.readFileSync(plugin, "utf8")) as { pulumi?: { resource?: boolean; name?: string } };
    const pluginName = info.pulumi?.name ?? name.replace(/^@pulumi\//, "");
    if (!info.pulumi?.resource || built.has(pluginName)) continue;
    const script = path.join(ctx.work, `pulumi-resource-${pluginName}`);
    const note = `stand-in for the ${pluginName} ${version} plugin, registered by the e2e suite so that pulumi package add finds every plugin package.json names; nothing the package phase deploys uses it`;
    fs.writeFileSync(script, `#!/bin/sh\necho '${note}' >&2\nexit 1\n`, { mode: 0o755 });
    await project.pulumi(["plugin", "install", "resource", pluginName, version, "--file", script]);
    registered.push(`${pluginName} ${version}`);
  }
  return registered;
}

/** The component's settings besides the keyring: the suite's images, free ports on 127.0.0.1, a 1 s JWKS cache. */
async function componentSettings(ctx: ScenarioContext): Promise<Record<string, unknown>> {
  const [port, sessionPort, transactionPort] = await freeHostPorts(3);
  return {
    images: Object.fromEntries(Object.entries(ctx.images.program).map(([service, image]) => [service, image.ref])),
    gatewayHttpPort: port,
    gatewayHost: "127.0.0.1",
    apiExternalUrl: `http://localhost:${port}`,
    pooler: { sessionPort, transactionPort },
    jwksCacheSeconds: 1,
  };
}

/** The consumer's stack, its keyring in its own config, and the layout the component will run. */
async function prepareConsumer(ctx: ScenarioContext): Promise<{ project: PulumiProject; layout: Layout }> {
  const settings = await componentSettings(ctx);
  const project = new PulumiProject(ctx.work, ctx.repoRoot, "e2e-package", ctx.env, (dir) =>
    fs.writeFileSync(path.join(dir, "Pulumi.yaml"), consumerProgram(settings)),
  );
  await installPlugins(project, ctx.toolchain);
  const standIns = await registerStandIns(ctx, project);
  if (standIns.length) ctx.log(`registered stand-ins (never started): ${standIns.join(", ")}`);
  await project.pulumi(["stack", "init", project.stack, "--secrets-provider", "passphrase"]);
  for (const [i, key] of KEYS.entries()) {
    await project.configSet(`signingKeys[${i}].name`, key.name, { path: true });
    await project.configSet(`signingKeys[${i}].state`, key.state, { path: true });
  }
  return { project, layout: layoutFrom(parseConfig({ signingKeys: KEYS, ...settings })) };
}

/** The scenario; every check is recorded, and the stack is destroyed at the end (its volumes stay, as always). */
export async function runPackage(ctx: ScenarioContext): Promise<void> {
  const { rec, docker, log, metrics } = ctx;
  const source = path.join(ctx.work, "supabase-selfhosted");
  log("copying the repository to add the package from");
  copyPackageSource(ctx.repoRoot, source);
  const { project, layout } = await prepareConsumer(ctx);
  log("pulumi package add (the plugin installs its dependencies and serves its schema)");
  if (!(await checkPackageAdd(rec, project, source))) return;
  const endpoint = authEndpointFor(ctx, layout.names);
  const name = (check: string) => `package:${check}`;
  let deployed = false;
  try {
    log("pulumi up of the YAML program");
    const created = await project.up("package up");
    deployed = true;
    rec.step("package: up [k1 current, k2 standby]", created.steps, created.seconds);
    metrics["upSeconds:package"] = Math.round(created.seconds * 10) / 10;
    await checkComponentTree(rec, project, KEYS.length);
    const deployment = await observe(project, docker.host, layout);
    await checkDeployment(rec, docker.host, name, deployment, undefined);
    const user = endpoint && (await checkSignIn(rec, endpoint, deployment.outputs));
    await checkNoChanges(rec, name, project);
    log("promoting k2 through the program's config, then pulumi up");
    await project.configSet("signingKeys[0].state", "previous", { path: true });
    await project.configSet("signingKeys[1].state", "current", { path: true });
    const promotion = await project.up("package promote");
    rec.step("package: promote [k1 previous, k2 current]", promotion.steps, promotion.seconds);
    metrics["upSeconds:package-promote"] = Math.round(promotion.seconds * 10) / 10;
    checkPromotionSteps(rec, promotion.steps);
    const promoted = await observe(project, docker.host, layout);
    if (endpoint && user) {
      await checkPromotedKeySigns(rec, endpoint, user, String(deployment.outputs.currentKid), promoted.outputs);
    }
  } finally {
    // The forwarder must leave the stack network before pulumi destroy deletes it.
    await endpoint?.stop();
    if (deployed) {
      log("pulumi destroy of the YAML program");
      const destroyed = await project.destroy().catch((err: Error) => err);
      if (destroyed instanceof Error) rec.check("package:destroy-keeps-volumes", false, destroyed.message);
      else await checkVolumesRetained(rec, docker.host, "package:destroy-keeps-volumes", layout);
    }
  }
}
