/**
 * No container holds a secret that makes tokens another service accepts. Each service that insists on an HS256
 * secret (auth, realtime, storage, the pooler, studio) gets its own, and the functions get none; only with
 * `legacyHs256` do the verifiers share the imported legacy secret, because a migration needs old tokens to verify.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { parseConfig } from "../../components/config/parse";
import { readFunctionsDir } from "../../components/config/read";
import { deriveKeyring, legacyOctJwk, type KeyringValues } from "../../components/keyring/model";
import { mintRoleTokens } from "../../components/keyring/tokens";
import { SERVICES } from "../../components/services/index";
import type { ServiceModule, StackSettings } from "../../components/services/service";
import { runBuilder } from "../support/builders";
import { makeEntry } from "../support/keys";
import { DB_PASSWORDS, OPAQUE_KEYS, SECRETS, STACK_SECRETS } from "../support/world";

const RAW = {
  signingKeys: JSON.stringify([{ name: "k1", state: "current" }]),
  functions: JSON.stringify({ enabled: true }),
};

/** Every service runs (studio and the pooler by default, the functions with their own main entry). */
const settingsOf = (extra: Record<string, string> = {}) => parseConfig({ ...RAW, ...extra }, { readFunctionsDir });

/** Every text each service is given: its environment's values and its files' contents. */
function everythingGiven(settings: StackSettings, keyring: KeyringValues): Map<ServiceModule, string[]> {
  const world = { settings, keyring, secrets: STACK_SECRETS, dbPasswords: DB_PASSWORDS };
  return new Map(
    (SERVICES as readonly ServiceModule[]).map((service) => [
      service,
      [
        ...Object.values(runBuilder(service.env, world)),
        ...(service.files ? runBuilder(service.files, world).map((f) => f.content) : []),
      ],
    ]),
  );
}

let keyring: KeyringValues;
beforeAll(async () => {
  keyring = {
    ...deriveKeyring([await makeEntry("k1", "current")]),
    ...OPAQUE_KEYS,
    jwtSecret: SECRETS.jwtSecret,
  };
});

describe("HS256 secrets without legacyHs256", () => {
  it("each service's is its own: no other container's environment or files hold it", () => {
    const given = everythingGiven(settingsOf(), keyring);
    const pairs: string[] = [];
    let checked = 0;
    for (const [accepting, texts] of given) {
      const env = runBuilder(accepting.env, {
        settings: settingsOf(),
        keyring,
        secrets: STACK_SECRETS,
        dbPasswords: DB_PASSWORDS,
      });
      for (const name of accepting.hs256Secrets ?? []) {
        const secret = env[name];
        expect(secret.length, `${accepting.role} ${name}`).toBeGreaterThanOrEqual(32);
        expect(texts.some((t) => t.includes(secret))).toBe(true);
        for (const [holder, held] of given) {
          if (holder === accepting) continue;
          checked++;
          if (held.some((text) => text.includes(secret)))
            pairs.push(`${holder.role} holds ${accepting.role}'s ${name}`);
        }
      }
    }
    expect(pairs).toEqual([]);
    expect(checked).toBeGreaterThanOrEqual(5 * (SERVICES.length - 1));
  });

  it("gives no container the shared legacy secret, and the functions no HS256 secret at all", () => {
    const given = everythingGiven(settingsOf(), keyring);
    for (const [service, texts] of given) {
      expect(
        texts.some((t) => t.includes(SECRETS.jwtSecret)),
        service.role,
      ).toBe(false);
    }
    const functions = SERVICES.find((s) => s.role === "functions")!;
    const env = runBuilder(functions.env, {
      settings: settingsOf(),
      keyring,
      secrets: STACK_SECRETS,
      dbPasswords: DB_PASSWORDS,
    });
    expect(env.JWT_SECRET).toBeUndefined();
  });
});

describe("HS256 secrets with legacyHs256 (a migration)", () => {
  it("shares the imported secret with every service that verifies HS256 tokens, as the migration needs", async () => {
    const oct = legacyOctJwk(SECRETS.jwtSecret);
    const legacy = await mintRoleTokens(oct, 1_700_000_000, 3650);
    const view = deriveKeyring([await makeEntry("k1", "current")], { jwk: oct, ...legacy });
    const legacyKeyring = { ...keyring, ...view };
    const settings = settingsOf({ legacyHs256: "true" });
    const world = { settings, keyring: legacyKeyring, secrets: STACK_SECRETS, dbPasswords: DB_PASSWORDS };
    for (const service of SERVICES as readonly ServiceModule[]) {
      const env = runBuilder(service.env, world);
      for (const name of service.hs256Secrets ?? [])
        expect(env[name], `${service.role} ${name}`).toBe(SECRETS.jwtSecret);
    }
    const functions = SERVICES.find((s) => s.role === "functions")!;
    expect(runBuilder(functions.env, world).JWT_SECRET).toBe(SECRETS.jwtSecret);
  });
});
