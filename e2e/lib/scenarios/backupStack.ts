/** The stack the backup and fault checks share (`backups.ts`, `faults.ts`, `pulumiKill.ts`). */
import type { AuthEndpoint } from "../checks/auth/endpoint";
import type { TestUser } from "../checks/backup";
import type { Layout } from "../checks/deployment";
import type { PulumiProject } from "../engines/pulumi/project";
import type { ScenarioContext } from "./context";

/** What every part of the scenario works with. */
export interface BackupStack {
  ctx: ScenarioContext;
  project: PulumiProject;
  layout: Layout;
  /** db's container name. */
  db: string;
  endpoint: AuthEndpoint;
  /** A user created at the start, who signs in before and after each restore and fault. */
  user: TestUser;
  /** The stack outputs, secrets shown. */
  outputs: Record<string, string>;
}
