/**
 * The whole project type-checks (program, components, scripts, policy pack and tests). vitest strips types
 * without checking them, and the Pulumi CLI type-checks the program before it runs it, so a type error would
 * otherwise first show up in a user's `pulumi up`.
 */
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { expect, it } from "vitest";

it("passes tsc --noEmit with the project's tsconfig", () => {
  const root = join(__dirname, "..");
  const tsc = spawnSync(process.execPath, [require.resolve("typescript/bin/tsc"), "--noEmit", "-p", root], {
    cwd: root,
    encoding: "utf8",
    timeout: 120_000,
  });
  expect(tsc.stdout + tsc.stderr).toBe("");
  expect(tsc.status).toBe(0);
}, 120_000);
