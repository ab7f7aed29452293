/**
 * Every setting the services read, gathered from the modules that own them, and the checks across them. Only
 * settings modules are imported here (never a service module), so `service.ts` can type its settings from this list
 * without an import cycle.
 */
import { listensOnEveryAddress } from "../schema/fields";
import { defineRule, type SettingsValues } from "../schema/setting";
import { AUTH_SETTINGS } from "./auth/settings";
import { BACKUP_SETTINGS } from "./backup/settings";
import { DB_SETTINGS } from "./db/settings";
import { EXTRA_ENV_SETTING } from "./extraEnv";
import { FUNCTIONS_SETTINGS, type FunctionsConfig } from "./functions/settings";
import { IMAGES_SETTING } from "./images";
import { GATEWAY_SETTINGS } from "./kong/settings";
import { POOLER_SETTINGS } from "./pooler/settings";
import { STORAGE_SETTINGS } from "./storage/settings";
import { STUDIO_SETTINGS } from "./studio/settings";
import { runsTlsProxy, TLS_SETTINGS } from "./tls/settings";

/** The services' settings, in the order the configuration reference lists them. */
export const SERVICE_SETTINGS = [
  ...AUTH_SETTINGS.slice(0, 1),
  ...GATEWAY_SETTINGS,
  IMAGES_SETTING,
  ...STUDIO_SETTINGS,
  ...AUTH_SETTINGS.slice(1),
  EXTRA_ENV_SETTING,
  ...DB_SETTINGS,
  ...BACKUP_SETTINGS,
  ...POOLER_SETTINGS,
  ...FUNCTIONS_SETTINGS,
  ...STORAGE_SETTINGS,
  ...TLS_SETTINGS,
] as const;

/** Everything the containers need besides the keyring. */
export type ServicesConfig = Omit<SettingsValues<typeof SERVICE_SETTINGS>, "functions"> & {
  functions: FunctionsConfig;
  /** True when `extraEnv` came as a secret config key: every value in it is then treated as a secret. */
  extraEnvIsSecret: boolean;
};

/**
 * Host ports that would clash: the gateway's (on `gatewayHost`) or the TLS proxy's two, Postgres's with
 * `database.publish`, and the pooler's two. Two clash on the same port when either listens on every address or both on the same one.
 */
export const publishedPortsRule = defineRule<ServicesConfig>({
  reads: ["gatewayHttpPort", "gatewayHost", "database", "pooler", "tls"],
  check(config, problems) {
    const taken: Array<{ port: number; ip?: string; key: string }> = [];
    const candidates: Array<{ port: number; ip?: string; key: string }> = [];
    // Behind the stack's TLS proxy the gateway is not published; the proxy's two ports are.
    if (runsTlsProxy(config.tls)) {
      for (const name of ["httpsPort", "httpPort"] as const) {
        candidates.push({ port: config.tls[name], ip: config.tls.host, key: `tls.${name}` });
      }
    } else {
      candidates.push({ port: config.gatewayHttpPort, ip: config.gatewayHost, key: "gatewayHttpPort" });
    }
    const publish = config.database.publish;
    if (publish) candidates.push({ port: publish.port, ip: publish.host, key: "database.publish.port" });
    if (config.pooler.enabled) {
      for (const name of ["sessionPort", "transactionPort"] as const) {
        candidates.push({ port: config.pooler[name], ip: config.pooler.host, key: `pooler.${name}` });
      }
    }
    for (const mine of candidates) {
      const other = taken.find(
        (t) =>
          t.port === mine.port && (listensOnEveryAddress(t.ip) || listensOnEveryAddress(mine.ip) || t.ip === mine.ip),
      );
      if (other) {
        problems.add(
          mine.key,
          `${mine.port} is already ${other.key}'s host port; each published port must differ (change one of them)`,
        );
      } else taken.push(mine);
    }
  },
});
