/**
 * `npm run up` (the quick start) with fake `pulumi` and `docker` executables on PATH that record how they were called:
 * proves the exact command sequence on a fresh machine, on a machine that already has a backend and a stack, and the
 * explanations when a tool is missing or the Docker daemon is down.
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateSigningJwk } from "../../components/keyring/tokens";
import { fakeTool, toolbinIn } from "../support/fakeTools";
import { tsNodeScript } from "../support/npmScript";

const ROOT = path.resolve(__dirname, "..", "..");
let work: string;
/** node (for ts-node's `#!/usr/bin/env node`) and tr (used by the fakes), and nothing else from the system. */
let toolbin: string;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  calls: string[];
  project: string;
}

/** Runs scripts/up.ts as `npm run up` does, in a fresh copy of the project files, with only `tools` faked on PATH. */
function runUp(
  name: string,
  tools: string[],
  env: Record<string, string> = {},
  args: string[] = [],
  stackFile?: string,
): Promise<Run> {
  const project = path.join(work, name);
  const bin = path.join(project, "fakebin");
  fs.mkdirSync(bin, { recursive: true });
  fs.copyFileSync(path.join(ROOT, "Pulumi.yaml"), path.join(project, "Pulumi.yaml"));
  fs.writeFileSync(
    path.join(project, "Pulumi.dev.yaml"),
    stackFile ?? fs.readFileSync(path.join(ROOT, "Pulumi.dev.yaml"), "utf8"),
  );
  for (const tool of tools) fakeTool(bin, tool);
  return runScript("up", project, env, args);
}

/** Runs an npm script (a ts-node one) in `project`, whose fakebin/ holds the fake tools, with a fresh call log. */
function runScript(
  script: string,
  project: string,
  env: Record<string, string> = {},
  args: string[] = [],
): Promise<Run> {
  const bin = path.join(project, "fakebin");
  const log = path.join(project, "calls.log");
  fs.writeFileSync(log, "");
  return new Promise((resolve) => {
    const up = tsNodeScript(script);
    // The script's path from the repository, as npm runs it there; this run's working directory is the project.
    const child = spawn(up.command, [...up.args.map((a) => (a.endsWith(".ts") ? path.join(ROOT, a) : a)), ...args], {
      cwd: project,
      // Only the fakes plus node and tr on PATH: a real pulumi, docker or ssh on this machine (GitHub's runners
      // have docker in /usr/bin) cannot leak in, and neither can the user's credentials.
      env: {
        PATH: [bin, toolbin].join(path.delimiter),
        HOME: project,
        FAKE_LOG: log,
        TS_NODE_PROJECT: path.join(ROOT, "tsconfig.json"),
        ...env,
      },
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("close", (code) => {
      const calls = fs.readFileSync(log, "utf8").split("\n").filter(Boolean);
      resolve({ code, stdout, stderr, calls, project });
    });
  });
}

let fresh: Run;
let existing: Run;
let noPulumi: Run;
let noDocker: Run;
let dockerDown: Run;
let remote: Run;

beforeAll(async () => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), "up-"));
  toolbin = toolbinIn(work);
  // The scenarios are independent: run them side by side to keep this file fast.
  [fresh, existing, noPulumi, noDocker, dockerDown, remote] = await Promise.all([
    runUp("fresh", ["pulumi", "docker"], { FAKE_PULUMI_WHOAMI: "1", FAKE_PULUMI_STACK_SELECT: "1" }, ["--yes"]),
    runUp("existing", ["pulumi", "docker"], { PULUMI_CONFIG_PASSPHRASE: "mine" }),
    runUp("no-pulumi", ["docker"]),
    runUp("no-docker", ["pulumi"]),
    runUp("docker-down", ["pulumi", "docker"], { FAKE_DOCKER_INFO: "1" }),
    runUp(
      "remote",
      ["pulumi", "ssh"],
      {},
      ["--stack", "dev"],
      fs.readFileSync(path.join(ROOT, "Pulumi.dev.yaml"), "utf8") + "  docker:host: ssh://deploy@server.example\n",
    ),
  ]);
}, 60_000);

afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

describe("npm run up", () => {
  it(
    "on a fresh machine: logs in to a local file backend, creates dev with a generated passphrase, " + "runs pulumi up",
    () => {
      expect(fresh.stderr).toBe("");
      expect(fresh.code).toBe(0);
      const backend = path.join(fresh.project, ".pulumi-state");
      const passphraseFile = path.join(backend, "dev.passphrase");
      expect(fresh.calls).toEqual([
        "docker info | passphrase_file=",
        "pulumi whoami | passphrase_file=",
        `pulumi login file://${backend} | passphrase_file=`,
        "pulumi stack select dev | passphrase_file=",
        `pulumi stack init dev --secrets-provider passphrase | passphrase_file=${passphraseFile}`,
        `pulumi up --stack dev --yes | passphrase_file=${passphraseFile}`,
      ]);
      // The passphrase is random, readable only by the user, and never on a command line.
      const passphrase = fs.readFileSync(passphraseFile, "utf8").trim();
      expect(passphrase).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(fs.statSync(passphraseFile).mode & 0o777).toBe(0o600);
      expect(fresh.calls.join("\n")).not.toContain(passphrase);
      expect(fresh.stdout).toContain("Back it up");
      expect(fresh.stdout).toContain("npm run verify -- --url");
    },
  );

  it("with a backend, a stack and your own passphrase: only selects and runs up", () => {
    expect(existing.code).toBe(0);
    expect(existing.calls).toEqual([
      "docker info | passphrase_file=",
      "pulumi whoami | passphrase_file=",
      "pulumi stack select dev | passphrase_file=",
      "pulumi up --stack dev | passphrase_file=",
    ]);
    expect(fs.existsSync(path.join(existing.project, ".pulumi-state"))).toBe(false);
    expect(existing.stdout).toContain("passphrase from PULUMI_CONFIG_PASSPHRASE (set by you)");
  });

  it("explains how to install Pulumi when it is missing, and runs nothing", () => {
    expect(noPulumi.code).toBe(1);
    expect(noPulumi.stderr).toMatch(
      /The Pulumi CLI is not on your PATH[\s\S]*curl -fsSL https:\/\/get\.pulumi\.com \| sh/,
    );
    expect(noPulumi.calls).toEqual([]);
  });

  it("explains how to install Docker, or how to start it, before touching Pulumi state", () => {
    expect(noDocker.code).toBe(1);
    expect(noDocker.stderr).toMatch(
      /Docker is not on your PATH[\s\S]*docs\.docker\.com[\s\S]*docker:host ssh:\/\/user@host/,
    );
    expect(noDocker.calls).toEqual([]);
    expect(dockerDown.code).toBe(1);
    expect(dockerDown.stderr).toMatch(/the daemon does not answer \(docker info failed\)/);
    expect(dockerDown.calls).toEqual(["docker info | passphrase_file="]);
  });

  it("with docker:host over ssh needs no local Docker, only ssh", () => {
    expect(remote.code).toBe(0);
    expect(remote.stdout).toContain("Docker host: ssh://deploy@server.example (over ssh");
    expect(remote.calls.map((c) => c.split(" |")[0])).toEqual([
      "pulumi whoami",
      "pulumi stack select dev",
      "pulumi up --stack dev",
    ]);
  });
});

describe("npm run pulumi, in a fresh shell after npm run up", () => {
  it("hands pulumi the stack's generated passphrase file, for the stack named or the one selected", async () => {
    const file = path.join(fresh.project, ".pulumi-state", "dev.passphrase");
    const named = await runScript("pulumi", fresh.project, {}, [
      "stack",
      "output",
      "anonKey",
      "--show-secrets",
      "--stack",
      "dev",
    ]);
    expect(named.code).toBe(0);
    expect(named.calls).toEqual([`pulumi stack output anonKey --show-secrets --stack dev | passphrase_file=${file}`]);
    const selected = await runScript("pulumi", fresh.project, { FAKE_PULUMI_STACK___SHOW_NAME_OUT: "dev" }, [
      "preview",
    ]);
    expect(selected.calls).toEqual([
      "pulumi stack --show-name | passphrase_file=",
      `pulumi preview | passphrase_file=${file}`,
    ]);
    // A passphrase you set yourself wins.
    const yours = await runScript("pulumi", fresh.project, { PULUMI_CONFIG_PASSPHRASE_FILE: "/mine" }, [
      "up",
      "-s",
      "dev",
    ]);
    expect(yours.calls).toEqual(["pulumi up -s dev | passphrase_file=/mine"]);
  });
});

describe("npm run keys -- import, in a fresh shell after npm run up", () => {
  it("hands the pulumi that encrypts the key the stack's generated passphrase file", async () => {
    const file = path.join(fresh.project, ".pulumi-state", "dev.passphrase");
    const jwk = await generateSigningJwk("ES256", "imported");
    fs.writeFileSync(path.join(fresh.project, "key.json"), JSON.stringify(jwk));
    const imported = await runScript("keys", fresh.project, {}, [
      "import",
      "k2",
      "--file",
      "key.json",
      "--stack",
      "dev",
    ]);
    expect(imported.stderr).toBe("");
    expect(imported.code).toBe(0);
    expect(imported.calls).toEqual([
      `pulumi config set --secret --path signingKeys[1].privateJwk --stack dev | passphrase_file=${file}`,
    ]);
    expect(imported.stdout).toContain("npm run pulumi -- preview --stack dev");
  });
});
