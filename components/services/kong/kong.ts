/**
 * kong, the API gateway, DB-less: it reads the uploaded kong.yml (`gateway.ts`), which holds the keys, so its
 * environment holds none. It starts after every other service and is the only one published on the host.
 */
import { authIssuer } from "../auth/auth";
import { configKey } from "../../schema/project";
import { runsTlsProxy } from "../tls/settings";
import { EVERY_ADDRESS } from "./settings";
import { ALL_CAPABILITIES, defineService, environment, managed, managedGroup, reads } from "../service";
import { KONG_PLUGINS } from "./format";
import { KONG_CONFIG_PATH, renderKongYaml } from "./gateway";
import { KONG_ROUTER_FLAVOR } from "./routes";

/** The gateway's port inside its container (the host port is `gatewayHttpPort`). */
export const KONG_HTTP_PORT = 8000;

/**
 * Seconds kong keeps a resolved upstream address. Docker's DNS answers with a 600 s TTL, and a container recreated
 * by a rotation step gets a new address, so kong would proxy to the old one for minutes; the official Kong
 * override sets 5 (supabase/supabase `docker/docker-compose.kong.yml`). A constant: it never recreates kong.
 */
export const KONG_DNS_VALID_TTL_SECONDS = 5;

/** What the gateway's kong.yml needs of kong's environment, for extraEnv's error. */
const KONG_YML = "the gateway's kong.yml";

export const kong = defineService({
  role: "kong",
  image: "kong",
  port: KONG_HTTP_PORT,
  aliases: ["kong"],
  healthcheck: { tests: ["CMD", "kong", "health"], interval: "5s", timeout: "5s", retries: 5 },
  // Every service it routes to; db has no route, and the TLS proxy starts after the gateway it proxies to.
  // The API services it routes to; not db, the backup services or the TLS proxy in front of it.
  dependsOn: (running) => running.filter((role) => !["db", "backup", "backup-s3", "kong", "tls"].includes(role)),
  // Behind the stack's TLS proxy (tls.mode acme, certificate or internal) the gateway is reached through it alone.
  publishedPorts: (settings) =>
    runsTlsProxy(settings.tls)
      ? []
      : [
          {
            internal: KONG_HTTP_PORT,
            external: settings.gatewayHttpPort,
            // Left out at the default, which is the docker provider's own for `ip` (0.0.0.0): a kong container created
            // before `gatewayHost` existed keeps its ports input as it was.
            ...(settings.gatewayHost === EVERY_ADDRESS ? {} : { ip: settings.gatewayHost }),
          },
        ],
  // kong.yml holds the keys; the environment holds none.
  secretEnv: false,
  // The image runs Kong as the user `kong` (Kong/docker-kong `Dockerfile`, `USER kong`), on port 8000.
  dropCapabilities: ALL_CAPABILITIES,
  kubernetes: {
    exposedBy: { setting: "gateway", nodePorts: ["nodePort"] },
    replicas: {
      default: 2,
      why: "DB-less: its whole configuration is the kong.yml it is given, so the pods are interchangeable",
    },
    image: {
      // Kong/docker-kong `ubuntu/Dockerfile`: `USER kong`, a user the kong package creates with `useradd` and no
      // fixed uid; kong writes its nginx configuration, pids and sockets under /usr/local/kong at start.
      readOnlyRootFilesystem: false,
      why:
        "Kong/docker-kong `Dockerfile`: `USER kong` (not root), a name without a fixed uid, so the pod keeps the " +
        "image's user instead of asserting runAsNonRoot; kong writes its prefix /usr/local/kong at start",
    },
    resources: { requests: { cpu: "100m", memory: "256Mi" }, limits: { memory: "1Gi" } },
  },
  env: environment({
    table: {
      KONG_DATABASE: managed(`${KONG_YML} (kong runs DB-less on it)`, "off"),
      KONG_DECLARATIVE_CONFIG: managed(`${KONG_YML} (kong runs DB-less on it)`, KONG_CONFIG_PATH),
      KONG_DNS_ORDER: "LAST,A,CNAME",
      KONG_DNS_NOT_FOUND_TTL: "1",
      KONG_DNS_VALID_TTL: String(KONG_DNS_VALID_TTL_SECONDS),
      // kong refuses a declarative config naming a plugin it has not enabled.
      KONG_PLUGINS: managed(
        `${KONG_YML} (kong refuses a document naming a plugin it has not enabled)`,
        KONG_PLUGINS.join(","),
      ),
      KONG_NGINX_PROXY_PROXY_BUFFER_SIZE: "160k",
      KONG_NGINX_PROXY_PROXY_BUFFERS: "64 160k",
      KONG_ROUTER_FLAVOR: managed(
        `${KONG_YML} (its exact-path route needs the expressions router)`,
        KONG_ROUTER_FLAVOR,
      ),
      listen: managedGroup("the gateway's published port", ["KONG_PROXY_LISTEN"]),
      // Behind the TLS proxy, the port clients use (upstream's docker-compose.caddy.yml sets "443:8000,443:8443").
      KONG_PORT_MAPS: managed(configKey("tls"), ({ settings }) =>
        runsTlsProxy(settings.tls)
          ? `${settings.tls.httpsPort}:${KONG_HTTP_PORT},${settings.tls.httpsPort}:8443`
          : undefined,
      ),
    },
  }),
  files: reads({
    keyring: ["apiKeys", "longestTrustedAnonKey", "longestTrustedServiceRoleKey", "gatewayTokens"],
    secrets: ["dashboardPassword"],
    build: ({ settings, keyring, secrets, url }) => [
      {
        file: KONG_CONFIG_PATH,
        content: renderKongYaml({
          apiKeys: {
            publishable: keyring.apiKeys.publishable.map((key) => key.value),
            secret: keyring.apiKeys.secret.map((key) => key.value),
          },
          // The sb_ keys map to JWTs that stay valid across a promotion, so a promotion leaves kong alone.
          anonKey: keyring.longestTrustedAnonKey,
          serviceRoleKey: keyring.longestTrustedServiceRoleKey,
          gatewayTokens: keyring.gatewayTokens,
          dashboard: { username: settings.dashboardUsername, password: secrets.dashboardPassword ?? "" },
          studio: settings.studio,
          functions: settings.functions.enabled,
          url,
          issuer: authIssuer(settings),
        }),
      },
    ],
  }),
});
