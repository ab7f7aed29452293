/**
 * A vitest setup file. `@pulumi/pulumi` records `new Error().stack` on every promise it wraps
 * (`runtime/debuggable.js`, for the promise-leak report it prints at exit), several per resource input. Under vitest
 * every stack goes through vite's source-mapping `Error.prepareStackTrace` (vite `dist/node/module-runner.js`), which
 * made those records a third of a program run's time. The stacks captured there keep the two frames that called
 * the wrapper, unmapped (what a leak report needs to name the promise); every other stack (a failing test's, an
 * error's) is still complete and mapped to the TypeScript source.
 */
const INSTALLED = Symbol.for("supabase-selfhosted.test.promiseStacks");
type Prepare = NonNullable<typeof Error.prepareStackTrace> & { [INSTALLED]?: true };

const mapped = Error.prepareStackTrace as Prepare | undefined;

// Setup files run before every test file, and the files of one worker share this global: wrap only once.
if (mapped && !mapped[INSTALLED]) {
  const prepare: Prepare = (error, frames) =>
    frames[0]?.getFileName()?.endsWith("/@pulumi/pulumi/runtime/debuggable.js")
      ? `${String(error)}\n${frames
          .slice(1, 3)
          .map((frame) => `    at ${frame}`)
          .join("\n")}`
      : mapped(error, frames);
  prepare[INSTALLED] = true;
  Error.prepareStackTrace = prepare;
}
