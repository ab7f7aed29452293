/**
 * The keyring as `npm run keys -- status` prints it: an aligned text table, one row per `signingKeys` entry.
 */
import type { StackKey } from "./stackFile";

/** What each state means for the user, shown beside it in `status`. */
export const STATE_MEANING: Record<string, string> = {
  standby: "published in the JWKS, not signing yet",
  current: "signs every new token",
  previous: "still verifies tokens it signed",
  revoked: "not trusted (kept in state)",
};

/** Formats rows as an aligned text table. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]))
      .join("  ")
      .trimEnd();
  return [line(header), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n");
}

/** The keyring as a table: one row per entry, in file order. */
export function keyringTable(keys: StackKey[]): string {
  return table(
    ["#", "NAME", "STATE", "ALGORITHM", "KEY", "MEANING"],
    keys.map((k) => [
      String(k.index),
      k.name,
      k.state,
      k.algorithm,
      k.source + (k.kid ? ` kid=${k.kid}` : ""),
      STATE_MEANING[k.state] ?? "?",
    ]),
  );
}
