/**
 * What the gateway is built from, and the checks it passes before any of it reaches kong.yml. A malformed key would
 * otherwise surface only as a Kong that refuses its config, or a route that lets nobody in.
 */
import { OPAQUE_PREFIXES } from "../../keyring/tokens";

/** What the gateway needs to know. Every string here is secret except `studio`. */
export interface KongInput {
  /**
   * The active opaque API keys of each kind, in order (the primary first): every `sb_publishable_…` key is accepted
   * as apikey and mapped to `anonKey`, every `sb_secret_…` key to `serviceRoleKey`. A revoked key is not here, so
   * key-auth refuses it.
   */
  apiKeys: { publishable: string[]; secret: string[] };
  /** The anon JWT `sb_publishable_…` is mapped to: the longest-trusted key's, valid across a promotion. */
  anonKey: string;
  /** The service_role JWT `sb_secret_…` is mapped to: the longest-trusted key's, valid across a promotion. */
  serviceRoleKey: string;
  /** Role JWTs accepted as apikey (every trusted key's, then legacy), passed upstream as they are. */
  gatewayTokens: { anon: string[]; serviceRole: string[] };
  /** Basic-auth credentials that guard the dashboard (studio). */
  dashboard: { username: string; password: string };
  /** Whether studio and meta run: only then the dashboard (`/`) and `/pg/` routes exist. */
  studio: boolean;
  /** Whether the edge functions run: only then the `/functions/v1/` route exists. */
  functions?: boolean;
  /** The upstream base URL of a service on the stack network (the service registry's `serviceUrl`). */
  url(role: string): string;
  /** auth's token issuer (`GOTRUE_JWT_ISSUER`, an http(s) URL): it names the OAuth metadata route. */
  issuer: string;
}

const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

/** Each field on its own: the API keys' prefixes, the JWTs' shape, the issuer, the dashboard login. */
function fieldProblems(input: KongInput): string[] {
  const problems: string[] = [];
  for (const kind of ["publishable", "secret"] as const) {
    const keys = input.apiKeys?.[kind];
    const prefix = OPAQUE_PREFIXES[kind];
    if (!Array.isArray(keys)) problems.push(`apiKeys.${kind} must be a list`);
    else
      keys.forEach((key, i) => {
        if (typeof key !== "string" || !new RegExp(`^${prefix}[A-Za-z0-9_-]+$`).test(key)) {
          problems.push(`apiKeys.${kind}[${i}] must be an opaque key "${prefix}…" (base64url characters)`);
        }
      });
  }
  const jwt = (field: string, value: unknown) => {
    // Also catches an Output stringified by mistake ("Calling [toString] on an [Output<T>] …").
    if (typeof value !== "string" || !JWT_SHAPE.test(value)) problems.push(`${field} must be a compact JWT`);
  };
  jwt("anonKey", input.anonKey);
  jwt("serviceRoleKey", input.serviceRoleKey);
  for (const role of ["anon", "serviceRole"] as const) {
    const tokens = input.gatewayTokens?.[role];
    if (!Array.isArray(tokens) || tokens.length === 0)
      problems.push(`gatewayTokens.${role} must list at least one JWT`);
    else tokens.forEach((token, i) => jwt(`gatewayTokens.${role}[${i}]`, token));
  }
  if (typeof input.issuer !== "string" || !/^https?:\/\/[^/]/.test(input.issuer)) {
    problems.push("issuer must be an http(s) URL");
  }
  if (input.studio) {
    if (typeof input.dashboard?.username !== "string" || input.dashboard.username === "") {
      problems.push("dashboard.username must be non-empty when studio is on");
    }
    if (typeof input.dashboard?.password !== "string" || input.dashboard.password === "") {
      problems.push("dashboard.password must be non-empty when studio is on");
    }
  }
  return problems;
}

/** How the keys relate across the two roles; only meaningful once every field is well-formed. */
function crossRoleProblems(input: KongInput): string[] {
  const problems: string[] = [];
  const anon = new Set([...input.apiKeys.publishable, ...input.gatewayTokens.anon]);
  const service = new Set([...input.apiKeys.secret, ...input.gatewayTokens.serviceRole]);
  // key-auth keys are unique across consumers; a shared one would also make the role ambiguous.
  if ([...anon].some((key) => service.has(key))) problems.push("the same key is given for both anon and service_role");
  // An sb_ key must map to a JWT the gateway itself accepts (and so the services behind it verify).
  if (!input.gatewayTokens.anon.includes(input.anonKey)) problems.push("anonKey must be one of gatewayTokens.anon");
  if (!input.gatewayTokens.serviceRole.includes(input.serviceRoleKey)) {
    problems.push("serviceRoleKey must be one of gatewayTokens.serviceRole");
  }
  return problems;
}

/**
 * Validates the gateway's input.
 * @throws with every problem at once; messages name the field but never print a key.
 */
export function checkKongInput(input: KongInput): void {
  const fields = fieldProblems(input);
  const problems = fields.length === 0 ? crossRoleProblems(input) : fields;
  if (problems.length > 0) throw new Error(`invalid gateway input: ${problems.join("; ")}`);
}
