/**
 * What `npm run backup` and `npm run restore` need to know about a deployed stack: its settings as the program reads
 * them (from `pulumi config`, with the stack's passphrase), the Docker host, and the Docker names of its db, backup
 * service and volumes. Also the Docker and Pulumi commands they run, each bounded in time.
 */
import { spawn, spawnSync } from "node:child_process";
import { parseConfig } from "../../../components/config/parse";
import { PROJECT } from "../../../components/schema/project";
import { runningServices } from "../../../components/services/index";
import { dockerName } from "../../../components/targets/docker/naming";
import { currentStack, withPassphrase } from "../passphrase";

/** One deployed stack, as the backup commands see it. */
export interface StackFacts {
  /** The project directory (Pulumi.yaml). */
  dir: string;
  stack: string;
  settings: ReturnType<typeof parseConfig>;
  /** Environment for `docker` (DOCKER_HOST from `docker:host`, else yours) and `pulumi` (the passphrase). */
  env: NodeJS.ProcessEnv;
  names: {
    db: string;
    backup: string;
    /** The off-site copy's container (with `backup.s3`). */
    backupS3: string;
    backups: string;
    network: string;
    dbConfig: string;
    /** The volume db's data lives in now. */
    dataVolume: string;
    /** The stack's containers in start order. */
    containers: string[];
  };
  /** The image db and the backup service run. */
  image: string;
}

/** Reads the stack's config (`pulumi config --json --show-secrets`) and derives the facts. */
export function readStack(dir: string, stackArg: string | undefined, env: NodeJS.ProcessEnv): StackFacts {
  const stack = stackArg ?? currentStack(dir, env);
  if (!stack) throw new Error("no stack selected: pass --stack <name>");
  const pulumiEnv = withPassphrase(dir, stack, env);
  const shown = spawnSync("pulumi", ["config", "--json", "--show-secrets", "--stack", stack], {
    cwd: dir,
    env: pulumiEnv,
    encoding: "utf8",
    timeout: 120_000,
  });
  if (shown.status !== 0) throw new Error(`pulumi config --stack ${stack} failed: ${shown.stderr || shown.error}`);
  const entries = JSON.parse(shown.stdout) as Record<string, { value?: string }>;
  const raw: Record<string, string> = {};
  for (const [key, entry] of Object.entries(entries)) {
    if (key.startsWith(`${PROJECT}:`) && entry.value !== undefined) raw[key.slice(PROJECT.length + 1)] = entry.value;
  }
  const settings = parseConfig(raw);
  const host = entries["docker:host"]?.value ?? env.DOCKER_HOST;
  const name = (role: string) => dockerName(settings.instanceName, role);
  return {
    dir,
    stack,
    settings,
    env: { ...pulumiEnv, ...(host ? { DOCKER_HOST: host } : {}) },
    names: {
      db: name("db"),
      backup: name("backup"),
      backupS3: name("backup-s3"),
      backups: name("backups"),
      network: name("network"),
      dbConfig: name("db-config"),
      dataVolume: settings.database.dataVolume ?? name("db-data"),
      containers: runningServices(settings).map((s) => name(s.role)),
    },
    image: settings.images.db,
  };
}

/** What a command printed. */
export interface Ran {
  status: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs a command to completion within `timeoutSeconds` (killed after), with `input` on its standard input; throws
 * with its output unless `allowFailure`. With `show`, its output goes to the terminal as it comes.
 */
export function execute(
  file: string,
  args: readonly string[],
  options: {
    env: NodeJS.ProcessEnv;
    cwd?: string;
    input?: string;
    timeoutSeconds?: number;
    allowFailure?: boolean;
    show?: boolean;
  },
): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { env: options.env, cwd: options.cwd, stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout
      .setEncoding("utf8")
      .on("data", (d: string) => ((stdout += d), options.show && process.stdout.write(d)));
    child.stderr
      .setEncoding("utf8")
      .on("data", (d: string) => ((stderr += d), options.show && process.stderr.write(d)));
    const timer = setTimeout(() => child.kill("SIGKILL"), (options.timeoutSeconds ?? 300) * 1000);
    child.on("error", (error) => {
      clearTimeout(timer);
      reject(new Error(`cannot run ${file}: ${error.message}`));
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      const ran = { status: code ?? 1, stdout, stderr };
      if (ran.status !== 0 && !options.allowFailure) {
        const tail = (stderr.trim() || stdout.trim()).split("\n").slice(-15).join("\n");
        reject(new Error(`${file} ${args.slice(0, 3).join(" ")} … failed (exit ${ran.status}):\n${tail}`));
      } else resolve(ran);
    });
    child.stdin.on("error", () => {});
    child.stdin.end(options.input ?? "");
  });
}

/** `docker <args>` against the stack's Docker host. */
export function docker(
  facts: Pick<StackFacts, "env">,
  args: readonly string[],
  options: { input?: string; timeoutSeconds?: number; allowFailure?: boolean; show?: boolean } = {},
): Promise<Ran> {
  return execute("docker", args, { env: facts.env, ...options });
}

/** `pulumi <args> --stack <stack>` in the project, with the stack's passphrase. */
export function pulumi(facts: StackFacts, args: readonly string[], timeoutSeconds = 1800): Promise<Ran> {
  return execute("pulumi", [...args, "--stack", facts.stack], {
    env: facts.env,
    cwd: facts.dir,
    timeoutSeconds,
    show: true,
  });
}
