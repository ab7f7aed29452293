/**
 * The GitHub Actions workflows: validated with GitHub's own workflow parser (schema errors fail the test) and read with
 * `yaml` to check what a maintainer relies on: triggers, npm ci + npm test before any Pulumi step, a preview per
 * environment stack commented on the PR with the policy pack, `pulumi up` per stack with prod behind an approval
 * environment, and exactly which secrets are used.
 */
import * as fs from "node:fs";
import { register } from "node:module";
import * as path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import * as YAML from "yaml";

const ROOT = path.resolve(__dirname, "..");
const WORKFLOWS = path.join(ROOT, ".github", "workflows");

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

describe("GitHub's workflow parser", () => {
  it.each(["preview.yml", "deploy.yml"])("accepts %s without errors", async (file) => {
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
    expect(preview.jobs.map((j) => [j.id.value, j.needs?.map((n) => n.value) ?? []])).toEqual([
      ["test", []],
      ["preview", ["test"]],
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
    expect(wf().permissions).toEqual({ contents: "read", "pull-requests": "write" });
  });

  it("skips pull requests from forks, which get no secrets", () => {
    expect(wf().jobs.preview.if).toBe("github.event.pull_request.head.repo.full_name == github.repository");
  });

  it("fails with a clear message when a stack file or a secret is missing", () => {
    const check = wf().jobs.preview.steps.find((s) => s.name === "Check the stack file and secrets");
    expect(check?.run).toContain('[ ! -f "Pulumi.${{ matrix.stack }}.yaml" ]');
    expect(check?.run).toContain("::error::set the repository secrets PULUMI_BACKEND_URL and PULUMI_CONFIG_PASSPHRASE");
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

describe("both workflows", () => {
  it.each(["preview.yml", "deploy.yml"])("%s uses only the documented secrets", (file) => {
    expect(secretsIn(file)).toEqual(EXPECTED_SECRETS);
  });

  it.each(["preview.yml", "deploy.yml"])("%s passes pulumi/actions only inputs its action.yml declares", (file) => {
    const wf = read(file);
    for (const job of Object.values(wf.jobs)) {
      for (const step of pulumiSteps(job)) {
        for (const input of Object.keys(step.with ?? {})) expect(PULUMI_ACTION_INPUTS).toContain(input);
      }
    }
  });

  it.each(["preview.yml", "deploy.yml"])(
    "%s hands the ssh key to ssh only through a file readable by the runner user",
    (file) => {
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
    },
  );

  it("the setup section (docs/deploying.md, linked from the README) names every secret the workflows use", () => {
    const setup = fs.readFileSync(path.join(ROOT, "docs", "deploying.md"), "utf8");
    for (const secret of EXPECTED_SECRETS) expect(setup).toContain(secret);
    expect(fs.readFileSync(path.join(ROOT, "README.md"), "utf8")).toContain("(docs/deploying.md)");
  });
});
