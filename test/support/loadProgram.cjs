// Child process of the loader test: loads index.ts the way the Pulumi CLI's Node.js runtime does (ts-node
// registered with our tsconfig, type-checking on), under the mock engine, with a stack file's config
// (argv[2], default Pulumi.dev.yaml). Prints a JSON report of the stack exports and registered resources.
// One run, shapes only: the stateless mock.
"use strict";
const fs = require("node:fs");
const path = require("node:path");
const { registerLikePulumiCli, projectRoot } = require("./cliRuntime.cjs");

async function main() {
  const started = Date.now();
  registerLikePulumiCli(projectRoot);
  const YAML = require("yaml");
  const pulumi = require("@pulumi/pulumi");
  const { ShapeMocks } = require("./shapes.ts");
  const { isSecret } = require("../../testkit/engine/run.ts");
  const { valueOf } = require("../../testkit/engine/sdk.ts");

  const stackFile = path.resolve(projectRoot, process.argv[2] || "Pulumi.dev.yaml");
  const stackConfig = YAML.parse(fs.readFileSync(stackFile, "utf8")).config || {};
  // The engine hands a program its config as text: objects and lists as JSON, scalars as their string form.
  const config = {};
  for (const [fullKey, value] of Object.entries(stackConfig)) {
    const [namespace, key] = fullKey.split(":");
    if (namespace !== "supabase-selfhosted") continue;
    config[key] = typeof value === "string" ? value : JSON.stringify(value);
  }
  const { result, declared } = await new ShapeMocks().run(config, () => require(path.join(projectRoot, "index.ts")));
  const exports = {};
  for (const [name, value] of Object.entries(result)) {
    const secret = await isSecret(value);
    const resolved = pulumi.Output.isInstance(value) ? await valueOf(value) : value;
    exports[name] = { secret, defined: resolved !== undefined, value: secret ? undefined : resolved };
  }
  process.stdout.write(
    JSON.stringify({
      ms: Date.now() - started,
      exports,
      resources: declared.map((r) => ({ type: r.type, name: r.name })),
    }),
  );
}

main().catch((error) => {
  console.error(error && error.stack ? error.stack : String(error));
  process.exit(1);
});
