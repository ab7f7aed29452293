/**
 * The Docker engine of the end-to-end suite: the one `docker` already reaches (a user's machine, a GitHub
 * runner), or Debian's `dockerd` started by the suite with its own data root and socket and stopped at the end.
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { poll, run, works } from "../../core/proc";

/** A Docker engine the suite can use. */
export interface DockerEngine {
  /** `DOCKER_HOST` for every docker command and for the program's docker provider. */
  host: string;
  serverVersion: string;
  /** True when this suite started the daemon (and must stop it). */
  started: boolean;
  stop(): Promise<void>;
  /**
   * Stops the daemon the suite started (its containers stop with it) and starts it again on the same data root;
   * absent for an engine the suite did not start, which it never restarts.
   */
  restart?(): Promise<void>;
}

/** Environment for docker commands against `host`. */
export const dockerEnv = (host: string): NodeJS.ProcessEnv => ({ ...process.env, DOCKER_HOST: host });

async function serverVersion(host: string): Promise<string | undefined> {
  const r = await run("docker", ["version", "--format", "{{.Server.Version}}"], {
    env: dockerEnv(host),
    allowFailure: true,
    timeoutSeconds: 20,
  });
  return r.status === 0 && r.stdout.trim() ? r.stdout.trim() : undefined;
}

/**
 * The engine `docker` reaches now, else a `dockerd` started under `dataDir`. Set `E2E_OWN_DOCKERD=1` to start one
 * even when another engine answers. Waits at most 60 s for a started daemon to answer.
 */
export async function obtainDocker(dataDir: string, log: (t: string) => void): Promise<DockerEngine> {
  if (!works("docker", ["--version"]))
    throw new Error("no docker client on PATH: install docker.io (Debian) or Docker Engine");
  const ambient = process.env.DOCKER_HOST || "unix:///var/run/docker.sock";
  if (process.env.E2E_OWN_DOCKERD !== "1") {
    const version = await serverVersion(ambient);
    if (version) {
      log(`using the Docker engine at ${ambient} (server ${version})`);
      return { host: ambient, serverVersion: version, started: false, stop: async () => {} };
    }
  }
  if (!works("dockerd", ["--version"])) {
    throw new Error(
      "no Docker engine answers and there is no dockerd to start: install docker.io (apt-get install -y docker.io)",
    );
  }
  fs.mkdirSync(dataDir, { recursive: true });
  const host = `unix://${path.join(dataDir, "docker.sock")}`;
  let daemon = await startDaemon(dataDir, host, log);
  const stop = async () => {
    await stopDaemon(daemon.pid);
    log(`dockerd stopped (pid ${daemon.pid})`);
  };
  return {
    host,
    serverVersion: daemon.version,
    started: true,
    stop,
    restart: async () => {
      await stop();
      daemon = await startDaemon(dataDir, host, log);
    },
  };
}

/** Starts dockerd on `dataDir` and waits (60 s at most) until it answers at `host`. */
async function startDaemon(
  dataDir: string,
  host: string,
  log: (t: string) => void,
): Promise<{ pid: number; version: string }> {
  const pidFile = path.join(dataDir, "dockerd.pid");
  const logFile = path.join(dataDir, "dockerd.log");
  log(`starting dockerd (data root ${dataDir})`);
  const out = fs.openSync(logFile, "a");
  const daemon = spawn(
    "dockerd",
    [
      "--data-root",
      path.join(dataDir, "root"),
      "--exec-root",
      path.join(dataDir, "exec"),
      "--host",
      host,
      "--pidfile",
      pidFile,
    ],
    { stdio: ["ignore", out, out], detached: true },
  );
  daemon.unref();
  const version = await poll(() => serverVersion(host), 60, 1000);
  if (!version) {
    try {
      process.kill(daemon.pid!, "SIGKILL");
    } catch {
      // already gone
    }
    throw new Error(
      `dockerd did not answer within 60 s; its log:\n${fs.readFileSync(logFile, "utf8").split("\n").slice(-20).join("\n")}`,
    );
  }
  log(`dockerd ${version} answers at ${host} (pid ${daemon.pid})`);
  return { pid: daemon.pid!, version };
}

/** Stops a dockerd: SIGTERM, then SIGKILL if it is still there after 60 s. */
async function stopDaemon(pid: number): Promise<void> {
  try {
    process.kill(pid, "SIGTERM");
  } catch {
    return;
  }
  // dockerd stops its containers first (10 s each at most); give it a bounded time, then kill it.
  const gone = await poll(async () => (isAlive(pid) ? undefined : true), 60, 1000);
  if (!gone) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
