/**
 * The backups' off-site copy on the real engine, on the backup stack after its restores: an S3 server on the stack
 * network (the suite's rclone image running `rclone serve s3` over a directory: a stand-in for AWS S3 or MinIO that
 * speaks the S3 protocol, SigV4 included), `backup.s3` set with the secret key as a Pulumi secret, and a `pulumi up`
 * that adds the backup-s3 container and touches nothing else. Then: the bucket catches up with the volume, a row
 * written after reaches it within an upload interval, `npm run backup -- verify --from s3` and `npm run restore --
 * --from s3 --to latest` restore from the bucket alone (the row is back, the user signs in), and retention on the
 * bucket deletes what the settings no longer keep, after which the next upload restores the bucket to the volume's
 * content and the container's health check passes.
 */
import { awaitArchived, secondsUntilAuthAnswers, sql } from "../checks/backup";
import { layoutOf, type DockerNames } from "../checks/deployment";
import { poll, run } from "../core/proc";
import { dockerEnv } from "../engines/docker/engine";
import {
  OFFSITE_SCRIPT,
  OFFSITE_SCRIPT_PATH,
  offsiteEnv,
  parseOffsiteStatus,
} from "../../../components/services/backup/offsite";
import type { OffsiteStatus } from "../../../components/services/backup/offsite";
import type { BackupStack } from "./backupStack";

/** The suite's S3 server: its DNS name on the stack network, port, bucket and key pair. */
const S3 = { alias: "s3", port: 9000, bucket: "e2e-backups", accessKeyId: "e2e-backup-writer" } as const;

/** Seconds between uploads in this stack (the smallest the setting allows). */
const UPLOAD_SECONDS = 10;

/** The S3 server's container name (prefixed like the stack's objects, so a cut-off run's cleanup finds it). */
export const s3ServerName = (names: DockerNames): string => names.container("e2e-s3");

/** `docker` against the suite's engine. */
const dockerRun = (
  stack: BackupStack,
  args: string[],
  { env, ...options }: { input?: string; allowFailure?: boolean; env?: NodeJS.ProcessEnv } = {},
) => run("docker", args, { env: { ...dockerEnv(stack.ctx.docker.host), ...env }, timeoutSeconds: 600, ...options });

/** Starts the S3 server on the stack network, restarting with the engine (the faults restart it). */
async function startServer(stack: BackupStack, secret: string): Promise<void> {
  const image = stack.ctx.images.program.backupS3.ref;
  await dockerRun(
    stack,
    [
      "run",
      "-d",
      "--name",
      s3ServerName(stack.layout.names),
      "--network",
      stack.layout.names.network,
      "--network-alias",
      S3.alias,
      "--restart",
      "unless-stopped",
      "-e",
      "KEYS",
      "--entrypoint",
      "sh",
      image,
      "-c",
      `mkdir -p /data/${S3.bucket} && exec rclone serve s3 /data --addr :${S3.port} --auth-key "$KEYS"`,
    ],
    { env: { KEYS: `${S3.accessKeyId},${secret}` } },
  );
}

/** The backup-s3 container's `offsite.sh status`. */
async function bucketStatus(stack: BackupStack): Promise<OffsiteStatus> {
  const container = stack.layout.names.container("backup-s3");
  return parseOffsiteStatus((await dockerRun(stack, ["exec", container, "sh", OFFSITE_SCRIPT_PATH, "status"])).stdout);
}

/** Waits (1 s apart, 300 s at most) for an upload that started after `since` to finish; its status. */
async function awaitUploadAfter(stack: BackupStack, since: Date): Promise<OffsiteStatus> {
  const status = await poll(
    async () => {
      const s = await bucketStatus(stack);
      return s.lastUpload && s.lastUpload.started.getTime() >= Math.floor(since.getTime() / 1000) * 1000
        ? s
        : undefined;
    },
    300,
    1000,
  );
  if (!status) throw new Error(`no upload to the bucket started after ${since.toISOString()} finished within 300 s`);
  return status;
}

/** Every file in the bucket, as the S3 server keeps it (path under the bucket). */
async function bucketFiles(stack: BackupStack): Promise<string[]> {
  const { stdout } = await dockerRun(stack, [
    "exec",
    s3ServerName(stack.layout.names),
    "sh",
    "-c",
    `cd /data/${S3.bucket} && find . -type f | sort`,
  ]);
  return stdout
    .split("\n")
    .filter(Boolean)
    .map((f) => f.replace(/^\.\//, ""));
}

/** The scenario (see the file's header). */
export async function runOffsiteCopy(stack: BackupStack): Promise<void> {
  const { ctx, project, db } = stack;
  const { rec, docker, metrics } = ctx;
  const secret = `e2e-s3-${Date.now()}-${Math.random().toString(36).slice(2)}`;
  const prefix = `e2e/${project.stack}`;
  await startServer(stack, secret);
  const before = new Date();
  await enableBucket(stack, prefix, secret);
  await rec.attempt("backup:s3-catches-up", async () => {
    const first = await awaitUploadAfter(stack, before);
    metrics["offsiteFirstUploadSeconds"] =
      Math.round((first.lastUpload!.finished.getTime() - before.getTime()) / 100) / 10;
    const archive = first.archives.find((a) => a.baseBackups > 0);
    if (!archive) throw new Error(`the bucket holds no base backup after the first upload: ${JSON.stringify(first)}`);
    const status = await project.script("backup", ["status"], { timeoutSeconds: 120 });
    return `first upload done ${metrics["offsiteFirstUploadSeconds"]} s after setting backup.s3 began (six config commands, then the up): ${(archive.bytes / 1e6).toFixed(1)} MB, ${archive.baseBackups} base backups; npm run backup -- status: ${status.stdout.trim().split("\n").slice(-2).join("; ")}`;
  });
  // A row written now reaches the bucket within an upload interval, in the segment still being written.
  await sql(docker.host, db, "INSERT INTO e2e_pitr(step) VALUES ('s3');");
  await awaitArchived(docker.host, db);
  const archived = new Date();
  await rec.attempt("backup:s3-row-uploaded", async () => {
    const status = await awaitUploadAfter(stack, archived);
    const lag = (status.lastUpload!.finished.getTime() - archived.getTime()) / 1000;
    metrics["offsiteRowUploadedSeconds"] = Math.round(lag * 10) / 10;
    return `the WAL holding the row was in the bucket ${lag.toFixed(1)} s after the backup service had it (uploads every ${UPLOAD_SECONDS} s)`;
  });
  await restoreFromBucket(stack);
  await rec.attempt("backup:s3-retention", () => checkRetention(stack, prefix, secret));
  await rec.attempt("backup:s3-healthy", () => awaitHealthy(stack));
}

/** Sets `backup.s3` (the key under `--secret`) and runs `pulumi up`: only backup-s3 is added; the key stays secret. */
async function enableBucket(stack: BackupStack, prefix: string, secret: string): Promise<void> {
  const { project, ctx } = stack;
  const set = (key: string, value: string, secretValue = false) =>
    project.configSet(`backup.s3.${key}`, value, { path: true, secret: secretValue });
  await set("bucket", S3.bucket);
  await set("prefix", prefix);
  await set("endpoint", `http://${S3.alias}:${S3.port}`);
  await set("accessKeyId", S3.accessKeyId);
  await set("secretAccessKey", secret, true);
  await set("uploadSeconds", String(UPLOAD_SECONDS));
  const up = await project.up("backup-s3-on");
  ctx.rec.step("backup.s3 set", up.steps, up.seconds);
  await ctx.rec.attempt("backup:s3-adds-only-its-container", () => {
    const changed = [...up.steps.created, ...up.steps.replaced, ...up.steps.updated, ...up.steps.deleted];
    const containers = changed.filter((urn) => urn.includes("docker:index/container:Container"));
    const others = [...up.steps.replaced, ...up.steps.deleted];
    if (containers.length !== 1 || !containers[0].endsWith("-backup-s3") || others.length > 0)
      throw new Error(`the update changed ${changed.join(", ")}`);
    return `pulumi up created ${up.steps.created.map((u) => u.split("::").pop()).join(", ")}; nothing replaced or deleted (${up.seconds.toFixed(1)} s)`;
  });
  await ctx.rec.attempt("backup:s3-secret-in-state", async () => {
    const state = await project.exportState(false);
    if (state.includes(secret)) throw new Error("the bucket's secret key is in the state file in plain text");
    if (!(await project.exportState(true)).includes(secret))
      throw new Error("the secret key is not in the state at all");
    return "the bucket's secret access key is in the state only encrypted (found with --show-secrets, not without)";
  });
}

/** `npm run backup -- verify --from s3`, then `npm run restore -- --from s3 --to latest`: the row is back. */
async function restoreFromBucket(stack: BackupStack): Promise<void> {
  const { ctx, project, db, endpoint, user, outputs } = stack;
  const { rec, docker, metrics } = ctx;
  await rec.attempt("backup:s3-verify", async () => {
    const verified = await project.script("backup", ["verify", "--from", "s3", "--yes"], { timeoutSeconds: 1800 });
    metrics["verifySeconds:s3"] = Math.round(verified.seconds * 10) / 10;
    return verified.stdout.trim().split("\n").slice(-3).join("; ");
  });
  await rec.attempt("backup:s3-restore", async () => {
    const restored = await project.script("restore", ["--from", "s3", "--to", "latest", "--yes"], {
      timeoutSeconds: 1800,
    });
    metrics["restoreSeconds:s3"] = Math.round(restored.seconds * 10) / 10;
    if ((await secondsUntilAuthAnswers(endpoint, 120)) === undefined)
      throw new Error("auth did not answer after the restore");
    const rows = await sql(docker.host, db, "SELECT string_agg(step, ',' ORDER BY step) FROM e2e_pitr;");
    if (!rows.split(",").includes("s3")) throw new Error(`after the restore from the bucket, e2e_pitr holds ${rows}`);
    await user.signIn(outputs.anonKey);
    const kept = restored.stdout.match(/kept: (\S+), the copy of the bucket's archive/)?.[1];
    const fetched = restored.stdout.match(/fetched in (\S+) s/)?.[1];
    const recovered = restored.stdout.match(/recovered \(unpacked in (\S+) s, WAL replayed in (\S+) s\)/);
    metrics["offsiteFetchSeconds:restore"] = Number(fetched ?? NaN);
    return (
      `restored from the bucket alone in ${restored.seconds.toFixed(1)} s (fetched in ${fetched} s, unpacked in ` +
      `${recovered?.[1]} s, WAL replayed in ${recovered?.[2]} s): e2e_pitr holds ${rows}; the user signs in; the ` +
      `fetched copy ${kept ?? "(not named)"} is kept`
    );
  });
}

/** Waits (1 s apart, 120 s at most) until Docker reports backup-s3 healthy. */
async function awaitHealthy(stack: BackupStack): Promise<string> {
  const container = stack.layout.names.container("backup-s3");
  const t0 = performance.now();
  const healthy = await poll(
    async () => {
      const state = await dockerRun(stack, ["inspect", "-f", "{{.State.Health.Status}}", container]);
      return state.stdout.trim() === "healthy" ? true : undefined;
    },
    120,
    1000,
  );
  if (!healthy) throw new Error(`${container} was not healthy within 120 s of its restart`);
  return `${container} healthy ${((performance.now() - t0) / 1000).toFixed(1)} s later (its check: the last upload finished within three intervals)`;
}

/**
 * Retention on the bucket: with the backup-s3 service stopped, `offsite.sh prune` with one base backup kept (in a
 * throwaway container with the service's environment) leaves one base backup and no WAL before it; started again,
 * the service's next upload puts back what the volume still keeps (the service keeps seven).
 */
async function checkRetention(stack: BackupStack, prefix: string, secret: string): Promise<string> {
  const container = stack.layout.names.container("backup-s3");
  const { settings } = await layoutOf(stack.project);
  const env = {
    ...offsiteEnv(settings.backup),
    BACKUP_KEEP_COUNT: "1",
    RCLONE_CONFIG_OFFSITE_SECRET_ACCESS_KEY: secret,
  };
  const before = await bucketFiles(stack);
  await dockerRun(stack, ["stop", container]);
  let after: string[];
  try {
    await dockerRun(
      stack,
      [
        "run",
        "--rm",
        "-i",
        "--network",
        stack.layout.names.network,
        ...Object.keys(env).flatMap((n) => ["-e", n]),
        "--entrypoint",
        "sh",
        stack.ctx.images.program.backupS3.ref,
        "-s",
        "prune",
      ],
      { input: OFFSITE_SCRIPT, env },
    );
    // Read while the service is stopped: once started, its first upload puts back what the volume keeps.
    after = await bucketFiles(stack);
  } finally {
    await dockerRun(stack, ["start", container]);
  }
  const bases = (files: string[]) =>
    new Set(files.filter((f) => f.endsWith("/info")).map((f) => f.split("/").slice(0, -1).join("/")));
  if (bases(after).size !== 1)
    throw new Error(`after the prune the bucket holds base backups ${[...bases(after)].join(", ")}`);
  const restarted = new Date();
  const refilled = await awaitUploadAfter(stack, restarted);
  const again = await bucketFiles(stack);
  // At least as many as before: the service may have taken a base backup since (a restore starts a new timeline).
  if (bases(again).size < bases(before).size)
    throw new Error(
      `after the next upload the bucket holds ${bases(again).size} base backups, before the prune ${bases(before).size}`,
    );
  return (
    `under ${prefix}: ${before.length} files and ${bases(before).size} base backups; pruned to keep one: ${after.length} files, ` +
    `1 base backup; the service's next upload (done ${Math.round((refilled.lastUpload!.finished.getTime() - restarted.getTime()) / 1000)} s after its restart) put back what the volume keeps: ${again.length} files`
  );
}
