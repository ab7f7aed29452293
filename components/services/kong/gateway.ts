/**
 * The API gateway's declarative configuration: kong.yml for Kong 3.9 in DB-less mode.
 *
 * Pure: the document is built from the keys handed in and rendered with the `yaml` library; nothing is
 * substituted when the container starts (no `$VAR` anywhere), so the file shipped with `uploads` is exactly
 * what Kong loads, and its content changes exactly when a key it embeds changes.
 *
 * The opaque `sb_` keys are not JWTs, and the services behind the gateway only verify JWTs. Kong's
 * request-transformer evaluates a Lua template per request (`$(...)`, rendered by Penlight's `pl.template`
 * in an environment offering `headers`, `query_params`, `uri_captures`, `shared` and, in the default
 * `untrusted_lua = sandbox` mode, little else besides `type`). Our templates use only `headers`,
 * `query_params`, `type` and string methods, and map:
 * - a user's own `Authorization` (anything but `Bearer sb_…`) → passed through unchanged;
 * - the apikey `sb_secret_…` → `Bearer <the longest-trusted key's service_role JWT>`;
 * - the apikey `sb_publishable_…` → `Bearer <the longest-trusted key's anon JWT>`;
 * - any other (JWT) apikey → `Bearer <that apikey>`;
 * - anything else → empty, so an `sb_` key is never forwarded as `Authorization`.
 * The apikey is read where key-auth reads it: the `apikey` header first, else the `apikey` query parameter.
 */
import { stringify } from "yaml";
import { OPAQUE_PREFIXES } from "../../keyring/tokens";
import { WORKER_IDLE_TIMEOUT_MS } from "../functions/functions";

/** Where the kong container reads its declarative config (`KONG_DECLARATIVE_CONFIG`); ship the file there. */
export const KONG_CONFIG_PATH = "/usr/local/kong/kong.yml";

/** The path prefix auth is served under; its mail links and OAuth callbacks must use it. */
export const AUTH_GATEWAY_PATH = "/auth/v1";

/**
 * Kong's router: `expressions` also takes the plain `paths` routes, and ranks any `expression` route above them
 * (Kong `kong/router/transform.lua`, `get_priority`), which the exact-path OpenAPI route relies on. The official
 * Kong override sets the same (supabase/supabase `docker/docker-compose.kong.yml`).
 */
export const KONG_ROUTER_FLAVOR = "expressions";

/** The declarative format Kong 3.x reads natively (1.1 and 2.1 files get their paths migrated at load). */
export const KONG_FORMAT_VERSION = "3.0";

/** Names of the Kong plugins the document may use. */
export type KongPluginName =
  "cors" | "key-auth" | "acl" | "basic-auth" | "request-transformer" | "request-termination" | "post-function";

/** The plugins the document uses; the kong container's `KONG_PLUGINS` must list them (comma-joined). */
export const KONG_PLUGINS: readonly KongPluginName[] = [
  "request-transformer",
  "cors",
  "key-auth",
  "acl",
  "basic-auth",
  "request-termination",
  "post-function",
];

/** What the gateway needs to know. Every string here is secret except `studio`. */
export interface KongInput {
  /** The opaque publishable key `sb_publishable_…`; accepted as apikey, mapped to `anonKey`. */
  publishableKey: string;
  /** The opaque secret key `sb_secret_…`; accepted as apikey, mapped to `serviceRoleKey`. */
  secretKey: string;
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

/** request-transformer's `config` (only the parts we use). Entries are `name:value` strings; `remove` lists names. */
export interface RequestTransformerConfig {
  remove?: { headers?: string[] };
  add?: { headers?: string[]; querystring?: string[] };
  replace?: { headers?: string[]; querystring?: string[] };
}

/** A plugin instance attached to a service. */
export type KongPlugin =
  | { name: "cors" }
  | { name: "key-auth"; config: { hide_credentials: boolean } }
  | { name: "acl"; config: { hide_groups_header: boolean; allow: string[] } }
  | { name: "basic-auth"; config: { hide_credentials: boolean } }
  | { name: "request-transformer"; config: RequestTransformerConfig }
  | { name: "request-termination"; config: { status_code: number; message: string } }
  | { name: "post-function"; config: { access: string[] } };

/**
 * A route: plain prefix paths (format 3.0 treats only `~`-prefixed paths as regexes), or an expression of Kong's
 * expressions router, which wins over every `paths` route it matches.
 */
export type KongRoute =
  { name: string; paths: string[]; strip_path: boolean } | { name: string; expression: string; strip_path: boolean };

/** A service with its routes and plugins. `url` sets protocol, host, port and path at once. */
export interface KongService {
  name: string;
  url: string;
  /** Milliseconds Kong waits between two reads from the upstream (Kong's default: 60000). */
  read_timeout?: number;
  routes: KongRoute[];
  plugins: KongPlugin[];
}

/** A consumer; key-auth credentials are nested, ACL groups are top-level `acls`. */
export interface KongConsumer {
  username: string;
  keyauth_credentials?: { key: string }[];
}

/** The typed kong.yml document. */
export interface KongDeclarativeConfig {
  _format_version: typeof KONG_FORMAT_VERSION;
  _transform: true;
  consumers: KongConsumer[];
  acls: { consumer: string; group: string }[];
  basicauth_credentials?: { consumer: string; username: string; password: string }[];
  services: KongService[];
}

/** Consumer names: one per API role, plus the dashboard's basic-auth user. */
export const CONSUMERS = { anon: "anon", serviceRole: "service_role", dashboard: "DASHBOARD" } as const;
/** ACL groups: `anon` for the publishable side, `admin` for service_role (the only group `/pg/` allows). */
export const ACL_GROUPS = { anon: "anon", admin: "admin" } as const;

const SAFE_LUA_BYTE = /[A-Za-z0-9_. -]/;

/**
 * Renders text as a Lua string literal that is safe inside a request-transformer template: every byte
 * other than letters, digits, space and `_.-` becomes a decimal escape (`\ddd`, valid in Lua 5.1/LuaJIT).
 * Besides quotes and backslashes this keeps `(`, `)` and `$` out of the template, because Penlight finds
 * the end of `$(...)` by balancing parentheses without knowing about Lua strings.
 */
export function luaString(text: string): string {
  let out = "";
  for (const byte of Buffer.from(text, "utf8")) {
    const char = String.fromCharCode(byte);
    out += byte < 0x80 && SAFE_LUA_BYTE.test(char) ? char : `\\${byte.toString().padStart(3, "0")}`;
  }
  return `'${out}'`;
}

/**
 * The apikey as key-auth reads it (header first, then query parameter). `headers` is nginx's table, so the
 * name is case-insensitive; duplicates arrive as tables and a bare `?apikey` as `true`, hence the `type` checks.
 */
const LUA_APIKEY = "local key = headers.apikey or query_params.apikey";

/** Wraps Lua statements into one template: `$((function() … end)())`; nil renders as an empty string. */
function template(body: string[]): string {
  return `$((function() ${body.join(" ")} end)())`;
}

/** The four values the Authorization and realtime templates map between. */
export interface KeyMapping {
  publishableKey: string;
  secretKey: string;
  anonKey: string;
  serviceRoleKey: string;
}

/**
 * The request-transformer template that computes the upstream `Authorization` header (see the module
 * comment for the rules). Used with both `add` and `replace`, so it applies whether or not the client sent one.
 */
export function authorizationTemplate(keys: KeyMapping): string {
  return template([
    "local auth = headers.authorization",
    // A user's session JWT (or any non-sb_ credential, e.g. S3 signatures on storage) goes through untouched.
    "if type(auth) == 'string' and auth ~= '' and not auth:lower():find('^bearer%s+sb_') then return auth end",
    LUA_APIKEY,
    `if key == ${luaString(keys.secretKey)} then return ${luaString(`Bearer ${keys.serviceRoleKey}`)} end`,
    `if key == ${luaString(keys.publishableKey)} then return ${luaString(`Bearer ${keys.anonKey}`)} end`,
    // A role JWT sent only as apikey; an unknown sb_ key is never forwarded.
    "if type(key) == 'string' and key ~= '' and key:sub(1, 3) ~= 'sb_' then return 'Bearer ' .. key end",
  ]);
}

/**
 * The template for realtime's websocket: realtime takes the token from `x-api-key`, else the `apikey` query
 * parameter, and wants a bare JWT (no `Bearer`).
 */
export function realtimeKeyTemplate(keys: KeyMapping): string {
  return template([
    LUA_APIKEY,
    `if key == ${luaString(keys.secretKey)} then return ${luaString(keys.serviceRoleKey)} end`,
    `if key == ${luaString(keys.publishableKey)} then return ${luaString(keys.anonKey)} end`,
    "if type(key) == 'string' and key ~= '' and key:sub(1, 3) ~= 'sb_' then return key end",
  ]);
}

/**
 * The template for the edge functions' `sb-api-key` header: the role JWT an opaque key maps to, from the `apikey`
 * header or an `Authorization: Bearer sb_…` (header only, as upstream's kong.yml reads it), else nil. The functions
 * route leaves `Authorization` alone, so a user's session JWT reaches the runtime as sent.
 */
export function functionsKeyTemplate(keys: KeyMapping): string {
  return template([
    "local key = headers.apikey",
    "local auth = headers.authorization",
    `if key == ${luaString(keys.secretKey)} or auth == ${luaString(`Bearer ${keys.secretKey}`)} then`,
    `return ${luaString(keys.serviceRoleKey)} end`,
    `if key == ${luaString(keys.publishableKey)} or auth == ${luaString(`Bearer ${keys.publishableKey}`)} then`,
    `return ${luaString(keys.anonKey)} end`,
  ]);
}

/** post-function code for functions: drops the `sb-api-key` header when the template rendered nothing. */
export const CLEAR_EMPTY_SB_API_KEY = [
  "local key = kong.request.get_header('sb-api-key')",
  "if key ~= nil and not key:find('%S') then kong.service.request.clear_header('sb-api-key') end",
].join("\n");

/**
 * post-function code for storage: when the template rendered nothing (no user credential, no usable apikey),
 * request-transformer leaves an empty `Authorization`; drop it so storage treats the request as anonymous.
 */
export const CLEAR_EMPTY_AUTHORIZATION = [
  "local auth = kong.request.get_header('authorization')",
  "if auth ~= nil and not auth:find('%S') then kong.service.request.clear_header('authorization') end",
].join("\n");

const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

/** Validates the input; messages name the field but never print a key. */
function checkInput(input: KongInput): void {
  const problems: string[] = [];
  const opaque = (field: "publishableKey" | "secretKey", prefix: string) => {
    if (typeof input[field] !== "string" || !new RegExp(`^${prefix}[A-Za-z0-9_-]+$`).test(input[field])) {
      problems.push(`${field} must be an opaque key "${prefix}…" (base64url characters)`);
    }
  };
  opaque("publishableKey", OPAQUE_PREFIXES.publishable);
  opaque("secretKey", OPAQUE_PREFIXES.secret);
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
  if (problems.length === 0) {
    const anon = new Set([input.publishableKey, ...input.gatewayTokens.anon]);
    const service = new Set([input.secretKey, ...input.gatewayTokens.serviceRole]);
    // key-auth keys are unique across consumers; a shared one would also make the role ambiguous.
    if ([...anon].some((key) => service.has(key)))
      problems.push("the same key is given for both anon and service_role");
    // An sb_ key must map to a JWT the gateway itself accepts (and so the services behind it verify).
    if (!input.gatewayTokens.anon.includes(input.anonKey)) problems.push("anonKey must be one of gatewayTokens.anon");
    if (!input.gatewayTokens.serviceRole.includes(input.serviceRoleKey)) {
      problems.push("serviceRoleKey must be one of gatewayTokens.serviceRole");
    }
  }
  if (problems.length > 0) throw new Error(`invalid gateway input: ${problems.join("; ")}`);
}

/** Credentials in order, each once (Kong rejects a duplicate key-auth key). */
function credentials(keys: string[]): { key: string }[] {
  return [...new Set(keys)].map((key) => ({ key }));
}

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

/**
 * Builds the typed kong.yml document.
 *
 * Routes: open auth endpoints (verify, callback, authorize, SAML ACS/metadata, the JWKS at
 * `/auth/v1/.well-known/jwks.json` and the OAuth metadata, cors only); key-auth + ACL on `/auth/v1/`, `/rest/v1/`
 * (its root, the OpenAPI description, for service_role only), `/graphql/v1`,
 * `/realtime/v1/` (websocket) and `/realtime/v1/api`; `/storage/v1/` without key-auth (S3 clients send no
 * apikey; storage checks tokens itself) but with the same Authorization mapping; realtime's tenant API
 * blocked; with functions, `/functions/v1/` without key-auth (the runtime verifies JWTs) with the opaque keys mapped
 * into `sb-api-key`; with studio, `/pg/` (service_role only), studio's MCP endpoints blocked and `/` behind basic-auth.
 * Secured routes keep the apikey header (`hide_credentials: false`): the templates read it after key-auth.
 * @throws when a key is malformed, missing, or given for both roles (the message names the field only).
 */
export function kongDocument(input: KongInput): KongDeclarativeConfig {
  checkInput(input);
  const upstream = {
    auth: input.url("auth"),
    rest: input.url("rest"),
    // Realtime's URL names its tenant: realtime derives the tenant from the first label of the Host.
    realtime: input.url("realtime"),
    storage: input.url("storage"),
    meta: input.url("meta"),
    studio: input.url("studio"),
  };
  const auth = authorizationTemplate(input);
  const realtimeKey = realtimeKeyTemplate(input);
  const mapAuthorization = (...extraAdds: string[]): KongPlugin => ({
    name: "request-transformer",
    config: {
      add: { headers: [...extraAdds, `Authorization:${auth}`] },
      replace: { headers: [`Authorization:${auth}`] },
    },
  });
  const secured = (extra: KongPlugin[] = [mapAuthorization()]): KongPlugin[] => [
    CORS,
    KEY_AUTH(),
    ...extra,
    ACL(ACL_GROUPS.admin, ACL_GROUPS.anon),
  ];
  // An auth endpoint that needs no apikey: the same path under the gateway's auth prefix.
  const open = (name: string, authPath: string): KongService => ({
    name,
    url: `${upstream.auth}${authPath}`,
    routes: route(name, `${AUTH_GATEWAY_PATH}${authPath}`),
    plugins: [CORS],
  });

  const services: KongService[] = [
    open("auth-v1-open", "/verify"),
    open("auth-v1-open-callback", "/callback"),
    open("auth-v1-open-authorize", "/authorize"),
    open("auth-v1-open-sso-acs", "/sso/saml/acs"),
    open("auth-v1-open-sso-metadata", "/sso/saml/metadata"),
    open("auth-v1-open-jwks", "/.well-known/jwks.json"),
    {
      // OAuth 2.0 authorization-server metadata (RFC 8414), open as upstream's `well-known-oauth` route.
      name: "well-known-oauth",
      url: `${upstream.auth}/.well-known/oauth-authorization-server`,
      routes: route("well-known-oauth", oauthMetadataPath(input.issuer)),
      plugins: [CORS],
    },
    {
      name: "auth-v1",
      url: `${upstream.auth}/`,
      routes: route("auth-v1", `${AUTH_GATEWAY_PATH}/`),
      plugins: secured(),
    },
    {
      // PostgREST's OpenAPI description (the root, exactly) describes every exposed table and function: service_role
      // only, as upstream's `rest-v1-openapi-root` route; `/rest/v1/<table>` stays on the route below.
      name: "rest-v1-openapi",
      url: `${upstream.rest}/`,
      routes: exactRoute("rest-v1-openapi", "/rest/v1/"),
      plugins: [CORS, KEY_AUTH(), mapAuthorization(), ACL(ACL_GROUPS.admin)],
    },
    { name: "rest-v1", url: `${upstream.rest}/`, routes: route("rest-v1", "/rest/v1/"), plugins: secured() },
    {
      name: "graphql-v1",
      url: `${upstream.rest}/rpc/graphql`,
      routes: route("graphql-v1", "/graphql/v1"),
      plugins: secured([mapAuthorization("Content-Profile:graphql_public")]),
    },
    {
      // Kong OSS has no ws service protocol; websocket upgrades are proxied over http.
      name: "realtime-v1-ws",
      url: `${upstream.realtime}/socket`,
      routes: route("realtime-v1-ws", "/realtime/v1/"),
      plugins: secured([
        {
          name: "request-transformer",
          config: {
            add: { headers: [`x-api-key:${realtimeKey}`] },
            replace: { querystring: [`apikey:${realtimeKey}`] },
          },
        },
      ]),
    },
    {
      name: "realtime-v1-rest",
      url: `${upstream.realtime}/api`,
      routes: route("realtime-v1-rest", "/realtime/v1/api"),
      plugins: secured(),
    },
    {
      // Realtime's tenant management API is for operators on the docker network, never for clients.
      name: "realtime-v1-admin-blocked",
      url: `${upstream.realtime}/api`,
      routes: route("realtime-v1-admin-blocked", "/realtime/v1/api/tenants", "/realtime/v1/api/openapi"),
      plugins: [FORBIDDEN()],
    },
    {
      name: "storage-v1",
      url: `${upstream.storage}/`,
      routes: route("storage-v1", "/storage/v1/"),
      plugins: [CORS, mapAuthorization(), { name: "post-function", config: { access: [CLEAR_EMPTY_AUTHORIZATION] } }],
    },
  ];
  if (input.functions) {
    services.push({
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
    });
  }
  if (input.studio) {
    services.push(
      {
        name: "meta",
        url: `${upstream.meta}/`,
        routes: route("meta", "/pg/"),
        plugins: [KEY_AUTH(), ACL(ACL_GROUPS.admin)],
      },
      {
        // Studio's MCP server can run SQL; it is not exposed through the gateway.
        name: "dashboard-mcp-blocked",
        url: `${upstream.studio}/api/mcp`,
        routes: route("dashboard-mcp-blocked", "/api/mcp", "/mcp"),
        plugins: [FORBIDDEN()],
      },
      {
        name: "dashboard",
        url: `${upstream.studio}/`,
        routes: route("dashboard", "/"),
        plugins: [CORS, { name: "basic-auth", config: { hide_credentials: true } }],
      },
    );
  }

  const document: KongDeclarativeConfig = {
    _format_version: KONG_FORMAT_VERSION,
    _transform: true,
    consumers: [
      {
        username: CONSUMERS.anon,
        keyauth_credentials: credentials([input.publishableKey, ...input.gatewayTokens.anon]),
      },
      {
        username: CONSUMERS.serviceRole,
        keyauth_credentials: credentials([input.secretKey, ...input.gatewayTokens.serviceRole]),
      },
      ...(input.studio ? [{ username: CONSUMERS.dashboard }] : []),
    ],
    acls: [
      { consumer: CONSUMERS.anon, group: ACL_GROUPS.anon },
      { consumer: CONSUMERS.serviceRole, group: ACL_GROUPS.admin },
    ],
    services,
  };
  if (input.studio) {
    document.basicauth_credentials = [
      { consumer: CONSUMERS.dashboard, username: input.dashboard.username, password: input.dashboard.password },
    ];
  }
  return document;
}

/**
 * Renders kong.yml. Long lines are never folded and repeated objects never become YAML aliases, so the
 * text is exactly the document, byte-identical for identical input.
 */
export function renderKongYaml(input: KongInput): string {
  const body = stringify(kongDocument(input), { lineWidth: 0, minContentWidth: 0, aliasDuplicateObjects: false });
  // The header is part of the file: rewording it would recreate the kong container of every deployed stack.
  return `# Generated by the Pulumi program (components/kong.ts); changes here are overwritten.\n${body}`;
}
