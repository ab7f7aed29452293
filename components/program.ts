/**
 * The whole program: stack config → keyring → the target's resources (containers on Docker, objects on Kubernetes).
 * `index.ts` runs it and exports its outputs; the tests and `npm run bench` run the same function under a mock
 * engine.
 */
import type * as pulumi from "@pulumi/pulumi";
import { loadConfig } from "./config/read";
import type { ProgramConfig } from "./config/settings";
import type { KeyResources } from "./keyring/resourceTokens";
import { SigningKeyring } from "./keyring/signingKeyring";
import { SupabaseStack } from "./targets/docker/supabaseStack";
import { KubernetesStack } from "./targets/kubernetes/kubernetesStack";

/** The name of both components; child resources are `supabase-<role>` (e.g. `supabase-key-k1`, `supabase-auth`). */
export const COMPONENT_NAME = "supabase";

/** The two components of one deployment. */
export interface DeclaredDeployment {
  keyring: SigningKeyring;
  /** The target's component: `SupabaseStack` on Docker, `KubernetesStack` on Kubernetes (`target`). */
  stack: SupabaseStack | KubernetesStack;
}

/** What one run of the program declared. */
export interface SupabaseProgram extends DeclaredDeployment {
  config: ProgramConfig;
}

/**
 * Declares the keyring and the stack of validated settings, both named `name`: the stack of the target they choose.
 * @param options `parent`: the component they belong to (the program's have none); `jwtSecret`: an output of
 *   another resource to use instead of `config.jwtSecret` (checked for its length when it is known);
 *   `keyResources`: how the keyring's resources are kept (`SigningKeyringArgs`).
 */
export function declareDeployment(
  name: string,
  config: ProgramConfig,
  options: { parent?: pulumi.Resource; jwtSecret?: pulumi.Input<string>; keyResources?: KeyResources } = {},
): DeclaredDeployment {
  const opts = options.parent ? { parent: options.parent } : undefined;
  const keyring = new SigningKeyring(
    name,
    { config: { ...config, jwtSecret: options.jwtSecret ?? config.jwtSecret }, keyResources: options.keyResources },
    opts,
  );
  const stack =
    config.target === "kubernetes"
      ? new KubernetesStack(
          name,
          { config, keyring, instanceName: config.instanceName, kubernetes: config.kubernetes },
          opts,
        )
      : new SupabaseStack(
          name,
          { config, keyring, instanceName: config.instanceName, containers: config.containers },
          opts,
        );
  return { keyring, stack };
}

/** Reads and validates the stack config (throwing before any resource exists), then declares both components. */
export function supabaseProgram(): SupabaseProgram {
  const config = loadConfig();
  return { config, ...declareDeployment(COMPONENT_NAME, config) };
}
