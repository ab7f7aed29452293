/**
 * The database judged by the real Postgres: a row written at S0 outlives every update, `pulumi destroy` and a fresh
 * `pulumi up` on the kept volumes; the pooler's logins work with what the pooler container receives.
 */
import type { Recorder } from "../core/report";
import { psql, psqlAs } from "../engines/docker/psql";
import type { Deployment, Layout } from "./deployment";

/** What S0 writes and every later check reads back. */
const MARKER = "written at S0";

/** Writes the marker row at S0 (a check of its own: the real Postgres takes the write). */
export async function checkMarkerWritten(
  rec: Recorder,
  host: string,
  checkName: string,
  layout: Layout,
): Promise<void> {
  await rec.attempt(checkName, async () => {
    await psql(
      host,
      layout.names.container("db"),
      `CREATE TABLE e2e_marker(note text); INSERT INTO e2e_marker VALUES ('${MARKER}');`,
    );
    return "e2e_marker row inserted";
  });
}

/** The marker row is still there after the updates. */
export async function checkMarkerKept(rec: Recorder, host: string, checkName: string, layout: Layout): Promise<void> {
  await rec.attempt(
    checkName,
    async () => `e2e_marker: ${await psql(host, layout.names.container("db"), "SELECT note FROM e2e_marker;")}`,
  );
}

/** The marker row is there, with its text, after `pulumi destroy` and a fresh `pulumi up` on the kept volumes. */
export async function checkMarkerAfterRecreate(
  rec: Recorder,
  host: string,
  checkName: string,
  layout: Layout,
): Promise<void> {
  await rec.attempt(checkName, async () => {
    const note = await psql(host, layout.names.container("db"), "SELECT note FROM e2e_marker;");
    if (note !== MARKER) throw new Error(`e2e_marker holds ${JSON.stringify(note)}`);
    return `the row written at S0 is there after destroy and a fresh up: ${note}`;
  });
}

/**
 * The database side of the pooler, judged by the real Postgres with what the pooler container receives (supavisor
 * itself is a stand-in in the suite): its `DATABASE_URL` logs in to the internal database, where the init SQL made
 * the `_supavisor` schema; the `pgbouncer` role its tenant is registered with logs in with
 * `POOLER_PGBOUNCER_PASSWORD`.
 */
export async function checkPoolerLogins(
  rec: Recorder,
  host: string,
  checkName: string,
  { containers, layout }: Deployment,
): Promise<void> {
  await rec.attempt(checkName, () => poolerLogins(host, layout, containers[layout.names.container("pooler")]?.env));
}

/** Logs in as the pooler's two logins; what each found, or why it failed. */
async function poolerLogins(host: string, layout: Layout, env: Record<string, string> | undefined): Promise<string> {
  if (!env) throw new Error(`container ${layout.names.container("pooler")} does not exist`);
  const metadata = new URL(env.DATABASE_URL.replace(/^ecto:/, "postgres:"));
  const owner = await psqlAs(
    host,
    layout.names.container("db"),
    {
      host: metadata.hostname,
      port: Number(metadata.port),
      user: decodeURIComponent(metadata.username),
      password: decodeURIComponent(metadata.password),
      database: metadata.pathname.slice(1),
    },
    "SELECT nspowner::regrole FROM pg_namespace WHERE nspname = '_supavisor';",
  );
  if (owner !== "supabase_admin") throw new Error(`_supavisor in ${metadata.pathname.slice(1)}: owner "${owner}"`);
  const user = await psqlAs(
    host,
    layout.names.container("db"),
    {
      host: env.POSTGRES_HOST,
      port: Number(env.POSTGRES_PORT),
      user: "pgbouncer",
      password: env.POOLER_PGBOUNCER_PASSWORD,
      database: env.POSTGRES_DB,
    },
    "SELECT current_user;",
  );
  if (user !== "pgbouncer") throw new Error(`logged in as "${user}", not pgbouncer`);
  return (
    `DATABASE_URL logs in to ${metadata.pathname.slice(1)} as ${decodeURIComponent(metadata.username)}, where ` +
    `_supavisor is owned by ${owner}; pgbouncer logs in to ${env.POSTGRES_DB} over TCP with its own password`
  );
}
