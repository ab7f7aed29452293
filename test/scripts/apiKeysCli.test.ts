/**
 * `npm run keys -- api-keys` as a user runs it on a copy of the dev stack file: the leaked-key runbook (add, revoke,
 * restore, remove), what the program would refuse refused with the file byte-for-byte untouched, and a stack file
 * whose imported keys are encrypted.
 */
import { createHash, randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { main } from "../../scripts/keys";
import { parseStackFile } from "../../scripts/lib/stackFile";

const ROOT = path.resolve(__dirname, "..", "..");
let dir: string;

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "api-keys-cli-"));
  fs.copyFileSync(path.join(ROOT, "Pulumi.yaml"), path.join(dir, "Pulumi.yaml"));
  fs.copyFileSync(path.join(ROOT, "Pulumi.dev.yaml"), path.join(dir, "Pulumi.dev.yaml"));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

async function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const code = await main(["api-keys", ...argv, "--stack", "dev"], {
    out: (t) => (out += t),
    err: (t) => (err += t),
    cwd: dir,
  });
  return { code, out, err };
}

const stackText = () => fs.readFileSync(path.join(dir, "Pulumi.dev.yaml"), "utf8");
/** The API keys as the program reads them from the file. */
const apiKeys = () => parseStackFile(stackText(), "Pulumi.dev.yaml").config?.apiKeys;

describe("npm run keys -- api-keys: a leaked secret key", () => {
  it("adds a new key beside the old ones, revokes the leaked one, restores and removes it", async () => {
    const status = await run("status");
    expect(status.code).toBe(0);
    expect(status.out).toContain("apiKeys is not set: the two keys every stack has");
    expect(status.out).toMatch(/1\s+secret\s+secret\s+active\s+generated\s+accepted; the primary secret key/);

    const add = await run("add", "backend-2", "--kind", "secret");
    expect(add.code).toBe(0);
    expect(add.out).toContain("apiKeys: written out with the two keys the stack has (publishable, secret)");
    expect(add.out).toContain("npm run pulumi -- up --stack dev");
    expect(add.out).toContain("npm run keys -- api-keys revoke <old key> --stack dev");
    expect(apiKeys()).toEqual([
      { name: "publishable", kind: "publishable", state: "active" },
      { name: "secret", kind: "secret", state: "active" },
      { name: "backend-2", kind: "secret", state: "active" },
    ]);

    const revoke = await run("revoke", "secret");
    expect(revoke.code).toBe(0);
    expect(revoke.out).toContain("It takes effect in that update, with no wait");
    expect(revoke.out).toMatch(/2\s+backend-2\s+secret\s+active\s+generated\s+accepted; the primary secret key/);
    expect(apiKeys()?.map((k) => `${k.name}:${k.state}`)).toEqual([
      "publishable:active",
      "secret:revoked",
      "backend-2:active",
    ]);

    expect((await run("restore", "secret")).code).toBe(0);
    expect(apiKeys()?.[1].state).toBe("active");
    expect((await run("revoke", "secret")).code).toBe(0);
    const remove = await run("remove", "secret");
    expect(remove.code).toBe(0);
    expect(apiKeys()?.map((k) => k.name)).toEqual(["publishable", "backend-2"]);
    // The file's comments and other settings survive the whole sequence.
    expect(stackText()).toContain("# The dev stack: one current ES256 key, everything on localhost.");
    expect(stackText()).toContain("supabase-selfhosted:apiExternalUrl: http://localhost:8000");
  });
});

describe("npm run keys -- api-keys: refusals leave the file untouched", () => {
  const cases: [string, string[], number, RegExp][] = [
    ["the last active key of a kind", ["revoke", "secret"], 1, /has no active secret key, so the gateway would refuse/],
    ["an active key removed", ["remove", "publishable"], 1, /publishable is active: revoke it first/],
    ["an unknown key", ["revoke", "web"], 1, /no API key named "web"; keys: publishable \(publishable, active\)/],
    ["a name taken", ["add", "secret", "--kind", "secret"], 1, /already has an API key named "secret"/],
    ["the functions' default name", ["add", "default", "--kind", "secret"], 1, /not "default"/],
    ["a bad name", ["add", "Web_2", "--kind", "secret"], 1, /use 1-32 characters of a-z, 0-9 and -/],
    ["a restore of an active key", ["restore", "secret"], 1, /secret is active, not revoked/],
    ["add without --kind", ["add", "web"], 2, /api-keys add needs --kind publishable or secret/],
    ["a bad --kind", ["add", "web", "--kind", "admin"], 2, /needs --kind publishable or secret, got "admin"/],
    ["--kind elsewhere", ["revoke", "secret", "--kind", "secret"], 2, /--kind only applies to api-keys add/],
    ["another command's option", ["add", "web", "--kind", "secret", "--algorithm", "ES256"], 2, /--algorithm do not/],
    ["no command", [], 2, /api-keys needs a command: status, add, revoke, restore, remove/],
  ];
  it.each(cases)("%s", async (_label, argv, code, message) => {
    const before = stackText();
    const result = await run(...argv);
    expect(result.code).toBe(code);
    expect(result.err).toMatch(message);
    expect(stackText()).toBe(before);
  });

  it("lets the last active key go when allowUnsafeRotation is on (an emergency)", async () => {
    fs.appendFileSync(path.join(dir, "Pulumi.dev.yaml"), "  supabase-selfhosted:allowUnsafeRotation: true\n");
    expect((await run("revoke", "secret")).code).toBe(0);
    expect(apiKeys()?.[1]).toEqual({ name: "secret", kind: "secret", state: "revoked" });
  });
});

describe("npm run keys -- api-keys: imported keys", () => {
  const upstreamKey = (prefix: string) => {
    const body = prefix + randomBytes(17).toString("base64url").slice(0, 22);
    return `${body}_${createHash("sha256").update(`supabase-self-hosted|${body}`).digest("base64url").slice(0, 8)}`;
  };

  it("reads a list whose imported value is encrypted, and warns about one in plain text", async () => {
    const plain = upstreamKey("sb_publishable_");
    fs.appendFileSync(
      path.join(dir, "Pulumi.dev.yaml"),
      [
        "  supabase-selfhosted:apiKeys:",
        "    - name: web",
        "      kind: publishable",
        "      state: active",
        `      value: ${plain}`,
        "    - name: backend",
        "      kind: secret",
        "      state: active",
        "      value:",
        "        secure: v1:Zm9vYmFy:c2VjcmV0IGNpcGhlcnRleHQ=",
        "",
      ].join("\n"),
    );
    const status = await run("status");
    expect(status.code).toBe(0);
    expect(status.out).toMatch(/1\s+backend\s+secret\s+active\s+imported \(secret\)/);
    expect(status.out).toMatch(/0\s+web\s+publishable\s+active\s+imported \(PLAIN TEXT\)/);
    expect(status.err).toContain("apiKeys[0].value (web) is stored unencrypted in Pulumi.dev.yaml");
    expect(status.out + status.err).not.toContain(plain);
    // An edit keeps the encrypted value as it was.
    expect((await run("add", "backend-2", "--kind", "secret")).code).toBe(0);
    expect(stackText()).toContain("secure: v1:Zm9vYmFy:c2VjcmV0IGNpcGhlcnRleHQ=");
  });

  it("reports a mistyped imported key without showing it", async () => {
    const key = upstreamKey("sb_secret_");
    const typo = key.slice(0, 12) + (key[12] === "a" ? "b" : "a") + key.slice(13);
    fs.appendFileSync(
      path.join(dir, "Pulumi.dev.yaml"),
      `  supabase-selfhosted:apiKeys: [{name: publishable, kind: publishable, state: active}, {name: b, kind: secret, state: active, value: ${typo}}]\n`,
    );
    const status = await run("status");
    expect(status.code).toBe(1);
    expect(status.err).toContain("supabase-selfhosted:apiKeys[1].value: has a checksum that does not match");
    expect(status.err).not.toContain(typo);
  });
});
