/**
 * The whole program: stack config → keyring → the target's resources (containers on Docker, objects on Kubernetes).
 * `index.ts` runs it and exports its outputs; the tests and `npm run bench` run the same function under a mock
 * engine.
 */
import { loadConfig } from "./config/read";
import type { ProgramConfig } from "./config/settings";
import { SigningKeyring } from "./keyring/signingKeyring";
import { SupabaseStack } from "./targets/docker/supabaseStack";
import { KubernetesStack } from "./targets/kubernetes/kubernetesStack";

/** The name of both components; child resources are `supabase-<role>` (e.g. `supabase-key-k1`, `supabase-auth`). */
export const COMPONENT_NAME = "supabase";

/** What one run of the program declared. */
export interface SupabaseProgram {
  config: ProgramConfig;
  keyring: SigningKeyring;
  /** The target's component: `SupabaseStack` on Docker, `KubernetesStack` on Kubernetes (`target`). */
  stack: SupabaseStack | KubernetesStack;
}

/** Reads and validates the stack config (throwing before any resource exists), then declares both components. */
export function supabaseProgram(): SupabaseProgram {
  const config = loadConfig();
  const keyring = new SigningKeyring(COMPONENT_NAME, { config });
  const stack =
    config.target === "kubernetes"
      ? new KubernetesStack(COMPONENT_NAME, {
          config,
          keyring,
          instanceName: config.instanceName,
          kubernetes: config.kubernetes,
        })
      : new SupabaseStack(COMPONENT_NAME, {
          config,
          keyring,
          instanceName: config.instanceName,
          containers: config.containers,
        });
  return { config, keyring, stack };
}
