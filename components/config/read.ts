/**
 * Reads this project's stack config as raw text from the Pulumi runtime for the pure parser in `parse.ts`, and the
 * files of `functions.dir` from the deploying machine (the parser is handed the reading, so every problem is
 * reported at once).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { DEFAULT_FUNCTIONS_DIR, MAIN_ENTRY } from "../services/functions/functions";
import { PROJECT } from "../schema/project";
import type { RawConfig } from "../schema/setting";
import type { FunctionFile, FunctionsDirListing } from "../services/functions/settings";
import { parseConfig, settingsWarnings } from "./parse";
import type { ProgramConfig } from "./settings";

/** Every `supabase-selfhosted:*` config value, keyed without the namespace, exactly as the engine passed it. */
export function readRawConfig(): RawConfig {
  const raw: RawConfig = {};
  const prefix = `${PROJECT}:`;
  for (const [fullKey, value] of Object.entries(pulumi.runtime.allConfig())) {
    if (fullKey.startsWith(prefix)) raw[fullKey.slice(prefix.length)] = value;
  }
  return raw;
}

/**
 * The keys (without the namespace) whose values arrived as secrets: set with `--secret`, or holding a value set with
 * `--secret --path` (Pulumi marks the whole top-level key). The SDK exports `isConfigSecret` from its runtime
 * without typing it; should it go, every key counts as secret (values stay secret, nothing is warned about wrongly).
 */
export function secretConfigKeys(raw: RawConfig): Set<string> {
  const runtime = require("@pulumi/pulumi/runtime/config") as { isConfigSecret?: (key: string) => boolean };
  const isSecret = runtime.isConfigSecret;
  if (typeof isSecret !== "function") return new Set(Object.keys(raw));
  return new Set(Object.keys(raw).filter((k) => isSecret(`${PROJECT}:${k}`)));
}

/** Limits on what `functions.dir` may ship: its files travel in the container's `uploads` and in Pulumi state. */
export const FUNCTIONS_DIR_LIMITS = { files: 2000, bytes: 5 * 1024 * 1024 } as const;

/**
 * Reads the functions to ship: every file under `dir` (resolved against the project directory, where Pulumi runs
 * the program), or the program's own main entry when `dir` is not set. Names starting with `.` are skipped (`.env`,
 * `.git`); files must be UTF-8 text, and `main/index.ts` must be among them.
 */
export function readFunctionsDir(dir: string | undefined): FunctionsDirListing {
  const root = dir === undefined ? DEFAULT_FUNCTIONS_DIR : path.resolve(dir);
  const shown = dir === undefined ? root : `${JSON.stringify(dir)} (${root})`;
  let stat: fs.Stats;
  try {
    stat = fs.statSync(root);
  } catch {
    return {
      problem: `${shown} does not exist; give a directory holding ${MAIN_ENTRY} and one directory per function`,
    };
  }
  if (!stat.isDirectory()) return { problem: `${shown} is not a directory` };
  const files: FunctionFile[] = [];
  let bytes = 0;
  const decoder = new TextDecoder("utf-8", { fatal: true });
  const walk = (relative: string): string | undefined => {
    for (const name of fs.readdirSync(path.join(root, relative)).sort()) {
      if (name.startsWith(".")) continue;
      const rel = relative === "" ? name : `${relative}/${name}`;
      const full = path.join(root, rel);
      const entry = fs.statSync(full);
      if (entry.isDirectory()) {
        const problem = walk(rel);
        if (problem) return problem;
      } else if (entry.isFile()) {
        const content = fs.readFileSync(full);
        bytes += content.length;
        if (files.length >= FUNCTIONS_DIR_LIMITS.files || bytes > FUNCTIONS_DIR_LIMITS.bytes) {
          return `${shown} holds more than ${FUNCTIONS_DIR_LIMITS.files} files or ${FUNCTIONS_DIR_LIMITS.bytes} bytes`;
        }
        try {
          files.push({ path: rel, content: decoder.decode(content) });
        } catch {
          return `${shown}: ${rel} is not UTF-8 text; only text files can be shipped`;
        }
      }
    }
    return undefined;
  };
  const problem = walk("");
  if (problem) return { problem };
  if (!files.some((f) => f.path === MAIN_ENTRY)) {
    return {
      problem:
        `${shown} holds no ${MAIN_ENTRY}, the edge runtime's main service; copy the program's ` +
        `(components/services/functions/default/main/) or write your own`,
    };
  }
  return { files };
}

/**
 * Reads and validates the stack config; throws `ConfigError` before any resource exists. Logs the warnings about a
 * valid config (`settingsWarnings`: secrets given in plain text, settings with no effect).
 */
export function loadConfig(): ProgramConfig {
  const raw = readRawConfig();
  const secretKeys = secretConfigKeys(raw);
  const config = parseConfig(raw, { secretKeys, readFunctionsDir });
  for (const warning of settingsWarnings(config, secretKeys)) pulumi.log.warn(warning);
  return config;
}
