/**
 * `npm run keys` validates a stack file on the text the Pulumi CLI hands the program, not on what the editor's own
 * YAML library reads (YAML 1.2's core schema): the two disagree on unquoted scalars such as `0123`, `2026-12-03` or
 * a 40-digit number. The texts below are what the Pulumi CLI v3.248.0 handed a program (its `PULUMI_CONFIG`) for
 * these scalars, recorded with the e2e toolchain's `pulumi preview`. Values the program cannot get as written are
 * refused with a message saying to quote them.
 */
import { describe, expect, it } from "vitest";
import { parseConfig } from "../../components/config/parse";
import type { ProgramConfig } from "../../components/config/settings";
import { ConfigError, type RawConfig } from "../../components/schema/setting";
import { applyKeyCommand } from "../../scripts/lib/keyCommands";
import { parseStackFile } from "../../scripts/lib/stackFile";

const LABEL = "Pulumi.dev.yaml";
const KEYRING = `  supabase-selfhosted:signingKeys:\n    - name: k1\n      state: current\n`;
const KEYRING_TEXT = '[{"name":"k1","state":"current"}]';

/** A stack file with the keyring and `lines` under `config:`. */
const stackWith = (lines: string) => `config:\n${KEYRING}${lines}`;

/** What the program makes of a raw config: the config, or the problems pulumi preview prints. */
function programVerdict(raw: RawConfig): { config?: ProgramConfig; problems: string[] } {
  try {
    return { config: parseConfig(raw), problems: [] };
  } catch (error) {
    if (error instanceof ConfigError) return { problems: error.problems };
    throw error;
  }
}

/** [written, the text Pulumi hands the program at the top level, the JSON of it inside a map, refused where]. */
const RECORDED: Array<[string, string, string, "never" | "nested" | "always"]> = [
  ["1234567890123456789012345678901234567890", "1.2345678901234568e+39", "1.2345678901234568e+39", "always"],
  ["0123", "83", "83", "always"],
  ["0129", "129", "129", "always"],
  ["yes", "yes", '"yes"', "never"],
  ["no", "no", '"no"', "never"],
  ["true", "true", "true", "never"],
  ["1e3", "1000", "1000", "never"],
  ["0x1F", "31", "31", "never"],
  ["~", "", "null", "never"],
  ["2026-12-03", "2026-12-03 00:00:00 +0000 UTC", '"2026-12-03 00:00:00 +0000 UTC"', "always"],
  ["2026-12-03T10:00:00+05:30", "2026-12-03 10:00:00 +0530 +0530", '"2026-12-03 10:00:00 +0530 +0530"', "always"],
  ["18446744073709551615", "18446744073709551615", "18446744073709552000", "nested"],
  ["0.1000000000000000000001", "0.1", "0.1", "always"],
  ["1.50", "1.5", "1.5", "never"],
  ["1_000", "1000", "1000", "never"],
  ["+5", "5", "5", "never"],
  ["1e400", "1e400", '"1e400"', "never"],
];

describe("YAML scalars Pulumi reads otherwise than the editor's YAML library", () => {
  it.each(RECORDED)("%s at the top level: the program's verdict on %j", (written, pulumiText, _json, refused) => {
    const stack = parseStackFile(stackWith(`  supabase-selfhosted:dashboardUsername: ${written}\n`), LABEL);
    const programRaw = { signingKeys: KEYRING_TEXT, dashboardUsername: pulumiText };
    expect(stack.raw).toEqual(programRaw);
    const program = programVerdict(programRaw);
    expect(stack.config).toEqual(program.config);
    const quote = stack.problems.filter((p) => p.includes("to keep it as written"));
    expect(stack.problems.filter((p) => !quote.includes(p))).toEqual(program.problems);
    expect(quote).toEqual(
      refused === "always"
        ? [expect.stringMatching(new RegExp(`^supabase-selfhosted:dashboardUsername: YAML reads \\S+ as a`))]
        : [],
    );
    for (const problem of quote) expect(problem).toContain(`quote it ('${written}') to keep it as written`);
  });

  it.each(RECORDED)("%s inside a map: the program's verdict on its JSON %j", (written, _text, json, refused) => {
    const stack = parseStackFile(
      stackWith(`  supabase-selfhosted:extraEnv:\n    auth:\n      GOTRUE_SITE_NAME: ${written}\n`),
      LABEL,
    );
    const programRaw = { signingKeys: KEYRING_TEXT, extraEnv: `{"auth":{"GOTRUE_SITE_NAME":${json}}}` };
    expect(stack.raw).toEqual(programRaw);
    const program = programVerdict(programRaw);
    expect(stack.config).toEqual(program.config);
    const quote = stack.problems.filter((p) => p.includes("to keep it as written"));
    expect(stack.problems.filter((p) => !quote.includes(p))).toEqual(program.problems);
    expect(quote.map((p) => p.split(": YAML reads")[0])).toEqual(
      refused === "never" ? [] : ["supabase-selfhosted:extraEnv.auth.GOTRUE_SITE_NAME"],
    );
  });

  it("writes lists and maps as Go's JSON: keys sorted, <>& escaped, a key YAML read as a number by its value", () => {
    const stack = parseStackFile(
      stackWith(
        "  supabase-selfhosted:extraEnv:\n    auth:\n      ZB: 1\n      AA: '<a&b>'\n" +
          "  supabase-selfhosted:containers:\n    memoryMb: {1: 2, 0x10: 3}\n",
      ),
      LABEL,
    );
    expect(stack.raw.extraEnv).toBe('{"auth":{"AA":"\\u003ca\\u0026b\\u003e","ZB":1}}');
    expect(stack.raw.containers).toBe('{"memoryMb":{"1":2,"16":3}}');
  });
});

describe("an unquoted all-digit jwtSecret", () => {
  const digits = "1234567890123456789012345678901234567890";
  const unquoted = stackWith(`  supabase-selfhosted:jwtSecret: ${digits}\n`);

  it("is refused with a message saying to quote it, next to the length the program sees", () => {
    expect(parseStackFile(unquoted, LABEL).problems).toEqual([
      `supabase-selfhosted:jwtSecret: YAML reads ${digits} as a number, with more digits than a float64 keeps: ` +
        `Pulumi hands the program "1.2345678901234568e+39"; quote it ('${digits}') to keep it as written`,
      "supabase-selfhosted:jwtSecret: must be a secret of at least 32 characters (auth and PostgREST refuse " +
        "shorter secrets), got a text of 22 characters",
    ]);
    expect(() => applyKeyCommand(unquoted, { kind: "add-standby", name: "k2", algorithm: "ES256" }, LABEL)).toThrow(
      /already not a valid configuration[\s\S]*quote it \('1234567890123456789012345678901234567890'\)/,
    );
  });

  it("is accepted as its 40 digits once quoted, and every edit works again", () => {
    const quoted = stackWith(`  supabase-selfhosted:jwtSecret: '${digits}'\n`);
    const stack = parseStackFile(quoted, LABEL);
    expect(stack.problems).toEqual([]);
    expect(stack.config?.jwtSecret).toBe(digits);
    expect(applyKeyCommand(quoted, { kind: "add-standby", name: "k2", algorithm: "ES256" }, LABEL).changes).toEqual([
      "k2: added as standby (ES256)",
    ]);
  });
});

describe("what Pulumi cannot read at all", () => {
  it("refuses .inf, which stops pulumi preview (json: unsupported value: +Inf)", () => {
    const stack = parseStackFile(stackWith("  supabase-selfhosted:jwtExpiry: .inf\n"), LABEL);
    expect(stack.problems[0]).toBe(
      "supabase-selfhosted:jwtExpiry: YAML reads .inf as a number JSON cannot hold, so pulumi preview cannot read " +
        "the stack file; quote it ('.inf') to keep it as written",
    );
  });
});
