/**
 * The Lua in kong.yml: request-transformer templates that map the opaque keys to role JWTs, and the post-function
 * code that cleans up after them.
 *
 * The opaque `sb_` keys are not JWTs, and the services behind the gateway only verify JWTs. Kong's
 * request-transformer evaluates a Lua template per request (`$(...)`, rendered by Penlight's `pl.template`
 * in an environment offering `headers`, `query_params`, `uri_captures`, `shared` and, in the default
 * `untrusted_lua = sandbox` mode, little else besides `type`). Our templates use only `headers`,
 * `query_params`, `type` and string methods, and map:
 * - a user's own `Authorization` (anything but `Bearer sb_…`) → passed through unchanged;
 * - an active `sb_secret_…` apikey → `Bearer <the longest-trusted key's service_role JWT>`;
 * - an active `sb_publishable_…` apikey → `Bearer <the longest-trusted key's anon JWT>`;
 * - any other (JWT) apikey → `Bearer <that apikey>`;
 * - anything else → empty, so an `sb_` key is never forwarded as `Authorization`.
 * The apikey is read where key-auth reads it: the `apikey` header first, else the `apikey` query parameter.
 */

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

/** What the templates map between: every active API key of each kind, and the role JWT each kind maps to. */
export interface KeyMapping {
  apiKeys: { publishable: readonly string[]; secret: readonly string[] };
  anonKey: string;
  serviceRoleKey: string;
}

/**
 * One `if … then return … end` per active key, secret keys first: `condition(key)` is the Lua test for a key, `result`
 * what a match of each kind returns. With one key of each kind this is the two lines the gateway always had.
 */
function mappingLines(
  keys: KeyMapping,
  condition: (key: string) => string,
  result: { publishable: string; secret: string },
): string[] {
  return (["secret", "publishable"] as const).flatMap((kind) =>
    keys.apiKeys[kind].map((key) => `if ${condition(key)} then return ${luaString(result[kind])} end`),
  );
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
    ...mappingLines(keys, (key) => `key == ${luaString(key)}`, {
      secret: `Bearer ${keys.serviceRoleKey}`,
      publishable: `Bearer ${keys.anonKey}`,
    }),
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
    ...mappingLines(keys, (key) => `key == ${luaString(key)}`, {
      secret: keys.serviceRoleKey,
      publishable: keys.anonKey,
    }),
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
    ...mappingLines(keys, (key) => `key == ${luaString(key)} or auth == ${luaString(`Bearer ${key}`)}`, {
      secret: keys.serviceRoleKey,
      publishable: keys.anonKey,
    }),
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
