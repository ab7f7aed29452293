/**
 * The tree is formatted with the pinned Prettier (`.prettierrc.json`, lines of at most 120 characters), so a diff
 * shows changes of substance only. `npm run format` rewrites what this test reports.
 */
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { expect, it } from "vitest";

it("has every source file formatted by Prettier", () => {
  const root = join(__dirname, "..");
  const prettier = spawnSync(process.execPath, [require.resolve("prettier/bin/prettier.cjs"), "--check", "."], {
    cwd: root,
    encoding: "utf8",
    timeout: 60_000,
  });
  // Prettier names each unformatted file on stderr as "[warn] <path>".
  expect(
    prettier.stderr.split("\n").filter((line) => line.startsWith("[warn] ") && !line.includes("Code style")),
  ).toEqual([]);
  expect(prettier.status).toBe(0);
}, 60_000);
