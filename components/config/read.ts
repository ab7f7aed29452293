/**
 * Reads this project's stack config as raw text from the Pulumi runtime, for the pure parser in `parse.ts`.
 */
import * as pulumi from "@pulumi/pulumi";
import { parseConfig } from "./parse";
import { PROJECT, type ProgramConfig, type RawConfig } from "./schema";

/** Every `supabase-selfhosted:*` config value, keyed without the namespace, exactly as the engine passed it. */
export function readRawConfig(): RawConfig {
  const raw: RawConfig = {};
  const prefix = `${PROJECT}:`;
  for (const [fullKey, value] of Object.entries(pulumi.runtime.allConfig())) {
    if (fullKey.startsWith(prefix)) raw[fullKey.slice(prefix.length)] = value;
  }
  return raw;
}

/** Reads and validates the stack config; throws `ConfigError` before any resource exists. */
export function loadConfig(): ProgramConfig {
  return parseConfig(readRawConfig());
}
