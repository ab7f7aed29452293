// Registers TypeScript the way the Pulumi CLI's Node.js runtime does for a CommonJS TypeScript program
// (@pulumi/pulumi cmd/run/run.js): the SDK's own tsconfig reader and require strings, then ts-node with
// module/moduleResolution "nodenext" under our tsconfig's compilerOptions, type-checking unless noCheck is set.
"use strict";
const path = require("node:path");

/**
 * @param {string} projectRoot the directory holding Pulumi.yaml and tsconfig.json (the CLI's cwd)
 * @param {{ transpileOnly?: boolean }} [options] override ts-node's type-checking, as PULUMI_NODEJS_TRANSPILE_ONLY does
 */
function registerLikePulumiCli(projectRoot, options = {}) {
  process.chdir(projectRoot);
  const tsutils = require(require.resolve("@pulumi/pulumi/tsutils", { paths: [projectRoot] }));
  const tsConfigPath = "tsconfig.json";
  const compilerOptions = tsutils.loadTypeScriptCompilerOptions(tsConfigPath);
  const { tsnodeRequire, typescriptRequire } = tsutils.typeScriptRequireStrings();
  const transpileOnly = options.transpileOnly !== undefined ? options.transpileOnly : compilerOptions.noCheck;
  require(tsnodeRequire).register({
    compiler: typescriptRequire,
    transpileOnly,
    project: tsConfigPath,
    skipProject: false,
    compilerOptions: {
      target: "ES2020",
      module: "nodenext",
      moduleResolution: "nodenext",
      sourceMap: "true",
      ...compilerOptions,
    },
  });
}

module.exports = { registerLikePulumiCli, projectRoot: path.resolve(__dirname, "..", "..") };
