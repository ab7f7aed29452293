/**
 * Names of keyring entries (signing keys and API keys): their form, and the check that no name is used twice in a
 * list. Pure; imports zod only for the refinement context type.
 */
import type * as z from "zod";

/** Key names: they become resource names, so keep them short and URN-safe. */
export const KEY_NAME_PATTERN = /^[a-z0-9-]{1,32}$/;

/** How the docs and messages describe {@link KEY_NAME_PATTERN}. */
export const KEY_NAME_EXPECTED = "1-32 characters of a-z, 0-9 and -";

/**
 * A refinement of a list setting whose entries are named: names must be unique. Checked on every entry whose name is
 * valid, even when other entries are not, so run it with `{ when: () => true }`.
 * @param settingKey the list's key, named in the message (`duplicates apiKeys[0].name "web"`).
 */
export function uniqueNames(settingKey: string) {
  return (entries: unknown, ctx: z.RefinementCtx): void => {
    if (!Array.isArray(entries)) return;
    const seen = new Map<string, number>();
    entries.forEach((entry, i) => {
      const name = (entry as { name?: unknown } | null)?.name;
      if (typeof name !== "string" || !KEY_NAME_PATTERN.test(name)) return;
      const first = seen.get(name);
      if (first === undefined) seen.set(name, i);
      else {
        ctx.addIssue({
          code: "custom",
          path: [i, "name"],
          message: `duplicates ${settingKey}[${first}].name ${JSON.stringify(name)}; names must be unique`,
        });
      }
    });
  };
}
