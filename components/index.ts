/**
 * The package entry for other TypeScript programs: the `Supabase` component (the whole deployment, its arguments
 * the stack settings, on the target they choose), the components it wraps (the keyring, one stack component per
 * target: Docker, Kubernetes), the settings parser that validates their arguments, and the types around them.
 * `index.ts` (this repository's own program) is one user of them; programs in other languages use the same
 * component through the package's plugin (`pulumi package add`).
 *
 * @example
 * ```ts
 * import { Supabase } from "./supabase-selfhosted/components";
 *
 * const supabase = new Supabase("supabase", { signingKeys: [{ name: "k1", state: "current" }], instanceName: "staging" });
 * export const apiUrl = supabase.apiUrl;
 * ```
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
export { CONFIG_KEYS, DEFAULTS, SETTINGS, type ProgramArgs, type ProgramConfig } from "./config/settings";
export { OUTPUTS, type DeploymentOutputs } from "./package/outputs";
export { Supabase, SUPABASE_TYPE, type SupabaseArgs, type SupabaseRuntime } from "./package/supabase";
export { COMPONENT_NAME, declareDeployment, supabaseProgram, type SupabaseProgram } from "./program";
export { SigningKeyring, type KeyStatus, type SigningKeyringArgs } from "./keyring/signingKeyring";
export type { KeyResources } from "./keyring/resourceTokens";
export type { KeyringConfig, SigningKeyConfig } from "./keyring/settings";
export { ConfigError, type RawConfig, type SettingsInput } from "./schema/setting";
export type { StackSettings } from "./services/service";
export { SupabaseStack, type StackKeyring, type SupabaseStackArgs } from "./targets/docker/supabaseStack";
export type { DockerTransforms, Transform } from "./targets/docker/transforms";
export type { KubernetesSettings } from "./config/kubernetes";
export { KubernetesStack, KUBERNETES_DEFAULTS, type KubernetesStackArgs } from "./targets/kubernetes/kubernetesStack";
export type { KubernetesTransforms } from "./targets/kubernetes/transforms";
