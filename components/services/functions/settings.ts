/**
 * The edge functions' settings: whether the runtime runs, where its files come from, and whether the main entry
 * verifies calls. The files themselves are read from the deploying machine by a rule the loader runs
 * ({@link functionsFilesRule}), so a missing directory is reported with every other problem.
 */
import { flag, object, text } from "../../schema/fields";
import { defineRule, defineSetting, type SettingsValues } from "../../schema/setting";

/** One file of the edge functions, by its path relative to the functions directory (`/` separated). */
export interface FunctionFile {
  path: string;
  content: string;
}

/** What reading a functions directory found: its files, or why it cannot be used. */
export type FunctionsDirListing = { files: FunctionFile[] } | { problem: string };

/** Every setting of the edge functions. */
export const FUNCTIONS_SETTINGS = [
  defineSetting({
    key: "functions",
    schema: object(
      {
        enabled: flag()
          .default(false)
          .describe("run the edge runtime (`supabase-functions`) and route `/functions/v1/` to it"),
        dir: text({ pattern: /\S/, expected: "a directory path (relative to the project)", type: "path" })
          .optional()
          .meta({ "x-default": "the program's main entry" })
          .describe(
            "a directory on the deploying machine (relative to the project directory): `main/index.ts`, the " +
              "runtime's main service, and one directory per function, `<name>/index.ts`, called at " +
              "`<apiUrl>/functions/v1/<name>`",
          ),
        // Upstream's .env.example leaves FUNCTIONS_VERIFY_JWT false; calls are verified here unless turned off.
        verifyJwt: flag()
          .default(true)
          .describe(
            "the main entry refuses calls without a valid JWT (`VERIFY_JWT`); upstream's `.env.example` has " +
              "`FUNCTIONS_VERIFY_JWT=false`",
          ),
      },
      "{enabled: true, dir: ./supabase/functions}",
    ).prefault({}),
    doc: "edge functions: the files under `dir` (on the deploying machine; `main/index.ts` required) shipped into the container",
    details: "docs/platform.md#functions-edge-functions-supabaseedge-runtime",
  }),
] as const;

/** Edge functions (supabase/edge-runtime), with the files to ship once the loader has read them. */
export type FunctionsConfig = SettingsValues<typeof FUNCTIONS_SETTINGS>["functions"] & {
  /** The files shipped into the container: those under `dir`, or the default main entry's. */
  files?: FunctionFile[];
};

/**
 * Reads the files of `functions.dir` (or of the program's main entry) when the functions run.
 * @param readFunctionsDir lists a directory on the deploying machine (`config/read.ts`).
 */
export function functionsFilesRule(readFunctionsDir: (dir: string | undefined) => FunctionsDirListing) {
  return defineRule<{ functions: FunctionsConfig }>({
    reads: ["functions"],
    check({ functions }, problems) {
      if (!functions.enabled) return;
      const listing = readFunctionsDir(functions.dir);
      if ("problem" in listing) {
        problems.add(functions.dir !== undefined ? "functions.dir" : "functions", listing.problem);
        return;
      }
      return { functions: { ...functions, files: listing.files } };
    },
  });
}
