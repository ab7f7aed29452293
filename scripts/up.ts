/**
 * `npm run up [-- --stack <name>] [-- <pulumi up flags>]`: the quick start on a fresh machine.
 *
 * 1. Checks the Pulumi CLI and the Docker daemon the stack will use (local, or ssh://… from `docker:host`).
 * 2. If `pulumi whoami` fails (no backend yet), logs in to a local file backend in `.pulumi-state/` (gitignored).
 * 3. Selects the stack (default `dev`), or creates it with the passphrase secrets provider. Unless you set
 *    PULUMI_CONFIG_PASSPHRASE or PULUMI_CONFIG_PASSPHRASE_FILE yourself, a random passphrase is generated once into
 *    `.pulumi-state/<stack>.passphrase` (mode 600) and handed to Pulumi as PULUMI_CONFIG_PASSPHRASE_FILE, so it never
 *    appears on a command line or in the environment of unrelated processes.
 * 4. Runs `pulumi up --stack <stack>` with any extra flags.
 * Run from the project directory (npm does that).
 */
import { spawnSync, type SpawnSyncOptions } from "node:child_process";
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import * as YAML from "yaml";
import { onPath } from "./lib/onPath";
import { passphraseFile, passphraseSource, STATE_DIR } from "./lib/passphrase";

export { STATE_DIR };

const INSTALL_PULUMI = `The Pulumi CLI is not on your PATH. Install it, open a new shell, and run npm run up again:
  Linux/macOS:  curl -fsSL https://get.pulumi.com | sh      (or: brew install pulumi/tap/pulumi)
  Windows:      winget install pulumi
  Details:      https://www.pulumi.com/docs/iac/download-install/`;

const INSTALL_DOCKER = `Docker is not on your PATH. This stack runs its containers on the local Docker daemon.
  Linux:        https://docs.docker.com/engine/install/  (then: sudo usermod -aG docker $USER, and log in again)
  macOS/Windows: Docker Desktop, https://docs.docker.com/desktop/
Or deploy to a server instead: pulumi config set docker:host ssh://user@host --stack <stack>
  (see docs/deploying.md, "Remote Docker host over ssh").`;

const DOCKER_DOWN = `Docker is installed but the daemon does not answer (docker info failed).
  Start it (Docker Desktop, or: sudo systemctl start docker) and make sure your user may use it
  (Linux: sudo usermod -aG docker $USER, then log in again). Then run npm run up again.`;

/** The Docker host the stack's provider uses: stack config `docker:host`, else DOCKER_HOST, else the local socket. */
export function dockerHost(stackFileText: string | undefined, env: NodeJS.ProcessEnv): string | undefined {
  if (stackFileText !== undefined) {
    const host = (YAML.parse(stackFileText) as { config?: Record<string, unknown> } | null)?.config?.["docker:host"];
    if (typeof host === "string" && host !== "") return host;
  }
  return env.DOCKER_HOST || undefined;
}

interface Context {
  root: string;
  env: NodeJS.ProcessEnv;
  out: (t: string) => void;
  err: (t: string) => void;
}

function pulumi(ctx: Context, args: string[], options: SpawnSyncOptions = {}): number {
  const result = spawnSync("pulumi", args, { cwd: ctx.root, env: ctx.env, stdio: "inherit", ...options });
  if (result.error) throw result.error;
  return result.status ?? 1;
}

function quiet(ctx: Context, command: string, args: string[]): number {
  const result = spawnSync(command, args, { cwd: ctx.root, env: ctx.env, stdio: "ignore" });
  return result.error ? 1 : (result.status ?? 1);
}

/** Makes sure Pulumi can decrypt the stack's secrets without asking; returns where the passphrase comes from. */
function passphrase(ctx: Context, stack: string, create: boolean): string | undefined {
  const source = passphraseSource(ctx.root, stack, ctx.env);
  if (source.from === "you") return `${source.detail} (set by you)`;
  const file = passphraseFile(ctx.root, stack);
  if (source.from === "none") {
    if (!create) return undefined;
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    // 32 random bytes: the passphrase only ever lives in this file, never on a command line.
    fs.writeFileSync(file, randomBytes(32).toString("base64url") + "\n", { mode: 0o600, flag: "wx" });
    ctx.out(
      `Generated a passphrase for stack ${stack} in ${file} (mode 600). Back it up: without it the stack's secrets ` +
        `cannot be decrypted.\n`,
    );
  }
  ctx.env.PULUMI_CONFIG_PASSPHRASE_FILE = file;
  return `${file}`;
}

/** Runs the quick start; returns the exit code. */
export function quickStart(argv: string[], ctx: Context): number {
  let stack = "dev";
  const upArgs = [...argv];
  const at = upArgs.indexOf("--stack");
  if (at >= 0) {
    stack = upArgs[at + 1] ?? "";
    upArgs.splice(at, 2);
  }
  if (!/^[A-Za-z0-9._-]+$/.test(stack)) {
    ctx.err(`--stack needs a stack name such as dev, got ${JSON.stringify(stack)}\n`);
    return 2;
  }
  if (!fs.existsSync(path.join(ctx.root, "Pulumi.yaml"))) {
    ctx.err(`${ctx.root} has no Pulumi.yaml: run npm run up from the project directory.\n`);
    return 1;
  }
  if (!onPath("pulumi", ctx.env)) {
    ctx.err(INSTALL_PULUMI + "\n");
    return 1;
  }
  const stackFile = path.join(ctx.root, `Pulumi.${stack}.yaml`);
  const stackText = fs.existsSync(stackFile) ? fs.readFileSync(stackFile, "utf8") : undefined;
  const host = dockerHost(stackText, ctx.env);
  if (host?.startsWith("ssh://")) {
    if (!onPath("ssh", ctx.env)) {
      ctx.err(`docker:host is ${host}, which needs an ssh client on your PATH (OpenSSH).\n`);
      return 1;
    }
    ctx.out(`Docker host: ${host} (over ssh; the server needs Docker, your ssh key must log in without a prompt)\n`);
  } else if (host === undefined || host.startsWith("unix://") || host.startsWith("npipe://")) {
    if (!onPath("docker", ctx.env)) {
      ctx.err(INSTALL_DOCKER + "\n");
      return 1;
    }
    if (quiet(ctx, "docker", ["info"]) !== 0) {
      ctx.err(DOCKER_DOWN + "\n");
      return 1;
    }
    ctx.out(`Docker host: ${host ?? "the local daemon"}\n`);
  } else {
    ctx.out(`Docker host: ${host}\n`);
  }

  if (quiet(ctx, "pulumi", ["whoami"]) !== 0) {
    const backend = path.join(ctx.root, STATE_DIR);
    fs.mkdirSync(backend, { recursive: true, mode: 0o700 });
    ctx.out(`No Pulumi backend is logged in: using a local file backend in ${backend}\n`);
    const code = pulumi(ctx, ["login", `file://${backend}`]);
    if (code !== 0) return code;
  }

  if (quiet(ctx, "pulumi", ["stack", "select", stack]) === 0) {
    const source = passphrase(ctx, stack, false);
    ctx.out(`Selected stack ${stack}${source ? `; passphrase from ${source}` : ""}\n`);
    if (!source && stackText?.includes("encryptionsalt:")) {
      ctx.out(
        "This stack uses a passphrase: Pulumi will ask for it " +
          "(or set PULUMI_CONFIG_PASSPHRASE / PULUMI_CONFIG_PASSPHRASE_FILE).\n",
      );
    }
  } else {
    const source = passphrase(ctx, stack, true);
    ctx.out(`Creating stack ${stack} with the passphrase secrets provider (passphrase from ${source})\n`);
    const code = pulumi(ctx, ["stack", "init", stack, "--secrets-provider", "passphrase"]);
    if (code !== 0) return code;
  }

  const code = pulumi(ctx, ["up", "--stack", stack, ...upArgs]);
  if (code === 0) {
    ctx.out(
      `\nDone. Check the deployment from the outside (npm run pulumi is pulumi with this stack's passphrase):\n` +
        `  npm run verify -- --url "$(npm run -s pulumi -- stack output apiUrl --stack ${stack})" \\\n` +
        `    --anon-key "$(npm run -s pulumi -- stack output anonKey --show-secrets --stack ${stack})"\n`,
    );
  }
  return code;
}

if (require.main === module) {
  process.exitCode = quickStart(process.argv.slice(2), {
    root: process.cwd(),
    env: { ...process.env },
    out: (t) => process.stdout.write(t),
    err: (t) => process.stderr.write(t),
  });
}
