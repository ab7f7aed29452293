/**
 * What the policies read of the Kubernetes target's objects: the images a workload's pod runs, a Secret's entries
 * and the service it belongs to, and whether db's StatefulSet keeps its claims. Values not known yet during a
 * preview (the engine's unknown marker, or a missing field) are skipped rather than guessed.
 */
import { UNKNOWN_INPUT } from "../components/keyring/engineValues";

const isKnownString = (v: unknown): v is string => typeof v === "string" && v !== UNKNOWN_INPUT;

/** A nested object field, or undefined when any step is missing or not an object. */
function field(value: unknown, ...path: string[]): unknown {
  let at = value;
  for (const key of path) {
    if (!at || typeof at !== "object" || Array.isArray(at)) return undefined;
    at = (at as Record<string, unknown>)[key];
  }
  return at;
}

/** Each container's name and image in a Deployment's or StatefulSet's pod template. */
export function podImages(props: Record<string, unknown>): Array<{ name: string; image: string }> {
  const containers = field(props, "spec", "template", "spec", "containers");
  if (!Array.isArray(containers)) return [];
  return containers
    .filter((c): c is Record<string, unknown> => !!c && typeof c === "object" && isKnownString(c.image))
    .map((c) => ({ name: String(c.name), image: c.image as string }));
}

/** A Secret's name (`auth-env`, `kong-files-0`) and the service it belongs to (`auth`, `kong`). */
export function secretOwner(props: Record<string, unknown>, resourceName: string): { name: string; role: string } {
  const name = field(props, "metadata", "name");
  const secret = isKnownString(name) ? name : resourceName.replace(/^[^-]+-/, "");
  return { name: secret, role: secret.replace(/-(env|files-\d+)$/, "") };
}

/** A Secret's entries as text: `stringData` as it is, `data` decoded from base64. */
export function secretEntries(props: Record<string, unknown>): Array<[string, string]> {
  const entries: Array<[string, string]> = [];
  const stringData = field(props, "stringData");
  if (stringData && typeof stringData === "object") {
    for (const [k, v] of Object.entries(stringData)) if (isKnownString(v)) entries.push([k, v]);
  }
  const data = field(props, "data");
  if (data && typeof data === "object") {
    for (const [k, v] of Object.entries(data))
      if (isKnownString(v)) entries.push([k, Buffer.from(v, "base64").toString()]);
  }
  return entries;
}

/**
 * Whether a StatefulSet deletes its claims: its `persistentVolumeClaimRetentionPolicy` says `Delete` when it is
 * deleted (absent, Kubernetes retains them). `undefined` while the spec is not known.
 */
export function deletesClaims(props: Record<string, unknown>): boolean | undefined {
  const spec = field(props, "spec");
  if (!spec || typeof spec !== "object") return undefined;
  return field(spec, "persistentVolumeClaimRetentionPolicy", "whenDeleted") === "Delete";
}
