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
 * The config keys (without the namespace) whose values the engine passed as secrets: a key set with `--secret`, or
 * holding a value set with `--secret --path`. The SDK answers this with `runtime.isConfigSecret`, which its typings
 * leave out; should a release drop it, every key counts as secret (values stay secret, no plain-text warnings).
 */
export function readSecretConfigKeys(raw: RawConfig): string[] {
  const isConfigSecret = (pulumi.runtime as unknown as { isConfigSecret?: (key: string) => boolean }).isConfigSecret;
  const keys = Object.keys(raw);
  return typeof isConfigSecret === "function" ? keys.filter((k) => isConfigSecret(`${PROJECT}:${k}`)) : keys;
}

/**
 * Reads and validates the stack config; throws `ConfigError` before any resource exists. Logs the warnings about a
 * valid config (`settingsWarnings`: secrets given in plain text, settings with no effect).
 */
export function loadConfig(): ProgramConfig {
  const raw = readRawConfig();
  const secretKeys = readSecretConfigKeys(raw);
  const config = parseConfig(raw, secretKeys);
  for (const warning of settingsWarnings(config, secretKeys)) pulumi.log.warn(warning);
  return config;
}
