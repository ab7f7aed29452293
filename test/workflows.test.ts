/**
 * The GitHub Actions workflows: validated with GitHub's own workflow parser (schema errors fail the test) and read with
 * `yaml` to check what a maintainer relies on: triggers, npm ci + npm test before any Pulumi step, a preview per
 * environment stack commented on the PR with the policy pack, `pulumi up` per stack with prod behind an approval
 * environment, exactly which secrets are used, and that only jobs naming a GitHub environment can read them, prod's
 * only through an environment that docs/deploying.md sets up with required reviewers.
 */
import * as fs from "node:fs";
import { register } from "node:module";
import * as path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import * as YAML from "yaml";

const ROOT = path.resolve(__dirname, "..");
const WORKFLOWS = path.join(ROOT, ".github", "workflows");
const DEPLOYING = path.join(ROOT, "docs", "deploying.md");
const WORKFLOW_FILES = ["preview.yml", "deploy.yml"];

/**
 * Inputs of pulumi/actions as declared in its action.yml (pulumi/actions @ deb0aa33, the v7 line). A `with:` key not
 * in this list would be ignored by the action with only a warning, so the test refuses it.
 */
const PULUMI_ACTION_INPUTS = [
  "command",
  "stack-name",
  "pulumi-version",
  "pulumi-version-file",
  "work-dir",
  "comment-on-pr",
  "comment-on-pr-number",
  "comment-on-summary",
  "github-token",
  "cloud-url",
  "secrets-provider",
  "parallel",
  "message",
  "config-map",
  "expect-no-changes",
  "diff",
  "replace",
  "exclude",
  "exclude-dependents",
  "target",
  "target-dependents",
  "policyPacks",
  "policyPackConfigs",
  "refresh",
  "upsert",
  "remove",
  "edit-pr-comment",
  "color",
  "exclude-protected",
  "plan",
  "suppress-outputs",
  "suppress-progress",
  "always-include-summary",
  "continue-on-error",
  "log-verbosity",
  "log-flow",
  "debug",
];

/** The secrets a maintainer has to create, and nothing else. */
const EXPECTED_SECRETS = [
  "DOCKER_HOST_KNOWN_HOSTS",
  "DOCKER_HOST_SSH_KEY",
  "PULUMI_BACKEND_URL",
  "PULUMI_CONFIG_PASSPHRASE",
];

/**
 * @actions/workflow-parser imports its JSON schema without an import attribute, which Node 20 refuses outside a
 * bundler; this loader hook serves those JSON files as modules so the parser runs unchanged.
 */
const JSON_HOOK = `export async function load(url, context, nextLoad) {
  if (url.endsWith(".json") && url.includes("/@actions/workflow-parser/")) {
    const { readFileSync } = await import("node:fs");
    const { fileURLToPath } = await import("node:url");
    return { format: "module", source: "export default " + readFileSync(fileURLToPath(url), "utf8") + ";", shortCircuit: true };
  }
  return nextLoad(url, context);
}`;

interface Step {
  name?: string;
  uses?: string;
  run?: string;
  if?: string;
  with?: Record<string, unknown>;
  env?: Record<string, string>;
}
interface Job {
  needs?: string | string[];
  if?: string;
  environment?: string | { name: string };
  permissions?: Record<string, string>;
  env?: Record<string, string>;
  strategy?: { matrix?: { stack?: string[] } };
  steps: Step[];
}
interface Workflow {
  on: Record<string, { branches?: string[] }>;
  permissions?: Record<string, string>;
  jobs: Record<string, Job>;
}

type Parser = typeof import("@actions/workflow-parser");
let parser: Parser;

beforeAll(async () => {
  register("data:text/javascript," + encodeURIComponent(JSON_HOOK));
  parser = await import("@actions/workflow-parser");
});

const text = (file: string) => fs.readFileSync(path.join(WORKFLOWS, file), "utf8");
const read = (file: string) => YAML.parse(text(file)) as Workflow;

/** Validates against GitHub's workflow schema and converts it the way the Actions service does. */
async function parse(file: string) {
  const result = parser.parseWorkflow({ name: file, content: text(file) }, new parser.NoOperationTraceWriter());
  const errors = result.context.errors.getErrors().map((e) => e.message);
  const template = result.value ? await parser.convertWorkflowTemplate(result.context, result.value) : undefined;
  return { errors: [...errors, ...(template?.errors ?? []).map((e) => e.Message)], template };
}

const pulumiSteps = (job: Job) => job.steps.filter((s) => s.uses?.startsWith("pulumi/actions@"));
const stepIndex = (job: Job, predicate: (s: Step) => boolean) => job.steps.findIndex(predicate);
const secretsIn = (file: string) =>
  [...new Set([...text(file).matchAll(/secrets\.([A-Z0-9_]+)/g)].map((m) => m[1]))].sort();
/** `secrets.NAME`, `secrets['NAME']` or the whole context (`toJSON(secrets)`), anywhere in the value. */
const refersToASecret = (value: unknown) => /\bsecrets\s*[.[]|\(\s*secrets\s*\)/.test(JSON.stringify(value ?? null));
const environmentOf = (job: Job) => (typeof job.environment === "object" ? job.environment.name : job.environment);

/**
 * Every Pulumi run a workflow can make: one per job, or per matrix leg, with the stack it runs on and the GitHub
 * environment it names (whose secrets it gets). Only `${{ matrix.stack }}` is expanded; any other expression in the
 * stack or environment is refused, so that the checks below never judge a name they could not work out.
 */
function pulumiRuns(file: string) {
  const runs: { job: string; stack: string; environment: string | undefined }[] = [];
  for (const [id, job] of Object.entries(read(file).jobs)) {
    for (const step of pulumiSteps(job)) {
      for (const leg of job.strategy?.matrix?.stack ?? [undefined]) {
        const expand = (value: string | undefined) => {
          const expanded = leg === undefined ? value : value?.replaceAll("${{ matrix.stack }}", leg);
          if (expanded?.includes("${{")) throw new Error(`${file} job ${id}: cannot work out ${value}`);
          return expanded;
        };
        runs.push({
          job: id,
          stack: expand(String(step.with?.["stack-name"]))!,
          environment: expand(environmentOf(job)),
        });
      }
    }
  }
  return runs;
}

/** The table of GitHub environments in docs/deploying.md's setup: environment name → its row, by column heading. */
function documentedEnvironments() {
  const lines = fs
    .readFileSync(DEPLOYING, "utf8")
    .split("\n")
    .map((line) => line.trim());
  const cells = (line: string) =>
    line
      .slice(1, -1)
      .split("|")
      .map((cell) => cell.trim());
  const header = lines.findIndex((line) => line.startsWith("| environment | used by | required reviewers |"));
  if (header < 0) throw new Error("docs/deploying.md has no table of environments");
  const columns = cells(lines[header]);
  const rows = new Map<string, Record<string, string>>();
  for (const line of lines.slice(header + 2)) {
    if (!line.startsWith("|")) break;
    const row = Object.fromEntries(cells(line).map((cell, i) => [columns[i], cell]));
    rows.set(row.environment.replaceAll("`", ""), row);
  }
  return rows;
}
const requiresReviewers = (row: Record<string, string> | undefined) => /^yes\b/.test(row?.["required reviewers"] ?? "");

describe("GitHub's workflow parser", () => {
  it.each(WORKFLOW_FILES)("accepts %s without errors", async (file) => {
    const { errors, template } = await parse(file);
    expect(errors).toEqual([]);
    expect(template?.jobs.length).toBeGreaterThan(0);
  });

  it("would catch a broken workflow (the check is real)", async () => {
    const result = parser.parseWorkflow(
      { name: "broken.yml", content: "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    stepz: []\n" },
      new parser.NoOperationTraceWriter(),
    );
    expect(
      result.context.errors
        .getErrors()
        .map((e) => e.message)
        .join("\n"),
    ).toMatch(/Unexpected value 'stepz'/);
  });

  it("sees the triggers and job order the files intend", async () => {
    const preview = (await parse("preview.yml")).template!;
    expect(preview.events.pull_request?.branches).toEqual(["main"]);
    expect(
      preview.jobs.map((j) => [
        j.id.value,
        j.needs?.map((n) => n.value) ?? [],
        j.type === "job" ? String(j.environment ?? "") : "",
      ]),
    ).toEqual([
      ["test", [], ""],
      ["preview", ["test"], "${{ format('preview-{0}', matrix.stack) }}"],
    ]);
    const deploy = (await parse("deploy.yml")).template!;
    expect(Object.keys(deploy.events)).toEqual(["push"]);
    expect(deploy.events.push?.branches).toEqual(["main"]);
    expect(
      deploy.jobs.map((j) => [
        j.id.value,
        j.needs?.map((n) => n.value) ?? [],
        j.type === "job" ? String(j.environment ?? "") : "",
      ]),
    ).toEqual([
      ["test", [], ""],
      ["staging", ["test"], "staging"],
      ["prod", ["staging"], "prod"],
    ]);
  });
});

describe("preview.yml", () => {
  const wf = () => read("preview.yml");

  it("runs npm ci, then npm test and the type and format checks, on every pull request to main", () => {
    expect(Object.keys(wf().on)).toEqual(["pull_request"]);
    const runs = wf().jobs.test.steps.map((s) => s.run);
    expect(runs.indexOf("npm ci")).toBeGreaterThanOrEqual(0);
    expect(runs.indexOf("npm test")).toBeGreaterThan(runs.indexOf("npm ci"));
    expect(runs.indexOf("npm run lint")).toBeGreaterThan(runs.indexOf("npm ci"));
  });

  it("previews every environment stack with pulumi/actions, commenting on the PR and enforcing the policy pack", () => {
    const job = wf().jobs.preview;
    expect(job.needs).toBe("test");
    expect(job.strategy?.matrix?.stack).toEqual(["staging", "prod"]);
    const [step] = pulumiSteps(job);
    expect(pulumiSteps(job)).toHaveLength(1);
    expect(step.uses).toBe("pulumi/actions@v7");
    expect(step.with).toEqual({
      command: "preview",
      "stack-name": "${{ matrix.stack }}",
      "cloud-url": "${{ secrets.PULUMI_BACKEND_URL }}",
      "comment-on-pr": true,
      policyPacks: "policy",
    });
    // pulumi/actions does not install the program's dependencies: npm ci must come first.
    expect(stepIndex(job, (s) => s.run === "npm ci")).toBeLessThan(stepIndex(job, (s) => s === step));
    expect(job.env?.PULUMI_CONFIG_PASSPHRASE).toBe("${{ secrets.PULUMI_CONFIG_PASSPHRASE }}");
    // One environment per stack: preview-staging, preview-prod.
    expect(job.environment).toBe("preview-${{ matrix.stack }}");
  });

  it("lets only the preview job write pull-request comments; the test job's token can only read", () => {
    expect(wf().permissions).toEqual({ contents: "read" });
    expect(wf().jobs.test.permissions).toBeUndefined();
    expect(wf().jobs.preview.permissions).toEqual({ contents: "read", "pull-requests": "write" });
  });

  it("skips pull requests from forks, which get no secrets", () => {
    expect(wf().jobs.preview.if).toBe("github.event.pull_request.head.repo.full_name == github.repository");
  });

  it("fails with a clear message when a stack file or a secret is missing", () => {
    const check = wf().jobs.preview.steps.find((s) => s.name === "Check the stack file and secrets");
    expect(check?.env).toEqual({ STACK: "${{ matrix.stack }}" });
    expect(check?.run).toContain('[ ! -f "Pulumi.$STACK.yaml" ]');
    expect(check?.run).toContain(
      "::error::set the secrets PULUMI_BACKEND_URL and PULUMI_CONFIG_PASSPHRASE in environment preview-$STACK",
    );
  });
});

describe("deploy.yml", () => {
  const wf = () => read("deploy.yml");

  it("tests, then runs pulumi up on staging, then on prod behind the prod environment's approval", () => {
    expect(Object.keys(wf().on)).toEqual(["push"]);
    expect(wf().on.push.branches).toEqual(["main"]);
    const runs = wf().jobs.test.steps.map((s) => s.run);
    expect(runs.indexOf("npm test")).toBeGreaterThan(runs.indexOf("npm ci"));
    expect(runs.indexOf("npm run lint")).toBeGreaterThan(runs.indexOf("npm ci"));
    for (const [stack, needs] of [
      ["staging", "test"],
      ["prod", "staging"],
    ] as const) {
      const job = wf().jobs[stack];
      expect(job.needs).toBe(needs);
      expect(job.environment).toBe(stack);
      const steps = pulumiSteps(job);
      expect(steps).toHaveLength(1);
      expect(steps[0].with).toMatchObject({
        command: "up",
        "stack-name": stack,
        "cloud-url": "${{ secrets.PULUMI_BACKEND_URL }}",
        policyPacks: "policy",
      });
      expect(stepIndex(job, (s) => s.run === "npm ci")).toBeLessThan(stepIndex(job, (s) => s === steps[0]));
      expect(job.env?.PULUMI_CONFIG_PASSPHRASE).toBe("${{ secrets.PULUMI_CONFIG_PASSPHRASE }}");
    }
  });

  it("never runs two updates of one stack at once", () => {
    const raw = YAML.parse(text("deploy.yml")).jobs;
    expect(raw.staging.concurrency).toEqual({ group: "pulumi-staging", "cancel-in-progress": false });
    expect(raw.prod.concurrency).toEqual({ group: "pulumi-prod", "cancel-in-progress": false });
  });
});

describe("secrets and GitHub environments", () => {
  it.each(WORKFLOW_FILES)("%s: no job refers to a secret unless it names an environment", (file) => {
    const workflow = YAML.parse(text(file)) as Record<string, unknown> & { jobs: Record<string, Job> };
    // A workflow-level env (or anything outside the jobs) would hand a secret to every job.
    expect(refersToASecret({ ...workflow, jobs: undefined })).toBe(false);
    for (const [id, job] of Object.entries(workflow.jobs)) {
      if (refersToASecret(job)) expect(environmentOf(job), `job ${id} refers to a secret`).toBeDefined();
    }
  });

  it.each(WORKFLOW_FILES)("%s runs Pulumi on a stack only in that stack's own environment", (file) => {
    const prefix = file === "preview.yml" ? "preview-" : "";
    const runs = pulumiRuns(file);
    expect(runs.length).toBeGreaterThan(0);
    for (const run of runs) {
      expect(run.environment, `${file} job ${run.job} on ${run.stack}`).toBe(prefix + run.stack);
      // ... whose secrets the docs say are that stack's.
      expect(documentedEnvironments().get(run.environment!)?.secrets).toBe(`${run.stack}'s`);
    }
  });

  it.each(WORKFLOW_FILES)("%s reaches prod only through an environment the docs give required reviewers", (file) => {
    const environments = documentedEnvironments();
    for (const run of pulumiRuns(file).filter((r) => r.stack === "prod")) {
      expect(requiresReviewers(environments.get(run.environment!)), `${file} job ${run.job}: ${run.environment}`).toBe(
        true,
      );
    }
  });

  it("the docs' table of environments has every environment the workflows name, the deploys' from main only", () => {
    const environments = documentedEnvironments();
    const named = WORKFLOW_FILES.flatMap((file) => pulumiRuns(file).map((run) => run.environment));
    for (const environment of named) expect([...environments.keys()]).toContain(environment);
    for (const deploy of pulumiRuns("deploy.yml")) {
      expect(environments.get(deploy.environment!)?.["deployment branches and tags"]).toBe(
        "Selected branches and tags: `main`",
      );
    }
  });

  it.each(WORKFLOW_FILES)("%s: no checkout leaves the token in .git/config for the code run after it", (file) => {
    for (const job of Object.values(read(file).jobs)) {
      const checkouts = job.steps.filter((s) => s.uses?.startsWith("actions/checkout@"));
      expect(checkouts).toHaveLength(1);
      for (const checkout of checkouts) expect(checkout.with?.["persist-credentials"]).toBe(false);
    }
  });
});

describe("both workflows", () => {
  it.each(WORKFLOW_FILES)("%s uses only the documented secrets", (file) => {
    expect(secretsIn(file)).toEqual(EXPECTED_SECRETS);
  });

  it.each(WORKFLOW_FILES)("%s passes pulumi/actions only inputs its action.yml declares", (file) => {
    const wf = read(file);
    for (const job of Object.values(wf.jobs)) {
      for (const step of pulumiSteps(job)) {
        for (const input of Object.keys(step.with ?? {})) expect(PULUMI_ACTION_INPUTS).toContain(input);
      }
    }
  });

  it.each(WORKFLOW_FILES)("%s hands the ssh key to ssh only through a file readable by the runner user", (file) => {
    for (const job of Object.values(read(file).jobs)) {
      const ssh = job.steps.find((s) => s.env?.DOCKER_HOST_SSH_KEY !== undefined);
      if (pulumiSteps(job).length === 0) {
        expect(ssh).toBeUndefined();
        continue;
      }
      // Every job that talks to the Docker host can reach one over ssh, before the Pulumi step.
      expect(ssh).toBeDefined();
      if (!ssh) continue;
      expect(job.steps.indexOf(ssh)).toBeLessThan(job.steps.indexOf(pulumiSteps(job)[0]));
      expect(ssh.if).toBe("env.HAS_SSH_KEY == 'true'");
      expect(ssh.run).toContain("(umask 077 && printf '%s\\n' \"$DOCKER_HOST_SSH_KEY\" > ~/.ssh/docker_host_key)");
      // The key is scoped to that one step, not the job.
      expect(job.env?.DOCKER_HOST_SSH_KEY).toBeUndefined();
    }
  });

  it("the setup section (docs/deploying.md, linked from the README) names every secret the workflows use", () => {
    const setup = fs.readFileSync(DEPLOYING, "utf8");
    for (const secret of EXPECTED_SECRETS) expect(setup).toContain(secret);
    expect(fs.readFileSync(path.join(ROOT, "README.md"), "utf8")).toContain("(docs/deploying.md)");
  });
});
