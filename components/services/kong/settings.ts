/**
 * The gateway's settings: the URL clients reach it at, and the host port and address it is published on.
 */
import { baseUrl, hostAddress, port } from "../../schema/fields";
import { defineSetting, type SettingsValues } from "../../schema/setting";

/** Every address, as upstream's compose publishes kong (`${KONG_HTTP_PORT}:8000`). */
export const EVERY_ADDRESS = "0.0.0.0";

/** The gateway's default host port, upstream's `KONG_HTTP_PORT`. */
export const DEFAULT_GATEWAY_HTTP_PORT = 8000;

/** Where clients reach a gateway published on the default port of this host. */
const DEFAULT_API_EXTERNAL_URL = `http://localhost:${DEFAULT_GATEWAY_HTTP_PORT}`;

/** Every setting of the gateway. */
export const GATEWAY_SETTINGS = [
  defineSetting({
    key: "apiExternalUrl",
    schema: baseUrl(DEFAULT_API_EXTERNAL_URL).default(DEFAULT_API_EXTERNAL_URL),
    type: "http(s) URL",
    doc: "where clients reach the gateway",
  }),
  defineSetting({
    key: "gatewayHttpPort",
    schema: port().default(DEFAULT_GATEWAY_HTTP_PORT),
    type: "integer 1-65535",
    doc: "host port of the gateway",
  }),
  defineSetting({
    key: "gatewayHost",
    schema: hostAddress().default(EVERY_ADDRESS),
    type: "IP address",
    default: "`0.0.0.0` (every address, as upstream)",
    doc: "the host address that port is published on; `127.0.0.1` when your TLS proxy runs on the same host",
  }),
] as const;

/** The validated gateway settings. */
export type GatewayConfig = SettingsValues<typeof GATEWAY_SETTINGS>;
