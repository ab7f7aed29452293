/**
 * tls: Caddy terminating HTTPS in front of the gateway, with `tls.mode` acme, certificate or internal (as upstream's
 * `docker/docker-compose.caddy.yml` offers, with the gateway then unpublished). Its certificates and ACME account
 * live on a retained volume, so a recreated proxy does not ask the CA again.
 */

import { after, ALL_CAPABILITIES, defineService, environment, managed, reads } from "../service";
import { CADDYFILE_PATH, caddyfile, TLS_CERTIFICATE_FILES, TLS_PROXY_PORTS } from "./caddyfile";
import { externalAddress, runsTlsProxy } from "./settings";

export const tls = defineService({
  role: "tls",
  image: "tls",
  port: TLS_PROXY_PORTS.https,
  aliases: ["tls"],
  healthcheck: {
    tests: ["CMD", "wget", "-q", "-O", "/dev/null", `http://127.0.0.1:${TLS_PROXY_PORTS.health}/health`],
    interval: "5s",
    timeout: "5s",
    retries: 3,
  },
  dependsOn: after("kong"),
  runs: (settings) => runsTlsProxy(settings.tls),
  command: ["caddy", "run", "--config", CADDYFILE_PATH, "--adapter", "caddyfile"],
  // The certificates, the ACME account and the internal CA (Caddy's data directory).
  volumes: [{ volume: "tls-data", containerPath: "/data" }],
  publishedPorts: (settings) => [
    { internal: TLS_PROXY_PORTS.http, external: settings.tls.httpPort, ip: settings.tls.host },
    { internal: TLS_PROXY_PORTS.https, external: settings.tls.httpsPort, ip: settings.tls.host },
  ],
  // Its environment holds nothing secret; a given key is an uploaded file.
  secretEnv: false,
  // Caddy listens on unprivileged ports here and writes only its data volume: it needs no capability.
  dropCapabilities: ALL_CAPABILITIES,
  env: environment({
    table: {
      // Caddy keeps its data and autosaved config under these (the official image's values).
      XDG_DATA_HOME: managed("the tls-data volume", "/data"),
      XDG_CONFIG_HOME: managed("the TLS proxy's config", "/config"),
    },
  }),
  files: reads({
    build: ({ settings, url }) => [
      {
        file: CADDYFILE_PATH,
        content: caddyfile({
          tls: settings.tls,
          host: externalAddress(settings.apiExternalUrl).host,
          upstream: url("kong"),
        }),
      },
      ...(settings.tls.mode === "certificate" && settings.tls.certificate && settings.tls.key
        ? [
            { file: TLS_CERTIFICATE_FILES.certificate, content: settings.tls.certificate },
            { file: TLS_CERTIFICATE_FILES.key, content: settings.tls.key },
          ]
        : []),
    ],
  }),
});
