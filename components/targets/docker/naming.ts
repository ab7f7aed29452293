/**
 * How the stack names and marks what it creates in Docker. Pure, so the policy pack can read it without loading
 * the Docker SDK.
 */
import { PROJECT } from "../../schema/project";

/** Prefix of every Docker object's name: containers are `supabase-<role>`, volumes `supabase-<volume>`. */
export const DOCKER_PREFIX = "supabase";

/** The Docker name of a service's container or of a volume. */
export const dockerName = (role: string): string => `${DOCKER_PREFIX}-${role}`;

/**
 * Label on every volume the stack retains on delete. Policy packs cannot see the `retainOnDelete` option, so this
 * label is how the `db-data-retained` policy recognizes a retained volume; the component sets both together.
 */
export const RETAIN_LABEL = `${PROJECT}.retain-on-delete`;
