/**
 * The real auth server as the judge: after each lifecycle step the suite talks to auth (supabase/auth, built
 * from its Go module) through a port it publishes on 127.0.0.1, and checks what a user would notice: sign-in
 * tokens carry the current key's kid and verify against the published JWKS, a session from before a promotion
 * keeps working, a revoked key's tokens stop working.
 */
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify, SignJWT, type JSONWebKeySet } from "jose";
import { canonicalJson } from "../../../../components/keyring/model";
import { dockerEnv } from "../../engines/docker/engine";
import type { StepLabel } from "../expected";
import type { Deployment } from "../../scenarios/lifecycle";
import { poll, run } from "../../core/proc";
import type { Recorder } from "../../core/report";

/** auth's port inside the stack network (the program's auth env sets GOTRUE_API_PORT to it). */
const AUTH_PORT = 9999;
/** The suite's forwarder container; named like the program's objects so the final cleanup removes it too. */
const PROXY_NAME = "supabase-e2e-auth-proxy";

/** An HTTP answer of auth. */
interface AuthAnswer {
  status: number;
  body: Record<string, unknown>;
}

/** The suite's door to auth: a socat container on the stack network, published on 127.0.0.1 only. */
export class AuthEndpoint {
  private port = 0;

  constructor(
    private readonly host: string,
    private readonly image: string,
    private readonly network: string,
  ) {}

  /** Starts the forwarder (idempotent) and returns auth's base URL on 127.0.0.1. */
  async start(): Promise<string> {
    if (this.port) return this.base;
    const env = dockerEnv(this.host);
    await run("docker", ["rm", "-f", PROXY_NAME], { env, allowFailure: true, timeoutSeconds: 60 });
    await run(
      "docker",
      [
        "run",
        "-d",
        "--name",
        PROXY_NAME,
        "--network",
        this.network,
        "-p",
        `127.0.0.1::${AUTH_PORT}`,
        this.image,
        `TCP-LISTEN:${AUTH_PORT},fork,reuseaddr`,
        `TCP:auth:${AUTH_PORT}`,
      ],
      { env, timeoutSeconds: 60 },
    );
    const mapped = (
      await run("docker", ["port", PROXY_NAME, `${AUTH_PORT}/tcp`], { env, timeoutSeconds: 30 })
    ).stdout.trim();
    this.port = Number(/127\.0\.0\.1:(\d+)/.exec(mapped)?.[1]);
    if (!this.port) throw new Error(`the auth forwarder published no 127.0.0.1 port (docker port: ${mapped})`);
    return this.base;
  }

  /** Removes the forwarder (it must leave the network before `pulumi destroy` can delete it). */
  async stop(): Promise<void> {
    this.port = 0;
    await run("docker", ["rm", "-f", PROXY_NAME], {
      env: dockerEnv(this.host),
      allowFailure: true,
      timeoutSeconds: 60,
    });
  }

  /** Polls `/health` once a second until auth answers 200, `seconds` times at most; whether it did. */
  async awaitHealthy(seconds = 90): Promise<boolean> {
    const healthy = await poll(
      async () => ((await this.request("GET", "/health")).status === 200 ? true : undefined),
      seconds,
      1000,
    );
    return healthy === true;
  }

  get base(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** One request to auth, 10 s at most; a connection failure is status 0. */
  async request(
    method: string,
    path: string,
    options: { token?: string; apikey?: string; body?: unknown } = {},
  ): Promise<AuthAnswer> {
    try {
      const response = await fetch(`${this.base}${path}`, {
        method,
        headers: {
          ...(options.token ? { Authorization: `Bearer ${options.token}` } : {}),
          ...(options.apikey ? { apikey: options.apikey } : {}),
          ...(options.body !== undefined ? { "Content-Type": "application/json" } : {}),
        },
        body: options.body !== undefined ? JSON.stringify(options.body) : undefined,
        signal: AbortSignal.timeout(10_000),
      });
      const text = await response.text();
      let body: Record<string, unknown> = {};
      try {
        body = JSON.parse(text) as Record<string, unknown>;
      } catch {
        body = { text };
      }
      return { status: response.status, body };
    } catch (err) {
      return { status: 0, body: { error: err instanceof Error ? err.message : String(err) } };
    }
  }
}

/** What a sign-in gives a user. */
interface Session {
  accessToken: string;
  refreshToken: string;
}

/** Fails with auth's own words when the answer is not the expected status. */
function expectStatus(answer: AuthAnswer, status: number, what: string): AuthAnswer {
  if (answer.status !== status)
    throw new Error(`${what}: auth answered ${answer.status} ${JSON.stringify(answer.body).slice(0, 300)}`);
  return answer;
}

/**
 * Polls `/health` at a bounded rate while `during` runs (a `pulumi up`) and returns how long auth did not answer
 * 200: the longest gap and the total, in seconds.
 */
export async function measureAvailability<T>(
  endpoint: AuthEndpoint,
  during: Promise<T>,
): Promise<{ result: T; longestGap: number; downSeconds: number; probes: number }> {
  let done = false;
  const settled = during.finally(() => {
    done = true;
  });
  let probes = 0;
  let downSince: number | undefined;
  let longestGap = 0;
  let downSeconds = 0;
  let last = performance.now();
  // 4 probes a second for at most 30 minutes: bounded in count and time.
  for (let i = 0; i < 4 * 60 * 30 && !done; i++) {
    const t = performance.now();
    const ok = (await endpoint.request("GET", "/health")).status === 200;
    probes++;
    const now = performance.now();
    if (!ok) {
      downSince ??= t;
      downSeconds += (now - last) / 1000;
      longestGap = Math.max(longestGap, (now - downSince) / 1000);
    } else downSince = undefined;
    last = now;
    await new Promise((r) => setTimeout(r, 250));
  }
  const result = await settled;
  return {
    result,
    longestGap: Math.round(longestGap * 10) / 10,
    downSeconds: Math.round(downSeconds * 10) / 10,
    probes,
  };
}

/** The auth checks of one lifecycle run, keeping the user's sessions across steps. */
export class AuthChecks {
  private readonly email = `e2e-${Date.now()}@example.com`;
  private readonly password = `pw-${Math.random().toString(36).slice(2)}-E2e!`;
  private s0?: Session;
  private promoted?: Session;
  private k1Kid?: string;

  constructor(
    private readonly rec: Recorder,
    private readonly endpoint: AuthEndpoint,
    private readonly algorithm: string,
  ) {}

  private name(check: string): string {
    return `${check}:${this.algorithm}`;
  }

  private async signIn(anonKey: string): Promise<Session> {
    const answer = expectStatus(
      await this.endpoint.request("POST", "/token?grant_type=password", {
        token: anonKey,
        apikey: anonKey,
        body: { email: this.email, password: this.password },
      }),
      200,
      "password sign-in",
    );
    return { accessToken: String(answer.body.access_token), refreshToken: String(answer.body.refresh_token) };
  }

  private async publishedJwks(): Promise<JSONWebKeySet> {
    return expectStatus(await this.endpoint.request("GET", "/.well-known/jwks.json"), 200, "GET /.well-known/jwks.json")
      .body as unknown as JSONWebKeySet;
  }

  /** The checks after `step`, against the deployment as the stack outputs describe it. */
  async afterStep(step: StepLabel, { outputs }: Deployment): Promise<void> {
    await this.endpoint.start();
    const anonKey = String(outputs.anonKey);
    const serviceRoleKey = String(outputs.serviceRoleKey);
    const currentKid = String(outputs.currentKid);
    const healthy = await this.endpoint.awaitHealthy();
    if (step === "S0 create") {
      this.k1Kid = currentKid;
      if (
        !this.rec.check(
          this.name("auth:healthy"),
          healthy,
          healthy ? "GET /health answered 200" : "GET /health did not answer 200 within 90 s",
        )
      )
        return;
      await this.rec.attempt(this.name("auth:jwks-equals-output"), async () =>
        this.compareJwks(await this.publishedJwks(), String(outputs.jwks)),
      );
      await this.rec.attempt(this.name("auth:service-role-key-accepted"), async () => {
        const created = expectStatus(
          await this.endpoint.request("POST", "/admin/users", {
            token: serviceRoleKey,
            apikey: serviceRoleKey,
            body: { email: this.email, password: this.password, email_confirm: true },
          }),
          200,
          "POST /admin/users with the serviceRoleKey output",
        );
        // The anon key passes auth's signature check and is then refused as not an admin (not as a bad JWT).
        const asAnon = await this.endpoint.request("GET", "/admin/users", { token: anonKey, apikey: anonKey });
        if (asAnon.status !== 403 || asAnon.body.error_code !== "not_admin") {
          throw new Error(
            `GET /admin/users with the anon key: expected 403 not_admin, got ${asAnon.status} ${JSON.stringify(asAnon.body).slice(0, 200)}`,
          );
        }
        return `user ${String(created.body.id)} created with the serviceRoleKey; the anonKey verifies and is refused as not_admin`;
      });
      this.s0 = await this.signIn(anonKey);
      await this.rec.attempt(this.name("auth:token-kid-current"), () =>
        this.expectKid(this.s0!.accessToken, currentKid),
      );
      await this.rec.attempt(this.name("auth:token-verifies-with-jwks"), async () => {
        const jwks = await this.publishedJwks();
        const { payload } = await jwtVerify(this.s0!.accessToken, createLocalJWKSet(jwks), {
          algorithms: [this.algorithm],
        });
        expectStatus(
          await this.endpoint.request("GET", "/user", { token: this.s0!.accessToken, apikey: anonKey }),
          200,
          "GET /user with the S0 token",
        );
        return `jose verified the access token (sub ${String(payload.sub)}) with auth's JWKS; GET /user answered 200`;
      });
    }
    if (step === "S1 add standby") {
      await this.rec.attempt(this.name("auth:standby-published"), async () => {
        const jwks = await this.publishedJwks();
        const detail = this.compareJwks(jwks, String(outputs.jwks));
        if (jwks.keys.length !== 2)
          throw new Error(`auth publishes ${jwks.keys.length} keys, expected the current and the standby key`);
        const fresh = await this.signIn(anonKey);
        const kid = decodeProtectedHeader(fresh.accessToken).kid;
        if (kid !== this.k1Kid)
          throw new Error(`a new sign-in got kid ${kid}, expected k1's ${this.k1Kid}: the standby key must not sign`);
        return `${detail}; new tokens still carry k1's kid ${kid}`;
      });
    }
    if (step === "S2 promote") {
      if (!healthy)
        this.rec.check(this.name("auth:healthy-after-promote"), false, "GET /health did not answer 200 within 90 s");
      this.promoted = await this.signIn(anonKey).catch(() => undefined);
      await this.rec.attempt(this.name("auth:new-token-kid-after-promote"), () => {
        if (!this.promoted) throw new Error("password sign-in failed after the promotion");
        return this.expectKid(this.promoted.accessToken, currentKid);
      });
      await this.rec.attempt(this.name("auth:old-token-accepted-after-promote"), async () => {
        expectStatus(
          await this.endpoint.request("GET", "/user", { token: this.s0!.accessToken, apikey: anonKey }),
          200,
          "GET /user with the S0 token",
        );
        return `GET /user with the token signed at S0 by ${this.k1Kid} answered 200`;
      });
      await this.rec.attempt(this.name("auth:refresh-after-promote"), async () => {
        const refreshed = expectStatus(
          await this.endpoint.request("POST", "/token?grant_type=refresh_token", {
            token: anonKey,
            apikey: anonKey,
            body: { refresh_token: this.s0!.refreshToken },
          }),
          200,
          "refresh of the S0 session",
        );
        const kid = decodeProtectedHeader(String(refreshed.body.access_token)).kid;
        if (kid !== currentKid)
          throw new Error(`the refreshed token has kid ${kid}, expected the new current ${currentKid}`);
        return `the S0 refresh token refreshed; the new access token carries k2's kid ${kid}`;
      });
    }
    if (step === "S3 revoke") {
      await this.rec.attempt(this.name("auth:old-token-rejected-after-revoke"), async () => {
        const old = await this.endpoint.request("GET", "/user", { token: this.s0!.accessToken, apikey: anonKey });
        if (old.status !== 401 && old.status !== 403)
          throw new Error(`GET /user with k1's S0 token answered ${old.status}; expected a rejection`);
        if (!this.promoted) throw new Error("no k2 session to compare with");
        expectStatus(
          await this.endpoint.request("GET", "/user", { token: this.promoted.accessToken, apikey: anonKey }),
          200,
          "GET /user with the k2 token",
        );
        return `k1's token: ${old.status} ${String(old.body.msg ?? old.body.message ?? "")}; k2's token: 200`;
      });
    }
  }

  /** After destroy and a fresh up on the kept volumes: auth is back and the S0 user signs in again. */
  async signInAfterRecreate(anonKey: string, name: string): Promise<void> {
    await this.rec.attempt(name, async () => {
      await this.endpoint.start();
      if (!(await this.endpoint.awaitHealthy()))
        throw new Error("auth did not answer /health within 90 s after the fresh up");
      const session = await this.signIn(anonKey);
      expectStatus(
        await this.endpoint.request("GET", "/user", { token: session.accessToken, apikey: anonKey }),
        200,
        "GET /user",
      );
      return `auth is healthy on the kept database and the user created at S0 signed in again (kid ${String(decodeProtectedHeader(session.accessToken).kid)})`;
    });
  }

  /** Removes the forwarder. */
  stop(): Promise<void> {
    return this.endpoint.stop();
  }

  private expectKid(token: string, kid: string): string {
    const header = decodeProtectedHeader(token);
    if (header.kid !== kid) throw new Error(`the access token has kid ${header.kid}, the current key is ${kid}`);
    if (header.alg !== this.algorithm)
      throw new Error(`the access token has alg ${header.alg}, expected ${this.algorithm}`);
    return `access token header {alg: ${header.alg}, kid: ${header.kid}}`;
  }

  /** auth's published JWKS against the `jwks` stack output, key by key (member order ignored). */
  private compareJwks(published: JSONWebKeySet, output: string): string {
    const expected = (JSON.parse(output) as JSONWebKeySet).keys;
    const byKid = (keys: JSONWebKeySet["keys"]) => new Map(keys.map((k) => [String(k.kid), canonicalJson(k)]));
    const got = byKid(published.keys);
    const want = byKid(expected);
    const problems: string[] = [];
    for (const [kid, text] of want) {
      if (!got.has(kid)) problems.push(`auth does not publish ${kid}`);
      else if (got.get(kid) !== text) problems.push(`${kid} differs: auth ${got.get(kid)} vs output ${text}`);
    }
    for (const kid of got.keys()) if (!want.has(kid)) problems.push(`auth publishes ${kid}, which the output lacks`);
    if (problems.length) throw new Error(problems.join("; "));
    return `auth's JWKS equals the stack output key for key: [${[...want.keys()].join(", ")}]`;
  }
}

/** A legacy HS256 user token, as an old deployment's auth issued them (no kid), signed with `secret`. */
export async function legacyUserToken(secret: string, userId: string, email: string): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ sub: userId, email, role: "authenticated", aud: "authenticated", aal: "aal1" })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setIssuedAt(now)
    .setExpirationTime(now + 3600)
    .sign(new TextEncoder().encode(secret));
}
