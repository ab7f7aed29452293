/**
 * kong, the API gateway, DB-less: it reads the uploaded kong.yml (`gateway.ts`), which holds the keys, so its
 * environment holds none. It starts after every other service and is the only one published on the host.
 */
import { authIssuer } from "../auth/auth";
import { EVERY_ADDRESS } from "./settings";
import { defineService, reads, type EnvMap } from "../service";
import { KONG_PLUGINS } from "./format";
import { KONG_CONFIG_PATH, renderKongYaml } from "./gateway";
import { KONG_ROUTER_FLAVOR } from "./routes";

/** The gateway's port inside its container (the host port is `gatewayHttpPort`). */
export const KONG_HTTP_PORT = 8000;

/** Inputs of {@link kongEnv}: what `gateway.ts` decides about its own document. */
export interface KongEnvInput {
  /** Plugins kong.yml uses; kong refuses a declarative config naming a plugin it has not enabled. */
  plugins: readonly string[];
  /** Where kong.yml is uploaded. */
  configPath: string;
  /** Any further `KONG_*` settings the document needs (e.g. a router flavor). */
  extra?: EnvMap;
}

/**
 * Seconds kong keeps a resolved upstream address. Docker's DNS answers with a 600 s TTL, and a container recreated
 * by a rotation step gets a new address, so kong would proxy to the old one for minutes; the official Kong
 * override sets 5 (supabase/supabase `docker/docker-compose.kong.yml`). A constant: it never recreates kong.
 */
export const KONG_DNS_VALID_TTL_SECONDS = 5;

/** kong's environment for a document that uses `plugins` and is uploaded to `configPath`. */
export function kongEnv(input: KongEnvInput): EnvMap {
  if (input.plugins.length === 0) throw new Error("kong needs at least one plugin enabled");
  return {
    KONG_DATABASE: "off",
    KONG_DECLARATIVE_CONFIG: input.configPath,
    KONG_DNS_ORDER: "LAST,A,CNAME",
    KONG_DNS_NOT_FOUND_TTL: "1",
    KONG_DNS_VALID_TTL: String(KONG_DNS_VALID_TTL_SECONDS),
    KONG_PLUGINS: input.plugins.join(","),
    KONG_NGINX_PROXY_PROXY_BUFFER_SIZE: "160k",
    KONG_NGINX_PROXY_PROXY_BUFFERS: "64 160k",
    ...(input.extra ?? {}),
  };
}

export const kong = defineService({
  role: "kong",
  image: "kong",
  port: KONG_HTTP_PORT,
  aliases: ["kong"],
  healthcheck: { tests: ["CMD", "kong", "health"], interval: "5s", timeout: "5s", retries: 5 },
  // Every service it routes to; db has no route.
  dependsOn: (running) => running.filter((role) => role !== "db" && role !== "kong"),
  publishedPorts: (settings) => [
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
  managedEnv: {
    KONG_DATABASE: "the gateway's kong.yml (kong runs DB-less on it)",
    KONG_DECLARATIVE_CONFIG: "the gateway's kong.yml (kong runs DB-less on it)",
    KONG_PLUGINS: "the gateway's kong.yml (kong refuses a document naming a plugin it has not enabled)",
    KONG_ROUTER_FLAVOR: "the gateway's kong.yml (its exact-path route needs the expressions router)",
    KONG_PROXY_LISTEN: "the gateway's published port",
  },
  env: reads({
    build: () =>
      kongEnv({
        plugins: KONG_PLUGINS,
        configPath: KONG_CONFIG_PATH,
        extra: { KONG_ROUTER_FLAVOR },
      }),
  }),
  files: reads({
    keyring: ["publishableKey", "secretKey", "longestTrustedAnonKey", "longestTrustedServiceRoleKey", "gatewayTokens"],
    secrets: ["dashboardPassword"],
    build: ({ settings, keyring, secrets, url }) => [
      {
        file: KONG_CONFIG_PATH,
        content: renderKongYaml({
          publishableKey: keyring.publishableKey,
          secretKey: keyring.secretKey,
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
