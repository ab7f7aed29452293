/**
 * The TLS proxy (Caddy in front of the gateway): its Caddyfile per mode, the settings that must fit together, the
 * warnings about plain HTTP, and what the stack declares for it.
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { parseConfig, settingsWarnings } from "../../components/config/parse";
import { supabaseProgram } from "../../components/program";
import { caddyfile } from "../../components/services/tls/caddyfile";
import { RESOURCE_TYPES } from "../../components/targets/resourceTypes";
import { problemsOf } from "../support/config";
import { declare } from "../support/shapes";

const ok = { signingKeys: JSON.stringify([{ name: "k1", state: "current" }]) };
const json = (value: unknown) => JSON.stringify(value);

/** A self-signed certificate for `name` (openssl, as a user would make one), with its key. */
function selfSigned(name: string): { certificate: string; key: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tls-test-"));
  try {
    execFileSync(
      "openssl",
      [
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-days",
        "2",
        "-subj",
        `/CN=${name}`,
        "-addext",
        `subjectAltName=DNS:${name}`,
        "-keyout",
        path.join(dir, "key.pem"),
        "-out",
        path.join(dir, "cert.pem"),
      ],
      { stdio: "ignore" },
    );
    return {
      certificate: fs.readFileSync(path.join(dir, "cert.pem"), "utf8"),
      key: fs.readFileSync(path.join(dir, "key.pem"), "utf8"),
    };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

let api: { certificate: string; key: string };
let other: { certificate: string; key: string };
beforeAll(() => {
  api = selfSigned("api.example.com");
  other = selfSigned("other.example.com");
});

describe("the Caddyfile", () => {
  it("serves the host with Caddy's own CA, proxies to the gateway and redirects HTTP to the published HTTPS port", () => {
    const text = caddyfile({
      tls: { mode: "internal", httpsPort: 8443 },
      host: "localhost",
      upstream: "http://kong:8000",
    });
    expect(text).toContain("https://localhost {\n\ttls internal\n\treverse_proxy http://kong:8000\n}");
    expect(text).toContain("http://localhost {\n\tredir https://localhost:8443{uri} permanent\n}");
    expect(text).toContain("\tadmin off\n\thttp_port 8080\n\thttps_port 8443\n\tauto_https disable_redirects\n");
  });

  it("asks the ACME CA with the contact given, and leaves out the port 443 in redirects", () => {
    const text = caddyfile({
      tls: { mode: "acme", email: "ops@example.com", httpsPort: 443 },
      host: "api.example.com",
      upstream: "http://kong:8000",
    });
    expect(text).toContain("\temail ops@example.com\n");
    expect(text).toContain("https://api.example.com {\n\treverse_proxy http://kong:8000\n}");
    expect(text).toContain("redir https://api.example.com{uri} permanent");
  });
});

describe("tls settings", () => {
  it.each([
    [
      { apiExternalUrl: "http://api.example.com", tls: json({ mode: "internal" }) },
      'apiExternalUrl: must be an https URL with tls.mode internal, got "http://api.example.com"',
    ],
    [
      { apiExternalUrl: "https://api.example.com:8443", tls: json({ mode: "internal" }) },
      "apiExternalUrl: names port 8443, but HTTPS is served on tls.httpsPort 443",
    ],
    [
      { apiExternalUrl: "https://localhost", tls: json({ mode: "acme" }) },
      'tls.mode: acme needs apiExternalUrl\'s host to be a public DNS name, got "localhost"',
    ],
    [
      { apiExternalUrl: "https://api.example.com", tls: json({ mode: "certificate" }) },
      "tls: needs certificate and key with tls.mode certificate",
    ],
    [{ tls: json({ mode: "off", email: "a@b.c" }) }, "tls.email: is not used with tls.mode off"],
    [
      { tls: json({ mode: "tls13" }) },
      'tls.mode: "tls13" is not a TLS mode; allowed: off, acme, certificate, internal, external',
    ],
  ])("refuses %j", (config, message) => {
    expect(problemsOf({ ...ok, ...config }).some((p) => p.startsWith(`supabase-selfhosted:${message}`))).toBe(true);
  });

  it("takes a certificate that names the host with its own key, and refuses one that does not", () => {
    const config = (certificate: string, key: string) => ({
      ...ok,
      apiExternalUrl: "https://api.example.com",
      tls: json({ mode: "certificate", certificate, key }),
    });
    expect(parseConfig(config(api.certificate, api.key)).tls.mode).toBe("certificate");
    expect(problemsOf(config(api.certificate, other.key))).toEqual([
      "supabase-selfhosted:tls.key: is not the private key of tls.certificate",
    ]);
    expect(problemsOf(config(other.certificate, other.key))).toEqual([
      "supabase-selfhosted:tls.certificate: does not name apiExternalUrl's host api.example.com",
    ]);
  });

  it("warns when nothing terminates an https URL, and when a proxy of yours can be gone around", () => {
    const warn = (extra: Record<string, string>) => settingsWarnings(parseConfig({ ...ok, ...extra }), new Set());
    expect(warn({ apiExternalUrl: "https://api.example.com", gatewayHost: "127.0.0.1" })).toEqual([
      expect.stringContaining("apiExternalUrl is https but nothing in the stack terminates TLS (tls.mode off)"),
    ]);
    expect(warn({ apiExternalUrl: "https://api.example.com", tls: json({ mode: "external" }) })).toEqual([
      expect.stringContaining("gatewayHost is 0.0.0.0 with tls.mode external: clients can reach the gateway"),
    ]);
    expect(warn({ apiExternalUrl: "https://api.example.com", tls: json({ mode: "internal" }) })).toEqual([]);
  });
});

describe("the stack with a TLS proxy", () => {
  it("runs Caddy with its Caddyfile and your certificate (as secrets), publishes 80 and 443 and not the gateway", async () => {
    const { declared } = await declare(
      {
        signingKeys: [{ name: "k1", state: "current" }],
        apiExternalUrl: "https://api.example.com",
        tls: { mode: "certificate", certificate: api.certificate, key: api.key },
      },
      supabaseProgram,
      { secretKeys: ["tls"] },
    );
    const container = (role: string) =>
      declared.find((r) => r.type === RESOURCE_TYPES.container && r.name === `supabase-${role}`)!;
    const proxy = container("tls");
    const files = proxy.inputs.uploads as Array<{ file: string; content: string }>;
    expect(files.map((f) => f.file)).toEqual([
      "/etc/caddy/Caddyfile",
      "/etc/caddy/tls/cert.pem",
      "/etc/caddy/tls/key.pem",
    ]);
    expect(files[2].content).toBe(api.key);
    expect(proxy.secretInputs).toContain("uploads");
    expect(proxy.inputs.ports).toEqual([
      { internal: 8080, external: 80, ip: "0.0.0.0" },
      { internal: 8443, external: 443, ip: "0.0.0.0" },
    ]);
    expect(container("kong").inputs.ports).toBeUndefined();
    expect(container("kong").inputs.envs).toContain("KONG_PORT_MAPS=443:8000,443:8443");
  });
});
