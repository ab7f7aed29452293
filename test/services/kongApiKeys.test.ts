/**
 * Several API keys at the gateway: kong.yml built by the kong service module from a list of named keys (some
 * revoked), its key-auth consumers judged as Kong's key-auth judges them and its Lua templates evaluated by a real
 * Lua interpreter (test/support/lua.ts), for every active key, a revoked key and malformed keys; and what studio and
 * the functions hold of the same list.
 */
import { randomBytes } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { parseConfig } from "../../components/config/parse";
import { apiKeySet, type ApiKeyConfig } from "../../components/keyring/apiKeys";
import { deriveKeyring, type KeyringEntry } from "../../components/keyring/model";
import { OPAQUE_PREFIXES, opaqueKey } from "../../components/keyring/tokens";
import type { KongDeclarativeConfig } from "../../components/services/kong/format";
import { functions } from "../../components/services/functions/functions";
import { kong } from "../../components/services/kong/kong";
import { studio } from "../../components/services/studio/studio";
import { runBuilder } from "../support/builders";
import { forward, keyAuth } from "../support/gateway";
import { makeEntry } from "../support/keys";
import { findLuaInterpreter } from "../support/lua";
import { DB_PASSWORDS, SECRETS, STACK_SECRETS } from "../support/world";

const key = (kind: "publishable" | "secret") =>
  opaqueKey(OPAQUE_PREFIXES[kind], randomBytes(17).toString("base64url").slice(0, 22));

/** The configured keys with their values: two publishable and three secret ones, one of them revoked. */
const KEYS: Array<ApiKeyConfig & { value: string }> = [
  { name: "publishable", kind: "publishable", state: "active", value: key("publishable") },
  { name: "secret", kind: "secret", state: "revoked", value: key("secret") },
  { name: "mobile", kind: "publishable", state: "active", value: key("publishable") },
  { name: "backend-2", kind: "secret", state: "active", value: key("secret") },
  { name: "batch", kind: "secret", state: "active", value: key("secret") },
];
const ACTIVE = KEYS.filter((k) => k.state === "active");
const REVOKED = KEYS.find((k) => k.state === "revoked")!;
const ROLE = { publishable: "anon", secret: "service_role" } as const;

/** Keys that look like sb_ keys but are none of the active ones: a checksum off by one character, a truncated key. */
const MALFORMED = [
  ACTIVE[0].value.slice(0, -1) + (ACTIVE[0].value.endsWith("A") ? "B" : "A"),
  ACTIVE[1].value.slice(0, -9),
  `${OPAQUE_PREFIXES.secret}${"x".repeat(22)}_abcdefgh`,
];

let ring: KeyringEntry[];
let text: string;
let doc: KongDeclarativeConfig;
let world: Parameters<typeof runBuilder>[1];

beforeAll(async () => {
  findLuaInterpreter();
  ring = [await makeEntry("k1", "previous"), await makeEntry("k2", "current")];
  const settings = parseConfig({
    signingKeys: [
      { name: "k1", state: "previous" },
      { name: "k2", state: "current" },
    ],
    functions: { enabled: true },
  });
  const set = apiKeySet(KEYS);
  const keyring = {
    ...deriveKeyring(ring),
    publishableKey: set.publishable[0].value,
    secretKey: set.secret[0].value,
    apiKeys: set,
    jwtSecret: SECRETS.jwtSecret,
  };
  world = { settings, keyring, secrets: STACK_SECRETS, dbPasswords: DB_PASSWORDS };
  const [file] = runBuilder(kong.files!, world);
  text = file.content;
  doc = parse(text) as KongDeclarativeConfig;
});

/** The role JWT every sb_ key maps to: the longest-trusted signing key's, here k1 (previous, created first). */
const mapped = (kind: "publishable" | "secret") => (kind === "publishable" ? ring[0].anonKey : ring[0].serviceRoleKey);

describe("every active API key", () => {
  it("passes key-auth as its role's consumer, as the apikey header or query parameter", () => {
    for (const { name, kind, value } of ACTIVE) {
      expect(keyAuth(doc, { headers: { apikey: value } }), name).toEqual({ status: 200, consumer: ROLE[kind] });
      expect(keyAuth(doc, { query: { apikey: value } }), name).toEqual({ status: 200, consumer: ROLE[kind] });
    }
  });

  it("reaches rest, realtime and the functions as the longest-trusted key's role JWT, never as itself", () => {
    for (const { name, kind, value } of ACTIVE) {
      const rest = forward(doc, "/rest/v1/todos", { headers: { apikey: value, Authorization: `Bearer ${value}` } });
      expect(rest.headers.authorization, name).toBe(`Bearer ${mapped(kind)}`);
      const socket = forward(doc, "/realtime/v1/websocket", { query: { apikey: value } });
      expect(socket.query.apikey, name).toBe(mapped(kind));
      expect(socket.headers["x-api-key"], name).toBe(mapped(kind));
      expect(forward(doc, "/functions/v1/hello", { headers: { apikey: value } }).headers["sb-api-key"], name).toBe(
        mapped(kind),
      );
      expect(
        forward(doc, "/functions/v1/hello", { headers: { Authorization: `Bearer ${value}` } }).headers["sb-api-key"],
        name,
      ).toBe(mapped(kind));
    }
  });
});

describe("a revoked API key", () => {
  it("is refused by key-auth with its normal 401, and its value is nowhere in kong.yml", () => {
    expect(keyAuth(doc, { headers: { apikey: REVOKED.value } })).toEqual({
      status: 401,
      message: "Invalid authentication credentials",
    });
    expect(text).not.toContain(REVOKED.value);
  });

  it("maps to nothing where key-auth does not run (storage, the functions)", () => {
    const storage = forward(doc, "/storage/v1/object/b/a", {
      headers: { apikey: REVOKED.value, Authorization: `Bearer ${REVOKED.value}` },
    });
    expect(storage.headers).not.toHaveProperty("authorization");
    const fn = forward(doc, "/functions/v1/hello", { headers: { apikey: REVOKED.value } });
    expect(fn.headers).not.toHaveProperty("sb-api-key");
  });
});

describe("a malformed sb_ key", () => {
  it("is refused by key-auth and mapped to nothing, on every route", () => {
    for (const bad of MALFORMED) {
      expect(keyAuth(doc, { headers: { apikey: bad } }), bad).toMatchObject({ status: 401 });
      expect(forward(doc, "/rest/v1/todos", { headers: { apikey: bad } }).headers.authorization ?? "", bad).toBe("");
      expect(forward(doc, "/functions/v1/hello", { headers: { apikey: bad } }).headers, bad).not.toHaveProperty(
        "sb-api-key",
      );
    }
  });
});

describe("studio and the functions", () => {
  it("give the functions every active key (the first under default), studio the first of each kind", () => {
    const env = runBuilder(functions.env, world);
    expect(JSON.parse(env.SUPABASE_PUBLISHABLE_KEYS)).toEqual({ default: KEYS[0].value, mobile: KEYS[2].value });
    expect(JSON.parse(env.SUPABASE_SECRET_KEYS)).toEqual({ default: KEYS[3].value, batch: KEYS[4].value });
    const studioEnv = runBuilder(studio.env, world);
    expect(studioEnv.SUPABASE_PUBLISHABLE_KEY).toBe(KEYS[0].value);
    expect(studioEnv.SUPABASE_SECRET_KEY).toBe(KEYS[3].value);
    expect(JSON.stringify([env, studioEnv])).not.toContain(REVOKED.value);
  });

  it("leave a kind out when it has no active key (allowUnsafeRotation let the last one go)", () => {
    const secretsRevoked = KEYS.map((k) => (k.kind === "secret" ? { ...k, state: "revoked" as const } : k));
    const none = { ...world, keyring: { ...world.keyring, secretKey: undefined, apiKeys: apiKeySet(secretsRevoked) } };
    expect(JSON.parse(runBuilder(functions.env, none).SUPABASE_SECRET_KEYS)).toEqual({});
    expect(runBuilder(studio.env, none)).not.toHaveProperty("SUPABASE_SECRET_KEY");
    // The service_role consumer keeps the signing keys' two service_role JWTs, and no sb_secret_ key.
    const serviceRole = (parse(runBuilder(kong.files!, none)[0].content) as KongDeclarativeConfig).consumers[1];
    expect(serviceRole.keyauth_credentials?.map((c) => c.key)).toEqual([
      ring[0].serviceRoleKey,
      ring[1].serviceRoleKey,
    ]);
  });
});
