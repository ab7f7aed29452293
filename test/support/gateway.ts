/**
 * The gateway as Kong runs a request through kong.yml: which route takes a path (as the expressions router ranks
 * them), what key-auth decides about its apikey, and what the service behind it receives once request-transformer
 * and post-function (evaluated in Lua, `lua.ts`) have run.
 */
import type { KongDeclarativeConfig, KongPlugin, KongService } from "../../components/services/kong/format";
import { applyRequestTransformer, runAccessCode, type ForwardedRequest, type LuaRequest } from "./lua";

/** A plugin of a service, if it has one. */
export function plugin<N extends KongPlugin["name"]>(
  svc: KongService,
  name: N,
): Extract<KongPlugin, { name: N }> | undefined {
  return svc.plugins.find((p) => p.name === name) as Extract<KongPlugin, { name: N }> | undefined;
}

/** The one path an expression route matches: the only expression form the document uses is `http.path == "…"`. */
function exactPath(expression: string): string {
  const match = /^http\.path == "((?:[^"\\]|\\.)*)"$/.exec(expression);
  if (!match) throw new Error(`an expression this test cannot evaluate: ${expression}`);
  return match[1].replace(/\\(.)/g, "$1");
}

/**
 * Kong's choice, as its expressions router ranks routes (Kong `kong/router/transform.lua`, `get_priority`): an
 * expression route that matches wins over every `paths` route; among plain prefix paths the longest wins.
 */
export function routeFor(doc: KongDeclarativeConfig, path: string): KongService | undefined {
  let best: { svc: KongService; length: number } | undefined;
  for (const svc of doc.services)
    for (const route of svc.routes) {
      if ("expression" in route) {
        if (exactPath(route.expression) === path) return svc;
        continue;
      }
      for (const prefix of route.paths)
        if (path.startsWith(prefix) && (!best || prefix.length > best.length)) best = { svc, length: prefix.length };
    }
  return best?.svc;
}

/** What the service behind `path` receives: request-transformer, then any post-function, as Kong runs them. */
export function forward(doc: KongDeclarativeConfig, path: string, request: LuaRequest): ForwardedRequest {
  const svc = routeFor(doc, path);
  if (!svc) throw new Error(`no route for ${path}`);
  const transformer = plugin(svc, "request-transformer");
  let out: ForwardedRequest = transformer
    ? applyRequestTransformer(transformer.config, request)
    : {
        headers: Object.fromEntries(Object.entries(request.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v])),
        query: request.query ?? {},
      };
  for (const code of plugin(svc, "post-function")?.config.access ?? []) out = runAccessCode(code, out);
  return out;
}

/**
 * What key-auth decides, as Kong 3.9's does (Kong/kong `kong/plugins/key-auth/handler.lua`): the `apikey` header,
 * else the `apikey` query parameter; none (or empty) is 401 "No API key found in request", a key no consumer holds
 * 401 "Invalid authentication credentials", a repeated one 401 "Duplicate API key found"; otherwise the consumer.
 */
export function keyAuth(
  doc: KongDeclarativeConfig,
  request: LuaRequest,
): { status: 200; consumer: string } | { status: 401; message: string } {
  const header = Object.entries(request.headers ?? {}).find(([name]) => name.toLowerCase() === "apikey")?.[1];
  const value = header ?? request.query?.apikey;
  if (Array.isArray(value)) return { status: 401, message: "Duplicate API key found" };
  if (typeof value !== "string" || value === "") return { status: 401, message: "No API key found in request" };
  const consumer = doc.consumers.find((c) => c.keyauth_credentials?.some((credential) => credential.key === value));
  return consumer
    ? { status: 200, consumer: consumer.username }
    : { status: 401, message: "Invalid authentication credentials" };
}
