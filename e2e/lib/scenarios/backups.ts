/**
 * Backups on the real engine, proven by restoring: a stack with the backup service on (the default), rows written
 * at t1, t2, t3, `npm run backup -- verify`, `npm run restore -- --to <between t2 and t3>` (exactly t1 and t2 are
 * back, the user created before signs in through the real auth server, the old volume is kept, the state says where
 * the data is), then a database of more than 1 GB (pgbench) under a write load (the WAL lag and rate), a base
 * backup of it, and `npm run restore -- --to latest` timed until auth answers again (the RTO), then the off-site copy
 * to an S3 server (`offsite.ts`). The faults (`faults.ts`) run on the same stack afterwards.
 */
import { containerOf, layoutOf, observe } from "../checks/deployment";
import { awaitArchived, awaitStreaming, dbNow, secondsUntilAuthAnswers, sql, TestUser } from "../checks/backup";
import { run } from "../core/proc";
import { dockerEnv } from "../engines/docker/engine";
import { PulumiProject } from "../engines/pulumi/project";
import { PGDATA } from "../../../components/services/backup/archive";
import type { BackupStack } from "./backupStack";
import type { ScenarioContext } from "./context";
import { runFaults } from "./faults";
import { runOffsiteCopy, s3ServerName } from "./offsite";
import { authEndpointFor, configureStack, installPlugins } from "./stack";

/** pgbench's scale for the restore-time check: 70 × 100,000 accounts, about 1.05 GB with indexes. */
const PGBENCH_SCALE = 70;

const wait = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The scenario: one stack, the backup checks (E2E_BACKUP=0 skips them), the faults (E2E_FAULTS=0), destroy. */
export async function runBackupsAndFaults(ctx: ScenarioContext): Promise<void> {
  const { rec, log } = ctx;
  const project = new PulumiProject(ctx.work, ctx.repoRoot, "e2e-backup", ctx.env);
  await installPlugins(project, ctx.toolchain);
  await configureStack(project, ctx);
  const layout = await layoutOf(project);
  const endpoint = authEndpointFor(ctx, layout.names);
  if (!endpoint) {
    rec.check("backup:skipped", true, "the suite runs no real auth server (real images): backups not exercised");
    return;
  }
  try {
    const up = await project.up("backup-create");
    rec.step("up with backups on (ES256)", up.steps, up.seconds);
    const outputs = (await project.outputs()) as Record<string, string>;
    const user = new TestUser(endpoint);
    await user.create(outputs.serviceRoleKey);
    const stack: BackupStack = { ctx, project, layout, db: layout.names.container("db"), endpoint, user, outputs };
    if (process.env.E2E_BACKUP !== "0") {
      await pointInTime(stack);
      await restoreOneGigabyte(stack);
      await runOffsiteCopy(stack);
      // The faults then judge backup-s3 too (the engine restart: every container back on its own).
      stack.layout = await layoutOf(project);
    }
    if (process.env.E2E_FAULTS !== "0") await runFaults(stack);
  } finally {
    await endpoint.stop();
    // The suite's S3 server is on the stack's network, which the destroy removes.
    await run("docker", ["rm", "-f", s3ServerName(layout.names)], {
      env: dockerEnv(ctx.docker.host),
      allowFailure: true,
    });
    await project.destroy().catch((e) => log(`destroying the backup stack: ${e}`));
  }
}

/** Rows at t1, t2, t3; verify; restore to a moment between t2 and t3. */
async function pointInTime(stack: BackupStack): Promise<void> {
  const { ctx, project, db, endpoint, user, outputs } = stack;
  const { rec, docker, metrics } = ctx;
  await rec.attempt("backup:streaming", async () => (await awaitStreaming(project, 180)).split("\n").join("; "));
  const session = await user.signIn(outputs.anonKey);
  await sql(
    docker.host,
    db,
    "CREATE TABLE e2e_pitr(step text PRIMARY KEY, at timestamptz NOT NULL DEFAULT clock_timestamp());",
  );
  await sql(docker.host, db, "INSERT INTO e2e_pitr(step) VALUES ('t1');");
  await wait(1000);
  await sql(docker.host, db, "INSERT INTO e2e_pitr(step) VALUES ('t2');");
  await wait(500);
  const between = await dbNow(docker.host, db);
  await wait(1000);
  await sql(docker.host, db, "INSERT INTO e2e_pitr(step) VALUES ('t3');");
  await awaitArchived(docker.host, db);
  await rec.attempt("backup:verify", async () => {
    const verified = await project.script("backup", ["verify", "--yes"], { timeoutSeconds: 900 });
    return verified.stdout.trim().split("\n").slice(-4).join("; ");
  });
  const restored = await project.script("restore", ["--to", between, "--yes"], { timeoutSeconds: 1800 });
  metrics["restoreSeconds:point-in-time"] = Math.round(restored.seconds * 10) / 10;
  await rec.attempt("backup:point-in-time", async () => {
    const rows = await sql(docker.host, db, "SELECT string_agg(step, ',' ORDER BY step) FROM e2e_pitr;");
    if (rows !== "t1,t2")
      throw new Error(`after the restore to ${between}, e2e_pitr holds ${rows || "nothing"}, not t1,t2`);
    return `restored to ${between} (between t2 and t3) in ${restored.seconds.toFixed(1)} s: e2e_pitr holds ${rows}`;
  });
  await rec.attempt("backup:auth-after-restore", async () => {
    if ((await secondsUntilAuthAnswers(endpoint, 120)) === undefined)
      throw new Error("auth did not answer after the restore");
    const again = await user.signIn(outputs.anonKey);
    const before = await user.userStatus(session.accessToken, outputs.anonKey);
    if (before !== 200) throw new Error(`GET /user with the token from before the restore answered ${before}`);
    return `${user.email} signed in again through the real auth server; the access token from before the restore still answers 200 (new token ${again.accessToken.length} characters)`;
  });
  await checkKeptAndConverged(stack);
}

/** The volume before the restore is kept, db runs on the new one, and the state says so (a preview changes nothing). */
async function checkKeptAndConverged({ ctx, project, layout }: BackupStack): Promise<void> {
  const { rec, docker } = ctx;
  await rec.attempt("backup:old-volume-kept", async () => {
    const volumes = (
      await run("docker", ["volume", "ls", "--format", "{{.Name}}"], { env: dockerEnv(docker.host) })
    ).stdout.split("\n");
    const old = layout.names.volume("db-data");
    if (!volumes.includes(old)) throw new Error(`${old} is gone after the restore`);
    const deployment = await observe(project, docker.host, await layoutOf(project));
    const mounted = Object.entries(containerOf(deployment, "db").volumes).find(([, at]) => at === PGDATA)?.[0];
    const configured = (await layoutOf(project)).settings.database.dataVolume;
    if (!mounted || mounted !== configured)
      throw new Error(`db mounts ${mounted}, database.dataVolume is ${configured}`);
    return `db runs on ${mounted} (database.dataVolume); ${old} is kept`;
  });
  await rec.attempt("backup:state-converged", async () => {
    await project.pulumi(["preview", "--expect-no-changes", "--stack", project.stack]);
    return "pulumi preview --expect-no-changes passes after the restore: the state says where the data is";
  });
}

/** A database over 1 GB, a write load, a base backup, and a restore to the latest moment timed until auth answers. */
async function restoreOneGigabyte(stack: BackupStack): Promise<void> {
  const { ctx, project, db, endpoint, user, outputs } = stack;
  const { rec, docker, metrics } = ctx;
  const pgbench = (args: string[], timeoutSeconds: number) =>
    run("docker", ["exec", db, "pgbench", "-U", "postgres", ...args, "postgres"], {
      env: dockerEnv(docker.host),
      timeoutSeconds,
    });
  const init = await pgbench(["-i", "-q", "-s", String(PGBENCH_SCALE)], 1800);
  metrics["pgbenchInitSeconds:1GB"] = Math.round(init.seconds * 10) / 10;
  const bytes = Number(await sql(docker.host, db, "SELECT pg_database_size('postgres');"));
  await rec.attempt("backup:overhead-under-load", () => measureOverhead(stack, pgbench));
  const based = await rec.attempt("backup:base-backup-1gb", async () => {
    const base = await project.script("backup", ["now", "--yes"], { timeoutSeconds: 1800 });
    metrics["baseBackupSeconds:1GB"] = Math.round(base.seconds * 10) / 10;
    await awaitArchived(docker.host, db);
    return `npm run backup -- now took ${metrics["baseBackupSeconds:1GB"]} s: ${base.stdout.trim().split("\n").slice(-5).join("; ")}`;
  });
  if (!based) return;
  const t0 = performance.now();
  const restore = project.script("restore", ["--to", "latest", "--yes"], { timeoutSeconds: 1800 });
  await restore;
  const afterScript = await secondsUntilAuthAnswers(endpoint, 300);
  const rto = Math.round((performance.now() - t0) / 100) / 10;
  metrics["rtoSeconds:1GB"] = rto;
  await rec.attempt("backup:restore-1gb", async () => {
    if (afterScript === undefined) throw new Error("auth did not answer within 300 s after the restore");
    const accounts = await sql(docker.host, db, "SELECT count(*) FROM pgbench_accounts;");
    if (Number(accounts) !== PGBENCH_SCALE * 100_000) throw new Error(`pgbench_accounts holds ${accounts} rows`);
    await user.signIn(outputs.anonKey);
    return (
      `a ${(bytes / 1e9).toFixed(2)} GB database (pgbench scale ${PGBENCH_SCALE}) restored to the latest moment: ` +
      `${rto} s from npm run restore to auth answering (goal: under 300 s); ${accounts} accounts; the user signs in`
    );
  });
}

/** 30 s of pgbench writes: the greatest WAL lag of the backup service, the WAL rate and what a day of it would take. */
async function measureOverhead(
  { ctx, db }: BackupStack,
  pgbench: (args: string[], timeoutSeconds: number) => Promise<unknown>,
): Promise<string> {
  const { docker, metrics } = ctx;
  const lsn = () => sql(docker.host, db, "SELECT pg_current_wal_lsn();");
  const start = await lsn();
  const t0 = performance.now();
  let load = true;
  const running = pgbench(["-T", "30", "-c", "2", "-j", "2"], 120).finally(() => (load = false));
  let maxLag = 0;
  for (let i = 0; i < 120 && load; i++) {
    const lag = await sql(
      docker.host,
      db,
      "SELECT coalesce(pg_wal_lsn_diff(pg_current_wal_lsn(), flush_lsn), -1) FROM pg_stat_replication WHERE application_name = 'supabase-backup';",
    );
    maxLag = Math.max(maxLag, Number(lag) || 0);
    await wait(500);
  }
  await running;
  const seconds = (performance.now() - t0) / 1000;
  const walBytes = Number(await sql(docker.host, db, `SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '${start}');`));
  const drained = await awaitArchived(docker.host, db);
  metrics["backupWalLagBytesMax:pgbench"] = maxLag;
  metrics["backupWalBytesPerSecond:pgbench"] = Math.round(walBytes / seconds);
  metrics["backupArchiveGBPerDay:pgbench"] = Math.round(((walBytes / seconds) * 86400) / 1e8) / 10;
  return (
    `pgbench -c 2 for 30 s wrote ${(walBytes / 1e6).toFixed(0)} MB of WAL (${(walBytes / seconds / 1e6).toFixed(2)} MB/s, ` +
    `${metrics["backupArchiveGBPerDay:pgbench"]} GB a day at that rate); the archive lagged ${(maxLag / 1e3).toFixed(0)} kB at most ` +
    `(${(drained / 1e3).toFixed(0)} kB when the load stopped)`
  );
}
