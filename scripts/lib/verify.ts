/**
 * `npm run verify`: checks a running deployment from the outside, the way a client sees it. Fetches the public JWKS
 * through the API gateway without an apikey, checks its shape, then decodes each given role JWT and verifies its
 * signature against that JWKS. Every failure is a sentence saying what is wrong and what usually causes it.
 */
import { JWKS_PATH } from "../../components/services/kong/routes";
import * as jose from "jose";
import { hasPrivateMember, PRIVATE_MEMBERS, type Jwk } from "../../components/keyring/model";

/** The path auth's JWKS is served on behind the gateway. */
export { JWKS_PATH };

/** Options of {@link verifyDeployment}. */
export interface VerifyOptions {
  /** The API's external URL (the stack output `apiUrl`, i.e. `apiExternalUrl`). */
  url: string;
  /** The anon role JWT to check (stack output `anonKey`). */
  anonKey?: string;
  /** The service_role JWT to check (stack output `serviceRoleKey`). */
  serviceRoleKey?: string;
  /** Give up on the HTTP request after this long. */
  timeoutMs?: number;
  /** The time against which expiry is judged. */
  now?: Date;
}

/** What {@link verifyDeployment} found. */
export interface VerifyReport {
  ok: boolean;
  /** Everything checked, in order, for printing. */
  lines: string[];
  /** The failures alone (also present in `lines`). */
  failures: string[];
}

class Report {
  readonly lines: string[] = [];
  readonly failures: string[] = [];
  info(line: string): void {
    this.lines.push(`  ${line}`);
  }
  pass(line: string): void {
    this.lines.push(`ok    ${line}`);
  }
  fail(line: string): void {
    this.lines.push(`FAIL  ${line}`);
    this.failures.push(line);
  }
  done(): VerifyReport {
    return { ok: this.failures.length === 0, lines: this.lines, failures: this.failures };
  }
}

const ASYMMETRIC_KTY = ["EC", "RSA", "OKP"];

function describeNetworkError(error: unknown): string {
  const err = error as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (err?.name === "TimeoutError" || err?.name === "AbortError") return "the request timed out";
  return err?.cause?.code ?? err?.cause?.message ?? err?.message ?? String(error);
}

/** GETs the JWKS without an apikey; fails the report (and returns nothing) when the gateway cannot be reached. */
async function fetchJwks(url: string, report: Report, timeoutMs: number): Promise<Response | undefined> {
  try {
    // Deliberately no apikey header: clients and other services fetch the JWKS anonymously.
    return await fetch(url, { headers: { accept: "application/json" }, signal: AbortSignal.timeout(timeoutMs) });
  } catch (error) {
    report.fail(
      `could not reach ${url}: ${describeNetworkError(error)}. Is the stack deployed (pulumi up) and is the ` +
        `gateway's port (gatewayHttpPort) reachable from here?`,
    );
    return undefined;
  }
}

/** Why an answer cannot be the JWKS before its body is parsed (an API-key demand, an HTTP error, HTML), if it cannot. */
function refusedAnswer(url: string, response: Response, body: string, type: string): string | undefined {
  if (response.status === 401 || response.status === 403) {
    return (
      `${url} answered HTTP ${response.status}: the gateway wants an API key for the JWKS. The route must be open ` +
      `(this project's kong.yml opens it; the official kong.yml before 2026-03 kept it behind key-auth)`
    );
  }
  if (!response.ok) return `${url} answered HTTP ${response.status}: ${body.slice(0, 120).replace(/\s+/g, " ")}`;
  if (/html/i.test(type) || /^\s*</.test(body)) {
    return (
      `${url} returned HTML instead of JSON (${body.slice(0, 60).replace(/\s+/g, " ")}…): the URL probably ` +
      `points at the dashboard or another web server, not the API gateway. Pass apiExternalUrl (stack output apiUrl)`
    );
  }
  return undefined;
}

/** The JWKS's `keys`, or why the body is not a JWKS (not JSON, or JSON of another shape). */
function jwksKeys(url: string, body: string, type: string): { keys: unknown[] } | { problem: string } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return { problem: `${url} did not return JSON (content-type ${type || "none"}): ${body.slice(0, 80)}` };
  }
  if (
    Array.isArray(parsed) ||
    typeof parsed !== "object" ||
    parsed === null ||
    !Array.isArray((parsed as { keys?: unknown }).keys)
  ) {
    return {
      problem:
        `${url} returned JSON that is not a JWKS: expected an object {"keys": [...]}, ` +
        `got ${Array.isArray(parsed) ? "an array" : typeof parsed}`,
    };
  }
  return { keys: (parsed as { keys: unknown[] }).keys };
}

/** A JSON object (not null, not an array): what every entry of a JWKS's `keys` must be. */
const isJsonObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/** What is wrong with one published key: private material, a missing kid or alg, a use or kty a verifier refuses. */
function publishedKeyProblems(key: Record<string, unknown>): string[] {
  const problems: string[] = [];
  if (hasPrivateMember(key)) {
    const members = [...PRIVATE_MEMBERS, ...(key.kty === "oct" ? ["k"] : [])].filter((m) => key[m] !== undefined);
    problems.push(
      `contains private key material (${members.join(", ")}): anyone can now forge tokens, replace this key at once`,
    );
  }
  if (typeof key.kid !== "string" || key.kid === "")
    problems.push('has no "kid" (verifiers match tokens to keys by kid; realtime requires it)');
  if (typeof key.alg !== "string") problems.push('has no "alg"');
  if (key.use !== "sig") problems.push(`has use ${JSON.stringify(key.use)}, expected "sig"`);
  if (!ASYMMETRIC_KTY.includes(key.kty as string))
    problems.push(`has kty ${JSON.stringify(key.kty)}; a published key must be EC, RSA or OKP`);
  return problems;
}

/** Checks every published key, one report line each; returns whether all of them are usable. */
function checkPublishedKeys(keys: unknown[], report: Report): boolean {
  if (keys.length === 0) {
    report.fail(
      "the JWKS has no keys: auth publishes none, so it has no asymmetric signing key (GOTRUE_JWT_KEYS unset or " +
        "HS256 only)",
    );
    return false;
  }
  let usable = true;
  keys.forEach((key, i) => {
    // An entry that is not an object ({"keys":[null]}) is a failed check like any other, not a crash.
    if (!isJsonObject(key)) {
      usable = false;
      report.fail(`JWKS key ${i} is not an object but ${JSON.stringify(key)}; a JWKS lists JWK objects`);
      return;
    }
    const where = `JWKS key ${i}${typeof key.kid === "string" ? ` (kid ${key.kid})` : ""}`;
    const problems = publishedKeyProblems(key);
    if (problems.length > 0) {
      usable = false;
      for (const p of problems) report.fail(`${where} ${p}`);
    } else {
      report.pass(`${where}: kty ${key.kty}, alg ${key.alg}, use sig, public members only`);
    }
  });
  return usable;
}

/** Fetches and checks the JWKS; returns its keys when it is usable. */
async function checkJwks(base: string, report: Report, timeoutMs: number): Promise<Jwk[] | undefined> {
  const url = `${base}${JWKS_PATH}`;
  const response = await fetchJwks(url, report, timeoutMs);
  if (!response) return undefined;
  const body = await response.text();
  const type = response.headers.get("content-type") ?? "";
  const refused = refusedAnswer(url, response, body, type);
  if (refused) {
    report.fail(refused);
    return undefined;
  }
  const jwks = jwksKeys(url, body, type);
  if ("problem" in jwks) {
    report.fail(jwks.problem);
    return undefined;
  }
  report.pass(`GET ${url} without apikey → HTTP ${response.status}, a JWKS with ${jwks.keys.length} key(s)`);
  const cache = response.headers.get("cache-control");
  if (cache) report.info(`Cache-Control: ${cache}`);
  return checkPublishedKeys(jwks.keys, report) ? (jwks.keys as Jwk[]) : undefined;
}

const iso = (seconds: number) => new Date(seconds * 1000).toISOString().replace(".000Z", "Z");

/** A role JWT's protected header and claims, decoded without verifying. */
interface DecodedToken {
  header: jose.ProtectedHeaderParameters;
  claims: jose.JWTPayload;
}

/** Decodes a role JWT; fails the report for an opaque `sb_` key (the usual mix-up) or text that is not a JWT. */
function decodeRoleToken(label: string, role: string, token: string, report: Report): DecodedToken | undefined {
  if (token.startsWith("sb_")) {
    report.fail(
      `${label} is an opaque ${token.split("_")[1]} key (sb_…), not a JWT; pass the role JWT instead (stack output ` +
        `${role === "anon" ? "anonKey" : "serviceRoleKey"}). The gateway maps sb_ keys to those JWTs`,
    );
    return undefined;
  }
  try {
    return { header: jose.decodeProtectedHeader(token), claims: jose.decodeJwt(token) };
  } catch (error) {
    report.fail(`${label} is not a JWT (${(error as Error).message})`);
    return undefined;
  }
}

/** Prints what the token holds: its header, role, issuer and lifetime. */
function describeToken(label: string, { header, claims }: DecodedToken, report: Report): void {
  report.info(`${label} header: ${JSON.stringify({ alg: header.alg, typ: header.typ, kid: header.kid })}`);
  report.info(
    `${label} claims: role ${JSON.stringify(claims.role)}, iss ${JSON.stringify(claims.iss)}` +
      (typeof claims.iat === "number" ? `, issued ${iso(claims.iat)}` : "") +
      (typeof claims.exp === "number" ? `, expires ${iso(claims.exp)}` : ", no expiry"),
  );
}

/** Checks the role and the expiry; returns whether both are right. */
function checkClaims(label: string, role: string, claims: jose.JWTPayload, report: Report, now: Date): boolean {
  const exp = typeof claims.exp === "number" ? claims.exp : undefined;
  let ok = true;
  if (claims.role !== role) {
    report.fail(`${label} has role ${JSON.stringify(claims.role)}, expected ${JSON.stringify(role)}`);
    ok = false;
  }
  if (exp === undefined) {
    report.fail(`${label} has no numeric exp claim; realtime rejects such tokens`);
    ok = false;
  } else if (exp <= Math.floor(now.getTime() / 1000)) {
    report.fail(`${label} expired at ${iso(exp)}; re-mint it (raise apiKeyLifetimeDays or rotate to a new key)`);
    ok = false;
  }
  return ok;
}

/**
 * Finds the JWKS key named by the token's kid and verifies the signature with it.
 * @returns the key when the signature verifies; nothing (and a failure, unless the JWKS already failed) otherwise.
 */
async function verifySignature(
  label: string,
  token: string,
  header: jose.ProtectedHeaderParameters,
  keys: Jwk[] | undefined,
  report: Report,
): Promise<Jwk | undefined> {
  if (typeof header.kid !== "string" || header.kid === "") {
    report.fail(
      `${label} has no kid in its header` +
        `${header.alg === "HS256" ? " (an HS256 token signed with the shared JWT secret, i.e. a legacy key)" : ""}: ` +
        `it cannot be checked against the public JWKS, and realtime rejects asymmetric tokens without a kid`,
    );
    return undefined;
  }
  if (!keys) return undefined; // the JWKS failed already; nothing to verify against
  const key = keys.find((k) => k.kid === header.kid);
  if (!key) {
    report.fail(
      `${label} was signed with kid ${header.kid}, which the JWKS does not publish ` +
        `(published: ${keys.map((k) => k.kid).join(", ")}); ` +
        `the key was revoked or removed, or the token belongs to another deployment`,
    );
    return undefined;
  }
  if (key.alg !== header.alg) {
    report.fail(`${label} header says alg ${header.alg} but JWKS key ${key.kid} is ${key.alg}`);
    return undefined;
  }
  try {
    const { key_ops: _ops, ...verifiable } = key;
    await jose.compactVerify(token, await jose.importJWK(verifiable, key.alg as string), {
      algorithms: [key.alg as string],
    });
  } catch (error) {
    report.fail(
      `${label}'s signature does not verify with JWKS key ${key.kid} (${(error as Error).message}): the token was ` +
        `not signed by that key`,
    );
    return undefined;
  }
  return key;
}

/** Decodes one role JWT, prints what it holds, and verifies it against the JWKS. */
async function checkToken(
  label: string,
  role: string,
  token: string,
  keys: Jwk[] | undefined,
  report: Report,
  now: Date,
): Promise<void> {
  const t = token.trim();
  const decoded = decodeRoleToken(label, role, t, report);
  if (!decoded) return;
  describeToken(label, decoded, report);
  const claimsOk = checkClaims(label, role, decoded.claims, report, now);
  const key = await verifySignature(label, t, decoded.header, keys, report);
  if (key && claimsOk) {
    report.pass(
      `${label}: role ${role}, signature verified with JWKS key ${key.kid} (${key.alg}), valid until ` +
        `${iso(decoded.claims.exp as number)}`,
    );
  }
}

/**
 * The base the paths are appended to: the URL without trailing `/`, or nothing when it is not an http(s) URL.
 */
export function gatewayBase(url: string): string | undefined {
  try {
    const { protocol } = new URL(url);
    return protocol === "http:" || protocol === "https:" ? url.replace(/\/+$/, "") : undefined;
  } catch {
    return undefined;
  }
}

/** Why `url` cannot be checked: it is not an http(s) URL. */
export function badUrl(url: string): string {
  return `--url must be an http(s) URL such as http://localhost:8000, got ${JSON.stringify(url)}`;
}

/**
 * Runs the checks against a deployment.
 * @returns a report; `ok` is false when any check failed (unreachable URL, HTML instead of JSON, not a JWKS, a
 * private member, missing kid/alg/use, unknown kid, bad signature, wrong role, expired).
 */
export async function verifyDeployment(options: VerifyOptions): Promise<VerifyReport> {
  const report = new Report();
  const base = gatewayBase(options.url);
  if (base === undefined) {
    report.fail(badUrl(options.url));
    return report.done();
  }
  const keys = await checkJwks(base, report, options.timeoutMs ?? 10_000);
  const now = options.now ?? new Date();
  if (options.anonKey !== undefined) await checkToken("anon key", "anon", options.anonKey, keys, report, now);
  if (options.serviceRoleKey !== undefined)
    await checkToken("service_role key", "service_role", options.serviceRoleKey, keys, report, now);
  if (options.anonKey === undefined && options.serviceRoleKey === undefined) {
    report.info("no --anon-key or --service-role-key given: only the JWKS was checked");
  }
  return report.done();
}
