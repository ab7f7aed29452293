/** What `npm run backup` and `npm run restore` share as command lines: their options and the confirmation. */
import * as readline from "node:readline/promises";
import { parseArgs } from "node:util";

/** The options both commands take. */
export interface CommonOptions {
  stack?: string;
  /** The project directory (Pulumi.yaml). */
  dir: string;
  yes: boolean;
  positionals: string[];
  to?: string;
  /** Where a restore or verification reads the archive: the backups volume, or the bucket of `backup.s3`. */
  from: ArchiveSource;
}

/** Where the archive is read from (`--from`). */
export const ARCHIVE_SOURCES = ["volume", "s3"] as const;
export type ArchiveSource = (typeof ARCHIVE_SOURCES)[number];

/** Thrown for a wrong command line (exit 2). */
export class UsageError extends Error {}

/** Parses `--stack`, `--dir`, `--yes` (and `--to`, `--from`), refusing anything else. */
export function parseCommon(argv: string[], cwd: string): CommonOptions {
  try {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        stack: { type: "string" },
        dir: { type: "string" },
        yes: { type: "boolean", default: false },
        to: { type: "string" },
        from: { type: "string", default: "volume" },
      },
    });
    const from = values.from ?? "volume";
    if (!(ARCHIVE_SOURCES as readonly string[]).includes(from))
      throw new UsageError(`--from must be ${ARCHIVE_SOURCES.join(" or ")}, got ${from}`);
    return {
      stack: values.stack,
      dir: values.dir ?? cwd,
      yes: values.yes ?? false,
      positionals,
      to: values.to,
      from: from as ArchiveSource,
    };
  } catch (error) {
    if (error instanceof UsageError) throw error;
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
}

/**
 * Asks `question` on the terminal; true for y/yes. Without `--yes` and without a terminal to ask on, refuses (a
 * restore is never started by a script that did not say so).
 */
export async function confirm(question: string, yes: boolean): Promise<boolean> {
  if (yes) return true;
  if (!process.stdin.isTTY) {
    process.stderr.write("no terminal to ask on: pass --yes to go ahead\n");
    return false;
  }
  const rl = readline.createInterface({ input: process.stdin, output: process.stdout });
  try {
    return /^y(es)?$/i.test((await rl.question(`${question} [y/N] `)).trim());
  } finally {
    rl.close();
  }
}

/** Runs a command's main: exit 0 done, 1 refused or failed, 2 wrong usage. */
export function runMain(main: () => Promise<number>, usage: string): void {
  main().then(
    (code) => (process.exitCode = code),
    (error: unknown) => {
      if (error instanceof UsageError) {
        process.stderr.write(`${error.message}\n\n${usage}`);
        process.exitCode = 2;
      } else {
        process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
        process.exitCode = 1;
      }
    },
  );
}
