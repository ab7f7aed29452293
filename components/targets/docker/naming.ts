/**
 * How the stack names and marks what it creates in Docker. Pure, so the policy pack can read it without loading
 * the Docker SDK.
 */
import { PROJECT } from "../../schema/project";

/**
 * The Docker name of a service's container, of a volume or of the network: `<instance>-<role>` (`supabase-auth` for
 * the default instance name).
 */
export const dockerName = (instance: string, role: string): string => `${instance}-${role}`;

/**
 * Label on every volume the stack retains on delete. Policy packs cannot see the `retainOnDelete` option, so this
 * label is how the `db-data-retained` policy recognizes a retained volume; the component sets both together.
 */
export const RETAIN_LABEL = `${PROJECT}.retain-on-delete`;
