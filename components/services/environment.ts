/**
 * A service's environment as one table: each name once, with its value and, for what the program manages, what sets
 * it. The names `extraEnv` may not override are derived from the table. Pure.
 */
import type { KeyringValues } from "../keyring/model";
import type { EnvMap } from "../schema/project";
import { reads, type Builder, type ManagedEnv, type ServiceInput, type StackSecrets } from "./builder";
import type { ServiceDbRole } from "./db/init";

/** The input an environment table's values read, for the keyring values, secrets and roles it names. */
type Input<K extends keyof KeyringValues, S extends keyof StackSecrets, D extends ServiceDbRole> = ServiceInput<
  K,
  S,
  D
>;

/** What sets a managed value, as extraEnv's error names it; the common ones, worded once. */
export const SOURCES = {
  keyring: "the signing keyring",
  jwtSecret: "the service's own HS256 secret (the shared jwtSecret with legacyHs256)",
  network: "the stack network",
  port: "the stack network (the gateway and the health check call this port)",
  database: "the stack's database",
  dbPassword: "the database password (postgresPassword)",
  superuserPassword: "the superuser password (postgresPassword)",
  generated: "a generated secret",
} as const;

/** A value the program manages: extraEnv may not override it. `from` says what sets it, for the error message. */
export interface ManagedValue<I> {
  from: string;
  /** The value; `undefined` leaves the name out of the environment. */
  value: string | ((input: I) => string | undefined);
}

/**
 * Names the program manages together, set by one function: exact names or prefixes ending in `*` (e.g. every
 * `GOTRUE_SMTP_*`). With no `value`, the names are only reserved: the program relies on them being unset.
 */
export interface ManagedGroup<I> {
  from: string;
  names: readonly string[];
  value?(input: I): EnvMap;
}

/**
 * A service's environment as a table, in the order the container gets it: each name with its value, once. A plain
 * text is a default that `extraEnv` may override; {@link managed} and {@link managedGroup} entries are what the
 * program manages, and the list `extraEnv` is checked against is derived from them.
 */
export type EnvTable<I> = Record<string, string | ManagedValue<I> | ManagedGroup<I>>;

/** A value the program manages (see {@link ManagedValue}). */
export const managed = <I>(from: string, value: ManagedValue<I>["value"]): ManagedValue<I> => ({ from, value });

/** Names the program manages together (see {@link ManagedGroup}). */
export const managedGroup = <I>(
  from: string,
  names: readonly string[],
  value?: (input: I) => EnvMap,
): ManagedGroup<I> => ({
  from,
  names,
  ...(value ? { value } : {}),
});

/** An environment builder that also knows which of its names the program manages. */
export interface EnvBuilder<
  K extends keyof KeyringValues = keyof KeyringValues,
  S extends keyof StackSecrets = keyof StackSecrets,
  D extends ServiceDbRole = ServiceDbRole,
> extends Builder<EnvMap, K, S, D> {
  /** What `extraEnv` may not set, each name (or `*` prefix) with what sets it. */
  managed: ManagedEnv;
}

const isGroup = <I>(entry: ManagedValue<I> | ManagedGroup<I>): entry is ManagedGroup<I> => "names" in entry;

/** Whether `name` is one of a group's names (exact, or under a `*` prefix). */
const inGroup = (names: readonly string[], name: string) =>
  names.some((pattern) => (pattern.endsWith("*") ? name.startsWith(pattern.slice(0, -1)) : name === pattern));

/**
 * Declares a service's environment from its table (see {@link EnvTable}); the compiler refuses a value that reads
 * a keyring value, secret or role password the lists do not name.
 */
export function environment<
  K extends keyof KeyringValues = never,
  S extends keyof StackSecrets = never,
  D extends ServiceDbRole = never,
>(spec: {
  keyring?: readonly K[];
  secrets?: readonly S[];
  dbRoles?: readonly D[];
  table: EnvTable<Input<K, S, D>>;
}): EnvBuilder<K, S, D> {
  const entries = Object.entries(spec.table);
  const managedNames: Record<string, string> = {};
  for (const [name, entry] of entries) {
    if (typeof entry === "string") continue;
    if (isGroup(entry)) for (const pattern of entry.names) managedNames[pattern] = entry.from;
    else managedNames[name] = entry.from;
  }
  return {
    ...reads({
      keyring: spec.keyring,
      secrets: spec.secrets,
      dbRoles: spec.dbRoles,
      build: (input: Input<K, S, D>) => {
        const env: EnvMap = {};
        for (const [name, entry] of entries) {
          if (typeof entry === "string") env[name] = entry;
          else if (isGroup(entry)) {
            for (const [member, value] of Object.entries(entry.value?.(input) ?? {})) {
              if (!inGroup(entry.names, member)) throw new Error(`${member} is not among ${entry.names.join(", ")}`);
              env[member] = value;
            }
          } else {
            const value = typeof entry.value === "function" ? entry.value(input) : entry.value;
            if (value !== undefined) env[name] = value;
          }
        }
        return env;
      },
    }),
    managed: managedNames,
  };
}

/** What manages an environment name of a service (see {@link ManagedEnv}), or undefined when `extraEnv` may set it. */
export function managedBy(managed: ManagedEnv | undefined, name: string): string | undefined {
  for (const [pattern, by] of Object.entries(managed ?? {})) {
    if (pattern.endsWith("*") ? name.startsWith(pattern.slice(0, -1)) : name === pattern) return by;
  }
  return undefined;
}
