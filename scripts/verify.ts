/**
 * `npm run verify -- --url <apiExternalUrl> [--anon-key K] [--service-role-key K]`: checks a running deployment's
 * JWKS and role JWTs from the outside (see scripts/lib/verify.ts). Exit code 0 when every check passed, 1 otherwise,
 * 2 for wrong usage.
 */
import { parseArgs } from "node:util";
import { badUrl, gatewayBase, verifyDeployment } from "./lib/verify";

const USAGE = `Usage: npm run verify -- --url <apiExternalUrl> [--anon-key <jwt>] [--service-role-key <jwt>]
                          [--timeout <seconds>]

Fetches <url>/auth/v1/.well-known/jwks.json without an apikey, checks it is a JWKS of public signing keys (kid, alg,
use "sig", no private member), then decodes each given role JWT, prints its header, role and expiry, and verifies its
signature against the JWKS. With Pulumi (npm run pulumi hands it the passphrase npm run up generated):
  npm run verify -- --url "$(npm run -s pulumi -- stack output apiUrl)" \\
    --anon-key "$(npm run -s pulumi -- stack output anonKey --show-secrets)" \\
    --service-role-key "$(npm run -s pulumi -- stack output serviceRoleKey --show-secrets)"
`;

/** Runs the CLI and returns its exit code. */
export async function main(argv: string[], out: (t: string) => void, err: (t: string) => void): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        url: { type: "string" },
        "anon-key": { type: "string" },
        "service-role-key": { type: "string" },
        timeout: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    }));
  } catch (error) {
    err(`${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    out(USAGE);
    return 0;
  }
  if (!values.url) {
    err(`--url is required\n\n${USAGE}`);
    return 2;
  }
  // A URL that is not one is wrong usage (exit 2), not a failed check of a deployment (exit 1).
  if (gatewayBase(values.url) === undefined) {
    err(`${badUrl(values.url)}\n\n${USAGE}`);
    return 2;
  }
  const timeout = values.timeout === undefined ? 10 : Number(values.timeout);
  if (!(timeout > 0)) {
    err(`--timeout must be a positive number of seconds, got ${JSON.stringify(values.timeout)}\n`);
    return 2;
  }
  const report = await verifyDeployment({
    url: values.url,
    timeoutMs: timeout * 1000,
    ...(values["anon-key"] !== undefined ? { anonKey: values["anon-key"] } : {}),
    ...(values["service-role-key"] !== undefined ? { serviceRoleKey: values["service-role-key"] } : {}),
  });
  out(report.lines.join("\n") + "\n\n");
  if (report.ok) {
    out("All checks passed.\n");
    return 0;
  }
  err(`${report.failures.length} check(s) failed:\n${report.failures.map((f) => `  - ${f}`).join("\n")}\n`);
  return 1;
}

if (require.main === module) {
  main(
    process.argv.slice(2),
    (t) => process.stdout.write(t),
    (t) => process.stderr.write(t),
  ).then(
    (code) => {
      process.exitCode = code;
    },
    (error) => {
      process.stderr.write(`unexpected error: ${(error as Error).stack ?? error}\n`);
      process.exitCode = 1;
    },
  );
}
