// Child process 2 of the engine-path test: a fresh `node` that loads the serialized provider text the way the
// dynamic-provider host does (require-from-string, then `.handler()`), from the project directory, and runs its
// create/diff/update. Reads the text from the file named by argv[2]; prints a JSON report.
"use strict";
const fs = require("node:fs");
const path = require("node:path");

async function main() {
  const projectRoot = path.resolve(__dirname, "..", "..");
  process.chdir(projectRoot);
  const sdkEntry = require.resolve("@pulumi/pulumi", { paths: [projectRoot] });
  const requireFromString = require(require.resolve("require-from-string", { paths: [path.dirname(sdkEntry)] }));
  const provider = requireFromString(fs.readFileSync(process.argv[2], "utf8")).handler();
  const report = { created: [], diffs: {}, updated: null };
  for (const algorithm of ["ES256", "RS256", "EdDSA"]) {
    const started = process.hrtime.bigint();
    const { id, outs } = await provider.create({ algorithm, apiKeyLifetimeDays: 7 });
    report.created.push({ algorithm, id, outs, ms: Number(process.hrtime.bigint() - started) / 1e6 });
  }
  const first = report.created[0].outs;
  report.diffs.same = await provider.diff(first.kid, first, { algorithm: "ES256", apiKeyLifetimeDays: 7 });
  report.diffs.lifetime = await provider.diff(first.kid, first, { algorithm: "ES256", apiKeyLifetimeDays: 8 });
  report.diffs.algorithm = await provider.diff(first.kid, first, { algorithm: "RS256", apiKeyLifetimeDays: 7 });
  report.updated = (await provider.update(first.kid, first, { algorithm: "ES256", apiKeyLifetimeDays: 8 })).outs;
  process.stdout.write(JSON.stringify(report));
}

main().catch((error) => {
  console.error(error && error.stack ? error.stack : error);
  process.exit(1);
});
