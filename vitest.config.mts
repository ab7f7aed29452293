import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts", "policy/**/*.test.ts"],
    // Pulumi mocks and config are process-global: keep vitest's per-file isolation (the default).
    // vitest's default leaves one of CI's two cores idle; the suite is CPU-bound (key generation, ts-node).
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
