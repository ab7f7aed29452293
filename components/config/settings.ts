/**
 * The settings registry: every setting of the `supabase-selfhosted` namespace, gathered from the modules that own
 * them (the keyring's, then the services'), and the checks that run across them.
 */
import { CONTAINER_SETTINGS, type ContainerSettings } from "./containers";
import { DEPLOYMENT_SETTINGS, type DeploymentConfig } from "./deployment";
import { apiKeysRule } from "../keyring/apiKeySettings";
import { KUBERNETES_SETTINGS, type KubernetesSettings } from "./kubernetes";
import { onDockerOnly } from "./target";
import { KEYRING_SETTINGS, legacyKeysRule, type KeyringConfig } from "../keyring/settings";
import { defaultsOf, type Setting, type SettingsArgs } from "../schema/setting";
import { extraEnvRule } from "../services/index";
import { publishedPortsRule, SERVICE_SETTINGS, type ServicesConfig } from "../services/settings";
import { tlsRule } from "../services/tls/settings";

/** Every setting, in the order the configuration reference lists them. */
export const SETTINGS = [
  ...KEYRING_SETTINGS,
  ...SERVICE_SETTINGS,
  ...DEPLOYMENT_SETTINGS,
  ...CONTAINER_SETTINGS,
  ...KUBERNETES_SETTINGS,
] as const satisfies readonly Setting[];

/** Every config key this program reads; anything else in the namespace is a typo. */
export const CONFIG_KEYS: readonly string[] = SETTINGS.map((setting) => setting.key);

/** The whole validated stack configuration. */
export type ProgramConfig = KeyringConfig &
  ServicesConfig &
  DeploymentConfig & { containers: ContainerSettings; kubernetes: KubernetesSettings };

/**
 * The settings as values another program gives them (the `Supabase` component's arguments), typed from the
 * registry: `signingKeys` required, every other key optional.
 */
export type ProgramArgs = SettingsArgs<typeof SETTINGS>;

/** The checks across settings that need nothing but the values. */
export const RULES = [legacyKeysRule, apiKeysRule, onDockerOnly(publishedPortsRule), extraEnvRule, tlsRule] as const;

/** The value of every optional setting when it is not set (the defaults the registry declares). */
export const DEFAULTS = defaultsOf(SETTINGS) as Omit<ProgramConfig, "signingKeys" | "extraEnvIsSecret">;
