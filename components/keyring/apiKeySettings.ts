/**
 * The `apiKeys` setting: the opaque API keys by name, kind and state, with an imported key's checksum verified, and
 * the rule that each kind keeps an active key. Pure (no Pulumi, no I/O).
 */
import * as z from "zod";
import { list, object, oneOf, text } from "../schema/fields";
import { defineRule, defineSetting } from "../schema/setting";
import {
  API_KEY_KINDS,
  API_KEY_STATES,
  DEFAULT_API_KEYS,
  FUNCTIONS_DEFAULT_KEY,
  kindsWithoutActiveKey,
  type ApiKeyConfig,
} from "./apiKeys";
import { KEY_NAME_EXPECTED, KEY_NAME_PATTERN, uniqueNames } from "./names";
import { isValidOpaqueKey, OPAQUE_PREFIXES, OPAQUE_RANDOM_LENGTH } from "./tokens";

/** What an imported value must look like, for messages (never showing the value). */
const VALUE_FORM =
  `an sb_publishable_ or sb_secret_ key as Supabase's self-hosted scripts make them: the prefix, ` +
  `${OPAQUE_RANDOM_LENGTH} base64url characters, _ and an 8-character checksum`;

/** What is wrong with an imported value for a key of `kind`, if anything (the value is never part of the message). */
function valueProblem(value: string, kind: (typeof API_KEY_KINDS)[number]): string | undefined {
  const other = API_KEY_KINDS.find((k) => k !== kind && value.startsWith(OPAQUE_PREFIXES[k]));
  if (other) return `is an ${OPAQUE_PREFIXES[other]} key, but the entry's kind is ${kind}`;
  if (!value.startsWith(OPAQUE_PREFIXES[kind])) return `must be ${VALUE_FORM}, starting with ${OPAQUE_PREFIXES[kind]}`;
  if (!isValidOpaqueKey(OPAQUE_PREFIXES[kind], value)) {
    return (
      "has a checksum that does not match (a mistyped or truncated key?); it must be " +
      `${VALUE_FORM} (the first 8 base64url characters of SHA-256 over "supabase-self-hosted|" + prefix + random)`
    );
  }
  return undefined;
}

const apiKeyEntry = object(
  {
    name: text({ pattern: KEY_NAME_PATTERN, expected: KEY_NAME_EXPECTED, type: "`[a-z0-9-]{1,32}`, unique" }).describe(
      "the key's identity in state and in the `apiKeys` output; renaming means a new key. Not `default`, the name " +
        "the functions see each kind's first active key under",
    ),
    kind: oneOf(API_KEY_KINDS, "an API key kind").describe(
      "`publishable` (`sb_publishable_…`, the anon role) or `secret` (`sb_secret_…`, service_role). Changing it " +
        "makes a new key",
    ),
    state: oneOf(API_KEY_STATES, "an API key state").describe(
      "`active`: the gateway accepts it; `revoked`: accepted nowhere and in no container, file or output, but kept " +
        "in state, so it can be made active again",
    ),
    value: text({ expected: VALUE_FORM, type: "`sb_…` key" }, { secret: true })
      .optional()
      .meta({ "x-default": "generated (random, kept in state)" })
      .describe(
        "adopt an existing key (a compose deployment's `SUPABASE_PUBLISHABLE_KEY`/`SUPABASE_SECRET_KEY`) instead of " +
          "generating one; its prefix must match `kind` and its checksum must verify. Set it with `pulumi config " +
          "set --secret --path`",
      ),
  },
  "{name: backend-2, kind: secret, state: active}",
).superRefine((entry, ctx) => {
  if (entry.name === FUNCTIONS_DEFAULT_KEY) {
    ctx.addIssue({
      code: "custom",
      path: ["name"],
      message:
        `"${FUNCTIONS_DEFAULT_KEY}" is the name the edge functions see each kind's first active key under ` +
        "(SUPABASE_PUBLISHABLE_KEYS, SUPABASE_SECRET_KEYS); choose another name",
    });
  }
  const problem = entry.value === undefined ? undefined : valueProblem(entry.value, entry.kind);
  if (problem) ctx.addIssue({ code: "custom", path: ["value"], message: problem });
});

/** No value imported twice: the gateway could not tell the two keys apart. */
function uniqueValues(entries: ApiKeyConfig[], ctx: z.RefinementCtx): void {
  const seen = new Map<string, number>();
  entries.forEach((entry, i) => {
    if (entry.value === undefined) return;
    const first = seen.get(entry.value);
    if (first === undefined) seen.set(entry.value, i);
    else ctx.addIssue({ code: "custom", path: [i, "value"], message: `is the same key as apiKeys[${first}].value` });
  });
}

/** The `apiKeys` setting. */
export const apiKeysSetting = defineSetting({
  key: "apiKeys",
  schema: list(apiKeyEntry, "a list of API keys such as [{name: backend-2, kind: secret, state: active}]")
    .superRefine(uniqueNames("apiKeys"), { when: () => true })
    .superRefine(uniqueValues)
    .default(() => DEFAULT_API_KEYS.map((key) => ({ ...key }))),
  type: "list (see below)",
  default: "one active key of each kind, `publishable` and `secret` (the keys a stack had before this setting)",
  doc:
    "the opaque `sb_publishable_…`/`sb_secret_…` API keys: several per kind, each active or revoked; the gateway " +
    "maps every active one to the longest-trusted signing key's role JWT ([rotating them](#rotating-api-keys))",
});

/** Each kind keeps an active key, unless `allowUnsafeRotation` lets the last one go (then a warning, every run). */
export const apiKeysRule = defineRule<{ apiKeys: ApiKeyConfig[]; allowUnsafeRotation: boolean }>({
  reads: ["apiKeys", "allowUnsafeRotation"],
  check({ apiKeys, allowUnsafeRotation }, problems) {
    if (allowUnsafeRotation) return;
    for (const kind of kindsWithoutActiveKey(apiKeys)) {
      problems.add(
        "apiKeys",
        `has no active ${kind} key, so the gateway would refuse every sb_${kind}_ key. Add a new one first (npm run ` +
          `keys -- api-keys add <name> --kind ${kind}), pulumi up, move your clients, then revoke the old one. For ` +
          "an emergency, pulumi config set allowUnsafeRotation true lets it through",
      );
    }
  },
});
