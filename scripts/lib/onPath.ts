/** Finding the external commands the scripts run (pulumi, docker, ssh) without running them. */
import * as fs from "node:fs";
import * as path from "node:path";

/** True when an executable named `command` is on `env.PATH`. */
export function onPath(command: string, env: NodeJS.ProcessEnv): boolean {
  return (env.PATH ?? "").split(path.delimiter).some((dir) => {
    if (!dir) return false;
    try {
      fs.accessSync(path.join(dir, command), fs.constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}
