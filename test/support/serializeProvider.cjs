// Child process 1 of the engine-path test: loads components/keyring/signingKey.ts as the Pulumi CLI would, registers a
// SigningKey under minimal mocks and prints the `__provider` text the SDK serialized for the engine's state.
"use strict";
const { registerLikePulumiCli, projectRoot } = require("./cliRuntime.cjs");
registerLikePulumiCli(projectRoot, { transpileOnly: true });
const pulumi = require("@pulumi/pulumi");
const { SigningKey } = require("../../components/keyring/signingKey.ts");

let serialized;
pulumi.runtime
  .setMocks(
    {
      newResource(args) {
        serialized = args.inputs.__provider;
        return { id: "probe", state: {} };
      },
      call: (args) => args.inputs,
    },
    "supabase-selfhosted",
    "test",
    true,
  )
  .then(async () => {
    new SigningKey("probe", { algorithm: "ES256", apiKeyLifetimeDays: 1 });
    await require("@pulumi/pulumi/runtime/settings").waitForRPCs();
    if (typeof serialized !== "string") throw new Error("no __provider was registered");
    process.stdout.write(serialized);
  })
  .catch((error) => {
    console.error(error);
    process.exit(1);
  });
