/**
 * kong.yml: the rendered document's routes and consumers, and its Lua templates evaluated by a real Lua
 * interpreter (test/support/lua.ts emulates how Kong 3.9's request-transformer renders them), with real keys.
 */
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { SignJWT, importJWK } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { parseConfig } from "../../components/config/parse";
import { deriveKeyring, legacyOctJwk, type Jwk } from "../../components/keyring/model";
import type { EnvMap } from "../../components/schema/project";
import { auth } from "../../components/services/auth/auth";
import { generateSigningJwk, mintRoleTokens, OPAQUE_PREFIXES, opaqueKey } from "../../components/keyring/tokens";
import {
  KONG_PLUGINS,
  type KongDeclarativeConfig,
  type KongService,
  type RequestTransformerConfig,
} from "../../components/services/kong/format";
import { KONG_CONFIG_PATH, kongDocument, renderKongYaml } from "../../components/services/kong/gateway";
import { kong } from "../../components/services/kong/kong";
import type { KongInput } from "../../components/services/kong/input";
import { luaString } from "../../components/services/kong/lua";
import { KONG_ROUTER_FLAVOR, oauthMetadataPath } from "../../components/services/kong/routes";
import { runningServices, serviceUrl } from "../../components/services/index";
import {
  applyRequestTransformer,
  findLuaInterpreter,
  renderTemplates,
  runAccessCode,
  splitEntry,
} from "../support/lua";
import { runBuilder } from "../support/builders";
import { forward, plugin, routeFor } from "../support/gateway";
import { makeEntry } from "../support/keys";
import { apiKeySetOf, DB_PASSWORDS, SECRETS, STACK_SECRETS } from "../support/world";

const LEGACY_SECRET = "legacy-secret-with-at-least-32-characters!!";

/** The stack settings whose `studio` decides which services run. */
const SETTINGS = parseConfig({ signingKeys: JSON.stringify([{ name: "k1", state: "current" }]) });

interface Fixture {
  input: KongInput;
  /** The one active key of each kind in `input.apiKeys`. */
  publishableKey: string;
  secretKey: string;
  current: { jwk: Jwk; anonKey: string; serviceRoleKey: string };
  previous: { anonKey: string; serviceRoleKey: string };
  legacy: { anonKey: string; serviceRoleKey: string };
  userJwt: string;
}

let fx: Fixture;

beforeAll(async () => {
  // Fails (does not skip) when no interpreter is installed: CI installs luajit.
  findLuaInterpreter();
  const now = Math.floor(Date.now() / 1000);
  const currentJwk = await generateSigningJwk("ES256");
  const current = await mintRoleTokens(currentJwk, now, 1825);
  const previous = await mintRoleTokens(await generateSigningJwk("EdDSA"), now - 86_400, 1825);
  const legacy = await mintRoleTokens(legacyOctJwk(LEGACY_SECRET), now - 2 * 86_400, 1825);
  const { key_ops: _ops, ...importable } = currentJwk;
  const userJwt = await new SignJWT({ sub: "2b8f0e7c-user", role: "authenticated", aud: "authenticated" })
    .setProtectedHeader({ alg: "ES256", typ: "JWT", kid: currentJwk.kid })
    .setIssuedAt(now)
    .setExpirationTime(now + 3600)
    .sign(await importJWK(importable, "ES256"));
  const random = () => randomBytes(17).toString("base64url").slice(0, 22);
  const publishableKey = opaqueKey(OPAQUE_PREFIXES.publishable, random());
  const secretKey = opaqueKey(OPAQUE_PREFIXES.secret, random());
  fx = {
    publishableKey,
    secretKey,
    current: { jwk: currentJwk, anonKey: current.anonKey, serviceRoleKey: current.serviceRoleKey },
    previous,
    legacy,
    userJwt,
    input: {
      apiKeys: { publishable: [publishableKey], secret: [secretKey] },
      anonKey: current.anonKey,
      serviceRoleKey: current.serviceRoleKey,
      gatewayTokens: {
        anon: [current.anonKey, previous.anonKey, legacy.anonKey],
        serviceRole: [current.serviceRoleKey, previous.serviceRoleKey, legacy.serviceRoleKey],
      },
      dashboard: { username: "supabase", password: "dashboard-password-1234" },
      studio: true,
      functions: true,
      url: serviceUrl,
      issuer: "https://api.example.com",
    },
  };
});

/** The document exactly as Kong reads it: rendered to YAML and parsed back. */
function loaded(input: KongInput = fx.input): KongDeclarativeConfig {
  return parse(renderKongYaml(input)) as KongDeclarativeConfig;
}

function service(doc: KongDeclarativeConfig, name: string): KongService {
  const found = doc.services.find((s) => s.name === name);
  if (!found) throw new Error(`no service ${name}`);
  return found;
}

const SECURED = ["auth-v1", "rest-v1", "graphql-v1", "realtime-v1-ws", "realtime-v1-rest"];

describe("kong.yml document", () => {
  it("parses as YAML, declares format 3.0 and uses only plugins listed in KONG_PLUGINS (all of them)", () => {
    const text = renderKongYaml(fx.input);
    const doc = parse(text) as KongDeclarativeConfig;
    expect(doc._format_version).toBe("3.0");
    expect(doc._transform).toBe(true);
    const used = new Set(doc.services.flatMap((s) => s.plugins.map((p) => p.name)));
    expect([...used].sort()).toEqual([...KONG_PLUGINS].sort());
    expect(KONG_CONFIG_PATH).toMatch(/^\/.+\.yml$/);
    // What Kong parses is what we built: no YAML aliases, folding or lossy quoting on the way.
    expect(doc).toEqual(JSON.parse(JSON.stringify(kongDocument(fx.input))));
  });

  it("has unique service names, route names and paths", () => {
    const doc = loaded();
    const services = doc.services.map((s) => s.name);
    const routes = doc.services.flatMap((s) => s.routes.map((r) => r.name));
    const paths = doc.services.flatMap((s) => s.routes.flatMap((r) => ("paths" in r ? r.paths : [r.expression])));
    expect(new Set(services).size).toBe(services.length);
    expect(new Set(routes).size).toBe(routes.length);
    expect(new Set(paths).size).toBe(paths.length);
  });

  it("names the file that renders it in its header", () => {
    const header = renderKongYaml(fx.input).split("\n")[0];
    const renderer = /\((components\/[\w/]+\.ts)\)/.exec(header)?.[1];
    expect(renderer, header).toBeDefined();
    expect(fs.readFileSync(path.join(__dirname, "..", "..", renderer!), "utf8")).toMatch(
      /export function renderKongYaml\(/,
    );
  });

  it("contains no $VAR for a shell to substitute and is identical on every render", () => {
    const text = renderKongYaml(fx.input);
    expect(text).not.toMatch(/\$(?!\()/);
    expect(text).not.toContain("${");
    expect(renderKongYaml(fx.input)).toBe(text);
  });

  it("serves the JWKS without an apikey: /auth/v1/.well-known/jwks.json → auth's JWKS, cors only", () => {
    const doc = loaded();
    const svc = routeFor(doc, "/auth/v1/.well-known/jwks.json")!;
    expect(svc.url).toBe("http://auth:9999/.well-known/jwks.json");
    expect(svc.plugins.map((p) => p.name)).toEqual(["cors"]);
    // Anything else under /auth/v1/ still needs a key.
    expect(routeFor(doc, "/auth/v1/user")!.name).toBe("auth-v1");
    expect(routeFor(doc, "/auth/v1/.well-known/openid-configuration")!.name).toBe("auth-v1");
  });

  it("routes each API prefix to its upstream", () => {
    const doc = loaded();
    const upstream = (path: string) => routeFor(doc, path)?.url;
    expect(upstream("/auth/v1/token")).toBe("http://auth:9999/");
    expect(upstream("/auth/v1/verify")).toBe("http://auth:9999/verify");
    expect(upstream("/rest/v1/todos")).toBe("http://rest:3000/");
    expect(upstream("/graphql/v1")).toBe("http://rest:3000/rpc/graphql");
    expect(upstream("/realtime/v1/websocket")).toBe("http://realtime-dev.supabase-realtime:4000/socket");
    expect(upstream("/realtime/v1/api/broadcast")).toBe("http://realtime-dev.supabase-realtime:4000/api");
    expect(upstream("/storage/v1/object/public/avatars/a.png")).toBe("http://storage:5000/");
    expect(upstream("/pg/tables")).toBe("http://meta:8080/");
    expect(upstream("/functions/v1/hello")).toBe("http://functions:9000/");
    expect(upstream("/project/default")).toBe("http://studio:3000/");
  });

  it.each([true, false])(
    "targets only containers that run on the stack network, at their ports (studio %s)",
    (studio) => {
      const doc = loaded({ ...fx.input, studio });
      const running = runningServices({ ...SETTINGS, studio, functions: { ...SETTINGS.functions, enabled: true } });
      for (const svc of doc.services) {
        const url = new URL(svc.url);
        const target = running.find((s) => s.aliases.includes(url.hostname));
        expect(target, svc.name).toBeDefined();
        expect(Number(url.port), svc.name).toBe(target!.port);
      }
    },
  );

  it("requires key-auth (keeping the apikey for the mapping) and an anon/admin ACL on every secured route", () => {
    const doc = loaded();
    for (const name of SECURED) {
      const svc = service(doc, name);
      expect(plugin(svc, "key-auth")?.config.hide_credentials, name).toBe(false);
      expect(plugin(svc, "acl")?.config.allow, name).toEqual(["admin", "anon"]);
      expect(plugin(svc, "request-transformer"), name).toBeDefined();
    }
    expect(plugin(service(doc, "meta"), "acl")?.config.allow).toEqual(["admin"]);
  });

  it(
    "opens nothing else: every route without key-auth is an open auth endpoint, storage, blocked, " +
      "or the dashboard",
    () => {
      const doc = loaded();
      const withoutKeyAuth = doc.services.filter((s) => !plugin(s, "key-auth"));
      for (const svc of withoutKeyAuth) {
        const names = svc.plugins.map((p) => p.name);
        if (svc.name.startsWith("auth-v1-open") || svc.name === "well-known-oauth")
          expect(names, svc.name).toEqual(["cors"]);
        else if (svc.name === "storage-v1") expect(names).toEqual(["cors", "request-transformer", "post-function"]);
        else if (svc.name === "dashboard") expect(names).toEqual(["cors", "basic-auth"]);
        else if (svc.name === "functions-v1") expect(names).toEqual(["cors", "request-transformer", "post-function"]);
        else expect(plugin(svc, "request-termination")?.config.status_code, svc.name).toBe(403);
      }
      expect(withoutKeyAuth.map((s) => s.name).filter((n) => n.startsWith("auth-v1-open"))).toEqual([
        "auth-v1-open",
        "auth-v1-open-callback",
        "auth-v1-open-authorize",
        "auth-v1-open-sso-acs",
        "auth-v1-open-sso-metadata",
        "auth-v1-open-jwks",
      ]);
      expect(withoutKeyAuth.map((s) => s.name)).toContain("well-known-oauth");
      expect(routeFor(doc, "/realtime/v1/api/tenants")!.plugins.map((p) => p.name)).toEqual(["request-termination"]);
      expect(routeFor(doc, "/api/mcp")!.plugins.map((p) => p.name)).toEqual(["request-termination"]);
    },
  );

  it("serves PostgREST's OpenAPI root (/rest/v1/ exactly) to service_role only, the tables to both roles", () => {
    const doc = loaded();
    const root = routeFor(doc, "/rest/v1/")!;
    expect(root.name).toBe("rest-v1-openapi");
    expect(root.url).toBe("http://rest:3000/");
    expect(root.routes).toEqual([
      { name: "rest-v1-openapi-route", expression: 'http.path == "/rest/v1/"', strip_path: true },
    ]);
    expect(plugin(root, "key-auth")?.config.hide_credentials).toBe(false);
    // The anon consumer (publishable key, anon JWTs) is in group anon only: the ACL refuses it here.
    expect(plugin(root, "acl")?.config.allow).toEqual(["admin"]);
    expect(forward(doc, "/rest/v1/", { headers: { apikey: fx.secretKey } }).headers.authorization).toBe(
      `Bearer ${fx.current.serviceRoleKey}`,
    );
    for (const path of ["/rest/v1/todos", "/rest/v1/rpc/hello", "/rest/v1/todos/"])
      expect(routeFor(doc, path)!.name, path).toBe("rest-v1");
    // Kong ranks an expression route above every paths route only with the expressions router.
    expect(KONG_ROUTER_FLAVOR).toBe("expressions");
  });

  it("serves auth's OAuth authorization-server metadata openly, at the RFC 8414 path of the issuer", () => {
    const doc = loaded();
    const svc = routeFor(doc, "/.well-known/oauth-authorization-server")!;
    expect(svc.name).toBe("well-known-oauth");
    expect(svc.url).toBe("http://auth:9999/.well-known/oauth-authorization-server");
    expect(svc.plugins.map((p) => p.name)).toEqual(["cors"]);
    const behindPath = loaded({ ...fx.input, issuer: "https://example.com/supabase" });
    expect(routeFor(behindPath, "/.well-known/oauth-authorization-server/supabase")!.name).toBe("well-known-oauth");
    expect(oauthMetadataPath("http://localhost:8000")).toBe("/.well-known/oauth-authorization-server");
    expect(oauthMetadataPath("https://example.com/a/b//")).toBe("/.well-known/oauth-authorization-server/a/b");
    expect(() => kongDocument({ ...fx.input, issuer: "example.com" })).toThrow(/issuer must be an http\(s\) URL/);
  });

  it("puts the dashboard behind basic-auth with the configured credentials", () => {
    const doc = loaded();
    const dashboard = routeFor(doc, "/")!;
    expect(dashboard.url).toBe("http://studio:3000/");
    expect(plugin(dashboard, "basic-auth")?.config.hide_credentials).toBe(true);
    expect(doc.basicauth_credentials).toEqual([
      { consumer: "DASHBOARD", username: "supabase", password: "dashboard-password-1234" },
    ]);
    expect(doc.acls.filter((a) => a.consumer === "DASHBOARD")).toEqual([]);
  });

  it("has no studio, meta or dashboard routes and no dashboard consumer when studio is off", () => {
    const doc = loaded({ ...fx.input, studio: false, dashboard: { username: "", password: "" } });
    const urls = doc.services.map((s) => s.url);
    expect(urls.filter((u) => u.startsWith("http://studio:") || u.startsWith("http://meta:"))).toEqual([]);
    expect(routeFor(doc, "/")).toBeUndefined();
    expect(routeFor(doc, "/pg/tables")).toBeUndefined();
    expect(doc.consumers.map((c) => c.username)).toEqual(["anon", "service_role"]);
    expect(doc.basicauth_credentials).toBeUndefined();
    expect(doc.services.flatMap((s) => s.plugins.map((p) => p.name))).not.toContain("basic-auth");
  });
});

describe("auth's SAML endpoints", () => {
  /** What a stack with this apiExternalUrl builds: auth's environment and kong's kong.yml, from the same settings. */
  async function stackOf(apiExternalUrl: string): Promise<{ authEnv: EnvMap; doc: KongDeclarativeConfig }> {
    const settings = parseConfig({ signingKeys: JSON.stringify([{ name: "k1", state: "current" }]), apiExternalUrl });
    const { publishableKey, secretKey, jwtSecret } = SECRETS;
    const keyring = {
      ...deriveKeyring([await makeEntry("k1", "current")]),
      publishableKey,
      secretKey,
      apiKeys: apiKeySetOf(publishableKey, secretKey),
      jwtSecret,
    };
    const world = { settings, keyring, secrets: STACK_SECRETS, dbPasswords: DB_PASSWORDS };
    const [file] = runBuilder(kong.files!, world);
    return { authEnv: runBuilder(auth.env, world), doc: parse(file.content) as KongDeclarativeConfig };
  }

  it.each(["http://localhost:8000", "https://example.com/supabase"])(
    "are routed where auth advertises them, openly, to auth (apiExternalUrl %s)",
    async (apiExternalUrl) => {
      const { authEnv, doc } = await stackOf(apiExternalUrl);
      // auth's service provider URL is API_EXTERNAL_URL + "/sso/", its endpoints saml/acs and saml/metadata under it
      // (supabase/auth internal/api/saml.go; crewjam/saml samlsp/new.go).
      const serviceProvider = new URL(`${authEnv.API_EXTERNAL_URL.replace(/\/?$/, "/")}sso/`);
      for (const [name, endpoint] of [
        ["auth-v1-open-sso-acs", "saml/acs"],
        ["auth-v1-open-sso-metadata", "saml/metadata"],
      ]) {
        const advertised = new URL(endpoint, serviceProvider).href;
        // The gateway is at apiExternalUrl: it routes what lies below it.
        expect(advertised.startsWith(`${apiExternalUrl}/`), advertised).toBe(true);
        const svc = routeFor(doc, advertised.slice(apiExternalUrl.length))!;
        expect(svc.name, advertised).toBe(name);
        expect(svc.url).toBe(`${serviceUrl("auth")}/sso/${endpoint}`);
        expect(svc.plugins.map((p) => p.name)).toEqual(["cors"]);
      }
      // Under /auth/v1 they stay open, as before.
      expect(routeFor(doc, "/auth/v1/sso/saml/acs")!.name).toBe("auth-v1-open-sso-acs");
      expect(routeFor(doc, "/auth/v1/sso/saml/metadata")!.name).toBe("auth-v1-open-sso-metadata");
      // The SSO start is an API call: behind key-auth.
      expect(routeFor(doc, "/auth/v1/sso")!.name).toBe("auth-v1");
    },
  );
});

describe("kong.yml consumers", () => {
  it(
    "give anon the publishable key and every accepted anon JWT, service_role the secret key and " +
      "its JWTs, nothing else",
    () => {
      const doc = loaded();
      const keys = (username: string) =>
        doc.consumers.find((c) => c.username === username)?.keyauth_credentials?.map((c) => c.key);
      expect(keys("anon")).toEqual([fx.publishableKey, ...fx.input.gatewayTokens.anon]);
      expect(keys("service_role")).toEqual([fx.secretKey, ...fx.input.gatewayTokens.serviceRole]);
      expect(keys("DASHBOARD")).toBeUndefined();
      expect(doc.acls).toEqual([
        { consumer: "anon", group: "anon" },
        { consumer: "service_role", group: "admin" },
      ]);
    },
  );

  it("lists a token once even when the caller repeats it", () => {
    const anon = [fx.current.anonKey, fx.current.anonKey, fx.legacy.anonKey];
    const doc = loaded({ ...fx.input, gatewayTokens: { ...fx.input.gatewayTokens, anon } });
    const creds = doc.consumers.find((c) => c.username === "anon")!.keyauth_credentials!.map((c) => c.key);
    expect(creds).toEqual([fx.publishableKey, fx.current.anonKey, fx.legacy.anonKey]);
  });

  it("never contains private key material", () => {
    const text = renderKongYaml(fx.input);
    expect(text).not.toContain(fx.current.jwk.d as string);
    expect(text).not.toContain(LEGACY_SECRET);
    expect(text).not.toContain(Buffer.from(LEGACY_SECRET).toString("base64url"));
  });

  it("rejects malformed input naming the field, without echoing any key", () => {
    const bad = (patch: Partial<KongInput>) => () => kongDocument({ ...fx.input, ...patch });
    expect(bad({ apiKeys: { publishable: [fx.secretKey], secret: [fx.secretKey] } })).toThrow(
      /apiKeys\.publishable\[0\] must be an opaque key "sb_publishable_…"/,
    );
    expect(bad({ apiKeys: { publishable: [fx.publishableKey], secret: [""] } })).toThrow(/apiKeys\.secret\[0\]/);
    expect(bad({ anonKey: "Calling [toString] on an [Output<T>] is not supported." })).toThrow(
      /anonKey must be a compact JWT/,
    );
    expect(
      bad({
        gatewayTokens: { anon: [fx.current.anonKey, "sb_publishable_x"], serviceRole: [fx.current.serviceRoleKey] },
      }),
    ).toThrow(/gatewayTokens\.anon\[1\] must be a compact JWT/);
    expect(bad({ gatewayTokens: { anon: [], serviceRole: [fx.current.serviceRoleKey] } })).toThrow(
      /gatewayTokens\.anon must list/,
    );
    expect(bad({ gatewayTokens: { anon: [fx.current.anonKey], serviceRole: [fx.current.anonKey] } })).toThrow(
      /both anon and service_role/,
    );
    expect(bad({ dashboard: { username: "supabase", password: "" } })).toThrow(/dashboard\.password/);
    try {
      kongDocument({ ...fx.input, apiKeys: { publishable: [fx.secretKey], secret: [fx.secretKey] } });
    } catch (error) {
      expect((error as Error).message).not.toContain(fx.secretKey);
    }
  });
});

describe("the Lua harness", () => {
  it("fails on a template that is not valid Lua, and on globals Kong's sandbox does not provide", () => {
    const [syntax, sandboxed, nil] = renderTemplates(["$((headers.apikey == 'x' and ))", "$(tostring(1))", "$(nil)"]);
    expect(syntax).toMatchObject({ ok: false, error: expect.stringContaining("compile error") });
    expect(sandboxed).toMatchObject({ ok: false, error: expect.stringContaining("tostring") });
    expect(nil).toEqual({ ok: true, value: "" });
    expect(() =>
      applyRequestTransformer({ add: { headers: ["Authorization:$((function() return end end)())"] } }, {}),
    ).toThrow(/compile error/);
    expect(() =>
      applyRequestTransformer({ add: { headers: ["Authorization:$((function() return 'x' end)()"] } }, {}),
    ).toThrow(/unbalanced/);
  });

  it("reports a missing interpreter as an error, not a skip", () => {
    expect(() => findLuaInterpreter("/nonexistent")).toThrow(/no Lua interpreter found.*apt-get install -y luajit/);
  });

  it("round-trips any text through luaString", () => {
    const samples = ["plain", 'it\'s "quoted" \\ $(x) )(', "line\nbreak\ttab", "ünïcødé ✓", "%s+%b()"];
    const results = renderTemplates(samples.map((s) => `$(${luaString(s)})`));
    expect(results).toEqual(samples.map((value) => ({ ok: true, value })));
  });

  it("compiles every template and post-function in the rendered kong.yml", () => {
    const doc = loaded();
    const templates = doc.services.flatMap((s) =>
      s.plugins.flatMap((p) => {
        if (p.name !== "request-transformer") return [];
        const c: RequestTransformerConfig = p.config;
        return [
          ...(c.add?.headers ?? []),
          ...(c.replace?.headers ?? []),
          ...(c.add?.querystring ?? []),
          ...(c.replace?.querystring ?? []),
        ];
      }),
    );
    expect(templates.length).toBeGreaterThan(10);
    const rendered = renderTemplates(templates.map((t) => splitEntry(t).value));
    expect(rendered.filter((r) => !r.ok)).toEqual([]);
    for (const name of ["storage-v1", "functions-v1"]) {
      const code = plugin(service(doc, name), "post-function")!.config.access[0];
      expect(() => runAccessCode(code, { headers: {}, query: {} }), name).not.toThrow();
    }
  });
});

describe("kong.yml key mapping, evaluated in Lua", () => {
  let doc: KongDeclarativeConfig;
  beforeAll(() => {
    doc = loaded();
  });
  const bearer = (token: string) => `Bearer ${token}`;

  it("maps the publishable apikey to the current anon JWT and the secret apikey to the service_role JWT", () => {
    for (const path of [
      "/rest/v1/todos",
      "/auth/v1/user",
      "/graphql/v1",
      "/realtime/v1/api/broadcast",
      "/storage/v1/object/x",
    ]) {
      expect(forward(doc, path, { headers: { apikey: fx.publishableKey } }).headers.authorization, path).toBe(
        bearer(fx.current.anonKey),
      );
      expect(forward(doc, path, { headers: { apikey: fx.secretKey } }).headers.authorization, path).toBe(
        bearer(fx.current.serviceRoleKey),
      );
    }
  });

  it("replaces an sb_ key in Authorization (as supabase-js sends it) with the role JWT", () => {
    const pub = forward(doc, "/rest/v1/todos", {
      headers: { apikey: fx.publishableKey, Authorization: bearer(fx.publishableKey) },
    });
    expect(pub.headers.authorization).toBe(bearer(fx.current.anonKey));
    const secret = forward(doc, "/rest/v1/todos", {
      headers: { APIKEY: fx.secretKey, authorization: `bearer  ${fx.secretKey}` },
    });
    expect(secret.headers.authorization).toBe(bearer(fx.current.serviceRoleKey));
  });

  it("grants the role of the apikey key-auth checked, whatever sb_ key Authorization carries", () => {
    const out = forward(doc, "/rest/v1/todos", {
      headers: { apikey: fx.publishableKey, Authorization: bearer(fx.secretKey) },
    });
    expect(out.headers.authorization).toBe(bearer(fx.current.anonKey));
  });

  it("passes a user's own session JWT through unchanged", () => {
    for (const apikey of [fx.publishableKey, fx.current.anonKey]) {
      const out = forward(doc, "/rest/v1/todos", { headers: { apikey, Authorization: bearer(fx.userJwt) } });
      expect(out.headers.authorization).toBe(bearer(fx.userJwt));
    }
  });

  it("copies a role JWT sent only as apikey into Authorization (current, previous and legacy keys)", () => {
    for (const token of [...fx.input.gatewayTokens.anon, ...fx.input.gatewayTokens.serviceRole]) {
      expect(forward(doc, "/rest/v1/todos", { headers: { apikey: token } }).headers.authorization).toBe(bearer(token));
    }
    expect(forward(doc, "/rest/v1/todos", { headers: { apikey: fx.legacy.anonKey } }).headers.authorization).toBe(
      bearer(fx.legacy.anonKey),
    );
  });

  it("maps an apikey given as query parameter, as key-auth accepts it there too", () => {
    const out = forward(doc, "/rest/v1/todos", { query: { apikey: fx.publishableKey } });
    expect(out.headers.authorization).toBe(bearer(fx.current.anonKey));
    // The header wins over the query parameter, exactly as in key-auth.
    const both = forward(doc, "/rest/v1/todos", {
      headers: { apikey: fx.publishableKey },
      query: { apikey: fx.secretKey },
    });
    expect(both.headers.authorization).toBe(bearer(fx.current.anonKey));
  });

  it("adds Content-Profile graphql_public on /graphql/v1 next to the mapped Authorization", () => {
    const out = forward(doc, "/graphql/v1", { headers: { apikey: fx.publishableKey } });
    expect(out.headers["content-profile"]).toBe("graphql_public");
    expect(out.headers.authorization).toBe(bearer(fx.current.anonKey));
  });

  it("maps realtime's websocket apikey query parameter and sets x-api-key to the bare JWT", () => {
    const pub = forward(doc, "/realtime/v1/websocket", { query: { apikey: fx.publishableKey, vsn: "1.0.0" } });
    expect(pub.query).toEqual({ apikey: fx.current.anonKey, vsn: "1.0.0" });
    expect(pub.headers["x-api-key"]).toBe(fx.current.anonKey);
    expect(pub.headers.authorization).toBeUndefined();
    const secret = forward(doc, "/realtime/v1/websocket", { query: { apikey: fx.secretKey } });
    expect(secret.query.apikey).toBe(fx.current.serviceRoleKey);
    expect(secret.headers["x-api-key"]).toBe(fx.current.serviceRoleKey);
    const legacy = forward(doc, "/realtime/v1/websocket", { query: { apikey: fx.legacy.anonKey } });
    expect(legacy.query.apikey).toBe(fx.legacy.anonKey);
    expect(legacy.headers["x-api-key"]).toBe(fx.legacy.anonKey);
  });

  it("on storage, passes S3 signatures through and sends no Authorization when there is nothing to map", () => {
    const s3 = "AWS4-HMAC-SHA256 Credential=abc/20260101/stub/s3/aws4_request, SignedHeaders=host, Signature=00ff";
    expect(forward(doc, "/storage/v1/s3/bucket/key", { headers: { Authorization: s3 } }).headers.authorization).toBe(
      s3,
    );
    expect(forward(doc, "/storage/v1/object/public/b/a.png", {}).headers).not.toHaveProperty("authorization");
    const unknown = forward(doc, "/storage/v1/object/b/a.png", {
      headers: { apikey: `${OPAQUE_PREFIXES.secret}wrong`, Authorization: bearer(`${OPAQUE_PREFIXES.secret}wrong`) },
    });
    expect(unknown.headers).not.toHaveProperty("authorization");
  });

  it("never forwards an sb_ key in Authorization, whatever the client sends", () => {
    const keys = [fx.publishableKey, fx.secretKey, `${OPAQUE_PREFIXES.publishable}unknown`, undefined];
    for (const path of ["/rest/v1/t", "/auth/v1/user", "/graphql/v1", "/realtime/v1/api/x", "/storage/v1/object/x"]) {
      for (const apikey of keys) {
        for (const auth of keys) {
          const headers: Record<string, string> = {};
          if (apikey) headers.apikey = apikey;
          if (auth) headers.Authorization = bearer(auth);
          const value = forward(doc, path, { headers }).headers.authorization;
          // A key as the credential, not the letters "sb_" inside a JWT's random signature.
          expect(typeof value === "string" ? value : "", `${path} apikey=${apikey} auth=${auth}`).not.toMatch(
            /^Bearer sb_/,
          );
        }
      }
    }
  });
});

describe("kong.yml edge functions route, evaluated in Lua", () => {
  let doc: KongDeclarativeConfig;
  beforeAll(() => {
    doc = loaded();
  });
  const bearer = (token: string) => `Bearer ${token}`;
  const sbApiKey = (headers: Record<string, string>) =>
    forward(doc, "/functions/v1/hello", { headers }).headers["sb-api-key"];

  it("exists only with functions, without key-auth, with upstream's read timeout", () => {
    const svc = service(doc, "functions-v1");
    expect(svc.url).toBe("http://functions:9000/");
    expect(svc.read_timeout).toBe(160_000);
    expect(plugin(svc, "key-auth")).toBeUndefined();
    expect(routeFor(loaded({ ...fx.input, functions: false }), "/functions/v1/hello")?.name).toBe("dashboard");
  });

  it("maps an opaque key, in apikey or as Authorization's bearer, to its role JWT in sb-api-key", () => {
    expect(sbApiKey({ apikey: fx.publishableKey })).toBe(fx.current.anonKey);
    expect(sbApiKey({ apikey: fx.secretKey })).toBe(fx.current.serviceRoleKey);
    expect(sbApiKey({ Authorization: bearer(fx.publishableKey) })).toBe(fx.current.anonKey);
    expect(sbApiKey({ Authorization: bearer(fx.secretKey) })).toBe(fx.current.serviceRoleKey);
  });

  it("leaves Authorization as sent, and sends no sb-api-key of the client's or for anything else", () => {
    const out = forward(doc, "/functions/v1/hello", {
      headers: { apikey: fx.publishableKey, Authorization: bearer(fx.userJwt), "SB-API-KEY": "forged" },
    });
    expect(out.headers.authorization).toBe(bearer(fx.userJwt));
    expect(out.headers["sb-api-key"]).toBe(fx.current.anonKey);
    const cases: Array<Record<string, string>> = [
      {},
      { "sb-api-key": fx.current.serviceRoleKey },
      { apikey: fx.current.anonKey },
      { apikey: `${OPAQUE_PREFIXES.secret}unknown` },
      { Authorization: bearer(fx.userJwt) },
    ];
    for (const headers of cases) {
      expect(forward(doc, "/functions/v1/hello", { headers }).headers, JSON.stringify(headers)).not.toHaveProperty(
        "sb-api-key",
      );
    }
  });
});
