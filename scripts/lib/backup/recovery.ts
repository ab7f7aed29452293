/**
 * A restore from the backup archive into a volume of its own, in a scratch container next to the stack: the base
 * backup unpacked, Postgres recovering with the archived WAL up to the target and promoting, no network at all. Both
 * `npm run backup -- verify` (then checks and throws the scratch away) and `npm run restore` (then switches db to
 * the volume) start with it. It reads the backups volume and db's config volume read-only and touches nothing else.
 */
import {
  BACKUP_ROOT,
  parseBaseBackups,
  PGDATA,
  recoverySettings,
  unpackCommands,
  type BaseBackup,
  type RestoreTarget,
} from "../../../components/services/backup/archive";
import { BACKUP_SCRIPT } from "../../../components/services/backup/backup";
import { DB_CONFIG_FILE } from "../../../components/services/db/db";
import { RETAIN_LABEL } from "../../../components/targets/docker/naming";
import { docker, type StackFacts } from "./stack";

/**
 * The base backups in the archive, oldest first (read in a throwaway container: the backup service may be down).
 * @param archive the volume holding the archive: the stack's backups volume, or a copy fetched from the bucket
 */
export async function listBaseBackups(facts: StackFacts, archive = facts.names.backups): Promise<BaseBackup[]> {
  const { stdout } = await docker(
    facts,
    [
      "run",
      "--rm",
      "-i",
      "--network",
      "none",
      "-v",
      `${archive}:${BACKUP_ROOT}:ro`,
      "--entrypoint",
      "sh",
      facts.image,
      "-s",
      "list",
    ],
    { input: BACKUP_SCRIPT, timeoutSeconds: 120 },
  );
  return parseBaseBackups(stdout);
}

/** A recovered copy of the database, running in its scratch container. */
export interface Recovered {
  container: string;
  volume: string;
  backup: BaseBackup;
  /** Seconds the unpacking and the recovery took. */
  seconds: { unpack: number; recover: number };
}

/** Seconds since `t0`, to a tenth. */
const since = (t0: number) => Math.round((performance.now() - t0) / 100) / 10;

/**
 * Unpacks `backup` into the new volume `volume` (created with the retained-volume label, so the program may adopt it)
 * and recovers it to `target` in the container `container`; resolves once Postgres has promoted.
 * @param archive the volume holding the archive (default: the stack's backups volume)
 * @param waitSeconds how long recovery may take at most
 */
export async function recover(
  facts: StackFacts,
  backup: BaseBackup,
  target: RestoreTarget,
  {
    volume,
    container,
    archive = facts.names.backups,
    waitSeconds = 3600,
    log,
  }: { volume: string; container: string; archive?: string; waitSeconds?: number; log: (t: string) => void },
): Promise<Recovered> {
  await docker(facts, ["volume", "create", "--label", `${RETAIN_LABEL}=true`, volume]);
  const t0 = performance.now();
  log(`unpacking base backup ${backup.stamp} into ${volume}`);
  await docker(
    facts,
    [
      "run",
      "--rm",
      "--network",
      "none",
      "-v",
      `${archive}:${BACKUP_ROOT}:ro`,
      "-v",
      `${volume}:${PGDATA}`,
      "--entrypoint",
      "sh",
      facts.image,
      "-c",
      unpackCommands(backup),
    ],
    { timeoutSeconds: waitSeconds },
  );
  const unpack = since(t0);
  const t1 = performance.now();
  log(`recovering to ${target === "latest" ? "the end of the archived WAL" : target.toISOString()} in ${container}`);
  await docker(facts, [
    "run",
    "-d",
    "--name",
    container,
    "--network",
    "none",
    "--user",
    "postgres",
    "-v",
    `${volume}:${PGDATA}`,
    "-v",
    `${archive}:${BACKUP_ROOT}:ro`,
    "-v",
    `${facts.names.dbConfig}:/etc/postgresql-custom:ro`,
    "--entrypoint",
    "postgres",
    facts.image,
    "-c",
    `config_file=${DB_CONFIG_FILE}`,
    "-c",
    "listen_addresses=127.0.0.1",
    ...recoverySettings(backup.system, target),
  ]);
  await awaitPromoted(facts, container, waitSeconds);
  return { container, volume, backup, seconds: { unpack, recover: since(t1) } };
}

/** Waits (2 s apart, `waitSeconds` at most) until the scratch Postgres has left recovery; throws with its log if it stops. */
async function awaitPromoted(facts: StackFacts, container: string, waitSeconds: number): Promise<void> {
  for (let waited = 0; waited < waitSeconds; waited += 2) {
    const state = await docker(facts, ["inspect", "-f", "{{.State.Running}}", container], { allowFailure: true });
    if (state.stdout.trim() !== "true") {
      const logs = await docker(facts, ["logs", "--tail", "20", container], { allowFailure: true });
      throw new Error(`recovery stopped before the database opened:\n${logs.stdout}${logs.stderr}`);
    }
    const answer = await scratchSql(facts, container, "SELECT pg_is_in_recovery();").catch(() => "");
    if (answer === "f") return;
    await new Promise((resolve) => setTimeout(resolve, 2000));
  }
  throw new Error(`recovery did not finish within ${waitSeconds} s`);
}

/**
 * SQL in the scratch container, as the superuser over its loopback (the image's pg_hba.conf trusts 127.0.0.1, and
 * nothing else can reach it: the container has no network).
 */
export async function scratchSql(
  facts: StackFacts,
  container: string,
  sql: string,
  database = "postgres",
): Promise<string> {
  const { stdout } = await docker(
    facts,
    [
      "exec",
      "-i",
      container,
      "psql",
      "-X",
      "-q",
      "-At",
      "-v",
      "ON_ERROR_STOP=1",
      "-h",
      "127.0.0.1",
      "-U",
      "supabase_admin",
      "-d",
      database,
    ],
    { input: sql, timeoutSeconds: 300 },
  );
  return stdout.trim();
}

/** Stops the scratch Postgres cleanly (a shutdown checkpoint, so db starts without recovery) and removes it. */
export async function stopScratch(facts: StackFacts, container: string): Promise<void> {
  await docker(
    facts,
    ["exec", "-u", "postgres", container, "pg_ctl", "-D", PGDATA, "stop", "-m", "fast", "-w", "-t", "300"],
    {
      timeoutSeconds: 360,
      allowFailure: true,
    },
  );
  await docker(facts, ["rm", "-f", container], { allowFailure: true });
}
