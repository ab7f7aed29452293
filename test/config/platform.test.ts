/**
 * The platform services' settings (`pooler`, `functions`, `storage`): values as `pulumi config set --path` stores
 * them, every rejection with the full key, the plain-secret warning, and reading `functions.dir` from disk.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { afterAll, describe, expect, it, vi } from "vitest";
import { parseConfig, settingsWarnings } from "../../components/config/parse";
import {
  FUNCTIONS_DIR_LIMITS,
  loadConfig,
  readFunctionsDir,
  readRawConfig,
  secretConfigKeys,
} from "../../components/config/read";
import type { RawConfig } from "../../components/schema/setting";
import { MAIN_ENTRY } from "../../components/services/functions/functions";
import { MockEngine } from "../../testkit/engine/engine";
import { runUnderMocks } from "../../testkit/engine/run";
import { problemsOf } from "../support/config";

const ok = { signingKeys: JSON.stringify([{ name: "k1", state: "current" }]) };
const json = (value: unknown) => JSON.stringify(value);

describe("pooler settings", () => {
  it("reads numbers and booleans as YAML or as text (both forms `pulumi config set --path` may store)", () => {
    const config = parseConfig({
      ...ok,
      pooler: json({
        enabled: "false",
        sessionPort: "6432",
        transactionPort: 6544,
        host: "0.0.0.0",
        tenantId: "prod_1",
        defaultPoolSize: 40,
        maxClientConnections: "500",
      }),
    });
    expect(config.pooler).toEqual({
      enabled: false,
      sessionPort: 6432,
      transactionPort: 6544,
      host: "0.0.0.0",
      tenantId: "prod_1",
      defaultPoolSize: 40,
      maxClientConnections: 500,
    });
  });

  it("rejects ports clashing with the gateway or each other, bad ports, hosts, tenants and fields", () => {
    const clash = (key: string, port: number, other: string) =>
      `supabase-selfhosted:${key}: ${port} is already ${other}'s host port; each published port must differ (change ` +
      "one of them)";
    expect(problemsOf({ ...ok, gatewayHttpPort: "5432" })).toEqual([
      clash("pooler.sessionPort", 5432, "gatewayHttpPort"),
    ]);
    expect(problemsOf({ ...ok, pooler: json({ transactionPort: 5432 }) })).toEqual([
      clash("pooler.transactionPort", 5432, "pooler.sessionPort"),
    ]);
    // Postgres published on the host with the default port takes the pooler's session port, on the same address.
    expect(problemsOf({ ...ok, database: json({ publish: true }) })).toEqual([
      clash("pooler.sessionPort", 5432, "database.publish.port"),
    ]);
    // On different addresses one port is two: no clash.
    const apart = { ...ok, database: json({ publish: { host: "10.0.0.5" } }), pooler: json({ host: "127.0.0.1" }) };
    expect(parseConfig(apart).database.publish).toEqual({ host: "10.0.0.5", port: 5432 });
    // The gateway on another address than the pooler shares its port number; on the pooler's own, or on every
    // address (the default), it clashes.
    expect(parseConfig({ ...ok, gatewayHttpPort: "5432", gatewayHost: "10.0.0.5" }).gatewayHost).toBe("10.0.0.5");
    expect(problemsOf({ ...ok, gatewayHttpPort: "5432", gatewayHost: "127.0.0.1" })).toEqual([
      clash("pooler.sessionPort", 5432, "gatewayHttpPort"),
    ]);
    expect(problemsOf({ ...ok, gatewayHost: "localhost" })).toEqual([
      "supabase-selfhosted:gatewayHost: must be an IP address of the Docker host to listen on (127.0.0.1 for the " +
        'host only, 0.0.0.0 for every network), got "localhost"',
    ]);
    // A disabled pooler publishes nothing, so nothing clashes.
    expect(parseConfig({ ...ok, gatewayHttpPort: "5432", pooler: json({ enabled: false }) }).pooler.enabled).toBe(
      false,
    );
    const problems = problemsOf({
      ...ok,
      pooler: json({ sessionPort: 70000, host: "localhost", tenantId: "a.b", defaultPoolSize: 0, mode: "session" }),
    });
    expect(problems).toEqual([
      "supabase-selfhosted:pooler.sessionPort: must be a port number from 1 to 65535, got 70000",
      "supabase-selfhosted:pooler.host: must be an IP address of the Docker host to listen on (127.0.0.1 for the " +
        'host only, 0.0.0.0 for every network), got "localhost"',
      'supabase-selfhosted:pooler.tenantId: must be 1-64 characters of letters, digits, _ and -, got "a.b"',
      "supabase-selfhosted:pooler.defaultPoolSize: must be an integer from 1 to 10000, got 0",
      "supabase-selfhosted:pooler.mode: is not a known field; allowed: enabled, sessionPort, transactionPort, host, " +
        "tenantId, defaultPoolSize, maxClientConnections",
    ]);
    expect(problemsOf({ ...ok, pooler: "on" })).toEqual([
      'supabase-selfhosted:pooler: must be an object such as {sessionPort: 6432, host: 0.0.0.0}, got "on"',
    ]);
  });
});

describe("storage settings", () => {
  it("takes an S3 backend with its defaults: path style with an endpoint, upstream's region stub", () => {
    const config = parseConfig({
      ...ok,
      storage: json({
        backend: "s3",
        tenantId: "acme",
        imageTransformation: false,
        s3: { endpoint: "http://minio:9000/", bucket: "acme-files", accessKeyId: "id", secretAccessKey: "secret" },
      }),
    });
    expect(config.storage).toEqual({
      backend: "s3",
      tenantId: "acme",
      imageTransformation: false,
      s3: {
        endpoint: "http://minio:9000",
        bucket: "acme-files",
        region: "stub",
        forcePathStyle: true,
        accessKeyId: "id",
        secretAccessKey: "secret",
      },
    });
    const aws = parseConfig({ ...ok, storage: json({ backend: "s3", s3: { bucket: "b-1", region: "eu-west-1" } }) });
    expect(aws.storage.s3).toEqual({ bucket: "b-1", region: "eu-west-1", forcePathStyle: false });
  });

  it("rejects an S3 backend without a bucket, S3 settings without it, and half a key pair", () => {
    expect(problemsOf({ ...ok, storage: json({ backend: "s3" }) })).toEqual([
      "supabase-selfhosted:storage.s3.bucket: is required with storage.backend s3",
    ]);
    expect(problemsOf({ ...ok, storage: json({ backend: "s3", s3: { endpoint: "https://s3.example.com" } }) })).toEqual(
      ["supabase-selfhosted:storage.s3.bucket: is required with storage.backend s3"],
    );
    expect(problemsOf({ ...ok, storage: json({ s3: { bucket: "files" } }) })).toEqual([
      'supabase-selfhosted:storage.s3: is only used with storage.backend "s3"; set the backend or remove storage.s3',
    ]);
    expect(
      problemsOf({
        ...ok,
        storage: json({ backend: "gcs", tenantId: "a/b", s3: { bucket: "x" } }),
      }),
    ).toEqual([
      'supabase-selfhosted:storage.backend: "gcs" is not a backend; allowed: file, s3',
      'supabase-selfhosted:storage.tenantId: must be 1-64 characters of letters, digits, _ and -, got "a/b"',
      "supabase-selfhosted:storage.s3.bucket: must be an S3 bucket name (3-63 characters of a-z, 0-9, . and -), " +
        'got "x"',
    ]);
    expect(
      problemsOf({
        ...ok,
        storage: json({
          backend: "s3",
          s3: { endpoint: "s3.example.com", bucket: "Bad_Bucket", accessKeyId: "id", forcePathStyle: "yes" },
        }),
      }),
    ).toEqual([
      "supabase-selfhosted:storage.s3.bucket: must be an S3 bucket name (3-63 characters of a-z, 0-9, . and -), " +
        'got "Bad_Bucket"',
      "supabase-selfhosted:storage.s3.endpoint: must be an http(s) URL without a path, such as " +
        'https://s3.example.com, got "s3.example.com"',
      'supabase-selfhosted:storage.s3.forcePathStyle: must be a boolean (true or false), got "yes"',
      "supabase-selfhosted:storage.s3: needs accessKeyId and secretAccessKey together (or neither, to use the " +
        "host's AWS credentials)",
    ]);
    expect(problemsOf({ ...ok, storage: json({ backend: "s3", s3: { bucket: "files" } }) })).toEqual([
      "supabase-selfhosted:storage.s3.region: is required for AWS S3 (no storage.s3.endpoint), e.g. us-east-1",
    ]);
  });

  it("learns from the runtime which keys arrived as secrets, and warns while loading the config", async () => {
    const warn = vi.spyOn(pulumi.log, "warn").mockResolvedValue();
    const storage = { backend: "s3", s3: { bucket: "files", region: "eu-1", accessKeyId: "a", secretAccessKey: "s" } };
    const config = { signingKeys: [{ name: "k1", state: "current" }], gatewayHost: "127.0.0.1", storage };
    const secret = await runUnderMocks(new MockEngine(), config, () => secretConfigKeys(readRawConfig()), {
      secretKeys: ["storage"],
    });
    expect([...secret.result]).toEqual(["storage"]);
    await runUnderMocks(new MockEngine(), config, loadConfig);
    expect(warn.mock.calls.map(([message]) => message)).toEqual([
      expect.stringContaining("storage.s3.secretAccessKey is stored in plain text"),
    ]);
    warn.mockClear();
    await runUnderMocks(new MockEngine(), config, loadConfig, { secretKeys: ["storage"] });
    expect(warn).not.toHaveBeenCalled();
    warn.mockRestore();
  });

  it("warns about an S3 secret key in plain config, not when the storage key is a secret", () => {
    const config = parseConfig({
      ...ok,
      gatewayHost: "127.0.0.1",
      storage: json({ backend: "s3", s3: { bucket: "files", region: "eu-1", accessKeyId: "a", secretAccessKey: "s" } }),
    });
    expect(settingsWarnings(config, new Set())).toEqual([
      "supabase-selfhosted:storage.s3.secretAccessKey is stored in plain text in the stack file; encrypt it with " +
        "`pulumi config set --secret --path 'storage.s3.secretAccessKey' <value>`",
    ]);
    expect(settingsWarnings(config, new Set(["storage"]))).toEqual([]);
    expect(
      settingsWarnings(parseConfig({ ...ok, gatewayHost: "127.0.0.1", storage: json({ backend: "file" }) }), new Set()),
    ).toEqual([]);
  });
});

describe("functions settings and functions.dir", () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "functions-dir-"));
  afterAll(() => fs.rmSync(root, { recursive: true, force: true }));
  const tree = (name: string, files: Record<string, string | Buffer>) => {
    const dir = path.join(root, name);
    for (const [file, content] of Object.entries(files)) {
      fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
      fs.writeFileSync(path.join(dir, file), content);
    }
    return dir;
  };
  const functions = (value: Record<string, unknown>) => ({ ...ok, functions: json(value) });

  it("reads every file under dir in name order, skipping dotfiles, only when functions are enabled", () => {
    const dir = tree("good", {
      "main/index.ts": "main",
      "hello/index.ts": "hello",
      "hello/lib/util.ts": "util",
      ".env": "SECRET=1",
      "hello/.DS_Store": "x",
    });
    const config = parseConfig(functions({ enabled: true, dir }), { readFunctionsDir });
    expect(config.functions).toEqual({
      enabled: true,
      verifyJwt: true,
      dir,
      files: [
        { path: "hello/index.ts", content: "hello" },
        { path: "hello/lib/util.ts", content: "util" },
        { path: "main/index.ts", content: "main" },
      ],
    });
    const off = parseConfig(functions({ enabled: false, dir: path.join(root, "missing") }), { readFunctionsDir });
    expect(off.functions).toEqual({ enabled: false, verifyJwt: true, dir: path.join(root, "missing") });
  });

  it("ships the program's own main entry when no dir is set", () => {
    const config = parseConfig(functions({ enabled: true, verifyJwt: false }), { readFunctionsDir });
    expect(config.functions.verifyJwt).toBe(false);
    expect(config.functions.files!.map((f) => f.path)).toEqual(["main/index.ts", "main/verify.ts"]);
  });

  it("rejects a dir that does not exist, is a file, holds no main entry or binary files, naming functions.dir", () => {
    const missing = path.join(root, "nope");
    expect(problemsOf(functions({ enabled: true, dir: missing }), { readFunctionsDir })).toEqual([
      `supabase-selfhosted:functions.dir: ${JSON.stringify(missing)} (${missing}) does not exist; give a directory ` +
        `holding ${MAIN_ENTRY} and one directory per function`,
    ]);
    const file = tree("plain", { "f.txt": "x" });
    expect(problemsOf(functions({ enabled: true, dir: path.join(file, "f.txt") }), { readFunctionsDir })[0]).toMatch(
      /functions\.dir: .* is not a directory$/,
    );
    const noMain = tree("no-main", { "hello/index.ts": "x" });
    expect(problemsOf(functions({ enabled: true, dir: noMain }), { readFunctionsDir })[0]).toMatch(
      /functions\.dir: .* holds no main\/index\.ts, the edge runtime's main service; copy the program's/,
    );
    const binary = tree("binary", { "main/index.ts": "x", "main/logo.png": Buffer.from([0x89, 0x50, 0xff, 0xfe]) });
    expect(problemsOf(functions({ enabled: true, dir: binary }), { readFunctionsDir })[0]).toMatch(
      /main\/logo\.png is not UTF-8 text/,
    );
    expect(FUNCTIONS_DIR_LIMITS.bytes).toBeGreaterThan(1024 * 1024);
    expect(problemsOf(functions({ enabled: "yes", dir: "", verify: true }))).toEqual([
      'supabase-selfhosted:functions.enabled: must be a boolean (true or false), got "yes"',
      'supabase-selfhosted:functions.dir: must be a directory path (relative to the project), got ""',
      "supabase-selfhosted:functions.verify: is not a known field; allowed: enabled, dir, verifyJwt",
    ]);
  });
});
