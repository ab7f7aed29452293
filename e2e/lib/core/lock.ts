/**
 * One suite at a time per cache: the toolchain, the images and the suite's dockerd live there, and two runs would
 * build into, start and remove the same things. A second run waits for the first (bounded) instead of breaking it.
 */
import * as fs from "node:fs";
import * as path from "node:path";

/** Whether a process with this pid is alive (signal 0 checks without sending anything). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** The pid written in a lock file, if it holds one. */
function holder(file: string): number | undefined {
  try {
    const pid = Number(fs.readFileSync(file, "utf8").trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Takes the lock `suite.lock` in `cache`, waiting up to `maxWaitSeconds` for a live holder to finish; a lock left by
 * a process that no longer runs is taken over. Returns the function that releases it.
 */
export async function lockCache(
  cache: string,
  log: (text: string) => void,
  maxWaitSeconds = 3 * 3600,
  pollSeconds = 10,
): Promise<() => void> {
  fs.mkdirSync(cache, { recursive: true });
  const file = path.join(cache, "suite.lock");
  const deadline = Date.now() + maxWaitSeconds * 1000;
  let told = false;
  for (;;) {
    try {
      fs.writeFileSync(file, `${process.pid}\n`, { flag: "wx" });
      return () => {
        if (holder(file) === process.pid) fs.rmSync(file, { force: true });
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    }
    const pid = holder(file);
    if (pid === undefined || !alive(pid)) {
      log(`taking over ${file}: its holder ${pid ?? "(unreadable)"} no longer runs`);
      fs.rmSync(file, { force: true });
      continue;
    }
    if (Date.now() > deadline) {
      throw new Error(`another e2e suite (pid ${pid}) has held ${file} for more than ${maxWaitSeconds} s`);
    }
    if (!told) log(`another e2e suite (pid ${pid}) uses the cache ${cache}: waiting for it to finish`);
    told = true;
    await new Promise((resolve) => setTimeout(resolve, pollSeconds * 1000));
  }
}
