/**
 * The keyring's settings: the signing keys, the legacy HS256 secret and its keys, token lifetimes and the rotation
 * guard's timing. One entry each in {@link KEYRING_SETTINGS}; pure (no Pulumi, no I/O).
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import * as z from "zod";
import { flag, integer, list, object, oneOf, text } from "../schema/fields";
import { defineRule, defineSetting, type SettingsValues } from "../schema/setting";
import { ALGORITHMS, type Algorithm } from "./algorithms";
import { readImportedJwk } from "./importedJwk";
import { KEY_STATES, type KeyState } from "./model";
import { apiKeysSetting } from "./apiKeySettings";
import { KEY_NAME_EXPECTED, KEY_NAME_PATTERN, uniqueNames } from "./names";
import { DEFAULT_JWKS_CACHE_SECONDS, DEFAULT_JWT_EXPIRY_SECONDS } from "./rotationRules";

/** The shortest HS256 secret auth and PostgREST accept. */
export const JWT_SECRET_MIN_LENGTH = 32;

/** One validated `signingKeys` entry. */
export interface SigningKeyConfig {
  /** Identity of the key in state; renaming means a new key. */
  name: string;
  state: KeyState;
  algorithm: Algorithm;
  /** Imported private JWK, as canonical JSON text (secret). */
  privateJwk?: string;
  /** The imported key's `kid`, when it has one (kept as is). */
  importedKid?: string;
}

const signingKeyEntry = object(
  {
    name: text({
      pattern: KEY_NAME_PATTERN,
      expected: KEY_NAME_EXPECTED,
      type: "`[a-z0-9-]{1,32}`, unique",
    }).describe(
      "the key's identity in state (resource `supabase-key-<name>`); renaming means a new key. List order does not " +
        "matter",
    ),
    state: oneOf(KEY_STATES, "a key state").describe("exactly one key is `current`"),
    algorithm: oneOf(ALGORITHMS, "a signing algorithm")
      .optional()
      .meta({ "x-default": "`ES256`, or the imported key's" })
      .describe("P-256, RSA 2048 or Ed25519. Changing it generates a new key"),
    privateJwk: text(
      { expected: "a private JWK as JSON text (set it with `pulumi config set --secret --path`)", type: "JSON text" },
      { secret: true },
    )
      .optional()
      .meta({ "x-default": "generated" })
      .describe(
        "import an existing private JWK instead of generating one; its `kid` is kept. A one-key JSON array (what " +
          "`supabase gen signing-key` writes to a file) is accepted too. The algorithm is inferred from the key when " +
          "`algorithm` is not set; a JWK whose `kty`/`crv`/`alg` contradicts `algorithm`, a public-only JWK, an RSA " +
          "key under 2048 bits or a JWK missing a member its type needs is rejected",
      ),
  },
  "{name: k1, state: current, algorithm: ES256}",
).transform((entry, ctx): SigningKeyConfig => {
  const { name, state } = entry;
  if (entry.privateJwk === undefined) return { name, state, algorithm: entry.algorithm ?? "ES256" };
  const imported = readImportedJwk(entry.privateJwk, entry.algorithm);
  if ("problem" in imported) {
    ctx.addIssue({ code: "custom", path: ["privateJwk"], message: imported.problem });
    return z.NEVER;
  }
  return {
    name,
    state,
    algorithm: imported.algorithm,
    privateJwk: imported.json,
    ...(imported.kid !== undefined ? { importedKid: imported.kid } : {}),
  };
});

/** Exactly one current key, and no kid twice: judged once every entry is valid. */
function checkRing(entries: SigningKeyConfig[], ctx: z.RefinementCtx): void {
  const current = entries.filter((e) => e.state === "current");
  if (current.length === 0) {
    ctx.addIssue({
      code: "custom",
      message: "has no key with state current; exactly one key must be current (it signs new tokens)",
    });
  } else if (current.length > 1) {
    ctx.addIssue({
      code: "custom",
      message:
        `has ${current.length} keys with state current (${current.map((e) => e.name).join(", ")}); exactly one may ` +
        `be current, set the others to previous or standby`,
    });
  }
  const kids = new Map<string, string>();
  entries.forEach((entry, i) => {
    if (entry.importedKid === undefined) return;
    const owner = kids.get(entry.importedKid);
    if (owner === undefined) kids.set(entry.importedKid, entry.name);
    else {
      ctx.addIssue({
        code: "custom",
        path: [i, "privateJwk"],
        message: `has kid ${JSON.stringify(entry.importedKid)}, already used by key ${JSON.stringify(owner)}; kids must be unique`,
      });
    }
  });
}

const signingKeys = defineSetting({
  key: "signingKeys",
  schema: list(signingKeyEntry, "a list of key entries", {
    required: ": a list of keys such as [{name: k1, state: current, algorithm: ES256}] (see Pulumi.dev.yaml)",
  })
    .min(1, { error: "must hold at least one key, with state current", abort: true })
    .superRefine(uniqueNames("signingKeys"), { when: () => true })
    .superRefine(checkRing),
  type: "list (see below)",
  default: "required",
  doc: "the keyring",
});

/** A pre-signed HS256 role key of the deployment being migrated: its form is checked here, its signature by a rule. */
const legacyRoleKey = (role: "anon" | "service_role") =>
  text({ expected: "the HS256 deployment's JWT (three base64url parts), as in its .env" }, { secret: true })
    .superRefine((token, ctx) => {
      const problem = legacyKeyFormProblem(token, role);
      if (problem) ctx.addIssue({ code: "custom", message: problem });
    })
    .optional();

/** What is wrong with the form of a legacy role key (never printing it): three parts, HS256, the right role. */
function legacyKeyFormProblem(token: string, role: string): string | undefined {
  const parts = token.split(".");
  const decodePart = (part: string | undefined): Record<string, unknown> | undefined => {
    try {
      const value = JSON.parse(Buffer.from(part ?? "", "base64url").toString("utf8"));
      return typeof value === "object" && value !== null && !Array.isArray(value) ? value : undefined;
    } catch {
      return undefined;
    }
  };
  const header = decodePart(parts[0]);
  const payload = decodePart(parts[1]);
  if (parts.length !== 3 || !header || !payload) {
    return "must be the HS256 deployment's JWT (three base64url parts), as in its .env";
  }
  if (header.alg !== "HS256") return `must be an HS256 JWT, got alg ${JSON.stringify(header.alg)}`;
  if (payload.role !== role) return `has role ${JSON.stringify(payload.role)}; expected ${role}`;
  return undefined;
}

/** Every setting of the keyring. */
export const KEYRING_SETTINGS = [
  signingKeys,
  apiKeysSetting,
  defineSetting({
    key: "legacyHs256",
    schema: flag().default(false),
    type: "boolean",
    doc:
      "also accept HS256 tokens signed with `jwtSecret` (migration from an HS256 deployment): adds the secret as a " +
      "verify-only `oct` key (kid `legacy-hs256`) to auth and to the verifiers, `HS256` to the valid methods, and " +
      "mints legacy anon/service_role keys without `kid`",
  }),
  defineSetting({
    key: "jwtSecret",
    schema: text(
      {
        expected: `a secret of at least ${JWT_SECRET_MIN_LENGTH} characters (auth and PostgREST refuse shorter secrets)`,
        minLength: JWT_SECRET_MIN_LENGTH,
      },
      { secret: true },
    ).optional(),
    type: `secret string, ≥ ${JWT_SECRET_MIN_LENGTH} characters`,
    default: "generated (64 random characters, kept in state)",
    doc:
      "the legacy HS256 secret; import your old one when migrating. Reaches containers only with `legacyHs256`: then " +
      "auth, realtime, storage, studio, the pooler and the functions share it (never SQL); without it each service " +
      "that insists on an HS256 secret gets its own random one, and the functions none " +
      "([rotating it](docs/guard-rails.md#hs256-secrets))",
  }),
  defineSetting({
    key: "legacyAnonKey",
    schema: legacyRoleKey("anon"),
    type: "secret string",
    default: "none",
    doc:
      "with `legacyHs256`: the HS256 deployment's own `ANON_KEY`, imported so the gateway keeps accepting it; an " +
      "HS256 JWT of role anon signed by the imported `jwtSecret`",
  }),
  defineSetting({
    key: "legacyServiceRoleKey",
    schema: legacyRoleKey("service_role"),
    type: "secret string",
    default: "none",
    doc:
      "with `legacyHs256`: the HS256 deployment's own `SERVICE_ROLE_KEY`, imported so the gateway keeps accepting " +
      "it; an HS256 JWT of role service_role signed by the imported `jwtSecret`",
  }),
  defineSetting({
    key: "jwtExpiry",
    schema: integer({ min: 1 }).default(DEFAULT_JWT_EXPIRY_SECONDS),
    type: "positive integer, seconds",
    doc: "lifetime of user access tokens issued by auth",
  }),
  defineSetting({
    key: "apiKeyLifetimeDays",
    schema: integer({ min: 1, max: 36500 }).default(1825),
    type: "positive integer ≤ 36500",
    doc: "lifetime of the pre-signed anon/service_role JWTs. Changing it re-mints them (with a new `iat`) and keeps every key",
  }),
  defineSetting({
    key: "allowUnsafeRotation",
    schema: flag().default(false),
    type: "boolean",
    doc: "emergency override of the rotation guard rails",
  }),
  defineSetting({
    key: "jwksCacheSeconds",
    schema: integer({ min: 1 }).default(DEFAULT_JWKS_CACHE_SECONDS),
    type: "positive integer",
    doc: "how long verifiers may cache the JWKS; a standby key must be published this long before it signs",
  }),
] as const;

/** The validated keyring settings. */
export type KeyringConfig = SettingsValues<typeof KEYRING_SETTINGS>;

/** An imported legacy key needs legacy mode and the secret that signed it: checked against that secret. */
export const legacyKeysRule = defineRule<KeyringConfig>({
  reads: ["legacyHs256", "jwtSecret", "legacyAnonKey", "legacyServiceRoleKey"],
  check(config, problems) {
    for (const name of ["legacyAnonKey", "legacyServiceRoleKey"] as const) {
      const token = config[name];
      if (token === undefined) continue;
      if (!config.legacyHs256) {
        problems.add(
          name,
          "is only used with legacyHs256: true (the gateway accepts it during a migration from HS256)",
        );
      } else if (config.jwtSecret === undefined) {
        problems.add(
          name,
          "needs the jwtSecret that signed it: import it with `pulumi config set --secret jwtSecret <JWT_SECRET>`",
        );
      } else if (!signedBy(token, config.jwtSecret)) {
        problems.add(
          name,
          "is not signed by the imported jwtSecret; import the key and the secret from the same deployment",
        );
      }
    }
  },
});

/** Whether an HS256 JWT's signature is the HMAC of its first two parts under `secret` (compared in constant time). */
function signedBy(token: string, secret: string): boolean {
  const [header, payload, signature] = token.split(".");
  const expected = createHmac("sha256", secret).update(`${header}.${payload}`).digest();
  const given = Buffer.from(signature ?? "", "base64url");
  return given.length === expected.length && timingSafeEqual(given, expected);
}
