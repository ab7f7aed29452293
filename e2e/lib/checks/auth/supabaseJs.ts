/**
 * The official client as a judge: @supabase/supabase-js, as an app uses it, against the stack's gateway on
 * 127.0.0.1:<gatewayHttpPort> with the stack's publishable key. At S0 it signs in as the user the auth checks
 * created, reads the user from auth (`getUser()`) and verifies the access token locally (`getClaims()`); after the
 * promotion (S2) it refreshes that S0 session and verifies the new token, signed by the new current key.
 *
 * The gateway is the suite's stand-in (Caddy routing `/auth/v1/*` to the real auth server, e2e/images/kong-standin):
 * what reaches auth is what supabase-js sent, unchecked and unmapped.
 */
import { isAuthError, type Session } from "@supabase/supabase-js";
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify, type JSONWebKeySet } from "jose";
import type { Algorithm } from "../../../../components/keyring/algorithms";
import { JWKS_PATH } from "../../../../components/services/kong/routes";
import type { CheckNamer, Recorder } from "../../core/report";
import type { Deployment } from "../deployment";
import type { StepLabel } from "../expected";
import { checkGatewayStandIn, gatewayUrl } from "../gateway";
import { compareJwks } from "./sessions";
import { gatewayClient, within, type GatewayClient } from "./supabaseJsClient";

/** What a check's detail says about the key supabase-js sends. */
const KEY_NOTE =
  "supabase-js sent the publishable key (sb_publishable_…) as apikey and Authorization; the stand-in gateway " +
  "ignores it (kong would check it and map it to the anon JWT), and auth's token, user and JWKS endpoints do not read it";

/**
 * The algorithms auth-js's `getClaims()` verifies with WebCrypto: `getAlgorithm` maps RS256 and ES256 and throws
 * `Invalid alg claim` for any other (supabase/supabase-js `packages/core/auth-js/src/lib/helpers.ts`; the same in the
 * installed @supabase/auth-js, `dist/main/lib/helpers.js`).
 */
const GET_CLAIMS_ALGORITHMS: readonly string[] = ["ES256", "RS256"];

/** Seconds one supabase-js call may take in all (each request is bounded to 10 s; a refresh retries within 30 s). */
const CALL_SECONDS = 60;

/** The stack outputs these checks read. */
interface Outputs {
  publishableKey: string;
  currentKid: string;
  jwks: string;
}

/** The supabase-js checks of one lifecycle run, keeping the S0 session for the promotion. */
export class SupabaseJsChecks {
  private gateway?: GatewayClient;
  private url = "";
  private session?: Session;
  private k1Kid?: string;

  /**
   * @param host the Docker engine (for the gateway container's health).
   * @param user the user the auth checks create at S0.
   */
  constructor(
    private readonly rec: Recorder,
    private readonly host: string,
    private readonly algorithm: Algorithm,
    private readonly user: { email: string; password: string },
  ) {}

  /** The checks after `step` (S0 and S2; the other steps have none), named by `name`. */
  async afterStep(step: StepLabel, { outputs, layout }: Deployment, name: CheckNamer): Promise<void> {
    if (step !== "S0 create" && step !== "S2 promote") return;
    const keys: Outputs = {
      publishableKey: String(outputs.publishableKey),
      currentKid: String(outputs.currentKid),
      jwks: String(outputs.jwks),
    };
    await checkGatewayStandIn(this.rec, this.host, name, layout);
    this.url = gatewayUrl(layout);
    if (step === "S0 create") await this.atCreate(keys, name);
    else await this.atPromote(keys, name);
  }

  /** S0: sign in, the open JWKS route, `getUser()`, `getClaims()`. */
  private async atCreate(keys: Outputs, name: CheckNamer): Promise<void> {
    this.k1Kid = keys.currentKid;
    this.gateway = gatewayClient(this.url, keys.publishableKey, `sb-e2e-${this.algorithm.toLowerCase()}-auth-token`);
    await this.rec.attempt(name("supabase-js:sign-in"), () => this.signIn(keys.currentKid));
    await this.rec.attempt(name("gateway:open-jwks-route"), () => this.openJwksRoute(keys.jwks));
    await this.rec.attempt(name("supabase-js:get-user"), () => this.getUser());
    await this.getClaimsCheck(name, keys.currentKid);
  }

  /** S2: the S0 session refreshes to a token of the new current key; `getClaims()` on it. */
  private async atPromote(keys: Outputs, name: CheckNamer): Promise<void> {
    await this.rec.attempt(name("supabase-js:refresh-across-promotion"), () => this.refresh(keys.currentKid));
    await this.getClaimsCheck(name, keys.currentKid);
  }

  /** The client, once S0 created it. */
  private get client(): GatewayClient {
    if (!this.gateway) throw new Error("no supabase-js client: S0 did not create one");
    return this.gateway;
  }

  /** The session, once the sign-in gave one. */
  private get current(): Session {
    if (!this.session) throw new Error("no supabase-js session: the sign-in failed");
    return this.session;
  }

  /** `signInWithPassword` as the S0 user: a session whose access token the current key signed. */
  private async signIn(currentKid: string): Promise<string> {
    const { client, requests } = this.client;
    const { data, error } = await within(
      CALL_SECONDS,
      "signInWithPassword",
      client.auth.signInWithPassword({ email: this.user.email, password: this.user.password }),
    );
    if (error || !data.session)
      throw new Error(`signInWithPassword: ${error?.name} ${error?.status} ${error?.message}`);
    this.session = data.session;
    return `${requests.at(-1)} gave a session; ${this.expectHeader(data.session.access_token, currentKid)}; ${KEY_NOTE}`;
  }

  /**
   * The JWKS through the gateway's open route, without an API key, as auth-js and an app's own verifier fetch it:
   * it equals the `jwks` output, and jose verifies the supabase-js access token with it (what an app can do where
   * `getClaims()` refuses the algorithm).
   */
  private async openJwksRoute(jwks: string): Promise<string> {
    const published = await this.gatewayJwks();
    const detail = compareJwks(published, jwks, "the gateway's JWKS");
    return `GET ${JWKS_PATH} without an API key: ${detail}; ${await this.joseVerifies(published)}`;
  }

  /** The JWKS from the gateway's open route (no API key). */
  private async gatewayJwks(): Promise<JSONWebKeySet> {
    const response = await fetch(`${this.url}${JWKS_PATH}`, { signal: AbortSignal.timeout(10_000) });
    if (response.status !== 200) throw new Error(`GET ${JWKS_PATH} answered ${response.status}`);
    return (await response.json()) as JSONWebKeySet;
  }

  /** jose's `jwtVerify` of the session's access token with `jwks`, limited to this run's algorithm. */
  private async joseVerifies(jwks: JSONWebKeySet): Promise<string> {
    const { payload } = await jwtVerify(this.current.access_token, createLocalJWKSet(jwks), {
      algorithms: [this.algorithm],
    });
    return `jose's jwtVerify verified the supabase-js access token with it (sub ${String(payload.sub)})`;
  }

  /** `getUser()`: auth itself accepts the session's access token and answers with the user. */
  private async getUser(): Promise<string> {
    const { client, requests } = this.client;
    const { data, error } = await within(CALL_SECONDS, "getUser", client.auth.getUser());
    if (error) throw new Error(`getUser: ${error.name} ${error.status} ${error.message}`);
    if (data.user.id !== this.current.user.id)
      throw new Error(`getUser answered user ${data.user.id}, the session's is ${this.current.user.id}`);
    return `${requests.at(-1)} with the session's access token: auth answered user ${data.user.id} (${data.user.email})`;
  }

  /**
   * S2: `refreshSession()` of the S0 session gives an access token of the new current key, which jose verifies with
   * the JWKS the gateway serves now.
   */
  private async refresh(currentKid: string): Promise<string> {
    const { client, requests } = this.client;
    const before = this.current;
    const { data, error } = await within(CALL_SECONDS, "refreshSession", client.auth.refreshSession());
    if (error || !data.session) throw new Error(`refreshSession: ${error?.name} ${error?.status} ${error?.message}`);
    if (currentKid === this.k1Kid) throw new Error(`the current key is still k1's ${this.k1Kid} after the promotion`);
    this.session = data.session;
    const header = this.expectHeader(data.session.access_token, currentKid);
    return (
      `${requests.at(-1)} refreshed the session signed in at S0 (access token of ${String(decodeProtectedHeader(before.access_token).kid)}); ` +
      `the new one: ${header}, the promoted key's; with the gateway's JWKS, ${await this.joseVerifies(await this.gatewayJwks())}`
    );
  }

  /**
   * `supabase-js:get-claims` where auth-js verifies the algorithm; for any other (EdDSA),
   * `supabase-js:get-claims-refuses-<alg>`, which passes only when `getClaims()` fails exactly as auth-js's source
   * says it does.
   */
  private async getClaimsCheck(name: CheckNamer, currentKid: string): Promise<void> {
    if (GET_CLAIMS_ALGORITHMS.includes(this.algorithm))
      await this.rec.attempt(name("supabase-js:get-claims"), () => this.getClaimsVerifies(currentKid));
    else
      await this.rec.attempt(name(`supabase-js:get-claims-refuses-${this.algorithm.toLowerCase()}`), () =>
        this.getClaimsRefuses(),
      );
  }

  /**
   * `getClaims()` verifies the access token locally against the JWKS it fetches through the gateway (no call to
   * auth's `/user`, its fallback), and refuses a copy whose signature was changed.
   */
  private async getClaimsVerifies(currentKid: string): Promise<string> {
    const { client, requests } = this.client;
    const from = requests.length;
    const { data, error } = await within(CALL_SECONDS, "getClaims", client.auth.getClaims());
    if (error || !data) throw new Error(`getClaims: ${error?.name} ${error?.message}`);
    const sent = requests.slice(from);
    if (sent.some((r) => r.endsWith("/auth/v1/user")))
      throw new Error(`getClaims fell back to getUser (requests: ${sent.join(", ")}): it did not verify locally`);
    if (data.header.kid !== currentKid || data.header.alg !== this.algorithm)
      throw new Error(`getClaims verified a token of {alg: ${data.header.alg}, kid: ${data.header.kid}}`);
    if (data.claims.sub !== this.current.user.id) throw new Error(`getClaims gave sub ${data.claims.sub}`);
    const tampered = await within(CALL_SECONDS, "getClaims", client.auth.getClaims(withChangedSignature(this.current)));
    if (tampered.error?.message !== "Invalid JWT signature")
      throw new Error(`getClaims on a changed signature: ${tampered.error?.message ?? "accepted it"}`);
    return (
      `getClaims() verified the access token {alg: ${data.header.alg}, kid: ${data.header.kid}} locally with WebCrypto ` +
      `(requests: ${sent.join(", ") || "none, the JWKS was cached"}; no call to /auth/v1/user) and refused a copy with ` +
      `one signature bit changed: Invalid JWT signature`
    );
  }

  /**
   * `getClaims()` on an EdDSA token throws `Error("Invalid alg claim")`, after fetching the JWKS and finding the key:
   * auth-js's `getAlgorithm` has no EdDSA (see {@link GET_CLAIMS_ALGORITHMS}), and since that error is not an
   * AuthError, getClaims throws it instead of returning it in `{ error }`.
   */
  private async getClaimsRefuses(): Promise<string> {
    const { client, requests } = this.client;
    const from = requests.length;
    const outcome = await within(
      CALL_SECONDS,
      "getClaims",
      client.auth.getClaims().then(
        (result) => ({ result }),
        (thrown: unknown) => ({ thrown }),
      ),
    );
    if (!("thrown" in outcome)) {
      const { data, error } = outcome.result;
      throw new Error(
        `getClaims did not throw: ${error ? `error ${error.name} ${error.message}` : `verified ${JSON.stringify(data?.header)}`}; ` +
          "auth-js may verify EdDSA now: update docs/compatibility.md",
      );
    }
    const { thrown } = outcome;
    if (!(thrown instanceof Error) || thrown.message !== "Invalid alg claim" || isAuthError(thrown))
      throw new Error(
        `getClaims threw ${thrown instanceof Error ? `${thrown.name}: ${thrown.message}` : String(thrown)}`,
      );
    const sent = requests.slice(from);
    return (
      `getClaims() threw Error("Invalid alg claim") (not an AuthError, so thrown rather than returned in {error}) for ` +
      `the ${this.algorithm} token {kid: ${String(decodeProtectedHeader(this.current.access_token).kid)}}; requests: ` +
      `${sent.join(", ") || "none, the JWKS was cached"}. auth-js's getAlgorithm maps only RS256 and ES256 ` +
      `(supabase/supabase-js packages/core/auth-js/src/lib/helpers.ts); getUser() and jose accept this session's tokens`
    );
  }

  /** The token's header has this run's algorithm and `kid`; the header, for the check's detail. */
  private expectHeader(token: string, kid: string): string {
    const header = decodeProtectedHeader(token);
    if (header.kid !== kid) throw new Error(`the access token has kid ${header.kid}, the current key is ${kid}`);
    if (header.alg !== this.algorithm)
      throw new Error(`the access token has alg ${header.alg}, expected ${this.algorithm}`);
    return `access token header {alg: ${header.alg}, kid: ${header.kid}}`;
  }
}

/** The session's access token with one bit of its signature flipped: well-formed, and signed by nobody. */
function withChangedSignature(session: Session): string {
  const [header, payload, signature] = session.access_token.split(".");
  const bytes = Buffer.from(signature, "base64url");
  bytes[0] ^= 1;
  return `${header}.${payload}.${bytes.toString("base64url")}`;
}
