/**
 * `RotationGuard`: a dynamic resource that remembers the last applied keyring and fails a preview whose keyring
 * change would sign users out or sign with a key nobody can verify yet (see `rotationRules.ts` for the rules).
 *
 * A program cannot read its previous state, but a provider's `check(olds, news)` can: `olds` are the inputs stored
 * by the last successful update and `news` the planned ones, and check failures fail `pulumi preview` (and `up`)
 * before anything changes. The inputs `check` returns are what the engine stores, so the guard keeps its memory
 * (when each key was published, when it stopped signing) in its own inputs, under `ring`.
 */
import * as pulumi from "@pulumi/pulumi";
import { pluginToken, ROTATION_GUARD_TOKEN } from "./resourceTokens";
import type { Algorithm } from "./algorithms";
import { UNKNOWN_INPUT } from "./engineValues";
import { byName, canonicalJson, type KeyState } from "./model";
import { apiKeyFacts, apiKeyGuardProblems, DEFAULT_API_KEYS, type ApiKeyFacts } from "./apiKeys";
import {
  DEFAULT_JWKS_CACHE_SECONDS,
  DEFAULT_JWT_EXPIRY_SECONDS,
  evaluateRotation,
  OVERRIDE_HINT,
  type GuardOptions,
  type KeyFacts,
  type KeyRecord,
} from "./rotationRules";

/** Prefix of the notes printed for errors that `allowUnsafeRotation` let through. */
const OVERRIDE_NOTE = "allowUnsafeRotation let this through:";

/** The guard's inputs as the provider receives them (plain values; outputs not known yet are the unknown marker). */
export interface RotationGuardInputs {
  keys: Array<Record<string, unknown>>;
  /** The API keys' facts, absent for the default list. */
  apiKeys?: ApiKeyFacts[];
  allowUnsafeRotation: boolean;
  jwksCacheSeconds: number;
  jwtExpiry: number;
  /** Written by `check`: the ring as of this update. */
  ring?: KeyRecord[];
}

const known = <T>(value: unknown, type: "string" | "number"): T | undefined =>
  typeof value === type && value !== UNKNOWN_INPUT ? (value as T) : undefined;

/** Reads the planned keys; fields that are unknown during a preview become undefined. */
function factsOf(keys: unknown): KeyFacts[] | undefined {
  if (!Array.isArray(keys)) return undefined;
  return keys.map((raw, i) => {
    const k = (raw ?? {}) as Record<string, unknown>;
    return {
      index: typeof k.index === "number" ? k.index : i,
      name: String(k.name),
      state: k.state as KeyState,
      algorithm: k.algorithm as Algorithm,
      source: String(k.source),
      kid: known<string>(k.kid, "string"),
      createdAt: known<string>(k.createdAt, "string"),
      expiresAt: known<number>(k.expiresAt, "number"),
    };
  });
}

/** The ring remembered from the last update, if the stored inputs hold one. */
function ringOf(olds: Record<string, unknown>): KeyRecord[] | undefined {
  const ring = olds.ring;
  if (!Array.isArray(ring)) return undefined;
  return ring.filter(
    (r): r is KeyRecord => r !== null && typeof r === "object" && typeof (r as KeyRecord).name === "string",
  );
}

function optionsOf(news: Record<string, unknown>): GuardOptions {
  return {
    allowUnsafeRotation: news.allowUnsafeRotation === true,
    jwksCacheSeconds: typeof news.jwksCacheSeconds === "number" ? news.jwksCacheSeconds : DEFAULT_JWKS_CACHE_SECONDS,
    jwtExpiry: typeof news.jwtExpiry === "number" ? news.jwtExpiry : DEFAULT_JWT_EXPIRY_SECONDS,
  };
}

/** Inputs without the engine's `__provider` text, which the host adds back itself. */
function withoutProvider(props: Record<string, unknown>): Record<string, unknown> {
  const { __provider: _provider, ...rest } = props;
  return rest;
}

/**
 * The guard's check: judges `news` against the ring stored in `olds` at time `now`.
 * @returns the inputs to store (with the updated `ring`), one failure per blocking problem, and the errors that
 *   `allowUnsafeRotation` let through.
 */
export function checkRotationGuard(
  olds: Record<string, unknown>,
  news: Record<string, unknown>,
  now: Date,
): { inputs: Record<string, unknown>; failures: pulumi.dynamic.CheckFailure[]; overridden: string[] } {
  const next = factsOf(news.keys);
  if (!next) {
    // Cannot judge a keyring that is not known yet; keep the memory for the next update.
    return {
      inputs: { ...withoutProvider(news), ...(olds.ring ? { ring: olds.ring } : {}) },
      failures: [],
      overridden: [],
    };
  }
  const options = optionsOf(news);
  const verdict = evaluateRotation({ previous: ringOf(olds), next, now, options });
  const apiKeyErrors = apiKeyProblems(olds, news).map((problem) => `${problem} ${OVERRIDE_HINT}`);
  const errors = options.allowUnsafeRotation ? verdict.errors : [...verdict.errors, ...apiKeyErrors];
  return {
    inputs: { ...withoutProvider(news), ring: verdict.ring },
    // No property: the engine then prints "<type> resource '<name>' has a problem: <reason>" without echoing inputs.
    failures: errors.map((reason) => ({ property: "", reason })),
    overridden: options.allowUnsafeRotation ? [...verdict.overridden, ...apiKeyErrors] : verdict.overridden,
  };
}

/**
 * The API keys' guard rule (`apiKeys.ts`) on the planned list against the stored one. A guard that stored none
 * held the default list, if it existed at all (a stack without the setting passes no list).
 */
function apiKeyProblems(olds: Record<string, unknown>, news: Record<string, unknown>): string[] {
  const listOf = (value: unknown) => (Array.isArray(value) ? (value as ApiKeyFacts[]) : undefined);
  const existed = olds.ring !== undefined;
  const previous = listOf(olds.apiKeys) ?? (existed ? apiKeyFacts(DEFAULT_API_KEYS) : undefined);
  return apiKeyGuardProblems(previous, listOf(news.apiKeys) ?? apiKeyFacts(DEFAULT_API_KEYS));
}

const COMPARED = ["keys", "allowUnsafeRotation", "jwksCacheSeconds", "jwtExpiry", "ring", "apiKeys"];

/**
 * What a diff compares: the keys by name without their list position (reordering `signingKeys` changes nothing a
 * rule looks at; the position only serves messages), and the ring by name.
 */
function comparable(props: Record<string, unknown>): Record<string, unknown> {
  const sortedByName = (list: unknown) =>
    Array.isArray(list)
      ? list
          .map((k) => {
            const { index: _index, ...rest } = (k ?? {}) as Record<string, unknown>;
            return { ...rest, name: String(rest.name) };
          })
          .sort(byName)
      : list;
  return Object.fromEntries(COMPARED.map((k) => [k, k === "keys" || k === "ring" ? sortedByName(props[k]) : props[k]]));
}

/**
 * The dynamic provider. Only `check` has an opinion; create/update store the checked inputs, and `diff` reports a
 * change only when the ring or settings changed, so a re-run with unchanged config is a no-op.
 */
export const rotationGuardProvider: pulumi.dynamic.ResourceProvider = {
  async check(olds, news) {
    const { inputs, failures, overridden } = checkRotationGuard(olds, news, new Date());
    // A provider cannot raise warnings; its stderr reaches the CLI's output, which is the next best place.
    for (const note of overridden) console.error(`warning: ${OVERRIDE_NOTE} ${note}`);
    return { inputs, failures };
  },

  async diff(_id, olds, news) {
    const changes = canonicalJson(comparable(olds)) !== canonicalJson(comparable(news));
    return { changes, replaces: [], deleteBeforeReplace: false };
  },

  async create(inputs) {
    return { id: "rotation-guard", outs: withoutProvider(inputs) };
  },

  async update(_id, _olds, news) {
    return { outs: withoutProvider(news) };
  },

  async delete() {
    // The guard holds only memory about the keyring; forgetting it is all a delete does.
  },
};

/** One key as the guard's input: config facts plus the key resource's outputs. */
export interface RotationGuardKey {
  /** Position in `signingKeys` (for messages naming the config key). */
  index: number;
  /** The entry's name (its identity in state). */
  name: string;
  /** The entry's configured state. */
  state: KeyState;
  /** The entry's algorithm; a change replaces the key. */
  algorithm: Algorithm;
  /** `generated`, or the imported key's thumbprint (see `keySource`). */
  source: string;
  /** The key resource's kid (unknown while it is created or updated). */
  kid: pulumi.Input<string>;
  /** The key resource's creation time, ISO 8601. */
  createdAt: pulumi.Input<string>;
  /** When the key's role JWTs expire, unix seconds. */
  expiresAt: pulumi.Input<number>;
}

/** Arguments of a {@link RotationGuard}. */
export interface RotationGuardArgs {
  /** Every configured key, in config order. Pass each output separately so that one unknown leaves the rest known. */
  keys: RotationGuardKey[];
  /** Let errors through (emergencies only). */
  allowUnsafeRotation: pulumi.Input<boolean>;
  /** How long a key must be published before it may sign. */
  jwksCacheSeconds: pulumi.Input<number>;
  /** Access-token lifetime: how long after it stops signing a key may not be revoked. */
  jwtExpiry: pulumi.Input<number>;
  /** The API keys' config facts (never their values); left out for the default list. */
  apiKeys?: ApiKeyFacts[];
}

/** Fails any preview whose keyring change breaks the rotation rules; see the README's guard rails section. */
export class RotationGuard extends pulumi.dynamic.Resource {
  /** The ring as recorded by the last check. */
  declare readonly ring: pulumi.Output<KeyRecord[]>;

  constructor(name: string, args: RotationGuardArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      rotationGuardProvider,
      name,
      { ...args, ring: undefined },
      opts,
      ROTATION_GUARD_TOKEN.module,
      ROTATION_GUARD_TOKEN.type,
    );
  }
}

/** The same guard as a custom resource served by the package's plugin, with {@link rotationGuardProvider} behind it. */
export class PluginRotationGuard extends pulumi.CustomResource {
  /** The ring as recorded by the last check. */
  declare readonly ring: pulumi.Output<KeyRecord[]>;

  constructor(name: string, args: RotationGuardArgs, opts?: pulumi.CustomResourceOptions) {
    super(pluginToken(ROTATION_GUARD_TOKEN), name, { ...args, ring: undefined }, opts);
  }
}
