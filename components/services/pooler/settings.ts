/**
 * The pooler's settings (supavisor): on by default as upstream, its two proxy ports published on `host`. The
 * defaults are the official self-hosted `.env.example`'s.
 */
import { flag, hostAddress, integer, listensOnEveryAddress, object, port, text } from "../../schema/fields";
import { configKey } from "../../schema/project";
import { defineSetting, type SettingsValues } from "../../schema/setting";

/** Tenant ids travel in user names (`postgres.<tenant>`) and object keys: no dots, slashes or spaces. */
export const tenantId = () =>
  text({
    pattern: /^[A-Za-z0-9_-]{1,64}$/,
    expected: "1-64 characters of letters, digits, _ and -",
    type: "1-64 of `A-Za-z0-9_-`",
  });

/** Every setting of the pooler. */
export const POOLER_SETTINGS = [
  defineSetting({
    key: "pooler",
    schema: object(
      {
        enabled: flag()
          .default(true)
          .meta({ "x-default": "`true` (as upstream)" })
          .describe("run supavisor (`supabase-pooler`)"),
        sessionPort: port().default(5432).describe("host port of session-mode pooling"),
        transactionPort: port().default(6543).describe("host port of transaction-mode pooling"),
        host: hostAddress()
          .default("127.0.0.1")
          .describe("the host address both ports are published on; `0.0.0.0` publishes them on every interface"),
        tenantId: tenantId().default("default").describe("the tenant: clients log in as `<role>.<tenantId>`"),
        defaultPoolSize: integer({ min: 1, max: 10_000 })
          .default(20)
          .describe("Postgres connections per pool (`POOLER_DEFAULT_POOL_SIZE`)"),
        maxClientConnections: integer({ min: 1, max: 1_000_000 })
          .default(100)
          .describe("client connections per pool (`POOLER_MAX_CLIENT_CONN`)"),
      },
      "{sessionPort: 6432, host: 0.0.0.0}",
    ).prefault({}),
    doc: "the supavisor pooler, its two ports published on `host` (each port distinct from the gateway's and `database.publish`'s)",
    details: "docs/platform.md#pooler-the-connection-pooler-supavisor",
  }),
] as const;

/** A warning when the pooler's ports are published on every address of the Docker host (the default is loopback). */
export function poolerWarnings(pooler: PoolerConfig): string[] {
  if (!pooler.enabled || !listensOnEveryAddress(pooler.host)) return [];
  return [
    `${configKey("pooler.host")} is ${pooler.host}: the pooler's ports (${pooler.sessionPort}, ` +
      `${pooler.transactionPort}) reach Postgres with a role's password alone, on every network the Docker host is ` +
      "on. Use 127.0.0.1 unless clients on other hosts must reach it, and then restrict them with the host's firewall.",
  ];
}

/** The connection pooler (supavisor): one tenant, its two proxy ports published on `host`. */
export type PoolerConfig = SettingsValues<typeof POOLER_SETTINGS>["pooler"];
