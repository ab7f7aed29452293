/**
 * `npm run restore -- --to <ISO time | latest>`: restores the stack's database from its backups into a new volume,
 * stops the services, switches db to the new volume through the stack config (`database.dataVolume`) and `pulumi
 * up`, so Pulumi's state says where the data is, and starts the services again. Nothing is deleted: the volume db
 * used before is kept, and setting `database.dataVolume` back to it is the way back.
 */
import { chooseBaseBackup, parseRestoreTarget } from "../components/services/backup/archive";
import { confirm, parseCommon, runMain, UsageError } from "./lib/backup/cli";
import { fetchedArchiveName, nameStamp, restorePlan, restoredVolumeName } from "./lib/backup/plan";
import { archiveSource, fetchFromBucket } from "./lib/backup/offsite";
import { recover, stopScratch } from "./lib/backup/recovery";
import { docker, pulumi, readStack, type StackFacts } from "./lib/backup/stack";

const USAGE = `Usage: npm run restore -- --to <ISO time with zone | latest> [--from volume|s3] [--stack <name>] [--dir <project>] [--yes]
  e.g. --to 2026-01-01T12:00:00Z: the database as it was at that moment (the last commit before it)
  --from s3: from the bucket of backup.s3 (copied into a new volume first, which is kept), when the backups volume
             is lost or damaged
`;

const out = (text: string) => process.stdout.write(`${text}\n`);

/** Stops the stack's containers but the backup service, last started first; returns those it stopped. */
async function stopServices(facts: StackFacts): Promise<string[]> {
  const stopping = facts.names.containers.filter((c) => c !== facts.names.backup).reverse();
  for (const container of stopping) {
    out(`stopping ${container}`);
    await docker(facts, ["stop", "-t", "60", container], { timeoutSeconds: 120, allowFailure: true });
  }
  return stopping.reverse();
}

async function main(): Promise<number> {
  const options = parseCommon(process.argv.slice(2), process.cwd());
  if (options.positionals.length > 0) throw new UsageError(`unexpected ${options.positionals.join(" ")}`);
  if (options.to === undefined) throw new UsageError("--to is required");
  const target = (() => {
    try {
      return parseRestoreTarget(options.to);
    } catch (error) {
      throw new UsageError(error instanceof Error ? error.message : String(error));
    }
  })();
  const t0 = performance.now();
  const facts = readStack(options.dir, options.stack, process.env);
  const { backups, fetch } = await archiveSource(facts, options.from, {
    volume: fetchedArchiveName(facts.settings.instanceName, new Date()),
    kept: true,
  });
  const backup = chooseBaseBackup(backups, target);
  const volume = restoredVolumeName(facts.settings.instanceName, new Date());
  const containers = facts.names.containers.filter((c) => c !== facts.names.backup);
  out(
    restorePlan({
      stack: facts.stack,
      target,
      backup,
      currentVolume: facts.names.dataVolume,
      newVolume: volume,
      containers,
      fetch,
    }),
  );
  if (!(await confirm("Restore?", options.yes))) return 1;
  const scratch = `${facts.settings.instanceName}-restore-${nameStamp(new Date())}`;
  try {
    if (fetch) out(`fetched in ${await fetchFromBucket(facts, backup, fetch.volume, out)} s`);
    const recovered = await recover(facts, backup, target, {
      volume,
      container: scratch,
      archive: fetch?.volume,
      log: out,
    });
    out(`recovered (unpacked in ${recovered.seconds.unpack} s, WAL replayed in ${recovered.seconds.recover} s)`);
  } finally {
    await stopScratch(facts, scratch);
  }
  const stopped = await stopServices(facts);
  await pulumi(facts, ["config", "set", "--path", "database.dataVolume", volume], 120);
  out("pulumi up: db is recreated on the restored volume");
  await pulumi(facts, ["up", "--yes", "--skip-preview"]);
  for (const container of stopped) {
    await docker(facts, ["start", container], { timeoutSeconds: 120 });
  }
  const seconds = Math.round((performance.now() - t0) / 100) / 10;
  out(
    `restored to ${target === "latest" ? "the latest archived moment" : target.toISOString()} in ${seconds} s; db runs on ${volume}`,
  );
  if (fetch)
    out(`kept: ${fetch.volume}, the copy of the bucket's archive this restore read (docker volume rm it when done)`);
  out(
    `kept: ${facts.names.dataVolume} (to go back: npm run pulumi -- config set --path database.dataVolume ${facts.names.dataVolume} --stack ${facts.stack}, then pulumi up)`,
  );
  return 0;
}

runMain(main, USAGE);
