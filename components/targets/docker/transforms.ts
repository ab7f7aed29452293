/**
 * Hooks that change a child resource's arguments or options before the stack declares it, one per resource kind,
 * as SST v3's `transform` does: labels, resource limits, log options or security options without a fork.
 */
import type * as docker from "@pulumi/docker";
import type * as pulumi from "@pulumi/pulumi";

/**
 * Changes a resource's arguments and options in place before it is declared.
 * @param args the arguments the stack computed (a copy the hook may change).
 * @param opts the options the stack computed (a copy the hook may change; keep `parent`).
 * @param name the resource's name, e.g. `supabase-auth`.
 */
export type Transform<Args> = (args: Args, opts: pulumi.CustomResourceOptions, name: string) => void;

/** One hook per kind of Docker resource the stack declares. */
export interface DockerTransforms {
  /**
   * Every container.
   * @example
   * ```ts
   * container: (args) => { args.logOpts = { "max-size": "50m" }; args.memory = 1024; }
   * ```
   */
  container?: Transform<docker.ContainerArgs>;
  /** The stack's user network. */
  network?: Transform<docker.NetworkArgs>;
  /**
   * Every named volume (db data, storage files, …).
   * @example
   * ```ts
   * volume: (args) => { args.driver = "local"; args.driverOpts = { type: "nfs", o: "addr=10.0.0.2", device: ":/exports" }; }
   * ```
   */
  volume?: Transform<docker.VolumeArgs>;
  /** Every pinned image. */
  image?: Transform<docker.RemoteImageArgs>;
}

/**
 * A resource's name, arguments and options after the hook (if any) had its say, ready to spread into its
 * constructor; the hook gets copies, never the stack's own objects.
 */
export function transformed<Args extends object>(
  transform: Transform<Args> | undefined,
  name: string,
  args: Args,
  opts: pulumi.CustomResourceOptions,
): [string, Args, pulumi.CustomResourceOptions] {
  if (!transform) return [name, args, opts];
  const changed = { ...args };
  const changedOpts = { ...opts };
  transform(changed, changedOpts, name);
  return [name, changed, changedOpts];
}
