/**
 * The gateway's route table: which path goes to which service, behind which plugins. Kong tries the routes by
 * priority, not in this order; the order only keeps kong.yml stable, so that an unchanged table never recreates kong.
 */
import { AUTH_JWKS_PATH } from "../auth/paths";
import { WORKER_IDLE_TIMEOUT_MS } from "../functions/functions";
import { ACL_GROUPS } from "./consumers";
import type { KongPlugin, KongRoute, KongService } from "./format";
import type { KongInput } from "./input";
import {
  authorizationTemplate,
  CLEAR_EMPTY_AUTHORIZATION,
  CLEAR_EMPTY_SB_API_KEY,
  functionsKeyTemplate,
  realtimeKeyTemplate,
} from "./lua";

/** The path prefix auth is served under; its mail links and OAuth callbacks must use it. */
export const AUTH_GATEWAY_PATH = "/auth/v1";

/** Where clients fetch the public JWKS through the gateway, without an API key. */
export const JWKS_PATH = `${AUTH_GATEWAY_PATH}${AUTH_JWKS_PATH}`;

/**
 * auth's SAML endpoints, where it serves them and where it tells identity providers to find them. Its service
 * provider's URL is `API_EXTERNAL_URL` + `/sso/` (supabase/auth `internal/api/saml.go`, `newSAMLServiceProvider`,
 * unless `GOTRUE_SAML_EXTERNAL_URL` is set), the ACS and the metadata `saml/acs` and `saml/metadata` under it
 * (crewjam/saml `samlsp/new.go`, `DefaultServiceProvider`), and auth routes the same paths
 * (supabase/auth `internal/api/api.go`, `/sso/saml/metadata` and `/sso/saml/acs`). This program sets
 * `API_EXTERNAL_URL` to `apiExternalUrl` (services/auth/auth.ts), the gateway's own URL without `/auth/v1`, so an
 * identity provider posts to `/sso/saml/acs` at the gateway's root, as upstream's kong.yml routes it
 * (supabase/supabase `docker/volumes/api/kong.yml`, `auth-v1-open-sso-acs`).
 */
export const SAML_PATHS = { acs: "/sso/saml/acs", metadata: "/sso/saml/metadata" } as const;

/**
 * Kong's router: `expressions` also takes the plain `paths` routes, and ranks any `expression` route above them
 * (Kong `kong/router/transform.lua`, `get_priority`), which the exact-path OpenAPI route relies on. The official
 * Kong override sets the same (supabase/supabase `docker/docker-compose.kong.yml`).
 */
export const KONG_ROUTER_FLAVOR = "expressions";

function route(name: string, ...paths: string[]): KongRoute[] {
  return [{ name: `${name}-route`, paths, strip_path: true }];
}

/** An expressions-router string literal: double-quoted, with `\\` and `"` escaped. */
function expressionString(text: string): string {
  return `"${text.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

/** A route that matches one path exactly (not as a prefix); the whole path is stripped. */
function exactRoute(name: string, path: string): KongRoute[] {
  return [{ name: `${name}-route`, expression: `http.path == ${expressionString(path)}`, strip_path: true }];
}

/**
 * The path of auth's OAuth authorization-server metadata: RFC 8414 section 3.1 puts the well-known segment between
 * the issuer's host and its path, after dropping a trailing `/` (as supabase/supabase
 * `docker/volumes/api/kong-entrypoint.sh` computes it from `JWT_ISSUER`).
 */
export function oauthMetadataPath(issuer: string): string {
  const url = new URL(issuer);
  if (url.protocol !== "http:" && url.protocol !== "https:") throw new Error("the issuer must be an http(s) URL");
  const path = url.pathname.replace(/\/+$/, "");
  return `/.well-known/oauth-authorization-server${path}`;
}

const CORS: KongPlugin = { name: "cors" };
const KEY_AUTH = (): KongPlugin => ({ name: "key-auth", config: { hide_credentials: false } });
const ACL = (...allow: string[]): KongPlugin => ({ name: "acl", config: { hide_groups_header: true, allow } });
const FORBIDDEN = (): KongPlugin => ({
  name: "request-termination",
  config: { status_code: 403, message: "Access is forbidden." },
});

/** request-transformer that sets the upstream `Authorization` from the `authorizationTemplate`, plus `extraAdds`. */
function mapAuthorization(input: KongInput, ...extraAdds: string[]): KongPlugin {
  const auth = authorizationTemplate(input);
  return {
    name: "request-transformer",
    config: {
      add: { headers: [...extraAdds, `Authorization:${auth}`] },
      replace: { headers: [`Authorization:${auth}`] },
    },
  };
}

/** key-auth and ACL for either role around `mapping`. The apikey header stays: the templates read it after key-auth. */
function secured(mapping: KongPlugin): KongPlugin[] {
  return [CORS, KEY_AUTH(), mapping, ACL(ACL_GROUPS.admin, ACL_GROUPS.anon)];
}

/**
 * auth's services: the endpoints a browser reaches without an apikey (verify, callback, authorize, SAML ACS and
 * metadata, the JWKS at `/auth/v1/.well-known/jwks.json` and the OAuth metadata; cors only), then the rest of
 * `/auth/v1/` behind key-auth.
 */
function authServices(input: KongInput): KongService[] {
  const upstream = input.url("auth");
  // An auth endpoint that needs no apikey: the same path under the gateway's auth prefix, and any more paths given.
  const open = (name: string, authPath: string, ...paths: string[]): KongService => ({
    name,
    url: `${upstream}${authPath}`,
    routes: route(name, ...paths, `${AUTH_GATEWAY_PATH}${authPath}`),
    plugins: [CORS],
  });
  return [
    open("auth-v1-open", "/verify"),
    open("auth-v1-open-callback", "/callback"),
    open("auth-v1-open-authorize", "/authorize"),
    // At the paths auth advertises (the root), and under /auth/v1 as before.
    open("auth-v1-open-sso-acs", SAML_PATHS.acs, SAML_PATHS.acs),
    open("auth-v1-open-sso-metadata", SAML_PATHS.metadata, SAML_PATHS.metadata),
    open("auth-v1-open-jwks", AUTH_JWKS_PATH),
    {
      // OAuth 2.0 authorization-server metadata (RFC 8414), open as upstream's `well-known-oauth` route.
      name: "well-known-oauth",
      url: `${upstream}/.well-known/oauth-authorization-server`,
      routes: route("well-known-oauth", oauthMetadataPath(input.issuer)),
      plugins: [CORS],
    },
    {
      name: "auth-v1",
      url: `${upstream}/`,
      routes: route("auth-v1", `${AUTH_GATEWAY_PATH}/`),
      plugins: secured(mapAuthorization(input)),
    },
  ];
}

/**
 * The data APIs: `/rest/v1/` (its root, the OpenAPI description, for service_role only), `/graphql/v1`,
 * `/realtime/v1/` (websocket) and `/realtime/v1/api` behind key-auth, realtime's tenant API blocked, and
 * `/storage/v1/` without key-auth (S3 clients send no apikey; storage checks tokens itself) but with the same
 * Authorization mapping.
 */
function dataServices(input: KongInput): KongService[] {
  const rest = input.url("rest");
  // Realtime's URL names its tenant: realtime derives the tenant from the first label of the Host.
  const realtime = input.url("realtime");
  const realtimeKey = realtimeKeyTemplate(input);
  return [
    {
      // PostgREST's OpenAPI description (the root, exactly) describes every exposed table and function: service_role
      // only, as upstream's `rest-v1-openapi-root` route; `/rest/v1/<table>` stays on the route below.
      name: "rest-v1-openapi",
      url: `${rest}/`,
      routes: exactRoute("rest-v1-openapi", "/rest/v1/"),
      plugins: [CORS, KEY_AUTH(), mapAuthorization(input), ACL(ACL_GROUPS.admin)],
    },
    {
      name: "rest-v1",
      url: `${rest}/`,
      routes: route("rest-v1", "/rest/v1/"),
      plugins: secured(mapAuthorization(input)),
    },
    {
      name: "graphql-v1",
      url: `${rest}/rpc/graphql`,
      routes: route("graphql-v1", "/graphql/v1"),
      plugins: secured(mapAuthorization(input, "Content-Profile:graphql_public")),
    },
    {
      // Kong OSS has no ws service protocol; websocket upgrades are proxied over http.
      name: "realtime-v1-ws",
      url: `${realtime}/socket`,
      routes: route("realtime-v1-ws", "/realtime/v1/"),
      plugins: secured({
        name: "request-transformer",
        config: {
          add: { headers: [`x-api-key:${realtimeKey}`] },
          replace: { querystring: [`apikey:${realtimeKey}`] },
        },
      }),
    },
    {
      name: "realtime-v1-rest",
      url: `${realtime}/api`,
      routes: route("realtime-v1-rest", "/realtime/v1/api"),
      plugins: secured(mapAuthorization(input)),
    },
    {
      // Realtime's tenant management API is for operators on the docker network, never for clients.
      name: "realtime-v1-admin-blocked",
      url: `${realtime}/api`,
      routes: route("realtime-v1-admin-blocked", "/realtime/v1/api/tenants", "/realtime/v1/api/openapi"),
      plugins: [FORBIDDEN()],
    },
    {
      name: "storage-v1",
      url: `${input.url("storage")}/`,
      routes: route("storage-v1", "/storage/v1/"),
      plugins: [
        CORS,
        mapAuthorization(input),
        { name: "post-function", config: { access: [CLEAR_EMPTY_AUTHORIZATION] } },
      ],
    },
  ];
}

/** With functions: `/functions/v1/`, with the opaque keys mapped into `sb-api-key`. */
function functionsService(input: KongInput): KongService {
  return {
    // No key-auth, as upstream: the runtime verifies JWTs itself, and key-auth cannot let keyless calls through
    // while refusing unknown keys. A client's own sb-api-key is removed before the mapped one is added.
    name: "functions-v1",
    url: `${input.url("functions")}/`,
    read_timeout: WORKER_IDLE_TIMEOUT_MS + 10_000,
    routes: route("functions-v1", "/functions/v1/"),
    plugins: [
      CORS,
      {
        name: "request-transformer",
        config: {
          remove: { headers: ["sb-api-key"] },
          add: { headers: [`sb-api-key:${functionsKeyTemplate(input)}`] },
        },
      },
      { name: "post-function", config: { access: [CLEAR_EMPTY_SB_API_KEY] } },
    ],
  };
}

/** With studio: `/pg/` (meta, service_role only), studio's MCP endpoints blocked and `/` behind basic-auth. */
function studioServices(input: KongInput): KongService[] {
  const studio = input.url("studio");
  return [
    {
      name: "meta",
      url: `${input.url("meta")}/`,
      routes: route("meta", "/pg/"),
      plugins: [KEY_AUTH(), ACL(ACL_GROUPS.admin)],
    },
    {
      // Studio's MCP server can run SQL; it is not exposed through the gateway.
      name: "dashboard-mcp-blocked",
      url: `${studio}/api/mcp`,
      routes: route("dashboard-mcp-blocked", "/api/mcp", "/mcp"),
      plugins: [FORBIDDEN()],
    },
    {
      name: "dashboard",
      url: `${studio}/`,
      routes: route("dashboard", "/"),
      plugins: [CORS, { name: "basic-auth", config: { hide_credentials: true } }],
    },
  ];
}

/**
 * Every service of the document with its routes and plugins: auth's, the data APIs, then the edge functions' and
 * the dashboard's when they run. Secured routes keep the apikey header (`hide_credentials: false`): the templates
 * read it after key-auth.
 */
export function kongServices(input: KongInput): KongService[] {
  return [
    ...authServices(input),
    ...dataServices(input),
    ...(input.functions ? [functionsService(input)] : []),
    ...(input.studio ? studioServices(input) : []),
  ];
}
