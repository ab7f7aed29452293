/**
 * What the Pulumi state says about the deployment, read the way an operator would: `pulumi stack export`, with and
 * without `--show-secrets`.
 */
import { RESOURCE_TYPES } from "../../../../components/targets/resourceTypes";
import type { PulumiProject } from "./project";

/** One resource of a `pulumi stack export` deployment. */
export interface StateResource {
  urn: string;
  type: string;
  id?: string;
  inputs?: Record<string, unknown>;
  outputs?: Record<string, unknown>;
  /** The URN of its parent resource (absent for the stack itself). */
  parent?: string;
  /** A custom resource's provider reference: `<provider URN>::<provider id>`. */
  provider?: string;
}

/** The resources of a `pulumi stack export` document. */
export function stateResources(exported: string): StateResource[] {
  return (JSON.parse(exported) as { deployment: { resources?: StateResource[] } }).deployment.resources ?? [];
}

/** The engine's marker of a secret value in state (pulumi/pulumi sdk `resource.SecretSig`). */
export const SECRET_SIG = "4dabf18193072939515e22adb298388d";

/** True when a state value is an encrypted secret (`{"4dabf…": "1b47…", "ciphertext": …}`). */
export function isEncryptedSecret(value: unknown): boolean {
  return typeof value === "object" && value !== null && SECRET_SIG in value && "ciphertext" in value;
}

/**
 * A state value with its secrets opened: `pulumi stack export --show-secrets` keeps each secret as
 * `{"4dabf…": "1b47…", "plaintext": "<JSON text>"}`; this returns the values inside, recursively.
 */
export function revealed(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(revealed);
  if (value && typeof value === "object") {
    const obj = value as Record<string, unknown>;
    if (SECRET_SIG in obj && typeof obj.plaintext === "string") return revealed(JSON.parse(obj.plaintext));
    return Object.fromEntries(Object.entries(obj).map(([k, v]) => [k, revealed(v)]));
  }
  return value;
}

/** Every string inside a JSON value, descending into strings that are themselves JSON objects or arrays. */
export function allStrings(value: unknown, out: string[] = []): string[] {
  if (typeof value === "string") {
    out.push(value);
    if (/^\s*[[{]/.test(value)) {
      try {
        allStrings(JSON.parse(value), out);
      } catch {
        // not JSON
      }
    }
  } else if (Array.isArray(value)) {
    for (const v of value) allStrings(v, out);
  } else if (value && typeof value === "object") {
    for (const v of Object.values(value)) allStrings(v, out);
  }
  return out;
}

/** The docker provider's container type, as the state records it. */
export const CONTAINER_TYPE = RESOURCE_TYPES.container;

/** A resource's name: the last part of its URN (`…docker:index/container:Container::supabase-kong`). */
export const resourceName = (urn: string): string => urn.slice(urn.lastIndexOf("::") + 2);

/** The state as one step left it, exported once for all the checks of that step. */
export interface StackState {
  /** `pulumi stack export`: secrets as ciphertext. */
  plain: string;
  /** The resources of `pulumi stack export --show-secrets`, every secret opened. */
  decrypted: StateResource[];
  /** The decrypted container resources, by Docker name. */
  containers: Map<string, StateResource>;
}

/** Exports the stack's state with its secrets opened, then as it is stored. */
export async function readStackState(project: PulumiProject): Promise<StackState> {
  const decrypted = stateResources(await project.exportState(true)).map((r) => revealed(r) as StateResource);
  const plain = await project.exportState(false);
  const containers = new Map(decrypted.filter((r) => r.type === CONTAINER_TYPE).map((r) => [resourceName(r.urn), r]));
  return { plain, decrypted, containers };
}

/** One file the docker provider uploads into a container. */
export interface Upload {
  file: string;
  content: string;
}

/** The `K=V` env entries the state records for a container (none when it records no such container). */
export function recordedEnvs(state: StackState, container: string): string[] {
  return (state.containers.get(container)?.inputs?.envs as string[] | undefined) ?? [];
}

/** The files the state records as uploaded into a container. */
export function recordedUploads(state: StackState, container: string): Upload[] {
  return (state.containers.get(container)?.inputs?.uploads ?? []) as Upload[];
}
