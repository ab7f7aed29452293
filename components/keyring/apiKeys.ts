/**
 * The opaque API keys (`sb_publishable_…`, `sb_secret_…`) as a list with a life of their own: several named keys of
 * each kind, each `active` (accepted by the gateway) or `revoked` (accepted nowhere, its value kept in state so it can
 * come back). What each service is given is derived here; the values themselves come from state
 * (`apiKeyResources.ts`).
 *
 * Pure: no Pulumi, no I/O, no zod. The guard rule below also runs inside the rotation guard's serialized dynamic
 * provider, so this module imports only modules without dependencies of their own.
 */
import { PROJECT } from "../schema/project";

/** The two kinds: a publishable key maps to the anon role, a secret key to service_role. */
export const API_KEY_KINDS = ["publishable", "secret"] as const;
export type ApiKeyKind = (typeof API_KEY_KINDS)[number];

/** An API key is accepted by the gateway (`active`) or nowhere (`revoked`, kept in state). */
export const API_KEY_STATES = ["active", "revoked"] as const;
export type ApiKeyState = (typeof API_KEY_STATES)[number];

/** The role JWT each kind's keys stand for at the gateway. */
export const API_KEY_ROLES: Record<ApiKeyKind, "anon" | "service_role"> = {
  publishable: "anon",
  secret: "service_role",
};

/** One validated `apiKeys` entry. */
export interface ApiKeyConfig {
  /** Identity of the key in state; renaming means a new key. */
  name: string;
  kind: ApiKeyKind;
  state: ApiKeyState;
  /** An imported key (secret), checksum verified; absent: generated and kept in state. */
  value?: string;
}

/**
 * The keys of a stack that does not set `apiKeys`: one active key of each kind, named after its kind. They are the
 * keys every stack had before the setting existed (the same resources in state), so an existing stack keeps them.
 */
export const DEFAULT_API_KEYS: readonly ApiKeyConfig[] = API_KEY_KINDS.map((kind) => ({
  name: kind,
  kind,
  state: "active",
}));

/**
 * The name under which the edge functions see the primary key of each kind in `SUPABASE_PUBLISHABLE_KEYS` and
 * `SUPABASE_SECRET_KEYS`: upstream's compose gives each map a single `default` entry (supabase/supabase
 * `docker/docker-compose.yml`), which is what function code reads. No key may be named so.
 */
export const FUNCTIONS_DEFAULT_KEY = "default";

/** One active key with its value. */
export interface NamedApiKey {
  name: string;
  value: string;
}

/** The active keys of each kind, the primary first, then the others ordered by name (values are secrets). */
export type ApiKeySet = { [K in ApiKeyKind]: NamedApiKey[] };

/**
 * The primary key of a kind: its first active key in list order. It is what the `publishableKey`/`secretKey` outputs,
 * studio and the functions' `default` entry hold; undefined when the kind has no active key.
 */
export function primaryApiKey<T extends ApiKeyConfig>(keys: readonly T[], kind: ApiKeyKind): T | undefined {
  return keys.find((key) => key.kind === kind && key.state === "active");
}

const byName = (a: { name: string }, b: { name: string }): number => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

/**
 * The active keys of each kind with their values: the primary first (so its place never depends on what is added),
 * then the others ordered by name (so reordering the list changes nothing but the primary). Revoked keys are left
 * out: their values reach no service.
 */
export function apiKeySet(keys: ReadonlyArray<ApiKeyConfig & { value: string }>): ApiKeySet {
  const ofKind = (kind: ApiKeyKind): NamedApiKey[] => {
    const primary = primaryApiKey(keys, kind);
    if (!primary) return [];
    const others = keys.filter((k) => k.kind === kind && k.state === "active" && k !== primary).sort(byName);
    return [primary, ...others].map(({ name, value }) => ({ name, value }));
  };
  return { publishable: ofKind("publishable"), secret: ofKind("secret") };
}

/** Every active key by name, ordered by name: the `apiKeys` stack output. */
export function activeApiKeysByName(set: ApiKeySet): Record<string, string> {
  const all = [...set.publishable, ...set.secret].sort(byName);
  return Object.fromEntries(all.map(({ name, value }) => [name, value]));
}

/** Whether a list is the default one (then nothing about it is new to the guard or the state). */
export function isDefaultApiKeys(keys: readonly ApiKeyConfig[]): boolean {
  return (
    keys.length === DEFAULT_API_KEYS.length &&
    keys.every((key, i) => {
      const d = DEFAULT_API_KEYS[i];
      return key.name === d.name && key.kind === d.kind && key.state === d.state && key.value === undefined;
    })
  );
}

/**
 * The resource a generated key's random part lives in, after the component's name. A key named after its kind is the
 * one the stack always had (`supabase-publishable-key`, `supabase-secret-key`); any other key's name includes its
 * kind, so changing a key's kind draws a new value instead of reusing the random part of a key of the other kind.
 */
export function apiKeyResourceSuffix(key: Pick<ApiKeyConfig, "name" | "kind">): string {
  return key.name === key.kind ? `${key.kind}-key` : `${key.kind}-key-${key.name}`;
}

/** The kinds that have no active key: then the gateway accepts no `sb_` key of that kind. */
export function kindsWithoutActiveKey(keys: readonly ApiKeyConfig[]): ApiKeyKind[] {
  return API_KEY_KINDS.filter((kind) => !primaryApiKey(keys, kind));
}

/** What `allowUnsafeRotation` lets through about the API keys, said at every run while it holds. */
export function apiKeyWarnings(keys: readonly ApiKeyConfig[]): string[] {
  return kindsWithoutActiveKey(keys).map(
    (kind) =>
      `${PROJECT}:apiKeys has no active ${kind} key (allowUnsafeRotation let this through): the gateway accepts no ` +
      `sb_${kind}_ key, only the ${API_KEY_ROLES[kind]} JWTs. Add one with npm run keys -- api-keys add <name> ` +
      `--kind ${kind}.`,
  );
}

/** An API key as the rotation guard sees it: config facts only (the value never reaches the guard). */
export interface ApiKeyFacts {
  /** Position in `apiKeys`, for messages that name the config key. */
  index: number;
  name: string;
  kind: ApiKeyKind;
  state: ApiKeyState;
  /** `generated` (random, in state) or `imported` (the `value` setting). */
  source: "generated" | "imported";
}

/** The guard's facts of a configured list. */
export function apiKeyFacts(keys: readonly ApiKeyConfig[]): ApiKeyFacts[] {
  return keys.map(({ name, kind, state, value }, index) => ({
    index,
    name,
    kind,
    state,
    source: value === undefined ? "generated" : "imported",
  }));
}

/**
 * The guard rule of the API keys, judged against the keys of the last applied update (`previous`; undefined when
 * there was none): a key revoked in the update that creates it (a new name, or a new kind or source under an old
 * name, which is a new value) is refused. Nobody can hold such a key, so revoking it protects nothing, and it
 * usually means the wrong entry was revoked. Revoking a key that exists takes effect at once: there is no waiting
 * rule, a leaked key must stop working in the update that revokes it. The guard adds how to override it.
 */
export function apiKeyGuardProblems(
  previous: ReadonlyArray<Pick<ApiKeyFacts, "name" | "kind" | "source">> | undefined,
  next: readonly ApiKeyFacts[],
): string[] {
  const existed = (key: ApiKeyFacts) =>
    (previous ?? []).some((old) => old.name === key.name && old.kind === key.kind && old.source === key.source);
  return next
    .filter((key) => key.state === "revoked" && !existed(key))
    .map(
      (key) =>
        `${PROJECT}:apiKeys[${key.index}] (${JSON.stringify(key.name)}): is revoked in the same update that creates ` +
        `it, so nobody can hold it and revoking it protects nothing (is it the key you meant to revoke?). Remove ` +
        "the entry, or add it as active first.",
    );
}
