/**
 * The Caddyfile of the TLS proxy (Caddy, https://caddyserver.com/docs/caddyfile): HTTPS for `apiExternalUrl`'s host
 * proxied to the gateway, plain HTTP redirected to HTTPS, and a health endpoint on a port of its own. Pure: text in,
 * text out; it holds no secret (a given key is a file of its own).
 */
import type { TlsConfig } from "./settings";

/** Ports inside the container: unprivileged, so the proxy needs no capability; the host ports are the settings'. */
export const TLS_PROXY_PORTS = { http: 8080, https: 8443, health: 8081 } as const;

/** Where a given certificate and key are uploaded. */
export const TLS_CERTIFICATE_FILES = { certificate: "/etc/caddy/tls/cert.pem", key: "/etc/caddy/tls/key.pem" } as const;

/** Where the Caddyfile is uploaded. */
export const CADDYFILE_PATH = "/etc/caddy/Caddyfile";

/** What the Caddyfile needs: the TLS settings, the site's host, and where the gateway answers. */
export interface CaddyfileInput {
  tls: Pick<TlsConfig, "mode" | "email" | "httpsPort">;
  /** `apiExternalUrl`'s host: the name the certificate is for, and the only site served. */
  host: string;
  /** The gateway's base URL on the stack network, e.g. `http://kong:8000`. */
  upstream: string;
}

/** The `tls` directive of the site: Caddy's own CA, the given files, or nothing (ACME, Caddy's default). */
function tlsDirective(mode: TlsConfig["mode"]): string[] {
  if (mode === "internal") return ["\ttls internal"];
  if (mode === "certificate") return [`\ttls ${TLS_CERTIFICATE_FILES.certificate} ${TLS_CERTIFICATE_FILES.key}`];
  return [];
}

/** A host as a site address or URL host: IPv6 in brackets. */
const siteHost = (host: string) => (host.includes(":") ? `[${host}]` : host);

/** The Caddyfile for these settings. */
export function caddyfile({ tls, host, upstream }: CaddyfileInput): string {
  const https = tls.httpsPort === 443 ? siteHost(host) : `${siteHost(host)}:${tls.httpsPort}`;
  return [
    "# The TLS proxy of a self-hosted Supabase (written by the supabase-selfhosted Pulumi program,",
    "# components/services/tls/caddyfile.ts).",
    "{",
    // No admin API: the config is this file, and nothing may change it at run time.
    "\tadmin off",
    `\thttp_port ${TLS_PROXY_PORTS.http}`,
    `\thttps_port ${TLS_PROXY_PORTS.https}`,
    // Caddy's own redirects would name its container port; the HTTP site below names the published one.
    "\tauto_https disable_redirects",
    ...(tls.mode === "acme" && tls.email ? [`\temail ${tls.email}`] : []),
    "}",
    "",
    `https://${siteHost(host)} {`,
    ...tlsDirective(tls.mode),
    `\treverse_proxy ${upstream}`,
    "}",
    "",
    `http://${siteHost(host)} {`,
    `\tredir https://${https}{uri} permanent`,
    "}",
    "",
    `http://:${TLS_PROXY_PORTS.health} {`,
    "\trespond /health 200",
    "}",
    "",
  ].join("\n");
}
