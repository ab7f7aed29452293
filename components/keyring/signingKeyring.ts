/**
 * `SigningKeyring`: one `SigningKey` per config entry, the legacy secret, the opaque `sb_` API keys, the rotation guard,
 * and every derived value the Supabase services consume. Declares resources only.
 *
 * What a promotion changes, and where: the config sets k2 `current` and k1 `previous` (the settings registry,
 * `settings.ts`, checks that exactly one key is current). No key is generated or replaced, because each `SigningKey`
 * is named after its entry (`supabase-key-k2`) and its state holds the key pair and role JWTs. The `RotationGuard`
 * refuses the promotion until k2 has been published for `jwksCacheSeconds` (`rotationRules.ts`). Each derived value
 * comes from `deriveValue` in `model.ts` over the keys in the states that value reads: auth's `GOTRUE_JWT_KEYS` now
 * holds k2's private half instead of k1's, and the current `anonKey`/`serviceRoleKey` outputs are k2's. The verifier
 * JWKS, the gateway's tokens and the longest-trusted role JWTs (what `sb_` keys map to, and what storage, studio and
 * functions hold) stay byte-identical, because every list is ordered by name and k1 is still trusted; so only auth's
 * environment changes, and the stack recreates auth alone.
 */
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { JWT_SECRET_MIN_LENGTH, type KeyringConfig, type SigningKeyConfig } from "./settings";
import { allByName, asPlain, asSecret } from "../outputs";
import { PROJECT } from "../schema/project";
import {
  byName,
  canonicalJson,
  checkKeyring,
  deriveValue,
  legacyOctJwk,
  STATES_READ,
  type Jwk,
  type Jwks,
  type KeyringEntry,
  type KeyringValues,
  type KeyringView,
  type LegacyEntry,
} from "./model";
import { PluginRotationGuard, RotationGuard } from "./rotationGuard";
import { clientCompatibilityWarnings } from "./clientCompatibility";
import { configWarnings, expiryFindings, keySource } from "./rotationRules";
import { PluginSigningKey, SigningKey } from "./signingKey";
import type { KeyResources } from "./resourceTokens";
import { apiKeyValues, declareApiKeys } from "./apiKeyResources";
import { activeApiKeysByName, apiKeyFacts, apiKeyWarnings, isDefaultApiKeys, type ApiKeySet } from "./apiKeys";

/** Arguments of a {@link SigningKeyring}. */
export interface SigningKeyringArgs {
  /**
   * The keyring's settings, validated with the settings registry (`parseConfig`). Secrets in it are wrapped before
   * any resource sees them. `jwtSecret` may be an output of another resource (a secret manager's value, say); it
   * is then checked for its length when it is known.
   * @example
   * ```ts
   * config: parseConfig({ signingKeys: [{ name: "k1", state: "current", algorithm: "ES256" }] })
   * ```
   */
  config: Omit<KeyringConfig, "jwtSecret"> & { jwtSecret?: pulumi.Input<string> };
  /**
   * How the keys and the rotation guard are kept: `dynamic` resources run by this program's Node modules, or
   * `plugin` resources served by the package's plugin (for a program in another language; see `KeyResources`).
   * @default "dynamic"
   */
  keyResources?: KeyResources;
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

/** One config entry with what is computed for it once: its position, its key resource and its key source. */
interface ConfiguredKey {
  entry: SigningKeyConfig;
  index: number;
  resource: SigningKey;
  /** `generated`, or the imported key's thumbprint (see `keySource`). */
  source: string;
}

/** The signing keyring of one Supabase deployment. */
export class SigningKeyring
  extends pulumi.ComponentResource
  implements Record<keyof KeyringValues, pulumi.Output<unknown>>
{
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
  /** The longest-trusted key's anon JWT: what `sb_publishable_` maps to, and storage's and studio's (secret). */
  readonly longestTrustedAnonKey: pulumi.Output<string>;
  /** The longest-trusted key's service_role JWT: what `sb_secret_` maps to, and storage's and studio's (secret). */
  readonly longestTrustedServiceRoleKey: pulumi.Output<string>;
  /** Role JWTs the gateway accepts as apikeys: every trusted key's (+ legacy), ordered by key name (secret). */
  readonly gatewayTokens: pulumi.Output<KeyringView["gatewayTokens"]>;
  /** The primary `sb_publishable_…` key, the first active one (secret); undefined when none is active. */
  readonly publishableKey: pulumi.Output<string | undefined>;
  /** The primary `sb_secret_…` key, the first active one (secret); undefined when none is active. */
  readonly secretKey: pulumi.Output<string | undefined>;
  /** Every active API key of each kind, the primary first (secret). */
  readonly apiKeys: pulumi.Output<ApiKeySet>;
  /** Every active API key by name: the `apiKeys` stack output (secret; revoked keys are not in it). */
  readonly apiKeysByName: pulumi.Output<Record<string, string>>;
  /** The legacy HS256 secret, always given to the services that require one (secret). */
  readonly jwtSecret: pulumi.Output<string>;
  /** Legacy HS256 anon/service_role keys, only when `legacyHs256` is on: the imported ones, else minted (secret). */
  readonly legacyAnonKey?: pulumi.Output<string>;
  readonly legacyServiceRoleKey?: pulumi.Output<string>;
  /** Per-key facts (name, state, kid, creation and expiry times), ordered by name. */
  readonly keys: pulumi.Output<KeyStatus[]>;
  /** The key resources by entry name. */
  readonly signingKeys: Record<string, SigningKey | PluginSigningKey>;
  /** The class of each key resource, as `keyResources` says. */
  private readonly SigningKey: typeof SigningKey | typeof PluginSigningKey;

  constructor(name: string, args: SigningKeyringArgs, opts?: pulumi.ComponentResourceOptions) {
    // Args are not passed to super(): the SDK would store them (secrets included) in the component's state.
    super(`${PROJECT}:index:SigningKeyring`, name, {}, opts);
    const { config } = args;
    const servedByPlugin = args.keyResources === "plugin";
    this.SigningKey = servedByPlugin ? PluginSigningKey : SigningKey;

    const configured = this.declareSigningKeys(name, config);
    this.signingKeys = Object.fromEntries(configured.map((key) => [key.entry.name, key.resource]));
    this.jwtSecret = this.declareJwtSecret(name, config);
    const legacy = config.legacyHs256 ? this.declareLegacyKey(name, config) : undefined;
    this.legacyAnonKey = legacy?.anonKey;
    this.legacyServiceRoleKey = legacy?.serviceRoleKey;
    const apiKeys = declareApiKeys(name, config.apiKeys, this);

    const guard = this.declareRotationGuard(name, config, configured, servedByPlugin);
    ({
      apiKeys: this.apiKeys,
      publishableKey: this.publishableKey,
      secretKey: this.secretKey,
    } = apiKeyValues(apiKeys, guard.id));
    this.apiKeysByName = asSecret(this.apiKeys.apply(activeApiKeysByName));
    this.logWarnings(config, configured);

    const entries = configured.map((key) => ({ state: key.entry.state, entry: keyringEntry(key) }));
    const all = pulumi.all(entries.map((e) => e.entry)) as pulumi.Output<KeyringEntry[]>;
    // Each value waits for the guard (its id joins here), so when its check fails no container is even planned with
    // the new keys; and only for the keys in the states it reads, so that a key being added leaves the values that
    // do not read it known during the preview.
    const derive = <V extends keyof KeyringView>(value: V): pulumi.Output<KeyringView[V]> => {
      const read = entries.filter((e) => STATES_READ[value].includes(e.state)).map((e) => e.entry);
      return allByName<{ entries: KeyringEntry[]; legacy?: LegacyEntry; guard: string }>({
        entries: pulumi.all(read) as pulumi.Output<KeyringEntry[]>,
        legacy: legacy?.entry,
        guard: guard.id,
      }).apply(({ entries, legacy }) => deriveValue(value, entries, legacy));
    };

    // Mocks ignore additionalSecretOutputs, and derived values would otherwise lose the secret bit: wrap here.
    this.authKeys = asSecret(derive("authKeys"));
    this.verifierJwks = config.legacyHs256 ? asSecret(derive("verifierJwks")) : asPlain(derive("verifierJwks"));
    this.publicJwks = asPlain(derive("publicJwks"));
    this.validMethods = asPlain(derive("validMethods"));
    this.currentKid = asPlain(derive("currentKid"));
    this.anonKey = asSecret(derive("anonKey"));
    this.serviceRoleKey = asSecret(derive("serviceRoleKey"));
    this.longestTrustedAnonKey = asSecret(derive("longestTrustedAnonKey"));
    this.longestTrustedServiceRoleKey = asSecret(derive("longestTrustedServiceRoleKey"));
    this.gatewayTokens = asSecret(derive("gatewayTokens"));
    // The whole ring is checked where all keys are read anyway (kids unique; config already checked the states).
    this.keys = asPlain(
      allByName<{ entries: KeyringEntry[]; legacy?: LegacyEntry }>({ entries: all, legacy: legacy?.entry }).apply(
        ({ entries, legacy }) => {
          checkKeyring(entries, legacy);
          return [...entries].sort(byName).map(keyStatus);
        },
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

  /**
   * One `SigningKey` per entry, named after it, so a state change never touches the key itself. Each depends on the
   * key before it in name order: keys added in the same update are then created one after the other in that order,
   * so their creation times agree with it and the longest-trusted key ({@link longestTrusted}: created first, ties
   * by name) does not depend on which create the engine happened to finish first. Dependencies are not inputs: an
   * existing stack sees no change.
   */
  private declareSigningKeys(name: string, config: SigningKeyringArgs["config"]): ConfiguredKey[] {
    const inNameOrder = config.signingKeys
      .map((entry, index) => ({ entry, index }))
      .sort((a, b) => byName(a.entry, b.entry));
    const configured: ConfiguredKey[] = [];
    let before: pulumi.Resource | undefined;
    for (const { entry, index } of inNameOrder) {
      const resource: SigningKey = new this.SigningKey(
        `${name}-key-${entry.name}`,
        {
          algorithm: entry.algorithm,
          ...(entry.privateJwk !== undefined ? { importedJwk: pulumi.secret(entry.privateJwk) } : {}),
          apiKeyLifetimeDays: config.apiKeyLifetimeDays,
        },
        { parent: this, ...(before ? { dependsOn: [before] } : {}) },
      );
      configured[index] = { entry, index, source: keySource(entry), resource };
      before = resource;
    }
    return configured;
  }

  /** The legacy HS256 secret: the imported one, else 64 random characters kept in state. */
  private declareJwtSecret(name: string, config: SigningKeyringArgs["config"]): pulumi.Output<string> {
    if (config.jwtSecret === undefined) {
      return pulumi.secret(
        new random.RandomPassword(`${name}-jwt-secret`, { length: 64, special: false }, { parent: this }).result,
      );
    }
    // A plain secret was checked with the config; one from another resource is checked once it is known.
    return pulumi.secret(
      pulumi.output(config.jwtSecret).apply((secret) => {
        if (secret.length < JWT_SECRET_MIN_LENGTH) {
          throw new Error(`jwtSecret must be at least ${JWT_SECRET_MIN_LENGTH} characters, got ${secret.length}`);
        }
        return secret;
      }),
    );
  }

  /** The legacy secret as an `oct` key, with the anon/service_role keys the gateway accepts for it. */
  private declareLegacyKey(name: string, config: SigningKeyringArgs["config"]) {
    const key = new this.SigningKey(
      `${name}-legacy-hs256`,
      {
        algorithm: "HS256",
        importedJwk: pulumi.secret(this.jwtSecret.apply((secret) => canonicalJson(legacyOctJwk(secret)))),
        apiKeyLifetimeDays: config.apiKeyLifetimeDays,
      },
      { parent: this },
    );
    // The old deployment's own keys, when imported, are what its clients hold: accept those instead of new ones.
    const anonKey = pulumi.secret(config.legacyAnonKey ?? key.anonKey);
    const serviceRoleKey = pulumi.secret(config.legacyServiceRoleKey ?? key.serviceRoleKey);
    const entry = allByName<LegacyEntry>({ jwk: key.privateJwk, anonKey, serviceRoleKey });
    return { anonKey, serviceRoleKey, entry };
  }

  /**
   * The guard remembers the last applied ring; its check fails any preview whose change would sign users out.
   * Each key output goes in separately, so one that is unknown during a preview leaves the others known.
   */
  private declareRotationGuard(
    name: string,
    config: SigningKeyringArgs["config"],
    configured: ConfiguredKey[],
    servedByPlugin: boolean,
  ): RotationGuard | PluginRotationGuard {
    const Guard = servedByPlugin ? PluginRotationGuard : RotationGuard;
    return new Guard(
      `${name}-rotation-guard`,
      {
        keys: configured.map(({ entry, index, resource, source }) => ({
          index,
          name: entry.name,
          state: entry.state,
          algorithm: entry.algorithm,
          source,
          kid: resource.kid,
          createdAt: resource.createdAt,
          expiresAt: resource.expiresAt,
        })),
        allowUnsafeRotation: config.allowUnsafeRotation,
        jwksCacheSeconds: config.jwksCacheSeconds,
        jwtExpiry: config.jwtExpiry,
        // The default list is left out: a stack that does not set apiKeys keeps its guard's inputs as they were.
        ...(isDefaultApiKeys(config.apiKeys) ? {} : { apiKeys: apiKeyFacts(config.apiKeys) }),
      },
      { parent: this },
    );
  }

  /**
   * Warnings cannot come from a provider's check, so the program logs them: the config-only ones, and the current
   * key's role-JWT expiry once the keys' state is known.
   */
  private logWarnings(config: SigningKeyringArgs["config"], configured: ConfiguredKey[]): void {
    const warnings = [
      ...configWarnings(config),
      ...clientCompatibilityWarnings(config.signingKeys),
      ...apiKeyWarnings(config.apiKeys),
    ];
    for (const warning of warnings) {
      pulumi.log.warn(warning, this);
    }
    pulumi.all(configured.map(({ resource }) => resource.expiresAt)).apply((expiries) => {
      const facts = configured.map(({ entry, index, source }) => ({
        index,
        name: entry.name,
        state: entry.state,
        algorithm: entry.algorithm,
        source,
        expiresAt: expiries[index],
      }));
      for (const warning of expiryFindings(facts, new Date()).warnings) pulumi.log.warn(warning, this);
    });
  }
}

/** A configured key as the model sees it: its config identity and state plus what its resource stored. */
function keyringEntry({ entry, resource }: ConfiguredKey): pulumi.Output<KeyringEntry> {
  return allByName<Omit<KeyringEntry, "name" | "state" | "algorithm" | "publicJwk"> & { publicJwk: Jwk | null }>({
    kid: resource.kid,
    privateJwk: resource.privateJwk,
    publicJwk: resource.publicJwk,
    anonKey: resource.anonKey,
    serviceRoleKey: resource.serviceRoleKey,
    expiresAt: resource.expiresAt,
    createdAt: resource.createdAt,
  }).apply((stored) => ({
    name: entry.name,
    state: entry.state,
    algorithm: entry.algorithm,
    ...stored,
    // Only the legacy oct key lacks a public half, and it is never an entry.
    publicJwk: stored.publicJwk as Jwk,
  }));
}

/** The facts of a key that are safe to show: no key material, no token. */
function keyStatus({ name, state, algorithm, kid, createdAt, expiresAt }: KeyringEntry): KeyStatus {
  return { name, state, algorithm, kid, createdAt, expiresAt };
}
