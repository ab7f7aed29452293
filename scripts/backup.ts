/**
 * `npm run backup -- <status|now|verify>`: the stack's backups. `status` reads the archive and the replication lag,
 * `now` takes a base backup at once, `verify` restores the latest backup into a scratch container next to the stack,
 * checks it and throws the scratch away (exit 1 when the restore or a check fails). A thin shell over lib/backup/.
 */
import { BACKUP_SCRIPT_PATH, chooseBaseBackup } from "../components/services/backup/archive";
import { confirm, parseCommon, runMain, UsageError, type ArchiveSource } from "./lib/backup/cli";
import { archiveSource, fetchFromBucket, offsiteStatus } from "./lib/backup/offsite";
import { offsiteLocation } from "../components/services/backup/offsite";
import { nameStamp, statusReport, verifyPlan } from "./lib/backup/plan";
import { recover, scratchSql, stopScratch } from "./lib/backup/recovery";
import { docker, readStack, type StackFacts } from "./lib/backup/stack";
import { parseStatus } from "../components/services/backup/archive";

const USAGE = `Usage: npm run backup -- <command> [--stack <name>] [--dir <project>] [--yes] [--from volume|s3]
  status   the last base backup, how far WAL is received, the lag, the archive's size, and with backup.s3 what the
           bucket holds and when the last upload finished (exit 1 when not streaming or the copy is not current)
  now      take a base backup now
  verify   restore the latest backup into a scratch container, check it, remove the scratch (exit 1 on failure);
           --from s3 verifies the bucket's copy instead of the volume's
`;

const out = (text: string) => process.stdout.write(`${text}\n`);

/** `docker exec` of the backup service's script as postgres (its environment holds the replication login). */
function inService(facts: StackFacts, command: string, show = false) {
  return docker(facts, ["exec", "-u", "postgres", facts.names.backup, "sh", BACKUP_SCRIPT_PATH, command], {
    timeoutSeconds: 6 * 3600,
    show,
  });
}

async function status(facts: StackFacts): Promise<number> {
  const bucket = facts.settings.backup.s3;
  const offsite = bucket ? { location: offsiteLocation(bucket), status: await offsiteStatus(facts) } : undefined;
  const report = statusReport(parseStatus((await inService(facts, "status")).stdout), new Date(), offsite);
  out(report.text);
  return report.healthy ? 0 : 1;
}

async function now(facts: StackFacts, yes: boolean): Promise<number> {
  out(`Take a base backup of stack ${facts.stack} now (in ${facts.names.backup}); retention applies afterwards.`);
  if (!(await confirm("Go ahead?", yes))) return 1;
  await inService(facts, "base", true);
  // The base backup is taken; the status says whether WAL streams too (a warning here, the exit code of status).
  if ((await status(facts)) !== 0) process.stderr.write("warning: WAL is not streaming (see above)\n");
  return 0;
}

/** What a restored database must show: it opens, every database answers, auth's users are readable. */
async function checks(facts: StackFacts, container: string): Promise<string[]> {
  const found: string[] = [];
  const databases = (
    await scratchSql(facts, container, "SELECT datname FROM pg_database WHERE datallowconn ORDER BY 1;")
  ).split("\n");
  for (const database of databases) {
    const tables = await scratchSql(facts, container, "SELECT count(*) FROM pg_class WHERE relkind = 'r';", database);
    found.push(`database ${database}: ${tables} tables readable`);
  }
  const users = await scratchSql(
    facts,
    container,
    "SELECT CASE WHEN to_regclass('auth.users') IS NULL THEN 'no auth schema' ELSE (SELECT count(*)::text FROM auth.users) END;",
  );
  found.push(`auth.users: ${users}`);
  return found;
}

async function verify(facts: StackFacts, yes: boolean, from: ArchiveSource): Promise<number> {
  const stamp = nameStamp(new Date());
  const volume = `${facts.settings.instanceName}-verify-${stamp}`;
  const container = `${facts.settings.instanceName}-verify-${stamp}`;
  const source = await archiveSource(facts, from, { volume: `${volume}-archive`, kept: false });
  const backup = chooseBaseBackup(source.backups, "latest");
  const fetch = source.fetch;
  out(verifyPlan(backup, volume, container, fetch));
  if (!(await confirm("Go ahead?", yes))) return 1;
  try {
    if (fetch) out(`fetched in ${await fetchFromBucket(facts, backup, fetch.volume, out)} s`);
    const recovered = await recover(facts, backup, "latest", { volume, container, archive: fetch?.volume, log: out });
    for (const line of await checks(facts, container)) out(`  ok ${line}`);
    out(
      `verified: base backup ${backup.stamp} and its WAL restore (unpacked in ${recovered.seconds.unpack} s, recovered in ${recovered.seconds.recover} s)`,
    );
    return 0;
  } catch (error) {
    out(`verification FAILED: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  } finally {
    await stopScratch(facts, container);
    // The scratch volumes are the verification's own; the archive, the bucket and the stack are untouched.
    await docker(facts, ["volume", "rm", volume], { allowFailure: true });
    if (fetch) await docker(facts, ["volume", "rm", fetch.volume], { allowFailure: true });
  }
}

async function main(): Promise<number> {
  const options = parseCommon(process.argv.slice(2), process.cwd());
  const [command, ...rest] = options.positionals;
  if (!["status", "now", "verify"].includes(command ?? "") || rest.length > 0 || options.to !== undefined)
    throw new UsageError(command ? `unknown command ${[command, ...rest].join(" ")}` : "no command");
  if (options.from !== "volume" && command !== "verify") throw new UsageError("--from is for verify only");
  const facts = readStack(options.dir, options.stack, process.env);
  if (!facts.settings.backup.enabled) {
    out(`backups are off in stack ${facts.stack} (backup.enabled: false)`);
    return 1;
  }
  if (command === "status") return status(facts);
  if (command === "now") return now(facts, options.yes);
  return verify(facts, options.yes, options.from);
}

runMain(main, USAGE);
