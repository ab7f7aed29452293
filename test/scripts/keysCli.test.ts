/**
 * `npm run keys` as a user runs it: a whole rotation on a copy of the dev stack file, refusals that leave the file
 * byte-for-byte untouched with a non-zero exit code, and one run of the real script in a child process.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { parseConfig } from "../../components/config/parse";
import { generateSigningJwk } from "../../components/keyring/tokens";
import { main, type CliIo } from "../../scripts/keys";
import { parseStackFile } from "../../scripts/lib/stackFile";
import { tsNodeScript } from "../support/npmScript";

const ROOT = path.resolve(__dirname, "..", "..");
let dir: string;

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "keys-cli-"));
  fs.copyFileSync(path.join(ROOT, "Pulumi.yaml"), path.join(dir, "Pulumi.yaml"));
  fs.copyFileSync(path.join(ROOT, "Pulumi.dev.yaml"), path.join(dir, "Pulumi.dev.yaml"));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

async function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const code = await main(argv, { out: (t) => (out += t), err: (t) => (err += t), cwd: dir });
  return { code, out, err };
}

const stackText = () => fs.readFileSync(path.join(dir, "Pulumi.dev.yaml"), "utf8");
const states = () => parseStackFile(stackText(), "Pulumi.dev.yaml").keys.map((k) => `${k.name}:${k.state}`);

describe("npm run keys: a full rotation on the dev stack", () => {
  it("status, add-standby, promote, revoke, remove: each step edits the file and says what to run next", async () => {
    const status = await run("status", "--stack", "dev");
    expect(status.code).toBe(0);
    expect(status.out).toMatch(/0\s+k1\s+current\s+ES256\s+generated\s+signs every new token/);
    expect(status.out).toContain("jwksCacheSeconds: 1200 s");

    const add = await run("add-standby", "k2", "--stack", "dev", "--algorithm", "EdDSA");
    expect(add.code).toBe(0);
    expect(states()).toEqual(["k1:current", "k2:standby"]);
    expect(add.out).toContain("npm run pulumi -- up --stack dev");
    expect(add.out).toContain("npm run keys -- promote k2 --stack dev");

    const promote = await run("promote", "k2", "--stack", "dev");
    expect(promote.code).toBe(0);
    expect(states()).toEqual(["k1:previous", "k2:current"]);
    expect(promote.out).toMatch(
      /Waiting rule: Promote a standby key only after it has been published .* at least jwksCacheSeconds = 1200 s \(20 min\)/,
    );
    expect(promote.out).toMatch(/jwtExpiry \+ 15 min = 4500 s \(1 h 15 min\)/);

    const revoke = await run("revoke", "k1", "--stack", "dev");
    expect(revoke.code).toBe(0);
    expect(states()).toEqual(["k1:revoked", "k2:current"]);

    const remove = await run("remove", "k1", "--stack", "dev");
    expect(remove.code).toBe(0);
    expect(states()).toEqual(["k2:current"]);
    expect(remove.out).toMatch(/k1: removed \(revoked\)/);

    // The comments of the original file survive the whole sequence, and the program accepts the result.
    expect(stackText()).toContain("# The dev stack: one current ES256 key, everything on localhost.");
    expect(stackText()).toContain("supabase-selfhosted:apiExternalUrl: http://localhost:8000");
    expect(parseStackFile(stackText(), "Pulumi.dev.yaml").config?.signingKeys).toEqual([
      { name: "k2", state: "current", algorithm: "EdDSA" },
    ]);
  });

  it("prints the waiting rule with the stack's own jwksCacheSeconds and jwtExpiry", async () => {
    fs.appendFileSync(
      path.join(dir, "Pulumi.dev.yaml"),
      "  supabase-selfhosted:jwksCacheSeconds: 1800\n  supabase-selfhosted:jwtExpiry: 600\n",
    );
    await run("add-standby", "k2", "--stack", "dev");
    const promote = await run("promote", "k2", "--stack", "dev");
    expect(promote.out).toContain("jwksCacheSeconds = 1800 s (30 min)");
    expect(promote.out).toContain("jwtExpiry + 15 min = 1500 s (25 min)");
  });
});

describe("npm run keys: refusals leave the file untouched", () => {
  const cases: [string, string[], number, RegExp][] = [
    ["unknown key", ["promote", "k7", "--stack", "dev"], 1, /no signing key named "k7"; keys: k1 \(current\)/],
    ["revoke the current key", ["revoke", "k1", "--stack", "dev"], 1, /k1 is the current key and cannot be revoked/],
    ["remove the current key", ["remove", "k1", "--stack", "dev"], 1, /k1 is the current key and cannot be removed/],
    ["promote the current key", ["promote", "k1", "--stack", "dev"], 1, /k1 is already the current key/],
    ["duplicate name", ["add-standby", "k1", "--stack", "dev"], 1, /already has a key named "k1"/],
    [
      "missing stack file",
      ["status", "--stack", "prod"],
      1,
      /Pulumi\.prod\.yaml does not exist\. Stack files here: Pulumi\.dev\.yaml/,
    ],
    ["missing --stack", ["promote", "k1"], 2, /--stack <name> is required/],
    [
      "bad algorithm",
      ["add-standby", "k2", "--stack", "dev", "--algorithm", "HS512"],
      2,
      /--algorithm must be one of ES256, RS256, EdDSA/,
    ],
    ["unknown command", ["rotate", "--stack", "dev"], 2, /unknown command "rotate"/],
    ["unknown option", ["status", "--stack", "dev", "--yes"], 2, /Unknown option '--yes'/],
    ["qualified stack name", ["status", "--stack", "acme/dev"], 2, /not a plain stack name/],
  ];
  it.each(cases)("%s", async (_label, argv, code, message) => {
    const before = stackText();
    const result = await run(...argv);
    expect(result.code).toBe(code);
    expect(result.err).toMatch(message);
    expect(result.out).toBe("");
    expect(stackText()).toBe(before);
  });

  it("reports a promote of a revoked key with the way back", async () => {
    await run("add-standby", "k2", "--stack", "dev");
    await run("revoke", "k2", "--stack", "dev");
    const before = stackText();
    const result = await run("promote", "k2", "--stack", "dev");
    expect(result.code).toBe(1);
    expect(result.err).toMatch(/k2 is revoked and cannot be promoted directly/);
    expect(result.err).toContain("The stack file was not changed.");
    expect(stackText()).toBe(before);
  });

  it("explains a directory without Pulumi.yaml", async () => {
    fs.rmSync(path.join(dir, "Pulumi.yaml"));
    const result = await run("status", "--stack", "dev");
    expect(result.code).toBe(1);
    expect(result.err).toMatch(/has no Pulumi\.yaml: run this from the project directory or pass --dir/);
  });

  it("status exits 1 and lists the problems when the file is not a valid configuration", async () => {
    fs.writeFileSync(path.join(dir, "Pulumi.dev.yaml"), stackText().replace("state: current", "state: active"));
    const result = await run("status", "--stack", "dev");
    expect(result.code).toBe(1);
    expect(result.out).toMatch(/k1\s+active/);
    expect(result.err).toMatch(
      /signingKeys\[0\]\.state: "active" is not a key state; allowed: standby, current, previous, revoked/,
    );
  });

  it("warns when an imported private key sits in the file unencrypted", async () => {
    const jwk = JSON.stringify({ kty: "EC", crv: "P-256", x: "x", y: "y", d: "d" });
    fs.writeFileSync(
      path.join(dir, "Pulumi.dev.yaml"),
      stackText().replace("algorithm: ES256", `algorithm: ES256\n      privateJwk: '${jwk}'`),
    );
    const result = await run("status", "--stack", "dev");
    expect(result.err).toMatch(
      /signingKeys\[0\]\.privateJwk \(k1\) is stored unencrypted.*\n.*pulumi config set --secret --path 'signingKeys\[0\]\.privateJwk'/,
    );
  });
});

describe("npm run keys: status reports what pulumi preview would, functions.dir included", () => {
  const appendFunctions = () =>
    fs.appendFileSync(
      path.join(dir, "Pulumi.dev.yaml"),
      "  supabase-selfhosted:functions:\n    enabled: true\n    dir: edge\n",
    );

  it("reads functions.dir relative to the project directory (--dir), as the program in that directory does", async () => {
    appendFunctions();
    const elsewhere = fs.mkdtempSync(path.join(os.tmpdir(), "keys-cwd-"));
    const runElsewhere = async (...argv: string[]) => {
      let out = "";
      let err = "";
      const code = await main([...argv, "--dir", dir], {
        out: (t) => (out += t),
        err: (t) => (err += t),
        cwd: elsewhere,
      });
      return { code, out, err };
    };
    try {
      const missing = await runElsewhere("status", "--stack", "dev");
      expect(missing.code).toBe(1);
      expect(missing.err).toContain(
        `supabase-selfhosted:functions.dir: "edge" (${path.join(dir, "edge")}) does not exist; give a directory ` +
          "holding main/index.ts and one directory per function",
      );
      const before = stackText();
      expect((await runElsewhere("add-standby", "k2", "--stack", "dev")).err).toMatch(/functions\.dir: "edge"/);
      expect(stackText()).toBe(before);
      fs.mkdirSync(path.join(dir, "edge", "main"), { recursive: true });
      fs.writeFileSync(path.join(dir, "edge", "main", "index.ts"), "Deno.serve(() => new Response('ok'));\n");
      const present = await runElsewhere("status", "--stack", "dev");
      expect(present.err).toBe("");
      expect(present.code).toBe(0);
    } finally {
      fs.rmSync(elsewhere, { recursive: true, force: true });
    }
  });
});

describe("npm run keys: usage errors, --force, restore", () => {
  it("answers a usage error with one line and where the usage is, not the whole usage", async () => {
    for (const argv of [["rotate", "--stack", "dev"], ["status", "--stack", "dev", "--nope"], []]) {
      const result = await run(...argv);
      expect(result.code, argv.join(" ")).toBe(2);
      expect(result.err.trimEnd().split("\n"), argv.join(" ")).toEqual([
        expect.any(String),
        "Run npm run keys -- help for the commands and options.",
      ]);
    }
    const help = await run("help");
    expect(help.code).toBe(0);
    expect(help.out).toContain("restore <key> --stack <name>");
  });

  it("refuses to edit a stack file that is already invalid, unless --force, which then warns", async () => {
    fs.writeFileSync(path.join(dir, "Pulumi.dev.yaml"), stackText() + "  supabase-selfhosted:jwtExpiry: soon\n");
    const before = stackText();
    const refused = await run("add-standby", "k2", "--stack", "dev");
    expect(refused.code).toBe(1);
    expect(refused.err).toMatch(/already not a valid configuration[\s\S]*jwtExpiry: must be a positive integer/);
    expect(refused.err).toContain("--force");
    expect(stackText()).toBe(before);
    const forced = await run("add-standby", "k2", "--stack", "dev", "--force");
    expect(forced.code).toBe(0);
    expect(states()).toEqual(["k1:current", "k2:standby"]);
    expect(forced.err).toMatch(/warning: --force: Pulumi\.dev\.yaml still has problems[\s\S]*jwtExpiry/);
  });

  it("after remove, says what fits the removed key's state: the wait only for a previous key", async () => {
    const wait = "Check first: Revoke (or remove) the previous key only after jwtExpiry + 15 min";
    await run("add-standby", "k2", "--stack", "dev");
    const standby = await run("remove", "k2", "--stack", "dev");
    expect(standby.code).toBe(0);
    expect(standby.out).toContain("A standby key signs nothing, so no session depends on it");
    expect(standby.out).not.toContain(wait);

    await run("add-standby", "k2", "--stack", "dev");
    await run("promote", "k2", "--stack", "dev");
    const previous = await run("remove", "k1", "--stack", "dev");
    expect(previous.out).toContain(wait);

    await run("add-standby", "k3", "--stack", "dev");
    await run("revoke", "k3", "--stack", "dev");
    const revoked = await run("remove", "k3", "--stack", "dev");
    expect(revoked.out).toContain("It is revoked already: verifiers reject its tokens");
    expect(revoked.out).not.toContain(wait);
    expect(states()).toEqual(["k2:current"]);
  });

  it("after revoking a standby key, asks for no wait", async () => {
    await run("add-standby", "k2", "--stack", "dev");
    const revoke = await run("revoke", "k2", "--stack", "dev");
    expect(revoke.out).toContain("A standby key signs nothing");
    expect(revoke.out).not.toContain("Check first");
  });

  it("brings a revoked key back to standby", async () => {
    await run("add-standby", "k2", "--stack", "dev");
    await run("revoke", "k2", "--stack", "dev");
    const restore = await run("restore", "k2", "--stack", "dev");
    expect(restore.code).toBe(0);
    expect(states()).toEqual(["k1:current", "k2:standby"]);
    expect(restore.out).toContain("k2: revoked → standby");
    expect((await run("restore", "k1", "--stack", "dev")).err).toMatch(/k1 is current, not revoked/);
  });
});

describe("npm run keys -- import", () => {
  /** A fake Pulumi CLI: records each call, and stores the value as `pulumi config set --secret` would. */
  function fakePulumi(status = 0) {
    const calls: Array<{ args: string[]; input: string }> = [];
    const pulumi = (args: string[], input: string, cwd: string) => {
      calls.push({ args, input });
      if (status === 0) {
        const file = path.join(cwd, "Pulumi.dev.yaml");
        const index = Number(/signingKeys\[(\d+)\]/.exec(args.join(" "))![1]);
        const text = fs.readFileSync(file, "utf8").split("\n");
        // The new entry is the last one; add its encrypted member after its algorithm line.
        const at = text.map((line) => line.includes("algorithm:")).lastIndexOf(true);
        text.splice(at + 1, 0, "      privateJwk:", "        secure: v1:ZmFrZQ==:v1:AAAA:BBBB");
        fs.writeFileSync(file, text.join("\n"));
        expect(index).toBe(1);
      }
      return { status, stderr: status === 0 ? "" : "error: no stack named dev" };
    };
    return { calls, pulumi };
  }

  async function runWith(pulumi: CliIo["pulumi"] | undefined, ...argv: string[]) {
    let out = "";
    let err = "";
    const code = await main(argv, {
      out: (t) => (out += t),
      err: (t) => (err += t),
      cwd: dir,
      ...(pulumi ? { pulumi } : {}),
    });
    return { code, out, err };
  }

  it("adds the key as standby and has the Pulumi CLI encrypt it, the key on stdin, never on the command line", async () => {
    const jwk = await generateSigningJwk("EdDSA", "from-compose");
    fs.writeFileSync(path.join(dir, "key.json"), JSON.stringify([jwk]));
    const fake = fakePulumi();
    const result = await runWith(fake.pulumi, "import", "k3", "--file", "key.json", "--stack", "dev");
    expect(result.err).toBe("");
    expect(result.code).toBe(0);
    expect(fake.calls).toHaveLength(1);
    expect(fake.calls[0].args).toEqual([
      "config",
      "set",
      "--secret",
      "--path",
      "signingKeys[1].privateJwk",
      "--stack",
      "dev",
    ]);
    expect(fake.calls[0].args.join(" ")).not.toContain(String(jwk.d));
    expect(JSON.parse(fake.calls[0].input)).toEqual([jwk]);
    const parsed = parseStackFile(stackText(), "Pulumi.dev.yaml");
    expect(parsed.keys[1]).toMatchObject({
      name: "k3",
      state: "standby",
      algorithm: "EdDSA",
      source: "imported (secret)",
    });
    expect(stackText()).not.toContain(String(jwk.d));
    expect(result.out).toContain("k3: added as standby (imported, EdDSA)");
  });

  it("refuses without the Pulumi CLI rather than store the key in plain text, and leaves the file as it was", async () => {
    fs.writeFileSync(path.join(dir, "key.json"), JSON.stringify(await generateSigningJwk("ES256")));
    const before = stackText();
    const result = await runWith(undefined, "import", "k3", "--file", "key.json", "--stack", "dev");
    expect(result.code).toBe(1);
    expect(result.err).toMatch(
      /Pulumi CLI is not on your PATH.*not write a private key into Pulumi\.dev\.yaml in plain text/,
    );
    expect(stackText()).toBe(before);
  });

  it("reports a taken or malformed key name before a missing Pulumi CLI", async () => {
    fs.writeFileSync(path.join(dir, "key.json"), JSON.stringify(await generateSigningJwk("ES256")));
    const before = stackText();
    const taken = await runWith(undefined, "import", "k1", "--file", "key.json", "--stack", "dev");
    expect(taken.code).toBe(1);
    expect(taken.err).toMatch(/already has a key named "k1"/);
    expect(taken.err).not.toMatch(/Pulumi CLI/);
    const malformed = await runWith(undefined, "import", "Key_2", "--file", "key.json", "--stack", "dev");
    expect(malformed.err).toMatch(/key name "Key_2" is not allowed/);
    expect(malformed.err).not.toMatch(/Pulumi CLI/);
    expect(stackText()).toBe(before);
  });

  it("puts the file back when the Pulumi CLI fails, and refuses a key file that is not a private key", async () => {
    const { d: _d, ...publicOnly } = await generateSigningJwk("ES256");
    fs.writeFileSync(path.join(dir, "public.json"), JSON.stringify(publicOnly));
    fs.writeFileSync(path.join(dir, "key.json"), JSON.stringify(await generateSigningJwk("ES256")));
    const before = stackText();
    const failing = fakePulumi(1);
    const failed = await runWith(failing.pulumi, "import", "k3", "--file", "key.json", "--stack", "dev");
    expect(failed.code).toBe(1);
    expect(failed.err).toMatch(/pulumi config set --secret .* failed \(exit 1\): error: no stack named dev/);
    expect(stackText()).toBe(before);
    const fake = fakePulumi();
    const refused = await runWith(fake.pulumi, "import", "k3", "--file", "public.json", "--stack", "dev");
    expect(refused.code).toBe(1);
    expect(refused.err).toMatch(/public\.json cannot be imported:\n  - public\.json: is a public key \(no "d"\)/);
    expect(fake.calls).toEqual([]);
    expect((await runWith(fake.pulumi, "import", "k3", "--stack", "dev")).err).toMatch(/import needs --file/);
  });
});

describe("the real script", () => {
  it("runs through ts-node as `npm run keys` does, editing with --dir and exiting non-zero on refusal", () => {
    const keys = tsNodeScript("keys");
    const ok = spawnSync(keys.command, [...keys.args, "add-standby", "k2", "--stack", "dev", "--dir", dir], {
      cwd: ROOT,
      encoding: "utf8",
    });
    expect(ok.stderr).toBe("");
    expect(ok.status).toBe(0);
    expect(states()).toEqual(["k1:current", "k2:standby"]);
    const before = stackText();
    const refused = spawnSync(keys.command, [...keys.args, "revoke", "k1", "--stack", "dev", "--dir", dir], {
      cwd: ROOT,
      encoding: "utf8",
    });
    expect(refused.status).toBe(1);
    expect(refused.stderr).toMatch(/k1 is the current key and cannot be revoked/);
    expect(stackText()).toBe(before);
    // The file the script wrote is one the program accepts.
    expect(parseConfig(parseStackFile(stackText(), "Pulumi.dev.yaml").raw).signingKeys.map((k) => k.state)).toEqual([
      "current",
      "standby",
    ]);
  });

  it("stops quietly when its reader goes away (status | head)", () => {
    const keys = tsNodeScript("keys");
    // `true` exits without reading, so every write after that meets a closed pipe (EPIPE).
    const piped = spawnSync(
      "bash",
      ["-o", "pipefail", "-c", `"${keys.command}" ${keys.args.join(" ")} status --stack dev --dir "${dir}" | true`],
      { cwd: ROOT, encoding: "utf8" },
    );
    expect(piped.stderr).not.toMatch(/EPIPE|Error/);
    expect(piped.status).toBe(0);
  });
});

describe("npm run keys -- generate --jwt-secret-file", () => {
  it("reads the legacy secret from a file (kept out of the process list) and adds it as the oct key", async () => {
    const secret = "the-old-deployments-secret-with-40-chars!";
    fs.writeFileSync(path.join(dir, "jwt-secret"), `${secret}\n`, { mode: 0o600 });
    const result = await run("generate", "--jwt-secret-file", "jwt-secret", "--format", "json");
    expect(result.code).toBe(0);
    const jwks = JSON.parse(result.out).JWT_JWKS;
    const oct = jwks.keys.find((k: { kty: string }) => k.kty === "oct");
    expect(Buffer.from(oct.k, "base64url").toString()).toBe(secret);
    expect(result.out).not.toContain(secret);
  });

  it("refuses a missing file and both options at once, with usage exit code 2", async () => {
    const missing = await run("generate", "--jwt-secret-file", "nope");
    expect(missing.code).toBe(2);
    expect(missing.err).toMatch(/--jwt-secret-file: cannot read nope: ENOENT/);
    fs.writeFileSync(path.join(dir, "jwt-secret"), "x".repeat(40));
    const both = await run("generate", "--jwt-secret-file", "jwt-secret", "--jwt-secret", "y".repeat(40));
    expect(both.code).toBe(2);
    expect(both.err).toMatch(/either --jwt-secret-file or --jwt-secret, not both/);
  });
});
