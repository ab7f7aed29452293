import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts", "policy/**/*.test.ts"],
    // vitest's default leaves one of CI's two cores idle; the suite is CPU-bound (key generation, program runs).
    maxWorkers: 2,
    // One module graph per worker instead of one per file: loading @pulumi/pulumi and the program again for each
    // file took a third of the suite's time. Files share no state: every program run sets the Pulumi mocks and
    // config it runs with (`runUnderMocks`, testkit/engine/run.ts), and the suite passes in shuffled
    // order (`npx vitest run --sequence.shuffle`).
    isolate: false,
    setupFiles: ["test/support/promiseStacks.ts"],
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
