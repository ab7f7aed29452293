/**
 * The toolchain build: the Pulumi CLI, its Node and YAML language hosts and the docker and random provider plugins,
 * each from its Go wrapper module in e2e/toolchain/ (the modules say what each build takes).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { run } from "../core/proc";
import { goEnv } from "./goBuild";
import { TOOLCHAIN_SRC, readText, requiredVersion, sdkVersions } from "./goModules";

/**
 * Builds one bridged provider: its tfgen binary, the schema with the version set (kept as `<name>-schema.json`
 * for the suite's schema check), then the provider itself into `plugins`.
 */
async function buildProvider(
  name: string,
  version: string,
  work: string,
  plugins: string,
  env: NodeJS.ProcessEnv,
  log: (t: string) => void,
) {
  const src = path.join(work, name);
  fs.cpSync(path.join(TOOLCHAIN_SRC, name), src, { recursive: true });
  const tfgen = path.join(work, `pulumi-tfgen-${name}`);
  log(`${name}: building pulumi-tfgen-${name} (the schema generator)`);
  await run("go", ["build", "-o", tfgen, `./cmd/pulumi-tfgen-${name}`], {
    cwd: src,
    env,
    timeoutSeconds: 3600,
    stream: `    [go ${name}] `,
  });
  const schemaDir = path.join(work, `${name}-schema`);
  await run(tfgen, ["schema", "--out", schemaDir], {
    cwd: src,
    env: { ...env, PROVIDER_VERSION: version },
    timeoutSeconds: 300,
  });
  const schema = JSON.parse(readText(schemaDir, "schema.json")) as Record<string, unknown>;
  schema.version = version;
  fs.writeFileSync(path.join(src, "cmd", `pulumi-resource-${name}`, "schema-embed.json"), JSON.stringify(schema));
  fs.writeFileSync(path.join(plugins, `${name}-schema.json`), JSON.stringify(schema, null, 1));
  log(`${name}: building pulumi-resource-${name} ${version}`);
  await run(
    "go",
    [
      "build",
      "-ldflags",
      `-X main.version=${version}`,
      "-o",
      path.join(plugins, `pulumi-resource-${name}`),
      `./cmd/pulumi-resource-${name}`,
    ],
    {
      cwd: src,
      env,
      timeoutSeconds: 3600,
      stream: `    [go ${name}] `,
    },
  );
}

/**
 * Builds the CLI and the language host into `dir`/bin and both providers into `dir`/plugins (a fresh directory).
 * The providers stay off PATH: the CLI would take them as ambient plugins instead of the registered ones.
 */
export async function buildInto(projectRoot: string, dir: string, log: (t: string) => void): Promise<void> {
  const bin = path.join(dir, "bin");
  const plugins = path.join(dir, "plugins");
  const work = path.join(dir, "work");
  fs.mkdirSync(bin, { recursive: true });
  fs.mkdirSync(plugins, { recursive: true });
  fs.mkdirSync(work, { recursive: true });
  const env = goEnv(work);
  const cliMod = readText(TOOLCHAIN_SRC, "pulumi", "go.mod");
  const cliVersion = requiredVersion(cliMod, "github.com/pulumi/pulumi/pkg/v3");
  const sdk = sdkVersions(projectRoot);
  if (cliVersion !== `v${sdk.pulumi}`) {
    throw new Error(
      `e2e/toolchain/pulumi/go.mod builds the CLI ${cliVersion} but package.json pins @pulumi/pulumi ${sdk.pulumi}`,
    );
  }
  log(`pulumi ${cliVersion}: building the CLI (the largest build: about 15-25 minutes on 2 cores)`);
  await run(
    "go",
    [
      "build",
      "-ldflags",
      `-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=${cliVersion}`,
      "-o",
      path.join(bin, "pulumi"),
      "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi",
    ],
    { cwd: path.join(TOOLCHAIN_SRC, "pulumi"), env, timeoutSeconds: 3600, stream: "    [go pulumi] " },
  );
  log("pulumi-language-nodejs: building the Node language host");
  await run(
    "go",
    [
      "build",
      "-o",
      path.join(bin, "pulumi-language-nodejs"),
      "github.com/pulumi/pulumi/sdk/nodejs/cmd/pulumi-language-nodejs/v3",
    ],
    {
      cwd: path.join(TOOLCHAIN_SRC, "language-nodejs"),
      env,
      timeoutSeconds: 1800,
      stream: "    [go language-nodejs] ",
    },
  );
  // The consumer language of the component-package phase: its host joins the CLI's Go build cache (see its go.mod).
  log("pulumi-language-yaml: building the YAML language host");
  await run(
    "go",
    ["build", "-o", path.join(bin, "pulumi-language-yaml"), "github.com/pulumi/pulumi-yaml/cmd/pulumi-language-yaml"],
    { cwd: path.join(TOOLCHAIN_SRC, "language-yaml"), env, timeoutSeconds: 1800, stream: "    [go language-yaml] " },
  );
  await buildProvider("docker", sdk.docker, work, plugins, env, log);
  await buildProvider("random", sdk.random, work, plugins, env, log);
  fs.rmSync(work, { recursive: true, force: true });
}
