/**
 * The package entry for other Pulumi programs: the keyring, one stack component per target (Docker, Kubernetes), the
 * settings parser that validates their arguments, and the types around them. `index.ts` (this repository's own
 * program) is one user of them.
 *
 * @example
 * ```ts
 * import { parseConfig, SigningKeyring, SupabaseStack } from "./supabase-selfhosted/components";
 *
 * const config = parseConfig({ signingKeys: [{ name: "k1", state: "current" }], instanceName: "staging" });
 * const keyring = new SigningKeyring("supabase", { config });
 * const stack = new SupabaseStack("supabase", { config, keyring, instanceName: config.instanceName });
 * ```
 */
export { parseConfig, settingsWarnings, type ParseOptions } from "./config/parse";
export { CONFIG_KEYS, DEFAULTS, SETTINGS, type ProgramConfig } from "./config/settings";
export { COMPONENT_NAME, supabaseProgram, type SupabaseProgram } from "./program";
export { SigningKeyring, type KeyStatus, type SigningKeyringArgs } from "./keyring/signingKeyring";
export type { KeyringConfig, SigningKeyConfig } from "./keyring/settings";
export { ConfigError, type RawConfig, type SettingsInput } from "./schema/setting";
export type { StackSettings } from "./services/service";
export { SupabaseStack, type StackKeyring, type SupabaseStackArgs } from "./targets/docker/supabaseStack";
export type { DockerTransforms, Transform } from "./targets/docker/transforms";
export type { KubernetesSettings } from "./config/kubernetes";
export { KubernetesStack, KUBERNETES_DEFAULTS, type KubernetesStackArgs } from "./targets/kubernetes/kubernetesStack";
export type { KubernetesTransforms } from "./targets/kubernetes/transforms";
