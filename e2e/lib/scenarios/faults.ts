/**
 * Faults survived, on the backup scenario's stack: the db container's Postgres killed (SIGKILL) during a stream of
 * inserts (every acknowledged insert is there after Docker restarts it, and the WAL archive streams on), the Docker
 * engine restarted (every container comes back on its own, the rows are kept), and `pulumi up` killed (SIGKILL) in
 * the middle of a key promotion (what the next `pulumi up` needs to converge, no key lost or regenerated, the guard's
 * record consistent, sessions kept: `pulumiKill.ts`).
 */
import { spawn } from "node:child_process";
import { awaitArchived, awaitStreaming, sql } from "../checks/backup";
import { poll, run } from "../core/proc";
import { dockerEnv } from "../engines/docker/engine";
import type { BackupStack } from "./backupStack";
import { killPulumiDuringPromotion } from "./pulumiKill";

/** Every fault, in an order that leaves the keyring change last. */
export async function runFaults(stack: BackupStack): Promise<void> {
  await dbKilledDuringInserts(stack);
  await engineRestarted(stack);
  await killPulumiDuringPromotion(stack);
}

/** Docker's view of a container: running, and its health (`none` without a health check). */
async function stateOf(host: string, container: string): Promise<{ running: boolean; health: string; pid: number }> {
  const r = await run(
    "docker",
    [
      "inspect",
      "-f",
      "{{.State.Running}} {{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}} {{.State.Pid}}",
      container,
    ],
    { env: dockerEnv(host), allowFailure: true, timeoutSeconds: 30 },
  );
  const [running, health, pid] = r.stdout.trim().split(" ");
  return { running: running === "true", health: health ?? "missing", pid: Number(pid) };
}

/**
 * Seconds (to a tenth) until `container` runs again as another process than `pid` and is healthy, polled every
 * 0.25 s for `seconds` at most: Docker reports the old health until it has seen the process end.
 */
async function secondsUntilBack(
  host: string,
  container: string,
  pid: number,
  seconds: number,
): Promise<number | undefined> {
  const t0 = performance.now();
  const ok = await poll(
    async () => {
      const now = await stateOf(host, container);
      return now.running && now.pid !== pid && now.health === "healthy" ? true : undefined;
    },
    seconds * 4,
    250,
  );
  return ok ? Math.round((performance.now() - t0) / 100) / 10 : undefined;
}

/**
 * A client on the stack network inserting one row per transaction and printing `ack <n>` once Postgres has
 * acknowledged the commit, until told to stop (or 20,000 inserts); its output as it comes.
 */
function insertStream(stack: BackupStack, container: string): { acks: () => number[]; stop: () => Promise<void> } {
  const { ctx, layout, outputs } = stack;
  const script =
    "i=0; while [ $i -lt 20000 ] && [ ! -f /tmp/stop ]; do i=$((i+1)); " +
    'if psql -X -q -h db -U supabase_admin -d postgres -c "INSERT INTO e2e_stream VALUES ($i)" >/dev/null 2>&1; ' +
    'then echo "ack $i"; else sleep 0.2; fi; done';
  const child = spawn(
    "docker",
    [
      "run",
      "--rm",
      "--name",
      container,
      "--network",
      layout.names.network,
      "-e",
      "PGPASSWORD",
      "--entrypoint",
      "sh",
      ctx.images.program.db.ref,
      "-c",
      script,
    ],
    { env: { ...dockerEnv(ctx.docker.host), PGPASSWORD: outputs.postgresPassword }, stdio: ["ignore", "pipe", "pipe"] },
  );
  let out = "";
  child.stdout.setEncoding("utf8").on("data", (d: string) => (out += d));
  const exited = new Promise<void>((resolve) => child.on("close", () => resolve()));
  return {
    acks: () => [...out.matchAll(/^ack (\d+)$/gm)].map((m) => Number(m[1])),
    stop: async () => {
      await run("docker", ["exec", container, "touch", "/tmp/stop"], {
        env: dockerEnv(ctx.docker.host),
        allowFailure: true,
      });
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 30_000))]);
      await run("docker", ["rm", "-f", container], { env: dockerEnv(ctx.docker.host), allowFailure: true });
    },
  };
}

/** SIGKILL to db's Postgres during a stream of inserts: every acknowledged insert is there after the restart. */
async function dbKilledDuringInserts(stack: BackupStack): Promise<void> {
  const { ctx, db, layout } = stack;
  const { rec, docker, metrics } = ctx;
  await rec.attempt("fault:db-killed-acknowledged-inserts-kept", async () => {
    await sql(docker.host, db, "CREATE TABLE IF NOT EXISTS e2e_stream(id integer PRIMARY KEY);");
    const stream = insertStream(stack, layout.names.container("e2e-insert-client"));
    try {
      if (!(await poll(async () => (stream.acks().length >= 50 ? true : undefined), 120, 500)))
        throw new Error("the client got no 50 acknowledged inserts within 60 s");
      const { pid } = await stateOf(docker.host, db);
      const ackedAtKill = stream.acks().length;
      // The container's main process is Postgres's postmaster: killing it is a crash, and Docker's restart policy
      // (unless-stopped) starts the container again.
      process.kill(pid, "SIGKILL");
      const down = await secondsUntilBack(docker.host, db, pid, 180);
      if (down === undefined) throw new Error("db did not come back healthy within 180 s");
      metrics["dbKillRecoverySeconds"] = down;
      const before = stream.acks().length;
      await poll(async () => (stream.acks().length >= before + 20 ? true : undefined), 60, 500);
      await stream.stop();
      const acked = stream.acks();
      const present = new Set((await sql(docker.host, db, "SELECT id FROM e2e_stream;")).split("\n").map(Number));
      const lost = acked.filter((id) => !present.has(id));
      if (lost.length)
        throw new Error(`${lost.length} acknowledged inserts are missing: ${lost.slice(0, 10).join(", ")}`);
      return (
        `postmaster (pid ${pid}) killed after ${ackedAtKill} acknowledged inserts; Docker restarted db, healthy after ` +
        `${down} s; all ${acked.length} acknowledged inserts are there (${present.size} rows: a commit may land without its acknowledgement)`
      );
    } finally {
      await stream.stop();
    }
  });
  // The archive goes on after the crash: the slot still holds the WAL the stream was in the middle of.
  await rec.attempt("fault:db-killed-backup-streams", async () => {
    const t0 = performance.now();
    const lag = await awaitArchived(docker.host, db, 120);
    const seconds = Math.round((performance.now() - t0) / 100) / 10;
    return `the backup service flushed WAL up to db's position ${seconds} s after db was back (lag seen: ${lag} B)`;
  });
}

/** The Docker engine restarted: every container comes back on its own (healthy if it was), and the rows are kept. */
async function engineRestarted(stack: BackupStack): Promise<void> {
  const { ctx, db, layout, endpoint } = stack;
  const { rec, docker, metrics } = ctx;
  if (!docker.restart) {
    rec.check(
      "fault:engine-restart",
      true,
      "skipped: the suite did not start this Docker engine, so it does not restart it",
    );
    return;
  }
  await sql(
    docker.host,
    db,
    "CREATE TABLE e2e_engine(note text); INSERT INTO e2e_engine VALUES ('before the engine restart');",
  );
  const before = Object.fromEntries(
    await Promise.all(layout.containerNames.map(async (c) => [c, (await stateOf(docker.host, c)).health] as const)),
  );
  const t0 = performance.now();
  await docker.restart();
  await rec.attempt("fault:engine-restart-containers-back", async () => {
    const back = await poll(
      async () => {
        for (const [c, health] of Object.entries(before)) {
          const now = await stateOf(docker.host, c);
          if (!now.running || (health === "healthy" && now.health !== "healthy")) return undefined;
        }
        return true;
      },
      300,
      1000,
    );
    if (!back) throw new Error("not every container was back within 300 s of the restart");
    metrics["engineRestartRecoverySeconds"] = Math.round((performance.now() - t0) / 100) / 10;
    const healthy = Object.entries(before)
      .filter(([, h]) => h === "healthy")
      .map(([c]) => c);
    return (
      `dockerd stopped and started again; all ${layout.containerNames.length} containers running on their own after ` +
      `${metrics["engineRestartRecoverySeconds"]} s, healthy again: ${healthy.join(", ")} (the stand-ins have no working health check)`
    );
  });
  await rec.attempt("fault:engine-restart-rows-kept", async () => {
    const note = await sql(docker.host, db, "SELECT note FROM e2e_engine;");
    if (note !== "before the engine restart") throw new Error(`e2e_engine holds ${JSON.stringify(note)}`);
    // The suite's forwarder to auth has no restart policy: start it again.
    await endpoint.stop();
    await endpoint.start();
    return "the row written before the restart is there";
  });
  await rec.attempt("fault:engine-restart-backup-streams", async () => {
    const t1 = performance.now();
    await awaitArchived(ctx.docker.host, db, 180);
    const seconds = Math.round((performance.now() - t1) / 100) / 10;
    const status = await awaitStreaming(stack.project, 60);
    return `the backup service flushed WAL up to db's position ${seconds} s after the containers were back: ${status.split("\n")[2]}`;
  });
}
