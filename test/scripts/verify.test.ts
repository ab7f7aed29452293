/**
 * `npm run verify` against a real HTTP server on 127.0.0.1 that plays the API gateway: a good deployment passes, and
 * each way a deployment goes wrong (unreachable, HTML, private member, unknown kid, bad signature, expired, …) fails
 * with a message that says so. The script itself runs once in a child process to check its exit codes.
 */
import { spawn } from "node:child_process";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateComposeKeys, type ComposeKeys } from "../../scripts/lib/composeKeys";
import { JWKS_PATH, verifyDeployment } from "../../scripts/lib/verify";
import { main } from "../../scripts/verify";
import { legacyOctJwk } from "../../components/keyring/model";
import { signRoleToken, roleClaims } from "../../components/keyring/tokens";
import { tsNodeScript } from "../support/npmScript";

const ROOT = path.resolve(__dirname, "..", "..");

let server: http.Server;
let base: string;
let keys: ComposeKeys;
let impostor: ComposeKeys;
let stranger: ComposeKeys;
let legacyServiceKey: string;
const requests: http.IncomingHttpHeaders[] = [];

/** What the fake gateway serves under /<scenario>/auth/v1/.well-known/jwks.json. */
const routes: Record<string, { status?: number; type?: string; body: () => string }> = {};

beforeAll(async () => {
  keys = await generateComposeKeys({ kid: "key-2026" });
  // Same kid, different key pair: what a token from another deployment (or a forged one) looks like.
  impostor = await generateComposeKeys({ kid: "key-2026" });
  // A key this deployment never published.
  stranger = await generateComposeKeys({ kid: "key-1999" });
  // A legacy service_role key as an HS256 deployment minted it: signed with the shared secret, no kid.
  legacyServiceKey = await signRoleToken(
    legacyOctJwk("a-legacy-hs256-secret-with-32-characters"),
    roleClaims("service_role", Math.floor(Date.now() / 1000), 30),
  );
  const publicJwks = () => JSON.stringify(keys.JWT_JWKS);
  Object.assign(routes, {
    good: { type: "application/json", body: publicJwks },
    html: { type: "text/html", body: () => "<!DOCTYPE html><html><body>Supabase Studio</body></html>" },
    private: { type: "application/json", body: () => JSON.stringify({ keys: keys.JWT_KEYS }) },
    array: { type: "application/json", body: () => JSON.stringify(keys.JWT_JWKS.keys) },
    empty: { type: "application/json", body: () => JSON.stringify({ keys: [] }) },
    // Entries that are not JWK objects: the check reads each key's members only once it is an object.
    nonobject: { type: "application/json", body: () => JSON.stringify({ keys: [null, 7, [], keys.JWT_JWKS.keys[0]] }) },
    nokid: {
      type: "application/json",
      body: () => JSON.stringify({ keys: keys.JWT_JWKS.keys.map(({ kid: _k, use: _u, ...k }) => k) }),
    },
    locked: {
      status: 401,
      type: "application/json",
      body: () => JSON.stringify({ message: "No API key found in request" }),
    },
  });
  server = http.createServer((req, res) => {
    requests.push(req.headers);
    const [, scenario, ...rest] = (req.url ?? "").split("/");
    const route = routes[scenario];
    if (!route || `/${rest.join("/")}` !== JWKS_PATH) {
      res.writeHead(404, { "content-type": "text/plain" }).end("no route");
      return;
    }
    res
      .writeHead(route.status ?? 200, {
        "content-type": route.type ?? "application/json",
        "cache-control": "public, max-age=600",
      })
      .end(route.body());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

describe("verifyDeployment", () => {
  it("passes a good deployment: JWKS fetched without apikey, both role JWTs verified, their facts printed", async () => {
    const seen = requests.length;
    const report = await verifyDeployment({
      url: `${base}/good/`,
      anonKey: keys.ANON_KEY,
      serviceRoleKey: keys.SERVICE_ROLE_KEY,
    });
    expect(report.failures).toEqual([]);
    expect(report.ok).toBe(true);
    const text = report.lines.join("\n");
    expect(text).toMatch(
      /ok {4}GET .*\/good\/auth\/v1\/\.well-known\/jwks\.json without apikey → HTTP 200, a JWKS with 1 key/,
    );
    expect(text).toContain("Cache-Control: public, max-age=600");
    expect(text).toContain('anon key header: {"alg":"ES256","typ":"JWT","kid":"key-2026"}');
    expect(text).toMatch(/service_role key claims: role "service_role", iss "supabase", issued \S+, expires 20\d\d-/);
    expect(text).toMatch(/ok {4}anon key: role anon, signature verified with JWKS key key-2026 \(ES256\)/);
    expect(requests.slice(seen).every((h) => h.apikey === undefined && h.authorization === undefined)).toBe(true);
  });

  it("checks the JWKS alone when no key is given", async () => {
    const report = await verifyDeployment({ url: `${base}/good` });
    expect(report.ok).toBe(true);
    expect(report.lines.join("\n")).toContain("only the JWKS was checked");
  });

  const failures: [string, string, () => { anonKey?: string; serviceRoleKey?: string }, RegExp][] = [
    [
      "HTML instead of JSON",
      "html",
      () => ({}),
      /returned HTML instead of JSON .*points at the dashboard or another web server/,
    ],
    [
      "a private member in the JWKS",
      "private",
      () => ({}),
      /JWKS key 0 \(kid key-2026\) contains private key material \(d\)/,
    ],
    [
      "an array instead of a JWKS",
      "array",
      () => ({}),
      /not a JWKS: expected an object \{"keys": \[\.\.\.\]\}, got an array/,
    ],
    ["an empty JWKS", "empty", () => ({}), /the JWKS has no keys/],
    [
      "a key without kid",
      "nokid",
      () => ({}),
      /JWKS key 0 has no "kid" \(verifiers match tokens to keys by kid; realtime requires it\)/,
    ],
    ["a key without use", "nokid", () => ({}), /JWKS key 0 has use undefined, expected "sig"/],
    [
      "a JWKS route behind key-auth",
      "locked",
      () => ({}),
      /answered HTTP 401: the gateway wants an API key for the JWKS/,
    ],
    ["no such route", "nothing", () => ({}), /answered HTTP 404/],
    [
      "an unknown kid",
      "good",
      () => ({ anonKey: stranger.ANON_KEY }),
      /signed with kid key-1999, which the JWKS does not publish \(published: key-2026\)/,
    ],
    [
      "a bad signature",
      "good",
      () => ({ anonKey: impostor.ANON_KEY }),
      /anon key's signature does not verify with JWKS key key-2026/,
    ],
    [
      "a role mix-up",
      "good",
      () => ({ anonKey: keys.SERVICE_ROLE_KEY }),
      /anon key has role "service_role", expected "anon"/,
    ],
    [
      "an opaque key instead of a JWT",
      "good",
      () => ({ anonKey: keys.SUPABASE_PUBLISHABLE_KEY }),
      /anon key is an opaque publishable key \(sb_…\), not a JWT/,
    ],
    [
      "a legacy token without kid",
      "good",
      () => ({ serviceRoleKey: legacyServiceKey }),
      /service_role key has no kid in its header \(an HS256 token signed with the shared JWT secret/,
    ],
    ["garbage", "good", () => ({ anonKey: "not-a-token" }), /anon key is not a JWT/],
  ];
  it.each(failures)("fails on %s", async (_label, scenario, tokens, message) => {
    const report = await verifyDeployment({ url: `${base}/${scenario}`, ...tokens() });
    expect(report.ok).toBe(false);
    expect(report.failures.join("\n")).toMatch(message);
  });

  it("reports JWKS entries that are not objects ({keys: [null]}) as failed checks, not a TypeError", async () => {
    const report = await verifyDeployment({ url: `${base}/nonobject` });
    expect(report.ok).toBe(false);
    expect(report.failures).toEqual([
      "JWKS key 0 is not an object but null; a JWKS lists JWK objects",
      "JWKS key 1 is not an object but 7; a JWKS lists JWK objects",
      "JWKS key 2 is not an object but []; a JWKS lists JWK objects",
    ]);
    expect(report.lines.join("\n")).toMatch(/ok {4}JWKS key 3 \(kid key-2026\): kty EC, alg ES256/);
  });

  it("fails on an expired token even though its signature is good", async () => {
    const old = await generateComposeKeys({ kid: "key-2026", now: new Date("2020-01-01T00:00:00Z"), lifetimeDays: 30 });
    routes.old = { body: () => JSON.stringify(old.JWT_JWKS) };
    const report = await verifyDeployment({ url: `${base}/old`, anonKey: old.ANON_KEY });
    expect(report.failures).toEqual([expect.stringMatching(/anon key expired at 2020-01-31T00:00:00Z/)]);
  });

  it("fails on an unreachable URL and on a URL that is not http", async () => {
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const report = await verifyDeployment({ url: `http://127.0.0.1:${port}`, timeoutMs: 2000 });
    expect(report.failures.join("\n")).toMatch(
      /could not reach http:\/\/127\.0\.0\.1:\d+\/auth\/v1\/\.well-known\/jwks\.json: ECONNREFUSED/,
    );
    expect((await verifyDeployment({ url: "localhost:8000" })).failures.join()).toMatch(
      /--url must be an http\(s\) URL/,
    );
  });
});

/** Runs the script as `npm run verify` does and waits for its exit (async, so the test's server keeps answering). */
function runScript(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const verify = tsNodeScript("verify");
    const child = spawn(verify.command, [...verify.args, ...args], { cwd: ROOT });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

describe("npm run verify", () => {
  it("exits 0 for a good deployment and 1 with the reason for a bad one", async () => {
    const [good, bad] = await Promise.all([
      runScript(["--url", `${base}/good`, "--anon-key", keys.ANON_KEY, "--service-role-key", keys.SERVICE_ROLE_KEY]),
      runScript(["--url", `${base}/private`]),
    ]);
    expect(good.stderr).toBe("");
    expect(good.code).toBe(0);
    expect(good.stdout).toContain("All checks passed.");
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/1 check\(s\) failed:\n {2}- JWKS key 0 \(kid key-2026\) contains private key material/);
  });

  it("exits 2 without --url", async () => {
    const result = await runScript([]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/--url is required/);
  });

  it("exits 2, wrong usage as the README says, for a --url that is not an http(s) URL", async () => {
    for (const url of ["not-a-url", "localhost:8000", "ftp://example.com"]) {
      let err = "";
      const code = await main(
        ["--url", url],
        () => {},
        (t) => (err += t),
      );
      expect(code, url).toBe(2);
      expect(err, url).toContain(
        `--url must be an http(s) URL such as http://localhost:8000, got ${JSON.stringify(url)}`,
      );
    }
  });
});
