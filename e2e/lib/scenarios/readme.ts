/**
 * The README's quick start as a user runs it: a copy of the repository, a fresh HOME with no Pulumi login and no
 * passphrase in the environment, every command in a new `bash` (so nothing carries over but files), `npm run up`,
 * then the README's own verify command block taken from the README, one rotation step pair with `npm run keys` and
 * `npm run pulumi`, and `npm run pulumi -- destroy`.
 *
 * What differs from a user's machine, and why: `npm ci` is not run again (the suite's node_modules is linked), the
 * plugins the suite built are registered in the fresh Pulumi home (the CLI cannot download them here), and
 * `Pulumi.dev.yaml` gets the suite's local images, free host ports on 127.0.0.1 and a 1 s `jwksCacheSeconds` (so
 * the promotion need not wait 20 minutes). Every command line is the README's.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { parseDocument } from "yaml";
import { configKey } from "../../../components/schema/project";
import { freeHostPorts } from "../core/ports";
import { run, type RunResult } from "../core/proc";
import { PROGRAM_FILES } from "../engines/pulumi/project";
import type { ScenarioContext } from "./context";

/** What the copy holds besides the program: the npm scripts and the dev stack file, as in a clone. */
const CLONE_FILES = [...PROGRAM_FILES, "scripts", "Pulumi.dev.yaml", ".gitignore"];

/** The first `sh` block of the README's Quick start that runs `npm run verify`: the command users copy. */
export function readmeVerifyBlock(readme: string): string {
  const quickStart = readme.slice(readme.indexOf("## Quick start"));
  const block = [...quickStart.matchAll(/```sh\n([\s\S]*?)```/g)].find((m) => m[1].includes("npm run verify"));
  if (!block) throw new Error("the README's Quick start has no sh block with npm run verify");
  return block[1].trim();
}

/** The dev stack file with the suite's images, ports and cache time set (every other line as committed). */
function devStackFor(text: string, ctx: ScenarioContext, ports: number[]): string {
  const doc = parseDocument(text);
  const [gateway, session, transaction] = ports;
  const set = (key: string, value: unknown) => doc.setIn(["config", configKey(key)], value);
  set("images", Object.fromEntries(Object.entries(ctx.images.program).map(([service, image]) => [service, image.ref])));
  set("gatewayHttpPort", gateway);
  set("gatewayHost", "127.0.0.1");
  set("apiExternalUrl", `http://localhost:${gateway}`);
  set("pooler", { sessionPort: session, transactionPort: transaction });
  set("jwksCacheSeconds", 1);
  return doc.toString();
}

/** A clone-like copy of the repository at `dir`, with node_modules linked. */
function copyRepository(ctx: ScenarioContext, dir: string, ports: number[]): void {
  fs.mkdirSync(dir, { recursive: true });
  for (const file of CLONE_FILES) {
    const from = path.join(ctx.repoRoot, file);
    if (fs.existsSync(from)) fs.cpSync(from, path.join(dir, file), { recursive: true });
  }
  fs.symlinkSync(path.join(ctx.repoRoot, "node_modules"), path.join(dir, "node_modules"));
  const stackFile = path.join(dir, "Pulumi.dev.yaml");
  fs.writeFileSync(stackFile, devStackFor(fs.readFileSync(stackFile, "utf8"), ctx, ports));
}

/**
 * The environment of a new login shell on the user's machine: PATH (the suite's toolchain first, then the system's),
 * a fresh HOME, the Docker engine; no Pulumi backend, no passphrase, nothing else of the suite's.
 */
function freshShellEnv(ctx: ScenarioContext, home: string): NodeJS.ProcessEnv {
  return {
    PATH: ctx.env.PATH,
    HOME: home,
    DOCKER_HOST: ctx.env.DOCKER_HOST,
    TMPDIR: process.env.TMPDIR ?? "/tmp",
    PULUMI_SKIP_UPDATE_CHECK: "true",
    NO_COLOR: "1",
    ...(ctx.env.PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION
      ? { PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: ctx.env.PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION }
      : {}),
  };
}

/** The scenario; every check is recorded, and the stack is destroyed at the end (its volumes stay, as always). */
export async function runReadmeQuickStart(ctx: ScenarioContext): Promise<void> {
  const { rec, log } = ctx;
  const dir = path.join(ctx.work, "clone");
  const home = path.join(ctx.work, "home");
  fs.mkdirSync(home, { recursive: true });
  copyRepository(ctx, dir, await freeHostPorts(3));
  const env = freshShellEnv(ctx, home);
  /** One command line in a new bash in the clone, as typed. */
  const shell = (line: string, timeoutSeconds = 600): Promise<RunResult> => {
    log(`$ ${line}`);
    return run("bash", ["-c", line], { cwd: dir, env, timeoutSeconds, allowFailure: true, input: "" });
  };
  const expectOk = (result: RunResult, what: string) => {
    if (result.status !== 0) {
      throw new Error(`${what} exited ${result.status}:\n${result.stdout.slice(-2000)}\n${result.stderr.slice(-2000)}`);
    }
  };
  for (const plugin of ctx.toolchain.plugins.filter((p) => p.file)) {
    expectOk(
      await shell(`pulumi plugin install resource ${plugin.name} ${plugin.version} --file '${plugin.file}'`, 300),
      "plugin install",
    );
  }
  const verifyBlock = readmeVerifyBlock(fs.readFileSync(path.join(ctx.repoRoot, "README.md"), "utf8"));
  let deployed = false;
  try {
    await rec.attempt("readme:npm-run-up", async () => {
      const up = await shell("npm run up -- --yes", 1800);
      expectOk(up, "npm run up -- --yes");
      deployed = true;
      const passphrase = path.join(dir, ".pulumi-state", "dev.passphrase");
      const mode = fs.statSync(passphrase).mode & 0o777;
      if (mode !== 0o600) throw new Error(`${passphrase} has mode ${mode.toString(8)}, not 600`);
      if (!up.stdout.includes("npm run -s pulumi -- stack output apiUrl")) {
        throw new Error(`npm run up did not say how to check the deployment:\n${up.stdout.slice(-1000)}`);
      }
      return `a local file backend logged in, dev created with a generated passphrase (mode 600), up in ${up.seconds.toFixed(0)} s`;
    });
    const verify = async (name: string, keys: number) =>
      rec.attempt(name, async () => {
        const result = await shell(verifyBlock, 120);
        expectOk(result, "the README's verify command");
        if (!result.stdout.includes(`a JWKS with ${keys} key(s)`)) {
          throw new Error(`expected a JWKS with ${keys} key(s):\n${result.stdout}`);
        }
        return `the README's verify block passes in a new shell: JWKS with ${keys} key(s), both role JWTs verified`;
      });
    if (deployed) await verify("readme:verify", 1);
    await rec.attempt("readme:rotation", async () => {
      const add = await shell("npm run keys -- add-standby k2 --stack dev");
      expectOk(add, "npm run keys -- add-standby k2 --stack dev");
      if (!add.stdout.includes("npm run pulumi -- up --stack dev")) {
        throw new Error(`npm run keys did not name npm run pulumi as the next step:\n${add.stdout}`);
      }
      expectOk(await shell("npm run pulumi -- up --stack dev --yes", 1200), "npm run pulumi -- up (publish)");
      await new Promise((resolve) => setTimeout(resolve, 2000));
      expectOk(await shell("npm run keys -- promote k2 --stack dev"), "npm run keys -- promote k2 --stack dev");
      expectOk(await shell("npm run pulumi -- up --stack dev --yes", 1200), "npm run pulumi -- up (promote)");
      const kid = await shell("npm run -s pulumi -- stack output currentKid --stack dev");
      expectOk(kid, "npm run -s pulumi -- stack output currentKid");
      const anon = await shell("npm run -s pulumi -- stack output anonKey --show-secrets --stack dev");
      const header = JSON.parse(Buffer.from(anon.stdout.trim().split(".")[0], "base64url").toString()) as {
        kid?: string;
      };
      if (header.kid !== kid.stdout.trim()) {
        throw new Error(`anonKey is signed by ${header.kid}, the current kid is ${kid.stdout.trim()}`);
      }
      return `add-standby, up, promote, up through npm run keys and npm run pulumi; anonKey now signed by ${header.kid}`;
    });
    if (deployed) await verify("readme:verify-after-rotation", 2);
  } finally {
    if (deployed) {
      const destroyed = await shell("npm run pulumi -- destroy --stack dev --yes", 900);
      if (destroyed.status !== 0) log(`npm run pulumi -- destroy failed: ${destroyed.stderr.slice(-1000)}`);
    }
  }
}
