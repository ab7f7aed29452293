/**
 * Docker objects named like the program's (`supabase-*`, and the instances the suite names itself): the suite
 * refuses an engine that has any it did not create, and removes its own between runs and at the end.
 */
import { DEFAULT_INSTANCE_NAME } from "../../../../components/config/deployment";
import { run } from "../../core/proc";
import { dockerEnv } from "./engine";

/** The instance names the suite's stacks use: the program's default, and the two that share one engine. */
export const SUITE_INSTANCES = [DEFAULT_INSTANCE_NAME, "e2e-a", "e2e-b"] as const;

/** The `docker … ls` listings of containers, volumes and networks, each printing names only. */
const LISTINGS = {
  containers: ["ps", "-a", "--format", "{{.Names}}"],
  volumes: ["volume", "ls", "--format", "{{.Name}}"],
  networks: ["network", "ls", "--format", "{{.Name}}"],
};

/** The names a listing prints that are named like the program's objects. */
async function namedLikeProgram(host: string, listing: string[]): Promise<string[]> {
  const { stdout } = await run("docker", listing, { env: dockerEnv(host), timeoutSeconds: 30 });
  return stdout.split("\n").filter((n) => SUITE_INSTANCES.some((instance) => n.startsWith(`${instance}-`)));
}

/** Docker objects named like the program's; the suite refuses to run where any exists that it did not create. */
export async function programObjects(host: string): Promise<string[]> {
  return [
    ...(await namedLikeProgram(host, LISTINGS.containers)),
    ...(await namedLikeProgram(host, LISTINGS.volumes)),
    ...(await namedLikeProgram(host, LISTINGS.networks)),
  ];
}

/** Removes every container, volume and network named like the program's (the suite's own, at the end). */
export async function removeProgramObjects(host: string): Promise<void> {
  const env = dockerEnv(host);
  const containers = await namedLikeProgram(host, LISTINGS.containers);
  if (containers.length)
    await run("docker", ["rm", "-f", ...containers], { env, allowFailure: true, timeoutSeconds: 120 });
  const volumes = await namedLikeProgram(host, LISTINGS.volumes);
  if (volumes.length)
    await run("docker", ["volume", "rm", "-f", ...volumes], { env, allowFailure: true, timeoutSeconds: 120 });
  const networks = await namedLikeProgram(host, LISTINGS.networks);
  if (networks.length)
    await run("docker", ["network", "rm", ...networks], { env, allowFailure: true, timeoutSeconds: 60 });
}
