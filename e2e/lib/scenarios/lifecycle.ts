/**
 * The key lifecycle through the real CLI: S0 create → S1 add standby → S2 promote → S3 revoke, each step a
 * config edit (with the project's own `npm run keys` where it can be) and a `pulumi up`, checked from Docker and
 * from the state file; then `pulumi destroy` and a fresh `pulumi up` on the kept database volume.
 */
import { randomBytes } from "node:crypto";
import { parseConfig } from "../../../components/config/parse";
import type { ProgramConfig } from "../../../components/config/schema";
import type { Algorithm } from "../../../components/keyring/algorithms";
import type { Jwk, Jwks } from "../../../components/keyring/model";
import { KONG_CONFIG_PATH } from "../../../components/services/kong/gateway";
import { runningServices, type ServiceRole } from "../../../components/services/index";
import { mountedVolumes, type ServiceModule } from "../../../components/services/service";
import { dockerName } from "../../../components/stack/naming";
import type { DockerEngine } from "../engines/docker/engine";
import {
  STEP_LABELS,
  kidsOf,
  kongCredentials,
  parsePublicJwks,
  predictedReplacements,
  readReadme,
  readmeReplacements,
  containerOps,
  rolesOf,
  sameSet,
  type StepLabel,
} from "../checks/expected";
import type { SuiteImages } from "../engines/docker/images";
import {
  allStrings,
  inspectContainers,
  isEncryptedSecret,
  psql,
  psqlAs,
  readContainerFile,
  revealed,
  stateResources,
  volumeNames,
  type InspectedContainer,
  type StateResource,
} from "../engines/docker/inspect";
import { PulumiProject } from "../engines/pulumi/project";
import { freeHostPorts } from "../core/ports";
import { poll } from "../core/proc";
import type { Recorder } from "../core/report";
import { schemaMismatches, type Toolchain } from "../toolchain/toolchain";
import { AuthChecks, AuthEndpoint, legacyUserToken, measureAvailability } from "../checks/auth/sessions";

/** Everything one lifecycle run needs. */
export interface LifecycleContext {
  rec: Recorder;
  repoRoot: string;
  /** An empty directory for this run's project copy and backend. */
  work: string;
  env: NodeJS.ProcessEnv;
  toolchain: Toolchain;
  docker: DockerEngine;
  images: SuiteImages;
  algorithm: Algorithm;
  log: (text: string) => void;
  /** Named measurements for the report (seconds). */
  metrics: Record<string, number>;
  /**
   * Also check a rejected config, and `pulumi destroy` then a fresh `pulumi up` on the kept volumes (done for one
   * algorithm; the others only run the rotation).
   */
  full: boolean;
}

/** The deployment as seen after one step. */
export interface Deployment {
  project: PulumiProject;
  outputs: Record<string, unknown>;
  containers: Record<string, InspectedContainer>;
  /** What the stack's config runs. */
  layout: Layout;
}

/** The program's network (components/stack/supabaseStack.ts names it so). */
const NETWORK = dockerName("network");
const CONTAINER_OF = (role: ServiceRole) => dockerName(role);

/** The containers and retained volumes of one stack, from its own config as the program's parser fills it in. */
interface Layout {
  settings: ProgramConfig;
  /** The services that run, in start order. */
  specs: ServiceModule<ServiceRole>[];
  /** Their containers, by Docker name. */
  containerNames: string[];
  /** The volumes those containers mount, by Docker name (the program declares no other, and retains them all). */
  retainedVolumes: string[];
}

/** The layout of the stack `project` has configured (read with `pulumi config`). */
async function layoutOf(project: PulumiProject): Promise<Layout> {
  const settings = parseConfig(await project.rawConfig());
  const specs = runningServices(settings);
  return {
    settings,
    specs,
    containerNames: specs.map((s) => CONTAINER_OF(s.role)),
    retainedVolumes: mountedVolumes(specs).map(dockerName),
  };
}
const CONTAINER_TYPE = "docker:index/container:Container";
const SIGNING_KEY_TYPE = "pulumi-nodejs:dynamic:Resource";

/** Registers the built plugins with the stack's Pulumi home (`pulumi plugin install … --file`). */
async function installPlugins(project: PulumiProject, toolchain: Toolchain): Promise<void> {
  for (const plugin of toolchain.plugins) {
    if (!plugin.file) continue;
    await project.pulumi(["plugin", "install", "resource", plugin.name, plugin.version, "--file", plugin.file], {
      timeoutSeconds: 300,
    });
  }
}

/** The stack config of S0: one current key, the local images, a free gateway port, a 1 s JWKS cache. */
async function configureStack(project: PulumiProject, ctx: LifecycleContext): Promise<void> {
  await project.pulumi(["stack", "init", project.stack, "--secrets-provider", "passphrase"]);
  // The gateway and the pooler publish on 127.0.0.1: free ports, so nothing on the host clashes, and distinct ones,
  // or the program refuses the config.
  const [port, sessionPort, transactionPort] = await freeHostPorts(3);
  const set = (key: string, value: string) => project.configSet(key, value, { path: true });
  await set("signingKeys[0].name", "k1");
  await set("signingKeys[0].state", "current");
  await set("signingKeys[0].algorithm", ctx.algorithm);
  for (const [service, image] of Object.entries(ctx.images.program)) await set(`images.${service}`, image.ref);
  await project.configSet("gatewayHttpPort", String(port));
  // The suite reaches nothing through the gateway (kong is a stand-in); it publishes nothing beyond the loopback.
  await project.configSet("gatewayHost", "127.0.0.1");
  await set("pooler.sessionPort", String(sessionPort));
  await set("pooler.transactionPort", String(transactionPort));
  await project.configSet("apiExternalUrl", `http://localhost:${port}`);
  // The guard rail wants a standby key published this long before it signs; the suite does not wait 20 minutes.
  await project.configSet("jwksCacheSeconds", "1");
  // The full run goes through destroy and a fresh up on the kept volumes: its database passwords must outlive the
  // state, so they come from config (the other runs keep the generated ones).
  if (ctx.full) {
    await project.configSet("postgresPassword", `e2e-${randomBytes(18).toString("base64url")}`, { secret: true });
    // The edge functions (off by default) run in the full run: their files travel as uploads, their container is
    // judged against the mocks' blast radius, and their environment like every other's.
    await set("functions.enabled", "true");
  }
}

/** The config edit that makes each step, through `npm run keys` (and the guard-rail override for S3). */
async function applyStep(project: PulumiProject, step: StepLabel, algorithm: Algorithm): Promise<void> {
  if (step === "S1 add standby") await project.keys(["add-standby", "k2", "--algorithm", algorithm]);
  if (step === "S2 promote") await project.keys(["promote", "k2"]);
  if (step === "S3 revoke") {
    // The guard rail would make the suite wait jwtExpiry + 15 minutes after the promotion.
    await project.configSet("allowUnsafeRotation", "true");
    await project.keys(["revoke", "k1"]);
  }
}

/** Strings that must never appear in the state file's plain text, collected from the decrypted export. */
function secretValues(decrypted: StateResource[], outputs: Record<string, unknown>): Map<string, string> {
  const secrets = new Map<string, string>();
  for (const r of decrypted) {
    const name = r.urn.slice(r.urn.lastIndexOf("::") + 2);
    if (r.type === SIGNING_KEY_TYPE && r.outputs) {
      const jwk = r.outputs.privateJwk as Record<string, unknown> | undefined;
      for (const member of ["d", "p", "q", "dp", "dq", "qi", "k"]) {
        if (typeof jwk?.[member] === "string") secrets.set(jwk[member] as string, `${name} privateJwk.${member}`);
      }
      for (const token of ["anonKey", "serviceRoleKey"]) {
        if (typeof r.outputs[token] === "string") secrets.set(r.outputs[token] as string, `${name} ${token}`);
      }
    }
    if (r.type === "random:index/randomPassword:RandomPassword" && typeof r.outputs?.result === "string") {
      secrets.set(r.outputs.result, `${name} result`);
    }
  }
  for (const key of ["publishableKey", "secretKey", "anonKey", "serviceRoleKey", "dashboardPassword"]) {
    if (typeof outputs[key] === "string") secrets.set(outputs[key] as string, `stack output ${key}`);
  }
  return secrets;
}

/** The lifecycle for one algorithm, recording every check under `<check>:<step>`. */
export async function runLifecycle(ctx: LifecycleContext): Promise<void> {
  const { rec, docker, algorithm, log } = ctx;
  const project = new PulumiProject(ctx.work, ctx.repoRoot, `e2e-${algorithm.toLowerCase()}`, ctx.env);
  await installPlugins(project, ctx.toolchain);
  await configureStack(project, ctx);
  const layout = await layoutOf(project);
  const functions = layout.settings.functions.enabled;
  const predicted = await predictedReplacements(algorithm, { functions });
  const documented = readmeReplacements(readReadme(ctx.repoRoot));
  const tag = (name: string, step: string) => `${name}:${step.split(" ")[0]}:${algorithm}`;
  let dbId: string | undefined;
  let k1Tokens: string[] = [];
  // The real auth server judges the tokens when the suite runs it (its own image, not a stand-in).
  const endpoint =
    ctx.images.program.auth.real && ctx.images.proxy
      ? new AuthEndpoint(docker.host, ctx.images.proxy, NETWORK)
      : undefined;
  const auth = endpoint && new AuthChecks(rec, endpoint, algorithm);

  for (const step of STEP_LABELS) {
    log(`${step}: editing the stack config`);
    await applyStep(project, step, algorithm);
    const plan = step === "S0 create" ? undefined : await project.preview();
    const planned = plan && rolesOf(plan.replaced);
    log(`${step}: pulumi up`);
    let update: Awaited<ReturnType<PulumiProject["up"]>>;
    if (step === "S2 promote" && endpoint) {
      // How long auth does not answer while the promotion recreates it.
      const measured = await measureAvailability(endpoint, project.up(step));
      update = measured.result;
      ctx.metrics[`authUnavailableSecondsDuringPromote:${algorithm}`] = measured.downSeconds;
      ctx.metrics[`authLongestGapSecondsDuringPromote:${algorithm}`] = measured.longestGap;
      rec.check(
        `auth:availability-during-promote:${algorithm}`,
        true,
        `auth did not answer /health for ${measured.downSeconds} s in all (longest gap ${measured.longestGap} s) during a ${update.seconds.toFixed(1)} s update; ${measured.probes} probes`,
      );
    } else update = await project.up(step);
    const { steps, seconds } = update;
    ctx.metrics[`upSeconds:${step.split(" ")[0]}:${algorithm}`] = Math.round(seconds * 10) / 10;
    rec.steps.push({
      name: `${step} (${algorithm})`,
      replaced: steps.replaced,
      created: steps.created,
      deleted: steps.deleted,
      seconds: Math.round(seconds * 10) / 10,
    });
    const replaced = rolesOf(steps.replaced);
    log(`${step}: up took ${seconds.toFixed(1)} s; replaced containers: ${replaced.join(", ") || "none"}`);
    if (step === "S0 create") {
      rec.check(
        tag("engine:created-all", step),
        sameSet(
          rolesOf(steps.created),
          layout.specs.map((s) => s.role),
        ).ok,
        `created ${rolesOf(steps.created).join(", ")}`,
      );
    } else {
      const vsMocks = sameSet(replaced, predicted[step]);
      rec.check(
        tag("engine:replaced-as-predicted", step),
        vsMocks.ok,
        `real [${replaced}] vs scripts/lib/blastRadius.ts [${predicted[step]}] ${vsMocks.detail}`,
      );
      // The README's tables show the default settings; a container they have no column for (the edge functions)
      // is judged against the mocks alone.
      const inReadme = replaced.filter((r) => documented.columns.includes(r));
      const vsReadme = sameSet(inReadme, documented.replaced[step]);
      rec.check(
        tag("engine:replaced-as-readme", step),
        vsReadme.ok,
        `real [${inReadme}] vs README table [${documented.replaced[step]}] ${vsReadme.detail}`,
      );
      const vsPreview = sameSet(replaced, planned ?? []);
      rec.check(
        tag("engine:preview-matches-up", step),
        vsPreview.ok,
        `up [${replaced}] vs preview [${planned}] ${vsPreview.detail}; preview ops: ${containerOps(plan?.ops ?? {})}`,
      );
    }

    const deployment = await observe(project, docker.host, layout);
    const { outputs, containers } = deployment;
    if (step === "S0 create") {
      await checkProviderSchemas(ctx, project);
      dbId = containers[CONTAINER_OF("db")]?.id;
      k1Tokens = [outputs.anonKey, outputs.serviceRoleKey].filter((t): t is string => typeof t === "string");
      await rec.attempt(tag("db:row-written", step), async () => {
        await psql(
          docker.host,
          CONTAINER_OF("db"),
          "CREATE TABLE e2e_marker(note text); INSERT INTO e2e_marker VALUES ('written at S0');",
        );
        return "e2e_marker row inserted";
      });
      await rec.attempt(tag("db:pooler-logins", step), () => checkPoolerLogins(docker.host, containers));
    }
    await checkDeployment(ctx, project, deployment, step, tag, dbId);
    if (step === "S3 revoke") {
      await rec.attempt(tag("keyring:revoked-tokens-gone", step), async () => {
        const kong = await readContainerFile(docker.host, CONTAINER_OF("kong"), KONG_CONFIG_PATH);
        const holders = Object.values(containers).filter((c) =>
          Object.values(c.env).some((v) => k1Tokens.some((t) => v.includes(t))),
        );
        if (holders.length)
          throw new Error(`k1's role JWTs are still in the env of ${holders.map((c) => c.name).join(", ")}`);
        if (k1Tokens.some((t) => kong.includes(t))) throw new Error("k1's role JWTs are still in kong.yml");
        return `k1's ${k1Tokens.length} role JWTs appear in no container env and not in kong.yml`;
      });
    }
    await auth?.afterStep(step, deployment);
    await rec.attempt(tag("preview:no-changes", step), async () => {
      await project.pulumi(["preview", "--expect-no-changes", "--stack", project.stack]);
      return "pulumi preview --expect-no-changes passed";
    });
    if (step === "S0 create" && ctx.full)
      await checkRejectedConfig(ctx, project, tag("config:rejected-by-preview", step), layout);
  }

  await rec.attempt(
    tag("db:row-kept", "S3"),
    async () => `e2e_marker: ${await psql(docker.host, CONTAINER_OF("db"), "SELECT note FROM e2e_marker;")}`,
  );
  // The forwarder must leave the stack network before pulumi destroy deletes it.
  await endpoint?.stop();
  if (ctx.full) await destroyAndRecreate(ctx, project, tag, auth, layout);
  await project.pulumi(["destroy", "--yes", "--skip-preview", "--stack", project.stack], { timeoutSeconds: 900 });
}

/** `pulumi destroy` keeps the volumes; a fresh `pulumi up` on them finds the row written at S0. */
async function destroyAndRecreate(
  ctx: LifecycleContext,
  project: PulumiProject,
  tag: (name: string, step: string) => string,
  auth: AuthChecks | undefined,
  layout: Layout,
): Promise<void> {
  const { rec, docker, log, algorithm } = ctx;
  log("pulumi destroy");
  const destroyed = await project.pulumi(["destroy", "--yes", "--skip-preview", "--stack", project.stack], {
    timeoutSeconds: 900,
  });
  rec.steps.push({
    name: `destroy (${algorithm})`,
    replaced: [],
    created: [],
    deleted: [],
    seconds: Math.round(destroyed.seconds * 10) / 10,
  });
  await rec.attempt(tag("destroy:volumes-retained", "destroy"), async () => {
    const volumes = await volumeNames(docker.host);
    const missing = layout.retainedVolumes.filter((v) => !volumes.includes(v));
    const left = Object.keys(await inspectContainers(docker.host, layout.containerNames));
    if (missing.length) throw new Error(`pulumi destroy removed ${missing.join(", ")}`);
    if (left.length) throw new Error(`containers left after destroy: ${left.join(", ")}`);
    return `no containers left; docker volume ls still lists ${layout.retainedVolumes.join(", ")}`;
  });
  log("pulumi up on the kept volumes");
  const again = await project.up("fresh up");
  rec.steps.push({
    name: `fresh up on kept volumes (${algorithm})`,
    replaced: again.steps.replaced,
    created: again.steps.created,
    deleted: again.steps.deleted,
    seconds: Math.round(again.seconds * 10) / 10,
  });
  await rec.attempt(tag("db:row-kept-after-destroy", "fresh"), async () => {
    const note = await psql(docker.host, CONTAINER_OF("db"), "SELECT note FROM e2e_marker;");
    if (note !== "written at S0") throw new Error(`e2e_marker holds ${JSON.stringify(note)}`);
    return `the row written at S0 is there after destroy and a fresh up: ${note}`;
  });
  // The stack keeps its database passwords in config (postgresPassword), so the new containers can log in to the
  // kept database; the S0 user signs in again (with new signing keys: the old ones went with the state).
  await auth?.signInAfterRecreate(
    String((await project.outputs()).anonKey),
    tag("auth:sign-in-after-destroy", "fresh"),
  );
  await auth?.stop();
}

/** For a built toolchain: our provider mappings name every property as the SDK packages do, for each type in state. */
async function checkProviderSchemas(ctx: LifecycleContext, project: PulumiProject): Promise<void> {
  const types = [...new Set(stateResources(await project.exportState(false)).map((r) => r.type))];
  for (const plugin of ctx.toolchain.plugins) {
    if (!plugin.schema) continue;
    const used = types.filter((t) => t.startsWith(`${plugin.name}:`) && !t.startsWith(`pulumi:providers:`));
    await ctx.rec.attempt(`toolchain:${plugin.name}-schema-matches-sdk`, () => {
      const problems = schemaMismatches(ctx.repoRoot, plugin.name, plugin.schema!, used);
      if (problems.length) throw new Error(problems.join("; "));
      return `${used.join(", ")}: the built provider's input and state property names are the SDK's`;
    });
  }
}

/** Reads the deployment back: stack outputs and every container. */
async function observe(project: PulumiProject, host: string, layout: Layout): Promise<Deployment> {
  const outputs = await project.outputs();
  const containers = await inspectContainers(host, layout.containerNames);
  return { project, outputs, containers, layout };
}

/**
 * The database side of the pooler, judged by the real Postgres with what the pooler container receives (supavisor
 * itself is a stand-in here): its `DATABASE_URL` logs in to the internal database, where the init SQL made the
 * `_supavisor` schema; the `pgbouncer` role its tenant is registered with logs in with `POOLER_PGBOUNCER_PASSWORD`.
 */
async function checkPoolerLogins(host: string, containers: Record<string, InspectedContainer>): Promise<string> {
  const env = containers[CONTAINER_OF("pooler")]?.env;
  if (!env) throw new Error(`container ${CONTAINER_OF("pooler")} does not exist`);
  const metadata = new URL(env.DATABASE_URL.replace(/^ecto:/, "postgres:"));
  const owner = await psqlAs(
    host,
    CONTAINER_OF("db"),
    {
      host: metadata.hostname,
      port: Number(metadata.port),
      user: decodeURIComponent(metadata.username),
      password: decodeURIComponent(metadata.password),
      database: metadata.pathname.slice(1),
    },
    "SELECT nspowner::regrole FROM pg_namespace WHERE nspname = '_supavisor';",
  );
  if (owner !== "supabase_admin") throw new Error(`_supavisor in ${metadata.pathname.slice(1)}: owner "${owner}"`);
  const user = await psqlAs(
    host,
    CONTAINER_OF("db"),
    {
      host: env.POSTGRES_HOST,
      port: Number(env.POSTGRES_PORT),
      user: "pgbouncer",
      password: env.POOLER_PGBOUNCER_PASSWORD,
      database: env.POSTGRES_DB,
    },
    "SELECT current_user;",
  );
  if (user !== "pgbouncer") throw new Error(`logged in as "${user}", not pgbouncer`);
  return (
    `DATABASE_URL logs in to ${metadata.pathname.slice(1)} as ${decodeURIComponent(metadata.username)}, where ` +
    `_supavisor is owned by ${owner}; pgbouncer logs in to ${env.POSTGRES_DB} over TCP with its own password`
  );
}

/** The checks after every step: containers, their env and files against state and keyring, and the state file. */
async function checkDeployment(
  ctx: LifecycleContext,
  project: PulumiProject,
  { outputs, containers, layout }: Deployment,
  step: StepLabel,
  tag: (name: string, step: string) => string,
  dbId: string | undefined,
): Promise<void> {
  const { rec, docker } = ctx;
  const container = (role: ServiceRole) => {
    const c = containers[CONTAINER_OF(role)];
    if (!c) throw new Error(`container ${CONTAINER_OF(role)} does not exist`);
    return c;
  };
  await rec.attempt(tag("containers:running", step), () => {
    const down = layout.specs.filter((s) => !containers[CONTAINER_OF(s.role)]?.running).map((s) => s.role);
    if (down.length) throw new Error(`not running: ${down.join(", ")}`);
    return `${layout.specs.length} containers running`;
  });
  const decrypted = stateResources(await project.exportState(true)).map((r) => revealed(r) as StateResource);
  const plain = await project.exportState(false);
  const stateContainers = new Map(
    decrypted.filter((r) => r.type === CONTAINER_TYPE).map((r) => [r.urn.slice(r.urn.lastIndexOf("::") + 2), r]),
  );

  await rec.attempt(tag("containers:env-as-in-state", step), () => {
    const problems: string[] = [];
    for (const spec of layout.specs) {
      const name = CONTAINER_OF(spec.role);
      const recorded = (stateContainers.get(name)?.inputs?.envs as string[] | undefined) ?? [];
      if (recorded.length === 0) problems.push(`${name}: no envs in state`);
      const actual = containers[name]?.env ?? {};
      for (const entry of recorded) {
        const key = entry.slice(0, entry.indexOf("="));
        if (actual[key] !== entry.slice(entry.indexOf("=") + 1))
          problems.push(`${name}: ${key} differs from the state's value`);
      }
    }
    if (problems.length) throw new Error(problems.join("; "));
    return "every env entry the state records is what docker inspect shows, for all containers";
  });

  const published = parsePublicJwks(String(outputs.jwks), "stack output jwks");
  await rec.attempt(tag("auth:one-private-key-current", step), () => {
    const keys = JSON.parse(container("auth").env.GOTRUE_JWT_KEYS) as Jwk[];
    const privateKeys = keys.filter((k) => typeof k.d === "string");
    if (privateKeys.length !== 1) throw new Error(`GOTRUE_JWT_KEYS holds ${privateKeys.length} private keys`);
    if (privateKeys[0].kid !== outputs.currentKid)
      throw new Error(`the private key is ${privateKeys[0].kid}, current is ${outputs.currentKid}`);
    const asymmetric = keys.filter((k) => k.kty !== "oct").map((k) => String(k.kid));
    const same = sameSet(asymmetric, kidsOf(published));
    if (!same.ok) throw new Error(`auth's keys differ from the published JWKS: ${same.detail}`);
    return `one private key (${privateKeys[0].kid}, the current one) among [${asymmetric.join(", ")}]`;
  });
  await rec.attempt(tag("verifiers:jwks-as-published", step), () => {
    const given: Array<[string, string]> = [
      ["rest PGRST_JWT_SECRET", container("rest").env.PGRST_JWT_SECRET],
      ["realtime API_JWT_JWKS", container("realtime").env.API_JWT_JWKS],
      ["storage JWT_JWKS", container("storage").env.JWT_JWKS],
    ];
    for (const [where, text] of given) {
      const jwks: Jwks = parsePublicJwks(text, where);
      if (JSON.stringify(jwks.keys) !== JSON.stringify(published.keys))
        throw new Error(`${where} is not the published JWKS`);
    }
    return `rest, realtime and storage verify with [${kidsOf(published).join(", ")}], no private members`;
  });
  type Upload = { file: string; content: string };
  const uploadsOf = (name: string) => (stateContainers.get(name)?.inputs?.uploads ?? []) as Upload[];
  // A file read from a container once per step, whichever checks look at it (`undefined`: it is not there).
  const read = new Map<string, Promise<string | undefined>>();
  const fileIn = (name: string, file: string) => {
    const key = `${name}:${file}`;
    const text = read.get(key) ?? readContainerFile(docker.host, name, file).catch(() => undefined);
    read.set(key, text);
    return text;
  };
  await rec.attempt(tag("containers:uploads-as-in-state", step), async () => {
    // Every file the state says was uploaded (init SQL, kong.yml, the tenant script, env digests, the functions'
    // files) is in its container with that content.
    const problems: string[] = [];
    const counted: string[] = [];
    for (const spec of layout.specs) {
      const name = CONTAINER_OF(spec.role);
      const uploads = uploadsOf(name);
      for (const upload of uploads) {
        const inContainer = await fileIn(name, upload.file);
        if (inContainer !== upload.content)
          problems.push(`${name}:${upload.file} ${inContainer === undefined ? "is missing" : "differs"}`);
      }
      if (uploads.length) counted.push(`${spec.role} ${uploads.length}`);
    }
    if (problems.length) throw new Error(problems.join("; "));
    return `uploaded files in place: ${counted.join(", ")}`;
  });
  await rec.attempt(tag("kong:uploaded-config", step), async () => {
    const inContainer = await fileIn(CONTAINER_OF("kong"), KONG_CONFIG_PATH);
    const sent = uploadsOf(CONTAINER_OF("kong")).find((u) => u.file === KONG_CONFIG_PATH)?.content;
    if (sent === undefined) throw new Error("the state records no kong.yml upload");
    if (inContainer === undefined) throw new Error("the container has no kong.yml");
    if (inContainer !== sent) throw new Error("the kong.yml in the container is not the one in state");
    const credentials = kongCredentials(inContainer);
    const wanted: Array<[string, unknown]> = [
      ["anon", outputs.anonKey],
      ["anon", outputs.publishableKey],
      ["service_role", outputs.serviceRoleKey],
      ["service_role", outputs.secretKey],
    ];
    const missing = wanted.filter(([consumer, key]) => !credentials[consumer]?.includes(String(key)));
    if (missing.length)
      throw new Error(`kong.yml lacks the ${missing.map(([c]) => c).join(", ")} keys of the stack outputs`);
    if (!inContainer.includes("/auth/v1/.well-known/jwks.json")) throw new Error("kong.yml has no JWKS route");
    return `kong.yml in the container is the uploaded one (${inContainer.length} bytes) and accepts the output keys`;
  });
  await rec.attempt(tag("ports:published", step), async () => {
    // What the program publishes for this stack's config (the gateway, the pooler's two ports), as Docker bound it.
    const { settings } = layout;
    const problems: string[] = [];
    const seen: string[] = [];
    for (const spec of layout.specs) {
      const wanted = spec.publishedPorts?.(settings) ?? [];
      const bound = container(spec.role).ports;
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
  await rec.attempt(tag("network:aliases", step), () => {
    const problems = layout.specs.flatMap((spec) => {
      const aliases = container(spec.role).aliases[NETWORK] ?? [];
      return spec.aliases.filter((a) => !aliases.includes(a)).map((a) => `${spec.role} lacks ${a}`);
    });
    if (problems.length) throw new Error(problems.join("; "));
    return `aliases on ${NETWORK}: ${layout.specs.map((s) => `${s.role}=[${s.aliases}]`).join(" ")}`;
  });
  if (dbId) {
    rec.check(
      tag("db:not-recreated", step),
      container("db").id === dbId,
      `db container ${container("db").id.slice(0, 12)} (S0: ${dbId.slice(0, 12)})`,
    );
  }
  await rec.attempt(tag("state:secrets-encrypted", step), () => {
    const plainResources = stateResources(plain);
    const problems: string[] = [];
    for (const r of plainResources.filter((x) => x.type === CONTAINER_TYPE)) {
      const name = r.urn.slice(r.urn.lastIndexOf("::") + 2);
      // Every container whose environment holds a secret (the service module says which: not kong's, nor
      // imgproxy's) gets it as one Pulumi secret; the scan of secret values below catches a plain one that leaks.
      const spec = layout.specs.find((s) => CONTAINER_OF(s.role) === name);
      if ((spec?.secretEnv ?? true) && !isEncryptedSecret(r.inputs?.envs))
        problems.push(`${name} envs are not encrypted`);
      if (r.inputs?.uploads !== undefined && !isEncryptedSecret(r.inputs.uploads))
        problems.push(`${name} uploads are not encrypted`);
    }
    const secrets = secretValues(decrypted, outputs);
    const decryptedText = JSON.stringify(decrypted);
    for (const [value, what] of secrets) {
      if (plain.includes(value)) problems.push(`${what} is in the state in plain text`);
      if (!decryptedText.includes(value)) problems.push(`${what} is not readable with --show-secrets`);
    }
    const plainStrings = allStrings(JSON.parse(plain));
    if (plainStrings.some((s) => /"d"\s*:\s*"/.test(s)))
      problems.push("a private JWK member is in the state in plain text");
    if (problems.length) throw new Error(problems.join("; "));
    return `${secrets.size} secret values (private key members, role JWTs, passwords, sb_ keys) only encrypted; the envs that hold secrets and every upload encrypted`;
  });
}

/** A config the program rejects fails `pulumi preview` with the program's message and changes nothing. */
async function checkRejectedConfig(
  ctx: LifecycleContext,
  project: PulumiProject,
  name: string,
  layout: Layout,
): Promise<void> {
  await ctx.rec.attempt(name, async () => {
    const containerIds = async () =>
      Object.values(await inspectContainers(ctx.docker.host, layout.containerNames)).map((c) => c.id);
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

/**
 * Migration from an HS256 deployment: a stack with `legacyHs256` and the old deployment's imported `jwtSecret`.
 * A user token signed with that secret (what the old deployment's users hold) is accepted by auth; once
 * `legacyHs256` is turned off it is rejected.
 */
export async function runLegacyMigration(ctx: LifecycleContext): Promise<void> {
  const { rec, docker, log } = ctx;
  const project = new PulumiProject(ctx.work, ctx.repoRoot, "e2e-legacy", ctx.env);
  await installPlugins(project, ctx.toolchain);
  await configureStack(project, ctx);
  const oldSecret = `old-deployment-secret-${Math.random().toString(36).slice(2)}-${Date.now()}`;
  await project.configSet("legacyHs256", "true");
  await project.configSet("jwtSecret", oldSecret, { secret: true });
  log("legacy: pulumi up with legacyHs256 and the imported jwtSecret");
  await project.up("legacy on");
  const endpoint =
    ctx.images.proxy && ctx.images.program.auth.real
      ? new AuthEndpoint(docker.host, ctx.images.proxy, NETWORK)
      : undefined;
  if (!endpoint) {
    // With E2E_REAL_IMAGES there is no local base to build the forwarder on, so nothing can reach auth.
    log("legacy: skipped, the suite cannot reach auth without its forwarder image (E2E_REAL_IMAGES)");
    await project.pulumi(["destroy", "--yes", "--skip-preview", "--stack", project.stack], { timeoutSeconds: 900 });
    return;
  }
  try {
    await endpoint.start();
    const outputs = await project.outputs();
    const serviceRoleKey = String(outputs.serviceRoleKey);
    const healthy = await poll(
      async () => ((await endpoint.request("GET", "/health")).status === 200 ? true : undefined),
      90,
      1000,
    );
    if (!healthy) throw new Error("auth did not answer /health within 90 s");
    const email = `legacy-${Date.now()}@example.com`;
    const created = await endpoint.request("POST", "/admin/users", {
      token: serviceRoleKey,
      apikey: serviceRoleKey,
      body: { email, password: `pw-${Date.now()}-Legacy!`, email_confirm: true },
    });
    if (created.status !== 200)
      throw new Error(`POST /admin/users answered ${created.status} ${JSON.stringify(created.body).slice(0, 200)}`);
    const token = await legacyUserToken(oldSecret, String(created.body.id), email);
    await rec.attempt("auth:legacy-hs256-accepted", async () => {
      const answer = await endpoint.request("GET", "/user", { token, apikey: String(outputs.anonKey) });
      if (answer.status !== 200)
        throw new Error(
          `GET /user with the HS256 token answered ${answer.status} ${JSON.stringify(answer.body).slice(0, 200)}`,
        );
      return "an HS256 user token without kid, signed with the imported jwtSecret, is accepted by GET /user";
    });
    log("legacy: pulumi up with legacyHs256 off");
    await project.configSet("legacyHs256", "false");
    await project.up("legacy off");
    if (
      !(await poll(
        async () => ((await endpoint.request("GET", "/health")).status === 200 ? true : undefined),
        90,
        1000,
      ))
    ) {
      throw new Error("auth did not answer /health within 90 s after legacyHs256 was turned off");
    }
    await rec.attempt("auth:legacy-hs256-rejected-after-off", async () => {
      const answer = await endpoint.request("GET", "/user", { token, apikey: String(outputs.anonKey) });
      if (answer.status !== 401 && answer.status !== 403)
        throw new Error(`GET /user with the HS256 token answered ${answer.status} after legacyHs256 was turned off`);
      return `rejected: ${answer.status} ${String(answer.body.msg ?? answer.body.message ?? "")}`;
    });
  } finally {
    await endpoint.stop();
    await project.pulumi(["destroy", "--yes", "--skip-preview", "--stack", project.stack], { timeoutSeconds: 900 });
  }
}
