/**
 * The `tls` setting: HTTPS in front of the gateway. Caddy terminates TLS with a certificate from an ACME CA (Let's
 * Encrypt), a certificate you give, or its own internal CA; `external` says a proxy you run does it. Plain HTTP to
 * the TLS proxy is redirected to HTTPS.
 */
import { hostAddress, isHttpUrl, object, oneOf, port, text } from "../../schema/fields";
import { configKey } from "../../schema/project";
import { defineRule, defineSetting, type SettingsValues } from "../../schema/setting";
import { EVERY_ADDRESS } from "../kong/settings";

/** How TLS is terminated: not at all, by Caddy (three ways to get a certificate), or by a proxy of yours. */
export const TLS_MODES = ["off", "acme", "certificate", "internal", "external"] as const;
export type TlsMode = (typeof TLS_MODES)[number];

/** The modes in which the stack runs its own TLS proxy. */
export const PROXIED_MODES: readonly TlsMode[] = ["acme", "certificate", "internal"];

const PEM = (label: string) => new RegExp(`-----BEGIN ${label}-----[\\s\\S]+-----END ${label}-----`);

/** Every setting of the TLS proxy. */
export const TLS_SETTINGS = [
  defineSetting({
    key: "tls",
    schema: object(
      {
        mode: oneOf(TLS_MODES, "a TLS mode")
          .default("off")
          .describe(
            "`acme`: a certificate from Let's Encrypt for `apiExternalUrl`'s host (ports 80 and 443 must reach " +
              "this host); `certificate`: the certificate and key you give; `internal`: Caddy's own CA (private " +
              "networks, tests); `external`: a proxy you run terminates TLS; `off`: plain HTTP",
          ),
        email: text({ pattern: /^[^\s@<>]+@[^\s@<>]+$/, expected: "an email address", type: "email address" })
          .optional()
          .describe("with `acme`: the contact for the CA (expiry notices)"),
        certificate: text({ pattern: PEM("CERTIFICATE"), expected: "a PEM certificate chain", type: "PEM" })
          .optional()
          .describe("with `certificate`: the certificate chain, leaf first"),
        key: text(
          { pattern: PEM("(?:EC |RSA )?PRIVATE KEY"), expected: "a PEM private key", type: "PEM" },
          { secret: true },
        )
          .optional()
          .describe("with `certificate`: its private key (`pulumi config set --secret --path tls.key < key.pem`)"),
        httpPort: port().default(80).describe("the host port plain HTTP is redirected from"),
        httpsPort: port().default(443).describe("the host port HTTPS is served on"),
        host: hostAddress().default(EVERY_ADDRESS).describe("the host address both ports are published on"),
      },
      "{mode: acme, email: admin@example.com}",
    ).prefault({}),
    doc:
      "HTTPS in front of the gateway: `acme` (Let's Encrypt), `certificate` (yours, the key a secret), `internal` " +
      "(Caddy's own CA) or `external` (your proxy); HTTP is redirected to HTTPS",
    details: "docs/deploying.md#tls",
  }),
] as const;

/** The validated TLS settings. */
export type TlsConfig = SettingsValues<typeof TLS_SETTINGS>["tls"];

/** Whether the stack runs its own TLS proxy with these settings. */
export const runsTlsProxy = (tls: Pick<TlsConfig, "mode">): boolean => PROXIED_MODES.includes(tls.mode);

/** `apiExternalUrl`'s host and port as clients use them; the port is `443` for an https URL without one. */
export function externalAddress(apiExternalUrl: string): { protocol: string; host: string; port: number } {
  const url = new URL(apiExternalUrl);
  const port = url.port ? Number(url.port) : url.protocol === "https:" ? 443 : 80;
  return { protocol: url.protocol, host: url.hostname.replace(/^\[|\]$/g, ""), port };
}

/** True for a host name a public CA can certify: a DNS name with a dot, not an address or `localhost`. */
const isPublicName = (host: string) => /^[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$/.test(host) && !/^[\d.]+$/.test(host);

/**
 * TLS fits the rest: with a proxy of the stack's, `apiExternalUrl` is https on `tls.httpsPort` (clients must reach
 * what the certificate names), ACME needs a public name, a given certificate needs its key and matches it; fields of
 * another mode are refused.
 */
export const tlsRule = defineRule<{ tls: TlsConfig; apiExternalUrl: string }>({
  reads: ["tls", "apiExternalUrl"],
  check({ tls, apiExternalUrl }, problems) {
    const misplaced = (["email", "certificate", "key"] as const).filter(
      (field) => tls[field] !== undefined && !(field === "email" ? tls.mode === "acme" : tls.mode === "certificate"),
    );
    for (const field of misplaced) problems.add(`tls.${field}`, `is not used with tls.mode ${tls.mode}`);
    if (!runsTlsProxy(tls)) return;
    const { protocol, host, port } = externalAddress(apiExternalUrl);
    if (protocol !== "https:" || !isHttpUrl(apiExternalUrl)) {
      problems.add(
        "apiExternalUrl",
        `must be an https URL with tls.mode ${tls.mode}, got ${JSON.stringify(apiExternalUrl)}`,
      );
    } else if (port !== tls.httpsPort) {
      problems.add(
        "apiExternalUrl",
        `names port ${port}, but HTTPS is served on tls.httpsPort ${tls.httpsPort}; make them the same`,
      );
    }
    if (tls.mode === "acme" && !isPublicName(host)) {
      problems.add("tls.mode", `acme needs apiExternalUrl's host to be a public DNS name, got ${JSON.stringify(host)}`);
    }
    if (tls.mode === "certificate")
      certificateProblems(tls, host).forEach(([key, message]) => problems.add(key, message));
  },
});

/** What is wrong with a given certificate and key: missing, not matching each other, not naming the host. */
function certificateProblems(tls: TlsConfig, host: string): Array<[string, string]> {
  if (tls.certificate === undefined || tls.key === undefined) {
    return [["tls", "needs certificate and key with tls.mode certificate"]];
  }
  const { X509Certificate, createPrivateKey } = require("node:crypto") as typeof import("node:crypto");
  const { isIP } = require("node:net") as typeof import("node:net");
  try {
    const leaf = new X509Certificate(tls.certificate);
    if (!leaf.checkPrivateKey(createPrivateKey(tls.key)))
      return [["tls.key", "is not the private key of tls.certificate"]];
    const names = isIP(host) ? leaf.checkIP(host) : leaf.checkHost(host);
    if (names === undefined) return [["tls.certificate", `does not name apiExternalUrl's host ${host}`]];
  } catch (error) {
    return [["tls", `certificate and key cannot be read: ${error instanceof Error ? error.message : String(error)}`]];
  }
  return [];
}

/**
 * Warnings about TLS the config does not make an error: an https URL nothing terminates, a dashboard login over
 * plain HTTP on every address, a gateway reachable around a proxy that terminates TLS.
 */
export function tlsWarnings(config: {
  tls: TlsConfig;
  apiExternalUrl: string;
  gatewayHost: string;
  studio: boolean;
}): string[] {
  const warnings: string[] = [];
  const everyAddress = config.gatewayHost === EVERY_ADDRESS || config.gatewayHost === "::";
  if (config.tls.mode === "off" && config.apiExternalUrl.startsWith("https:")) {
    warnings.push(
      `${configKey("apiExternalUrl")} is https but nothing in the stack terminates TLS (tls.mode off): set ` +
        "tls.mode to acme, certificate or internal, or to external when a proxy of yours does it.",
    );
  }
  if (config.tls.mode === "off" && everyAddress && config.studio) {
    warnings.push(
      `${configKey("gatewayHost")} is ${config.gatewayHost} with plain HTTP and studio on: the dashboard's login, ` +
        "which has full control of the database, travels unencrypted to every network of the Docker host. Set tls.mode, " +
        "or publish the gateway on 127.0.0.1 behind your own TLS proxy (tls.mode external).",
    );
  }
  if (config.tls.mode === "external" && everyAddress) {
    warnings.push(
      `${configKey("gatewayHost")} is ${config.gatewayHost} with tls.mode external: clients can reach the gateway ` +
        "over plain HTTP around your proxy. Publish it on 127.0.0.1 (gatewayHost).",
    );
  }
  return warnings;
}
