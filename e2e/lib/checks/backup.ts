/**
 * What the backup and fault checks share: a user of the real auth server who signs in before and after, SQL in db,
 * waiting (bounded) until the backup service streams and has archived a given WAL position, and auth answering.
 */
import { randomBytes } from "node:crypto";
import { poll } from "../core/proc";
import { psql } from "../engines/docker/psql";
import type { PulumiProject } from "../engines/pulumi/project";
import { expectStatus, type AuthEndpoint } from "./auth/endpoint";

/** A user of the real auth server, created with the service_role key. */
export class TestUser {
  readonly email = `e2e-backup-${Date.now()}@example.com`;
  private readonly password = `pw-${randomBytes(9).toString("base64url")}-E2e!`;

  constructor(private readonly endpoint: AuthEndpoint) {}

  /** Creates the user (`POST /admin/users` with the service_role key); returns its id. */
  async create(serviceRoleKey: string): Promise<string> {
    await this.endpoint.start();
    if (!(await this.endpoint.awaitHealthy())) throw new Error("auth did not answer /health within 90 s");
    const answer = await this.endpoint.request("POST", "/admin/users", {
      token: serviceRoleKey,
      apikey: serviceRoleKey,
      body: { email: this.email, password: this.password, email_confirm: true },
    });
    return String(expectStatus(answer, 200, "POST /admin/users").body.id);
  }

  /** Signs in with the password; the session's tokens. */
  async signIn(anonKey: string): Promise<{ accessToken: string; refreshToken: string }> {
    const answer = expectStatus(
      await this.endpoint.request("POST", "/token?grant_type=password", {
        token: anonKey,
        apikey: anonKey,
        body: { email: this.email, password: this.password },
      }),
      200,
      `password sign-in of ${this.email}`,
    );
    return { accessToken: String(answer.body.access_token), refreshToken: String(answer.body.refresh_token) };
  }

  /** `GET /user` with a token: auth's status. */
  async userStatus(accessToken: string, anonKey: string): Promise<number> {
    return (await this.endpoint.request("GET", "/user", { token: accessToken, apikey: anonKey })).status;
  }
}

/** SQL in db as postgres; rows as tab-separated text. */
export const sql = (host: string, db: string, text: string): Promise<string> => psql(host, db, text);

/** db's clock now, as an ISO time with microseconds and a zone. */
export const dbNow = (host: string, db: string): Promise<string> =>
  sql(host, db, `SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"');`);

/**
 * Runs `npm run backup -- status` (a few seconds each: it reads the stack's config with Pulumi) until it says WAL
 * streams and a base backup exists, 2 s apart, for `seconds` at most.
 */
export async function awaitStreaming(project: PulumiProject, seconds: number): Promise<string> {
  const deadline = performance.now() + seconds * 1000;
  let last = "";
  while (performance.now() < deadline) {
    const status = await project.script("backup", ["status"], { allowFailure: true, timeoutSeconds: 60 });
    last = status.stdout + status.stderr;
    if (status.status === 0) return last;
    await new Promise((resolve) => setTimeout(resolve, 2000));
  }
  throw new Error(`npm run backup -- status did not report streaming within ${seconds} s:\n${last}`);
}

/**
 * Waits (every 0.5 s, `seconds` at most) until the backup service has flushed WAL up to db's position now; returns
 * the greatest lag seen in bytes.
 */
export async function awaitArchived(host: string, db: string, seconds = 60): Promise<number> {
  const target = await sql(host, db, "SELECT pg_current_wal_lsn();");
  let maxLag = 0;
  const done = await poll(
    async () => {
      const row = await sql(
        host,
        db,
        `SELECT coalesce(flush_lsn >= '${target}', false), coalesce(pg_wal_lsn_diff(pg_current_wal_lsn(), flush_lsn), -1)
           FROM pg_stat_replication WHERE application_name = 'supabase-backup';`,
      );
      const [flushed, lag] = row.split("|");
      maxLag = Math.max(maxLag, Number(lag) || 0);
      return flushed === "t" ? true : undefined;
    },
    seconds * 2,
    500,
  );
  if (!done) throw new Error(`the backup service did not flush WAL up to ${target} within ${seconds} s`);
  return maxLag;
}

/** Seconds (to a tenth) until auth answers `/health` 200, polled every 0.25 s for `seconds` at most; undefined if never. */
export async function secondsUntilAuthAnswers(endpoint: AuthEndpoint, seconds: number): Promise<number | undefined> {
  const t0 = performance.now();
  const ok = await poll(
    async () => ((await endpoint.request("GET", "/health")).status === 200 ? true : undefined),
    seconds * 4,
    250,
  );
  return ok ? Math.round((performance.now() - t0) / 100) / 10 : undefined;
}
