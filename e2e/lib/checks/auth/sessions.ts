/**
 * The real auth server as the judge: after each lifecycle step the suite talks to auth (supabase/auth, built
 * from its Go module) through a port it publishes on 127.0.0.1, and checks what a user would notice: sign-in
 * tokens carry the current key's kid and verify against the published JWKS, a session from before a promotion
 * keeps working, a revoked key's tokens stop working.
 */
import { AUTH_JWKS_PATH } from "../../../../components/services/auth/paths";
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify, type JSONWebKeySet } from "jose";
import { canonicalJson } from "../../../../components/keyring/model";
import type { Recorder } from "../../core/report";
import type { Deployment } from "../deployment";
import { STEP_LABELS, type StepLabel } from "../expected";
import { expectStatus, type AuthDoor } from "./endpoint";

/** What a sign-in gives a user. */
interface Session {
  accessToken: string;
  refreshToken: string;
}

/** The stack outputs the auth checks compare auth with. */
interface OutputKeys {
  anonKey: string;
  serviceRoleKey: string;
  currentKid: string;
  /** The `jwks` output, as JSON text. */
  jwks: string;
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
    private readonly endpoint: AuthDoor,
    private readonly algorithm: string,
    /** Put before each check's name (`k8s:` on the Kubernetes target). */
    private readonly prefix = "",
  ) {}

  /**
   * A user's access token that auth must accept while `step`'s update runs: the S0 session's (signed by k1) up to the
   * promotion, then the one signed by k2 after it, since the revocation ends k1's (S3 and the API-key steps after it).
   */
  tokenDuring(step: StepLabel): string | undefined {
    const beforeRevocation = (STEP_LABELS as readonly string[]).slice(0, STEP_LABELS.indexOf("S3 revoke"));
    return beforeRevocation.includes(step) ? this.s0?.accessToken : this.promoted?.accessToken;
  }

  /** The user these checks create at S0, for other clients (supabase-js) to sign in as. */
  get user(): { email: string; password: string } {
    return { email: this.email, password: this.password };
  }

  /** The check's name for this run's algorithm. */
  private name(check: string): string {
    return `${this.prefix}${check}:${this.algorithm}`;
  }

  /** Signs the user in with the password (through the gateway's anon key, as a client would). */
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

  /** auth's `/.well-known/jwks.json`. */
  private async publishedJwks(): Promise<JSONWebKeySet> {
    return expectStatus(await this.endpoint.request("GET", AUTH_JWKS_PATH), 200, `GET ${AUTH_JWKS_PATH}`)
      .body as unknown as JSONWebKeySet;
  }

  /** The checks after `step`, against the deployment as the stack outputs describe it. */
  async afterStep(step: StepLabel, { outputs }: Pick<Deployment, "outputs">): Promise<void> {
    await this.endpoint.start();
    const keys: OutputKeys = {
      anonKey: String(outputs.anonKey),
      serviceRoleKey: String(outputs.serviceRoleKey),
      currentKid: String(outputs.currentKid),
      jwks: String(outputs.jwks),
    };
    const healthy = await this.endpoint.awaitHealthy();
    if (step === "S0 create") await this.afterCreate(keys, healthy);
    if (step === "S1 add standby") await this.afterAddStandby(keys);
    if (step === "S2 promote") await this.afterPromote(keys, healthy);
    if (step === "S3 revoke") await this.afterRevoke(keys);
  }

  /**
   * S0: auth is healthy and publishes the `jwks` output, accepts the output keys, and signs the user in with the
   * current key (the session the later steps keep using).
   */
  private async afterCreate({ anonKey, currentKid, jwks, serviceRoleKey }: OutputKeys, healthy: boolean) {
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
      compareJwks(await this.publishedJwks(), jwks),
    );
    await this.rec.attempt(this.name("auth:service-role-key-accepted"), () => this.createUser(serviceRoleKey, anonKey));
    this.s0 = await this.signIn(anonKey);
    await this.rec.attempt(this.name("auth:token-kid-current"), () => this.expectKid(this.s0!.accessToken, currentKid));
    await this.rec.attempt(this.name("auth:token-verifies-with-jwks"), async () => {
      const published = await this.publishedJwks();
      const { payload } = await jwtVerify(this.s0!.accessToken, createLocalJWKSet(published), {
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

  /** Creates the user with the service_role key, and sees auth refuse the anon key as not an admin. */
  private async createUser(serviceRoleKey: string, anonKey: string): Promise<string> {
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
  }

  /** S1: auth publishes the current and the standby key, and still signs with k1. */
  private async afterAddStandby({ anonKey, jwks }: OutputKeys) {
    await this.rec.attempt(this.name("auth:standby-published"), async () => {
      const published = await this.publishedJwks();
      const detail = compareJwks(published, jwks);
      if (published.keys.length !== 2)
        throw new Error(`auth publishes ${published.keys.length} keys, expected the current and the standby key`);
      const fresh = await this.signIn(anonKey);
      const kid = decodeProtectedHeader(fresh.accessToken).kid;
      if (kid !== this.k1Kid)
        throw new Error(`a new sign-in got kid ${kid}, expected k1's ${this.k1Kid}: the standby key must not sign`);
      return `${detail}; new tokens still carry k1's kid ${kid}`;
    });
  }

  /** S2: new sign-ins carry k2's kid, the S0 session still works and refreshes to a k2 token. */
  private async afterPromote({ anonKey, currentKid }: OutputKeys, healthy: boolean) {
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

  /** S3: k1's S0 token is rejected, k2's works. */
  private async afterRevoke({ anonKey }: OutputKeys) {
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

  /** The token's header has this run's algorithm and `kid`; the header, for the check's detail. */
  private expectKid(token: string, kid: string): string {
    const header = decodeProtectedHeader(token);
    if (header.kid !== kid) throw new Error(`the access token has kid ${header.kid}, the current key is ${kid}`);
    if (header.alg !== this.algorithm)
      throw new Error(`the access token has alg ${header.alg}, expected ${this.algorithm}`);
    return `access token header {alg: ${header.alg}, kid: ${header.kid}}`;
  }
}

/**
 * A published JWKS against the `jwks` stack output, key by key (member order ignored).
 * @param source whose JWKS it is, for the messages: "auth's JWKS", "the gateway's JWKS".
 */
export function compareJwks(published: JSONWebKeySet, output: string, source = "auth's JWKS"): string {
  const expected = (JSON.parse(output) as JSONWebKeySet).keys;
  const byKid = (keys: JSONWebKeySet["keys"]) => new Map(keys.map((k) => [String(k.kid), canonicalJson(k)]));
  const got = byKid(published.keys);
  const want = byKid(expected);
  const problems: string[] = [];
  for (const [kid, text] of want) {
    if (!got.has(kid)) problems.push(`${source} lacks ${kid}`);
    else if (got.get(kid) !== text) problems.push(`${kid} differs: ${source} ${got.get(kid)} vs output ${text}`);
  }
  for (const kid of got.keys()) if (!want.has(kid)) problems.push(`${source} has ${kid}, which the output lacks`);
  if (problems.length) throw new Error(problems.join("; "));
  return `${source} equals the stack output key for key: [${[...want.keys()].join(", ")}]`;
}
