/**
 * `npm run verify`: checks a running deployment from the outside, the way a client sees it. Fetches the public JWKS
 * through the API gateway without an apikey, checks its shape, then decodes each given role JWT and verifies its
 * signature against that JWKS. Every failure is a sentence saying what is wrong and what usually causes it.
 */
import * as jose from "jose";
import { hasPrivateMember, PRIVATE_MEMBERS, type Jwk } from "../../components/keyring/model";

/** The path auth's JWKS is served on behind the gateway. */
export const JWKS_PATH = "/auth/v1/.well-known/jwks.json";

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

/** Fetches and checks the JWKS; returns its keys when it is usable. */
async function checkJwks(base: string, report: Report, timeoutMs: number): Promise<Jwk[] | undefined> {
  const url = `${base}${JWKS_PATH}`;
  let response: Response;
  try {
    // Deliberately no apikey header: clients and other services fetch the JWKS anonymously.
    response = await fetch(url, { headers: { accept: "application/json" }, signal: AbortSignal.timeout(timeoutMs) });
  } catch (error) {
    report.fail(
      `could not reach ${url}: ${describeNetworkError(error)}. Is the stack deployed (pulumi up) ` +
        `and is the gateway's ` +
        `port (gatewayHttpPort) reachable from here?`,
    );
    return undefined;
  }
  const body = await response.text();
  const type = response.headers.get("content-type") ?? "";
  if (response.status === 401 || response.status === 403) {
    report.fail(
      `${url} answered HTTP ${response.status}: the gateway wants an API key for the JWKS. The route must be open ` +
        `(this project's kong.yml opens it; the official kong.yml before 2026-03 kept it behind key-auth)`,
    );
    return undefined;
  }
  if (!response.ok) {
    report.fail(`${url} answered HTTP ${response.status}: ${body.slice(0, 120).replace(/\s+/g, " ")}`);
    return undefined;
  }
  if (/html/i.test(type) || /^\s*</.test(body)) {
    report.fail(
      `${url} returned HTML instead of JSON (${body.slice(0, 60).replace(/\s+/g, " ")}…): the URL probably ` +
        `points at the dashboard or another web server, not the API gateway. Pass apiExternalUrl (stack output apiUrl)`,
    );
    return undefined;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    report.fail(`${url} did not return JSON (content-type ${type || "none"}): ${body.slice(0, 80)}`);
    return undefined;
  }
  if (
    Array.isArray(parsed) ||
    typeof parsed !== "object" ||
    parsed === null ||
    !Array.isArray((parsed as { keys?: unknown }).keys)
  ) {
    report.fail(
      `${url} returned JSON that is not a JWKS: expected an object {"keys": [...]}, ` +
        `got ${Array.isArray(parsed) ? "an array" : typeof parsed}`,
    );
    return undefined;
  }
  const keys = (parsed as { keys: unknown[] }).keys;
  report.pass(`GET ${url} without apikey → HTTP ${response.status}, a JWKS with ${keys.length} key(s)`);
  const cache = response.headers.get("cache-control");
  if (cache) report.info(`Cache-Control: ${cache}`);
  if (keys.length === 0) {
    report.fail(
      "the JWKS has no keys: auth publishes none, so it has no asymmetric signing key (GOTRUE_JWT_KEYS " +
        "unset or HS256 " +
        "only)",
    );
    return undefined;
  }
  let usable = true;
  keys.forEach((item, i) => {
    const key = item as Record<string, unknown>;
    const where = `JWKS key ${i}${typeof key.kid === "string" ? ` (kid ${key.kid})` : ""}`;
    const problems: string[] = [];
    if (typeof key !== "object" || key === null) problems.push("is not an object");
    else {
      if (hasPrivateMember(key)) {
        const members = [...PRIVATE_MEMBERS, ...(key.kty === "oct" ? ["k"] : [])].filter((m) => key[m] !== undefined);
        problems.push(
          `contains private key material (${members.join(", ")}): anyone can now forge tokens, replace this key at ` +
            `once`,
        );
      }
      if (typeof key.kid !== "string" || key.kid === "")
        problems.push('has no "kid" (verifiers match tokens to keys by kid; realtime requires it)');
      if (typeof key.alg !== "string") problems.push('has no "alg"');
      if (key.use !== "sig") problems.push(`has use ${JSON.stringify(key.use)}, expected "sig"`);
      if (!ASYMMETRIC_KTY.includes(key.kty as string))
        problems.push(`has kty ${JSON.stringify(key.kty)}; a published key must be EC, RSA or OKP`);
    }
    if (problems.length > 0) {
      usable = false;
      for (const p of problems) report.fail(`${where} ${p}`);
    } else {
      report.pass(`${where}: kty ${key.kty}, alg ${key.alg}, use sig, public members only`);
    }
  });
  return usable ? (keys as Jwk[]) : undefined;
}

const iso = (seconds: number) => new Date(seconds * 1000).toISOString().replace(".000Z", "Z");

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
  if (t.startsWith("sb_")) {
    report.fail(
      `${label} is an opaque ${t.split("_")[1]} key (sb_…), not a JWT; pass the role JWT instead (stack output ` +
        `${role === "anon" ? "anonKey" : "serviceRoleKey"}). The gateway maps sb_ keys to those JWTs`,
    );
    return;
  }
  let header: jose.ProtectedHeaderParameters;
  let claims: jose.JWTPayload;
  try {
    header = jose.decodeProtectedHeader(t);
    claims = jose.decodeJwt(t);
  } catch (error) {
    report.fail(`${label} is not a JWT (${(error as Error).message})`);
    return;
  }
  const exp = typeof claims.exp === "number" ? claims.exp : undefined;
  report.info(`${label} header: ${JSON.stringify({ alg: header.alg, typ: header.typ, kid: header.kid })}`);
  report.info(
    `${label} claims: role ${JSON.stringify(claims.role)}, iss ${JSON.stringify(claims.iss)}` +
      (typeof claims.iat === "number" ? `, issued ${iso(claims.iat)}` : "") +
      (exp !== undefined ? `, expires ${iso(exp)}` : ", no expiry"),
  );
  const nowSeconds = Math.floor(now.getTime() / 1000);
  let ok = true;
  if (claims.role !== role) {
    report.fail(`${label} has role ${JSON.stringify(claims.role)}, expected ${JSON.stringify(role)}`);
    ok = false;
  }
  if (exp === undefined) {
    report.fail(`${label} has no numeric exp claim; realtime rejects such tokens`);
    ok = false;
  } else if (exp <= nowSeconds) {
    report.fail(`${label} expired at ${iso(exp)}; re-mint it (raise apiKeyLifetimeDays or rotate to a new key)`);
    ok = false;
  }
  if (typeof header.kid !== "string" || header.kid === "") {
    report.fail(
      `${label} has no kid in its header` +
        `${header.alg === "HS256" ? " (an HS256 token signed with the shared JWT secret, i.e. a legacy key)" : ""}: ` +
        `it cannot be checked against the public JWKS, and realtime rejects asymmetric tokens without a kid`,
    );
    return;
  }
  if (!keys) return; // the JWKS failed already; nothing to verify against
  const key = keys.find((k) => k.kid === header.kid);
  if (!key) {
    report.fail(
      `${label} was signed with kid ${header.kid}, which the JWKS does not publish ` +
        `(published: ${keys.map((k) => k.kid).join(", ")}); ` +
        `the key was revoked or removed, or the token belongs to another deployment`,
    );
    return;
  }
  if (key.alg !== header.alg) {
    report.fail(`${label} header says alg ${header.alg} but JWKS key ${key.kid} is ${key.alg}`);
    return;
  }
  try {
    const { key_ops: _ops, ...verifiable } = key;
    await jose.compactVerify(t, await jose.importJWK(verifiable, key.alg as string), {
      algorithms: [key.alg as string],
    });
  } catch (error) {
    report.fail(
      `${label}'s signature does not verify with JWKS key ${key.kid} (${(error as Error).message}): the token was ` +
        `not signed by that key`,
    );
    return;
  }
  if (ok)
    report.pass(
      `${label}: role ${role}, signature verified with JWKS key ${key.kid} (${key.alg}), valid until ` +
        `${iso(exp as number)}`,
    );
}

/**
 * Runs the checks against a deployment.
 * @returns a report; `ok` is false when any check failed (unreachable URL, HTML instead of JSON, not a JWKS, a
 * private member, missing kid/alg/use, unknown kid, bad signature, wrong role, expired).
 */
export async function verifyDeployment(options: VerifyOptions): Promise<VerifyReport> {
  const report = new Report();
  let base: string;
  try {
    const parsed = new URL(options.url);
    if (parsed.protocol !== "http:" && parsed.protocol !== "https:") throw new Error("not http(s)");
    base = options.url.replace(/\/+$/, "");
  } catch {
    report.fail(`--url must be an http(s) URL such as http://localhost:8000, got ${JSON.stringify(options.url)}`);
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
