/**
 * SQL in the db container through its own `psql`, as postgres over the local socket or as a service's login over
 * TCP.
 */
import { run } from "../../core/proc";
import { dockerEnv } from "./engine";

/** SQL through `psql` in a container with these connection flags, rows as tab-separated text. */
async function runPsql(
  host: string,
  container: string,
  connection: string[],
  sql: string,
  password?: string,
): Promise<string> {
  const r = await run(
    "docker",
    [
      "exec",
      "-i",
      ...(password === undefined ? [] : ["-e", "PGPASSWORD"]),
      container,
      "psql",
      "-X",
      "-q",
      "-At",
      "-v",
      "ON_ERROR_STOP=1",
      ...connection,
    ],
    {
      env: { ...dockerEnv(host), ...(password === undefined ? {} : { PGPASSWORD: password }) },
      input: sql,
      timeoutSeconds: 60,
    },
  );
  return r.stdout.trim();
}

/** SQL through `psql` inside the db container as postgres (local socket), rows as tab-separated text. */
export function psql(host: string, container: string, sql: string): Promise<string> {
  return runPsql(host, container, ["-U", "postgres", "-d", "postgres"], sql);
}

/**
 * SQL through `psql` inside the db container, logged in over TCP to the host a service uses (the db's own network
 * alias, so the server checks the password as it does for that service: scram-sha-256, not the local trust rule).
 * The password travels in `PGPASSWORD`, never in the process list.
 */
export function psqlAs(
  host: string,
  container: string,
  login: { host: string; port: number; user: string; password: string; database: string },
  sql: string,
): Promise<string> {
  const connection = ["-h", login.host, "-p", String(login.port), "-U", login.user, "-d", login.database];
  return runPsql(host, container, connection, sql, login.password);
}
