/**
 * What the gateway, storage and studio are given at each step of a rotation, for every algorithm, with and
 * without legacy HS256: every JWT they hold or hand on verifies against the JWKS the verifiers hold at that step,
 * the `sb_` keys map (in Kong's own Lua, run by LuaJIT) to such a JWT, a promotion changes nothing they are given,
 * and a revoked key's JWTs appear nowhere.
 */
import { decodeProtectedHeader } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { ALGORITHMS } from "../../components/keyring/algorithms";
import {
  deriveKeyring,
  legacyOctJwk,
  type KeyState,
  type KeyringEntry,
  type KeyringValues,
  type KeyringView,
  type LegacyEntry,
} from "../../components/keyring/model";
import { mintRoleTokens } from "../../components/keyring/tokens";
import { SERVICE_DB_ROLES, type ServiceDbRole } from "../../components/services/db/init";
import type { KongDeclarativeConfig, RequestTransformerConfig } from "../../components/services/kong/format";
import { kong } from "../../components/services/kong/kong";
import type { Builder, EnvMap, StackSecrets, StackSettings, UploadedFile } from "../../components/services/service";
import { storage } from "../../components/services/storage/storage";
import { studio } from "../../components/services/studio/studio";
import { parseConfig } from "../../components/config/parse";
import { runBuilder } from "../support/builders";
import { makeEntry, verifyWithJwks } from "../support/keys";
import { findLuaInterpreter, renderTemplates, splitEntry } from "../support/lua";
import { apiKeySetOf } from "../support/world";

const SETTINGS: StackSettings = parseConfig({ signingKeys: JSON.stringify([{ name: "k1", state: "current" }]) });
const OPAQUE = {
  publishableKey: "sb_publishable_lifecycleViewsPublishable_0123",
  secretKey: "sb_secret_lifecycleViewsSecretKey_0123456789",
};
const API_KEYS = apiKeySetOf(OPAQUE.publishableKey, OPAQUE.secretKey);
const LEGACY_SECRET = "the-old-deployment-secret-with-at-least-32-characters";

/** The rotation: states of k1 and k2 per step (k2 created after k1). */
const STEPS: Array<[string, KeyState, KeyState | undefined]> = [
  ["S0 create", "current", undefined],
  ["S1 add standby", "current", "standby"],
  ["S2 promote", "previous", "current"],
  ["S3 revoke", "revoked", "current"],
];

const SECRETS: StackSecrets = {
  postgresPassword: "pg".repeat(16),
  realtimeSecretKeyBase: "r".repeat(64),
  realtimeDbEncKey: "e".repeat(16),
  metaCryptoKey: "c".repeat(32),
  dashboardPassword: "d".repeat(32),
  s3ProtocolAccessKeyId: "a".repeat(32),
  s3ProtocolAccessKeySecret: "k".repeat(64),
  authJwtSecret: "1".repeat(64),
  realtimeJwtSecret: "2".repeat(64),
  storageJwtSecret: "3".repeat(64),
  studioJwtSecret: "4".repeat(64),
  poolerJwtSecret: "5".repeat(64),
};
const DB_PASSWORDS = Object.fromEntries(SERVICE_DB_ROLES.map((role) => [role, `${role}-`.padEnd(32, "s")])) as Record<
  ServiceDbRole,
  string
>;

/** Runs a builder with only the inputs it names, as the stack does. */
function build<T>(builder: Builder<T>, keyring: KeyringValues): T {
  return runBuilder(builder, { settings: SETTINGS, keyring, secrets: SECRETS, dbPasswords: DB_PASSWORDS });
}

/** What the three consumers are given at one step. */
interface Consumers {
  view: KeyringView;
  kongYaml: string;
  storageEnv: EnvMap;
  studioEnv: EnvMap;
  /** The JWTs among them: kong's credentials and both services' role keys. */
  jwts: string[];
}

function consumers(view: KeyringView): Consumers {
  const keyring: KeyringValues = { ...view, ...OPAQUE, apiKeys: API_KEYS, jwtSecret: LEGACY_SECRET };
  const kongYaml = (build(kong.files! as Builder<UploadedFile[]>, keyring) as UploadedFile[])[0].content;
  const storageEnv = build(storage.env as Builder<EnvMap>, keyring);
  const studioEnv = build(studio.env as Builder<EnvMap>, keyring);
  const jwts = [
    ...view.gatewayTokens.anon,
    ...view.gatewayTokens.serviceRole,
    storageEnv.ANON_KEY,
    storageEnv.SERVICE_KEY,
    studioEnv.SUPABASE_ANON_KEY,
    studioEnv.SUPABASE_SERVICE_KEY,
  ];
  return { view, kongYaml, storageEnv, studioEnv, jwts };
}

describe.each(ALGORITHMS.flatMap((algorithm) => [false, true].map((legacyHs256) => ({ algorithm, legacyHs256 }))))(
  "what kong, storage and studio get through a rotation ($algorithm, legacy $legacyHs256)",
  ({ algorithm, legacyHs256 }) => {
    let k1: KeyringEntry;
    let k2: KeyringEntry;
    let legacy: LegacyEntry | undefined;
    const steps = new Map<string, Consumers>();

    beforeAll(async () => {
      findLuaInterpreter();
      k1 = await makeEntry("k1", "current", algorithm, { now: new Date("2026-01-01T00:00:00Z") });
      k2 = await makeEntry("k2", "standby", algorithm, { now: new Date("2026-02-01T00:00:00Z") });
      if (legacyHs256) {
        const jwk = legacyOctJwk(LEGACY_SECRET);
        legacy = { jwk, ...(await mintRoleTokens(jwk, 1_767_225_600, 1825)) };
      }
      for (const [step, s1, s2] of STEPS) {
        const ring = [{ ...k1, state: s1 }, ...(s2 ? [{ ...k2, state: s2 }] : [])];
        steps.set(step, consumers(deriveKeyring(ring, legacy)));
      }
    });

    it("hands kong, storage and studio only JWTs that verify against the verifiers' JWKS of that step", async () => {
      for (const [step, { view, jwts }] of steps) {
        for (const jwt of jwts) {
          await expect(verifyWithJwks(jwt, view.verifierJwks, view.validMethods), step).resolves.toBeTruthy();
        }
      }
    });

    it("maps the sb_ keys, in Kong's Lua, to the longest-trusted key's JWTs (k1 until it is revoked)", () => {
      for (const [step, { view, kongYaml }] of steps) {
        // The template kong runs for /rest/v1/, taken from the rendered kong.yml.
        const rest = (parseYaml(kongYaml) as KongDeclarativeConfig).services.find((svc) => svc.name === "rest-v1")!;
        const transformer = rest.plugins!.find((p) => p.name === "request-transformer")!;
        const entry = (transformer.config as RequestTransformerConfig).add!.headers!.find((h) =>
          h.startsWith("Authorization:"),
        )!;
        const template = splitEntry(entry).value;
        const [asPublishable] = renderTemplates([template], { headers: { apikey: OPAQUE.publishableKey } });
        const [asSecret] = renderTemplates([template], { headers: { apikey: OPAQUE.secretKey } });
        expect(asPublishable, step).toEqual({ ok: true, value: `Bearer ${view.longestTrustedAnonKey}` });
        expect(asSecret, step).toEqual({ ok: true, value: `Bearer ${view.longestTrustedServiceRoleKey}` });
        const owner = step === "S3 revoke" ? k2 : k1;
        expect(decodeProtectedHeader(view.longestTrustedAnonKey).kid, step).toBe(owner.kid);
        expect(view.gatewayTokens.anon, step).toContain(view.longestTrustedAnonKey);
      }
    });

    it("gives kong, storage and studio exactly the same at the promotion as before it", () => {
      const before = steps.get("S1 add standby")!;
      const after = steps.get("S2 promote")!;
      expect(after.kongYaml).toBe(before.kongYaml);
      expect(after.storageEnv).toEqual(before.storageEnv);
      expect(after.studioEnv).toEqual(before.studioEnv);
      // While the stack outputs move to the new signer.
      expect(after.view.anonKey).toBe(k2.anonKey);
      expect(before.view.anonKey).toBe(k1.anonKey);
    });

    it("lets a revoked key's JWTs appear nowhere kong, storage or studio look", () => {
      const revoked = steps.get("S3 revoke")!;
      const given = [revoked.kongYaml, JSON.stringify(revoked.storageEnv), JSON.stringify(revoked.studioEnv)].join(
        "\n",
      );
      for (const jwt of [k1.anonKey, k1.serviceRoleKey]) expect(given.includes(jwt)).toBe(false);
      expect(given.includes(k2.anonKey)).toBe(true);
    });
  },
);
