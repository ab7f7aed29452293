/**
 * The edge runtime's main service, as the Pulumi program ships it when `functions.dir` is not set (and the one to
 * copy into your own `functions.dir`). It checks each call's JWT (see `verify.ts`) when `VERIFY_JWT` is "true", then
 * runs the function named by the first path segment (`/functions/v1/<name>/…` at the gateway) in a user worker.
 * Runs in Deno (supabase/edge-runtime), not in Node: `tsconfig.json` leaves this file out.
 */
import * as jose from "jsr:@panva/jose@6";
import { checkCall, functionName, jwksTokenCheck, type Refusal } from "./verify.ts";

declare const EdgeRuntime: {
  userWorkers: {
    create(options: Record<string, unknown>): Promise<{ fetch(request: Request): Promise<Response> }>;
  };
};

/** Where the program uploads the functions: one directory per function, each with its `index.ts`. */
const FUNCTIONS_ROOT = "/home/deno/functions";

const check = Deno.env.get("VERIFY_JWT") === "true" ? jwksTokenCheck(Deno.env.get("SUPABASE_JWKS"), jose) : undefined;

function json(status: number, body: Record<string, unknown>, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json", ...headers } });
}

const refused = ({ code, message }: Refusal) => json(401, { code, message, msg: message }, { "sb-error-code": code });

Deno.serve(async (request: Request) => {
  if (check) {
    const refusal = await checkCall(request, check);
    if (refusal) return refused(refusal);
  }
  const name = functionName(new URL(request.url).pathname);
  if (name === undefined) return json(400, { msg: "missing or invalid function name in request" });
  // Every function sees the container's environment (SUPABASE_URL, the keys, SUPABASE_DB_URL), as upstream's does.
  const env = Deno.env.toObject();
  try {
    const worker = await EdgeRuntime.userWorkers.create({
      servicePath: `${FUNCTIONS_ROOT}/${name}`,
      memoryLimitMb: 150,
      workerTimeoutMs: 60_000,
      noModuleCache: false,
      importMapPath: null,
      envVars: Object.entries(env),
    });
    return await worker.fetch(request);
  } catch (error) {
    return json(500, { msg: String(error) });
  }
});
