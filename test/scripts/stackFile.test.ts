/**
 * The stack-file editor behind `npm run keys`: every lifecycle command on a realistic stack file, checking that only
 * the keyring lines change (comments, order, other keys and encrypted values untouched), that illegal transitions are
 * refused with a message saying what to do, and that every result is a config the program itself accepts.
 */
import { describe, expect, it } from "vitest";
import * as YAML from "yaml";
import { parseConfig } from "../../components/config/parse";
import { applyKeyCommand } from "../../scripts/lib/keyCommands";
import { keyringTable } from "../../scripts/lib/keyringTable";
import { nextSteps, rotationTiming, waitingRules } from "../../scripts/lib/runbook";
import { StackFileError, parseStackFile, rawConfigOf } from "../../scripts/lib/stackFile";

const LABEL = "Pulumi.prod.yaml";

/** A stack file as a user's would look after a few months: comments everywhere, secrets, other namespaces. */
const PROD = `# Production stack. Keys rotate quarterly; see README "Rotating signing keys".
secretsprovider: passphrase
encryptionsalt: v1:Qm9ndXNTYWx0Zm9yVGVzdHM=:v1:AAAAAAAAAAAAAAAA:BBBBBBBBBBBBBBBBBBBBBBBB
config:
  docker:host: ssh://deploy@db1.example.com # the server, over ssh
  supabase-selfhosted:apiExternalUrl: https://api.example.com
  # The keyring, ordered by name.
  supabase-selfhosted:signingKeys:
    - name: k1
      state: current # since 2026-01
      algorithm: ES256
    # imported from the old compose deployment
    - name: k2
      state: standby
      algorithm: ES256
      privateJwk:
        secure: v1:ZW5jcnlwdGVkLWtleQ==:v1:CCCCCCCCCCCCCCCC:DDDDDDDD
  supabase-selfhosted:jwtSecret:
    secure: v1:ZW5jcnlwdGVkLXNlY3JldA==:v1:EEEEEEEEEEEEEEEE:FFFFFFFF
  supabase-selfhosted:legacyHs256: true
  supabase-selfhosted:jwtExpiry: 1800
  supabase-selfhosted:jwksCacheSeconds: 1500
  supabase-selfhosted:images:
    auth: supabase/gotrue:v2.196.0
  pulumi:tags:
    team: platform
`;

function lines(text: string): string[] {
  return text.split("\n");
}

/** Indices of lines that differ between two texts of equal line count. */
function changedLines(a: string, b: string): number[] {
  const x = lines(a);
  const y = lines(b);
  expect(y.length).toBe(x.length);
  return x.flatMap((line, i) => (line === y[i] ? [] : [i]));
}

/** Asserts `b` is `a` with `inserted` consecutive lines added at one place; returns them. */
function insertedLines(a: string, b: string): string[] {
  const x = lines(a);
  const y = lines(b);
  let i = 0;
  while (i < x.length && x[i] === y[i]) i++;
  const added = y.length - x.length;
  expect(y.slice(i + added)).toEqual(x.slice(i));
  return y.slice(i, i + added);
}

function expectRefused(text: string, command: Parameters<typeof applyKeyCommand>[1], message: RegExp): void {
  let error: unknown;
  try {
    applyKeyCommand(text, command, LABEL);
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(StackFileError);
  expect((error as Error).message).toMatch(message);
}

describe("reading a stack file", () => {
  it("lists the keyring in file order with where each key comes from", () => {
    const stack = parseStackFile(PROD, LABEL);
    expect(stack.keys).toEqual([
      { index: 0, name: "k1", state: "current", algorithm: "ES256", source: "generated" },
      { index: 1, name: "k2", state: "standby", algorithm: "ES256", source: "imported (secret)" },
    ]);
    expect(stack.problems).toEqual([]);
    expect(stack.config?.legacyHs256).toBe(true);
    expect(rotationTiming(stack)).toEqual({ jwksCacheSeconds: 1500, jwtExpiry: 1800 });
  });

  it("hands the program's parser the same text Pulumi would: strings as is, everything else as JSON", () => {
    const doc = YAML.parseDocument(PROD);
    const { raw, problems } = rawConfigOf(doc.get("config", true) as YAML.YAMLMap, doc);
    expect(problems).toEqual([]);
    expect(raw.legacyHs256).toBe("true");
    expect(raw.jwtExpiry).toBe("1800");
    expect(JSON.parse(raw.images as string)).toEqual({ auth: "supabase/gotrue:v2.196.0" });
    // Other namespaces are not ours to validate.
    expect(Object.keys(raw)).not.toContain("docker:host");
    // The encrypted key is left out of validation rather than passed as an unreadable blob.
    expect(JSON.parse(raw.signingKeys as string)[1]).toEqual({ name: "k2", state: "standby", algorithm: "ES256" });
    expect(() => parseConfig(raw)).not.toThrow();
  });

  it("shows the kid of a plain-text imported key and flags it as unencrypted", () => {
    const jwk = JSON.stringify({ kty: "EC", crv: "P-256", kid: "imported-1", x: "x", y: "y", d: "d" });
    const text = PROD.replace("        secure: v1:ZW5jcnlwdGVkLWtleQ==:v1:CCCCCCCCCCCCCCCC:DDDDDDDD\n", "").replace(
      "      privateJwk:\n",
      `      privateJwk: '${jwk}'\n`,
    );
    const stack = parseStackFile(text, LABEL);
    expect(stack.keys[1]).toMatchObject({ source: "imported (PLAIN TEXT)", kid: "imported-1" });
  });

  it("reports the problems pulumi preview would report instead of throwing", () => {
    const stack = parseStackFile(PROD.replace("state: current # since 2026-01", "state: standby"), LABEL);
    expect(stack.config).toBeUndefined();
    expect(stack.problems.join("\n")).toMatch(/signingKeys: has no key with state current/);
  });

  it("explains files it cannot work with", () => {
    expect(() => parseStackFile("config: [unclosed", LABEL)).toThrow(/not valid YAML/);
    expect(() => parseStackFile("encryptionsalt: x\n", LABEL)).toThrow(/no "config:" section/);
    expect(() => parseStackFile("config:\n  supabase-selfhosted:siteUrl: http://x\n", LABEL)).toThrow(
      /no supabase-selfhosted:signingKeys; add one current key first/,
    );
    expect(() =>
      parseStackFile(`config:\n  supabase-selfhosted:signingKeys: '[{"name":"k1","state":"current"}]'\n`, LABEL),
    ).toThrow(/must be a YAML list.*single text value/);
    expect(() => parseStackFile("config:\n  supabase-selfhosted:signingKeys:\n    secure: v1:abc\n", LABEL)).toThrow(
      /is encrypted as one secret value.*encrypt only each key's privateJwk/,
    );
  });

  it("prints the keyring as an aligned table with what each state means", () => {
    const out = keyringTable(parseStackFile(PROD, LABEL).keys);
    expect(out.split("\n")[0]).toMatch(/^#\s+NAME\s+STATE\s+ALGORITHM\s+KEY\s+MEANING$/);
    expect(out).toMatch(/0\s+k1\s+current\s+ES256\s+generated\s+signs every new token/);
    expect(out).toMatch(/1\s+k2\s+standby\s+ES256\s+imported \(secret\)\s+published in the JWKS, not signing yet/);
  });
});

describe("lifecycle commands", () => {
  it("add-standby appends one entry and changes nothing else", () => {
    const edit = applyKeyCommand(PROD, { kind: "add-standby", name: "k3", algorithm: "RS256" }, LABEL);
    expect(insertedLines(PROD, edit.text)).toEqual([
      "    - name: k3",
      "      state: standby",
      "      algorithm: RS256",
    ]);
    expect(edit.after.config?.signingKeys.map((k) => [k.name, k.state, k.algorithm])).toEqual([
      ["k1", "current", "ES256"],
      ["k2", "standby", "ES256"],
      ["k3", "standby", "RS256"],
    ]);
    expect(edit.changes).toEqual(["k3: added as standby (RS256)"]);
  });

  it("promote turns the current key into previous and keeps comments, secrets and every other key", () => {
    const edit = applyKeyCommand(PROD, { kind: "promote", name: "k2" }, LABEL);
    const changed = changedLines(PROD, edit.text);
    expect(changed.map((i) => lines(edit.text)[i])).toEqual([
      "      state: previous # since 2026-01",
      "      state: current",
    ]);
    expect(edit.text).toContain("        secure: v1:ZW5jcnlwdGVkLWtleQ==:v1:CCCCCCCCCCCCCCCC:DDDDDDDD");
    expect(edit.after.config?.signingKeys.map((k) => k.state)).toEqual(["previous", "current"]);
  });

  it("promote brings a previous key back (rolling a rotation back)", () => {
    const rotated = applyKeyCommand(PROD, { kind: "promote", name: "k2" }, LABEL).text;
    const back = applyKeyCommand(rotated, { kind: "promote", name: "k1" }, LABEL);
    expect(back.after.keys.map((k) => k.state)).toEqual(["current", "previous"]);
  });

  it("revoke and remove work on non-current keys, and remove keeps the neighbours' comments", () => {
    const rotated = applyKeyCommand(PROD, { kind: "promote", name: "k2" }, LABEL).text;
    const revoked = applyKeyCommand(rotated, { kind: "revoke", name: "k1" }, LABEL);
    expect(changedLines(rotated, revoked.text).map((i) => lines(revoked.text)[i])).toEqual([
      "      state: revoked # since 2026-01",
    ]);
    const removed = applyKeyCommand(revoked.text, { kind: "remove", name: "k1" }, LABEL);
    expect(removed.after.keys.map((k) => k.name)).toEqual(["k2"]);
    expect(removed.text).toContain("    # imported from the old compose deployment\n    - name: k2");
    expect(removed.text).toContain("# Production stack. Keys rotate quarterly");
    expect(removed.text).toContain("  pulumi:tags:\n    team: platform\n");
  });

  it("keeps a file written with unindented lists unindented", () => {
    const flat =
      "config:\n  supabase-selfhosted:signingKeys:\n  - name: k1\n    state: current\n  supabase-selfhosted:jwtExpiry: " +
      "3600\n";
    const edit = applyKeyCommand(flat, { kind: "add-standby", name: "k2", algorithm: "ES256" }, LABEL);
    expect(insertedLines(flat, edit.text)).toEqual(["  - name: k2", "    state: standby", "    algorithm: ES256"]);
  });

  it("refuses illegal transitions with what to do instead", () => {
    expectRefused(
      PROD,
      { kind: "promote", name: "k9" },
      /no signing key named "k9"; keys: k1 \(current\), k2 \(standby\)/,
    );
    expectRefused(PROD, { kind: "promote", name: "k1" }, /k1 is already the current key/);
    expectRefused(
      PROD,
      { kind: "revoke", name: "k1" },
      /k1 is the current key and cannot be revoked.*Add a standby key, promote it/,
    );
    expectRefused(PROD, { kind: "remove", name: "k1" }, /k1 is the current key and cannot be removed/);
    const revoked = applyKeyCommand(PROD, { kind: "revoke", name: "k2" }, LABEL).text;
    expectRefused(
      revoked,
      { kind: "promote", name: "k2" },
      /k2 is revoked and cannot be promoted directly.*signingKeys\[1\]\.state' standby/,
    );
    expectRefused(revoked, { kind: "revoke", name: "k2" }, /k2 is already revoked/);
    expectRefused(PROD, { kind: "add-standby", name: "k2", algorithm: "ES256" }, /already has a key named "k2"/);
    expectRefused(
      PROD,
      { kind: "add-standby", name: "Key_2", algorithm: "ES256" },
      /"Key_2" is not allowed: use 1-32 characters of a-z, 0-9 and -/,
    );
    expectRefused(
      PROD,
      { kind: "add-standby", name: "k3", algorithm: "HS256" as never },
      /"HS256" is not supported; allowed: ES256, RS256, EdDSA/,
    );
  });

  it("refuses to edit a file that is already invalid, naming its problems, unless forced", () => {
    const broken = PROD.replace("jwtExpiry: 1800", "jwtExpiry: soon");
    const command = { kind: "add-standby", name: "k3", algorithm: "ES256" } as const;
    expectRefused(
      broken,
      command,
      /already not a valid configuration.*\n.*jwtExpiry: must be a positive integer, got "soon"[\s\S]*--force/,
    );
    const edit = applyKeyCommand(broken, command, LABEL, { force: true });
    expect(edit.after.problems).toEqual(['supabase-selfhosted:jwtExpiry: must be a positive integer, got "soon"']);
  });

  it("restores a revoked key to standby, and only a revoked one", () => {
    const revoked = applyKeyCommand(PROD, { kind: "revoke", name: "k2" }, LABEL).text;
    const restored = applyKeyCommand(revoked, { kind: "restore", name: "k2" }, LABEL);
    expect(restored.after.keys.map((k) => `${k.name}:${k.state}`)).toEqual(["k1:current", "k2:standby"]);
    expect(restored.text).toBe(PROD);
    expectRefused(PROD, { kind: "restore", name: "k2" }, /k2 is standby, not revoked/);
    expect(nextSteps({ kind: "restore", name: "k2" }, "prod", rotationTiming(restored.after)).join("\n")).toMatch(
      /npm run keys -- promote k2 --stack prod/,
    );
  });
});

describe("what the CLI tells the user next", () => {
  const timing = { jwksCacheSeconds: 1500, jwtExpiry: 1800 };

  it("states the two waiting rules with the stack's own numbers", () => {
    const rules = waitingRules(timing);
    expect(rules.beforePromote).toMatch(/at least jwksCacheSeconds = 1500 s \(25 min\)/);
    expect(rules.beforeRevoke).toMatch(/jwtExpiry \+ 15 min = 2700 s \(45 min\)/);
    expect(waitingRules({ jwksCacheSeconds: 1200, jwtExpiry: 3600 }).beforeRevoke).toMatch(/= 4500 s \(1 h 15 min\)/);
  });

  it("tells promote's waiting rule and the pulumi commands for the stack", () => {
    const steps = nextSteps({ kind: "promote", name: "k2" }, "prod", timing).join("\n");
    expect(steps).toMatch(/Waiting rule: Promote a standby key only after .* 1500 s/);
    expect(steps).toContain(
      "npm run pulumi -- preview --stack prod (expect auth alone to be recreated), then npm run pulumi -- up --stack prod",
    );
    expect(steps).toContain("the sb_ keys keep mapping to its JWTs until it is revoked");
    expect(steps).toMatch(/Revoke \(or remove\) the previous key only after jwtExpiry \+ 15 min = 2700 s/);
    const add = nextSteps({ kind: "add-standby", name: "k3", algorithm: "ES256" }, "prod", timing).join("\n");
    expect(add).toContain("npm run keys -- promote k3 --stack prod");
  });
});
