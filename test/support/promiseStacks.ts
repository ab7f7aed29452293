/**
 * A vitest setup file. `@pulumi/pulumi` records `new Error().stack` on every promise it wraps
 * (`debuggablePromise` in `runtime/debuggable.js`, for the promise-leak report it prints at exit), several per
 * resource input. Capturing those stacks (and vite's source-mapping `Error.prepareStackTrace` on each) was the
 * largest single cost of a program run under the mocks: a fifth of the suite's CPU time. Here the wrapper captures
 * no frames; the leak bookkeeping itself is unchanged (the promise still joins and leaves the leak candidates), and
 * every other stack (a failing test's, an error's) is complete and mapped to the TypeScript source.
 *
 * The SDK's modules call it as `debuggable_1.debuggablePromise(…)`, a property read at each call, so replacing the
 * export reaches every caller.
 */
import { createRequire } from "node:module";

const INSTALLED = Symbol.for("supabase-selfhosted.test.promiseStacks");
type Wrap = ((p: Promise<unknown>, ctx: unknown) => Promise<unknown>) & { [INSTALLED]?: true };

const debuggable = createRequire(__filename)("@pulumi/pulumi/runtime/debuggable") as { debuggablePromise: Wrap };

// Setup files run before every test file, and the files of one worker share the module: wrap only once.
if (!debuggable.debuggablePromise[INSTALLED]) {
  const original = debuggable.debuggablePromise;
  const withoutStack: Wrap = (p, ctx) => {
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    try {
      return original(p, ctx);
    } finally {
      Error.stackTraceLimit = limit;
    }
  };
  withoutStack[INSTALLED] = true;
  debuggable.debuggablePromise = withoutStack;
}
