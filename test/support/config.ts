/** Test helper: what the config parser refuses, as the list of problems a user reads. */
import { expect } from "vitest";
import { parseConfig, type ParseOptions } from "../../components/config/parse";
import { ConfigError, type RawConfig } from "../../components/schema/setting";

/** The problems `parseConfig` reports for `raw`; fails the test when it accepts the config or throws anything else. */
export function problemsOf(raw: RawConfig, options: ParseOptions = {}): string[] {
  try {
    parseConfig(raw, options);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).problems;
  }
  throw new Error("expected the config to be rejected");
}
