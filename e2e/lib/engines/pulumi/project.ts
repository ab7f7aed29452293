/**
 * The program as a throwaway Pulumi project: a copy of the deployable files in a temp directory, a local file
 * backend and a passphrase secrets provider there too, and the real `pulumi` CLI driven through its commands.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { run, type RunResult } from "../../core/proc";
import { PROJECT } from "../../../../components/schema/project";

/** The files `pulumi up` needs from the repository (everything else stays out of the copy). */
export const PROGRAM_FILES = ["Pulumi.yaml", "package.json", "tsconfig.json", "index.ts", "components"];

/** One engine event of `--event-log` (only the fields the suite reads). */
interface EngineEvent {
  resourcePreEvent?: { metadata: { op: string; urn: string; type: string } };
  resOutputsEvent?: { metadata: { op: string; urn: string; type: string } };
  summaryEvent?: { resourceChanges: Record<string, number> };
  diagnosticEvent?: { message: string; severity: string };
}

/** What one update did per resource: the steps the engine completed, by operation. */
export interface EngineSteps {
  created: string[];
  replaced: string[];
  deleted: string[];
  updated: string[];
  /** Every operation per URN in the order the engine reported them. */
  ops: Record<string, string[]>;
}

/** Groups engine step operations by URN. Replacements appear as `replace`, `create-replacement`, `delete-replaced`. */
export function stepsOf(ops: Array<{ op: string; urn: string }>): EngineSteps {
  const byUrn: Record<string, string[]> = {};
  for (const { op, urn } of ops) (byUrn[urn] ??= []).push(op);
  const having = (...wanted: string[]) =>
    Object.keys(byUrn)
      .filter((u) => byUrn[u].some((op) => wanted.includes(op)))
      .sort();
  return {
    created: having("create"),
    replaced: having("replace", "create-replacement", "delete-replaced"),
    deleted: having("delete"),
    updated: having("update"),
    ops: byUrn,
  };
}

/** A stack of the program in its own project copy and backend. */
export class PulumiProject {
  readonly dir: string;
  readonly env: NodeJS.ProcessEnv;
  /**
   * The `nice` value every `pulumi` command runs at (0: the suite's own). A stack on the suite's one-node cluster sets
   * it: there the operator's CLI, the Node program and the provider share the node's two cores with the pods they
   * update, as an operator's machine never does with a real cluster (see the Kubernetes lifecycle).
   */
  niceness = 0;

  /**
   * @param workDir an empty temp directory for the project copy, the backend and the Pulumi home
   * @param repoRoot the repository (its node_modules is linked, not copied)
   * @param extraEnv PATH with the toolchain, DOCKER_HOST, ...
   * @param writeProject writes another project into the (empty) project directory instead of copying the program
   */
  constructor(
    workDir: string,
    private readonly repoRoot: string,
    readonly stack: string,
    extraEnv: NodeJS.ProcessEnv,
    writeProject?: (dir: string) => void,
  ) {
    this.dir = path.join(workDir, "project");
    fs.mkdirSync(this.dir, { recursive: true });
    if (writeProject) writeProject(this.dir);
    else copyProgram(repoRoot, this.dir);
    const passphraseFile = path.join(workDir, "passphrase");
    fs.writeFileSync(passphraseFile, `e2e-${process.pid}-${Date.now()}\n`, { mode: 0o600 });
    fs.mkdirSync(path.join(workDir, "state"));
    this.env = {
      ...process.env,
      ...extraEnv,
      PULUMI_HOME: path.join(workDir, "home"),
      PULUMI_BACKEND_URL: `file://${path.join(workDir, "state")}`,
      PULUMI_CONFIG_PASSPHRASE_FILE: passphraseFile,
      PULUMI_SKIP_UPDATE_CHECK: "true",
      PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: extraEnv.PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION ?? "false",
      PULUMI_SKIP_CONFIRMATIONS: "true",
      NO_COLOR: "1",
      // `--event-log` (the engine's own step events, as the Automation API reads them) needs this switch.
      PULUMI_DEBUG_COMMANDS: "true",
    };
    delete this.env.PULUMI_CONFIG_PASSPHRASE;
  }

  /** Runs `pulumi <args>` on this stack's project. */
  pulumi(
    args: string[],
    options: { allowFailure?: boolean; timeoutSeconds?: number; input?: string } = {},
  ): Promise<RunResult> {
    const command = ["pulumi", ...args, "--non-interactive"];
    const [file, ...argv] = this.niceness > 0 ? ["nice", "-n", String(this.niceness), ...command] : command;
    return run(file, argv, {
      cwd: this.dir,
      env: this.env,
      timeoutSeconds: options.timeoutSeconds ?? 900,
      allowFailure: options.allowFailure,
      input: options.input,
    });
  }

  /** `npm run keys -- <args> --stack <stack> --dir <project>`: the project's own keyring editor. */
  keys(args: string[]): Promise<RunResult> {
    return run("npm", ["run", "--silent", "keys", "--", ...args, "--stack", this.stack, "--dir", this.dir], {
      cwd: this.repoRoot,
      env: this.env,
      timeoutSeconds: 120,
    });
  }

  /**
   * `npm run <script> -- <args> --stack <stack> --dir <project>`: one of the project's operator commands on this
   * stack, as a user runs it; fails unless `allowFailure`.
   */
  script(
    script: string,
    args: string[],
    options: { timeoutSeconds?: number; allowFailure?: boolean } = {},
  ): Promise<RunResult> {
    return run("npm", ["run", "--silent", script, "--", ...args, "--stack", this.stack, "--dir", this.dir], {
      cwd: this.repoRoot,
      env: this.env,
      timeoutSeconds: options.timeoutSeconds ?? 600,
      allowFailure: options.allowFailure,
    });
  }

  /** The stack file's path (`Pulumi.<stack>.yaml` in the project copy). */
  get stackFile(): string {
    return path.join(this.dir, `Pulumi.${this.stack}.yaml`);
  }

  /** `pulumi up --yes` with an event log; returns what the engine did and how long it took. */
  async up(label: string): Promise<{ steps: EngineSteps; seconds: number; result: RunResult }> {
    const log = path.join(path.dirname(this.dir), `events-${label.replace(/\W+/g, "-")}.jsonl`);
    const result = await this.pulumi(["up", "--yes", "--skip-preview", "--event-log", log, "--stack", this.stack], {
      timeoutSeconds: 1800,
    });
    return { steps: stepsOf(completedOps(fs.readFileSync(log, "utf8"))), seconds: result.seconds, result };
  }

  /** `pulumi destroy --yes`: removes the stack's resources (the program retains its volumes). */
  destroy(): Promise<RunResult> {
    return this.pulumi(["destroy", "--yes", "--skip-preview", "--stack", this.stack], { timeoutSeconds: 900 });
  }

  /** `pulumi preview --json`: the steps the engine plans, without changing anything. */
  async preview(): Promise<EngineSteps> {
    const result = await this.pulumi(["preview", "--json", "--stack", this.stack]);
    const plan = JSON.parse(result.stdout) as { steps?: Array<{ op: string; urn: string }> };
    fs.writeFileSync(path.join(path.dirname(this.dir), `preview-${Date.now()}.json`), result.stdout);
    return stepsOf(plan.steps ?? []);
  }

  /** `pulumi stack export` (optionally with `--show-secrets`) as text. */
  async exportState(showSecrets: boolean): Promise<string> {
    return (await this.pulumi(["stack", "export", "--stack", this.stack, ...(showSecrets ? ["--show-secrets"] : [])]))
      .stdout;
  }

  /** The stack outputs, secrets decrypted. */
  async outputs(): Promise<Record<string, unknown>> {
    return JSON.parse(
      (await this.pulumi(["stack", "output", "--json", "--show-secrets", "--stack", this.stack])).stdout,
    ) as Record<string, unknown>;
  }

  /**
   * The stack's config of the program's namespace as the program reads it (`pulumi config --json --show-secrets`):
   * short key → value text, objects as JSON text.
   */
  async rawConfig(): Promise<Record<string, string>> {
    const shown = JSON.parse(
      (await this.pulumi(["config", "--json", "--show-secrets", "--stack", this.stack])).stdout,
    ) as Record<string, { value?: string }>;
    const prefix = `${PROJECT}:`;
    return Object.fromEntries(
      Object.entries(shown)
        .filter(([key, entry]) => key.startsWith(prefix) && entry.value !== undefined)
        .map(([key, entry]) => [key.slice(prefix.length), entry.value as string]),
    );
  }

  /** `pulumi config set [--secret] [--path] <key> <value>`. */
  async configSet(key: string, value: string, options: { secret?: boolean; path?: boolean } = {}): Promise<void> {
    await this.pulumi([
      "config",
      "set",
      ...(options.secret ? ["--secret"] : ["--plaintext"]),
      ...(options.path ? ["--path"] : []),
      key,
      value,
      "--stack",
      this.stack,
    ]);
  }
}

/** The program's files copied into `dir`, with the repository's node_modules linked. */
function copyProgram(repoRoot: string, dir: string): void {
  for (const file of PROGRAM_FILES) fs.cpSync(path.join(repoRoot, file), path.join(dir, file), { recursive: true });
  fs.symlinkSync(path.join(repoRoot, "node_modules"), path.join(dir, "node_modules"));
}

/** The operations of the steps an update completed, from its `--event-log` (one JSON event per line). */
export function completedOps(eventLog: string): Array<{ op: string; urn: string }> {
  const ops: Array<{ op: string; urn: string }> = [];
  for (const line of eventLog.split("\n")) {
    if (!line.trim()) continue;
    const event = JSON.parse(line) as EngineEvent;
    const meta = event.resOutputsEvent?.metadata;
    if (meta) ops.push({ op: meta.op, urn: meta.urn });
  }
  return ops;
}
