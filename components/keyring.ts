/**
 * `SigningKeyring`: one `SigningKey` per config entry, the legacy secret, the opaque `sb_` keys, and every
 * derived value the Supabase services consume. Declares resources only; the derivations live in `jwks.ts`
 * and `tokens.ts`.
 */
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { canonicalJson, type KeyringConfig } from "./config";
import {
  byName,
  deriveKeyring,
  legacyOctJwk,
  type Jwk,
  type Jwks,
  type KeyringEntry,
  type KeyringView,
  type LegacyEntry,
} from "./jwks";
import { asPlain, asSecret } from "./outputs";
import { SigningKey } from "./signingKey";
import { configWarnings, expiryFindings, keySource } from "./guardRails";
import { RotationGuard } from "./rotationGuard";
import { OPAQUE_PREFIXES, opaqueKey } from "./tokens";

/** Arguments of a {@link SigningKeyring}. */
export interface SigningKeyringArgs {
  /** The validated keyring config (see `parseConfig`). Secrets in it are wrapped before any resource sees them. */
  config: KeyringConfig;
}

/** What the keyring knows about one key, for status displays and guard rails. */
export interface KeyStatus {
  name: string;
  state: string;
  algorithm: string;
  kid: string;
  createdAt: string;
  expiresAt: number;
}

/** Length of the random part of an opaque `sb_` key (base64url characters). */
const OPAQUE_RANDOM_LENGTH = 22;

/** The signing keyring of one Supabase deployment. */
export class SigningKeyring extends pulumi.ComponentResource {
  /** `GOTRUE_JWT_KEYS`: a JSON array; only the current key is private (secret). */
  readonly authKeys: pulumi.Output<Jwk[]>;
  /** The JWKS object for rest, realtime and storage (secret: it holds the `oct` key in legacy mode). */
  readonly verifierJwks: pulumi.Output<Jwks>;
  /** The public JWKS as auth publishes it (never an `oct` key). */
  readonly publicJwks: pulumi.Output<Jwks>;
  /** `GOTRUE_JWT_VALID_METHODS`, e.g. `["ES256"]`. */
  readonly validMethods: pulumi.Output<string[]>;
  /** The kid in the header of every new token. */
  readonly currentKid: pulumi.Output<string>;
  /** The current key's pre-signed anon JWT (secret). */
  readonly anonKey: pulumi.Output<string>;
  /** The current key's pre-signed service_role JWT (secret). */
  readonly serviceRoleKey: pulumi.Output<string>;
  /** Role JWTs the gateway accepts as apikeys: current and previous keys (+ legacy) (secret). */
  readonly gatewayTokens: pulumi.Output<KeyringView["gatewayTokens"]>;
  /** Opaque `sb_publishable_…` key (secret). */
  readonly publishableKey: pulumi.Output<string>;
  /** Opaque `sb_secret_…` key (secret). */
  readonly secretKey: pulumi.Output<string>;
  /** The legacy HS256 secret, always given to the services that require one (secret). */
  readonly jwtSecret: pulumi.Output<string>;
  /** Legacy HS256 anon/service_role keys, only when `legacyHs256` is on: the imported ones, else minted (secret). */
  readonly legacyAnonKey?: pulumi.Output<string>;
  readonly legacyServiceRoleKey?: pulumi.Output<string>;
  /** Per-key facts (name, state, kid, creation and expiry times), ordered by name. */
  readonly keys: pulumi.Output<KeyStatus[]>;
  /** The key resources by entry name. */
  readonly signingKeys: Record<string, SigningKey>;

  constructor(name: string, args: SigningKeyringArgs, opts?: pulumi.ComponentResourceOptions) {
    // Args are not passed to super(): the SDK would store them (secrets included) in the component's state.
    super("supabase-selfhosted:index:SigningKeyring", name, {}, opts);
    const config = args.config;

    this.signingKeys = {};
    for (const entry of config.signingKeys) {
      this.signingKeys[entry.name] = new SigningKey(
        `${name}-key-${entry.name}`,
        {
          algorithm: entry.algorithm,
          ...(entry.privateJwk !== undefined ? { importedJwk: pulumi.secret(entry.privateJwk) } : {}),
          apiKeyLifetimeDays: config.apiKeyLifetimeDays,
        },
        { parent: this },
      );
    }

    this.jwtSecret = pulumi.secret(
      config.jwtSecret ??
        new random.RandomPassword(`${name}-jwt-secret`, { length: 64, special: false }, { parent: this }).result,
    );

    let legacy: SigningKey | undefined;
    if (config.legacyHs256) {
      legacy = new SigningKey(
        `${name}-legacy-hs256`,
        {
          algorithm: "HS256",
          importedJwk: pulumi.secret(this.jwtSecret.apply((secret) => canonicalJson(legacyOctJwk(secret)))),
          apiKeyLifetimeDays: config.apiKeyLifetimeDays,
        },
        { parent: this },
      );
      // The old deployment's own keys, when imported, are what its clients hold: accept those instead of new ones.
      const imported = config.legacyApiKeys;
      this.legacyAnonKey = pulumi.secret(imported?.anon ?? legacy.anonKey);
      this.legacyServiceRoleKey = pulumi.secret(imported?.serviceRole ?? legacy.serviceRoleKey);
    }

    this.publishableKey = this.opaqueKey(name, "publishable");
    this.secretKey = this.opaqueKey(name, "secret");

    const entries = config.signingKeys.map((entry) => {
      const key = this.signingKeys[entry.name];
      return pulumi
        .all([key.kid, key.privateJwk, key.publicJwk, key.anonKey, key.serviceRoleKey, key.expiresAt, key.createdAt])
        .apply(([kid, privateJwk, publicJwk, anonKey, serviceRoleKey, expiresAt, createdAt]): KeyringEntry => ({
          name: entry.name,
          state: entry.state,
          algorithm: entry.algorithm,
          kid,
          privateJwk,
          publicJwk: publicJwk as Jwk,
          anonKey,
          serviceRoleKey,
          expiresAt,
          createdAt,
        }));
    });
    const legacyEntry: pulumi.Output<LegacyEntry | undefined> = legacy
      ? pulumi
          .all([legacy.privateJwk, this.legacyAnonKey!, this.legacyServiceRoleKey!])
          .apply(([jwk, anonKey, serviceRoleKey]) => ({ jwk, anonKey, serviceRoleKey }))
      : pulumi.output(undefined);
    // Rotation guard rails (guardRails.ts). The guard remembers the last applied ring and its check fails any
    // preview whose change would sign users out; every value derived below waits for it (guard.id joins `view`),
    // so when it fails no container is even planned with the new keys.
    const guard = new RotationGuard(
      `${name}-rotation-guard`,
      {
        keys: config.signingKeys.map((entry, index) => ({
          index,
          name: entry.name,
          state: entry.state,
          algorithm: entry.algorithm,
          source: keySource(entry),
          kid: this.signingKeys[entry.name].kid,
          createdAt: this.signingKeys[entry.name].createdAt,
          expiresAt: this.signingKeys[entry.name].expiresAt,
        })),
        allowUnsafeRotation: config.allowUnsafeRotation,
        jwksCacheSeconds: config.jwksCacheSeconds,
        jwtExpiry: config.jwtExpiry,
      },
      { parent: this },
    );
    // Warnings cannot come from a provider's check: the program logs them (config-only ones, and the current
    // key's role-JWT expiry once its state is known).
    for (const warning of configWarnings(config)) pulumi.log.warn(warning, this);
    pulumi.all(config.signingKeys.map((e) => this.signingKeys[e.name].expiresAt)).apply((expiries) => {
      const facts = config.signingKeys.map((e, index) => ({
        index,
        name: e.name,
        state: e.state,
        algorithm: e.algorithm,
        source: keySource(e),
        expiresAt: expiries[index],
      }));
      for (const warning of expiryFindings(facts, new Date()).warnings) pulumi.log.warn(warning, this);
    });

    const view = pulumi
      .all([pulumi.all(entries), legacyEntry, guard.id])
      .apply(([list, leg]) => deriveKeyring(list, leg));

    // Mocks ignore additionalSecretOutputs, and derived values would otherwise lose the secret bit: wrap here.
    this.authKeys = asSecret(view.apply((v) => v.authKeys));
    this.verifierJwks = config.legacyHs256
      ? asSecret(view.apply((v) => v.verifierJwks))
      : asPlain(view.apply((v) => v.verifierJwks));
    this.publicJwks = asPlain(view.apply((v) => v.publicJwks));
    this.validMethods = asPlain(view.apply((v) => v.validMethods));
    this.currentKid = asPlain(view.apply((v) => v.currentKid));
    this.anonKey = asSecret(view.apply((v) => v.anonKey));
    this.serviceRoleKey = asSecret(view.apply((v) => v.serviceRoleKey));
    this.gatewayTokens = asSecret(view.apply((v) => v.gatewayTokens));
    this.keys = asPlain(
      pulumi.all(entries).apply((list) =>
        [...list].sort(byName).map(({ name: keyName, state, algorithm, kid, createdAt, expiresAt }) => ({
          name: keyName,
          state,
          algorithm,
          kid,
          createdAt,
          expiresAt,
        })),
      ),
    );

    this.registerOutputs({
      currentKid: this.currentKid,
      publicJwks: this.publicJwks,
      validMethods: this.validMethods,
      anonKey: this.anonKey,
      serviceRoleKey: this.serviceRoleKey,
      publishableKey: this.publishableKey,
      secretKey: this.secretKey,
    });
  }

  /** An opaque `sb_` key: randomness from state, checksum derived (deterministic). */
  private opaqueKey(name: string, kind: keyof typeof OPAQUE_PREFIXES): pulumi.Output<string> {
    const randomPart = new random.RandomPassword(
      `${name}-${kind}-key`,
      { length: OPAQUE_RANDOM_LENGTH, special: true, overrideSpecial: "-_" },
      { parent: this },
    );
    return pulumi.secret(randomPart.result.apply((r) => opaqueKey(OPAQUE_PREFIXES[kind], r)));
  }
}
