/**
 * Reads this project's stack config as raw text from the Pulumi runtime, for the pure parser in `parse.ts`.
 */
import * as pulumi from "@pulumi/pulumi";
import { parseConfig, settingsWarnings } from "./parse";
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

/**
 * Reads and validates the stack config; throws `ConfigError` before any resource exists. Logs the warnings about a
 * valid config (`settingsWarnings`: secrets given in plain text, settings with no effect).
 */
export function loadConfig(): ProgramConfig {
  const raw = readRawConfig();
  const secretKeys = secretConfigKeys(raw);
  const config = parseConfig(raw, { secretKeys });
  for (const warning of settingsWarnings(config, secretKeys)) pulumi.log.warn(warning);
  return config;
}
