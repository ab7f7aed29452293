import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts", "policy/**/*.test.ts"],
    // Pulumi mocks and config are process-global: keep vitest's per-file isolation (the default).
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
