/**
 * The SQL the `supabase/postgres` image runs once, on an empty data volume: the service roles' passwords, the
 * `_realtime` schema, the JWT database settings, and the `_supabase` database with the pooler's schema. Pure: text
 * in, text out.
 *
 * The image's own init (`migrate.sh`) runs `/docker-entrypoint-initdb.d/init-scripts/*.sql` as `postgres`, then
 * `/docker-entrypoint-initdb.d/migrations/*.sql` as `supabase_admin`, each in name order. Our files go last in the
 * migrations phase (`99-…` sorts after the image's timestamped migrations), because `supabase_functions_admin`
 * only exists once the image's webhooks migration has run.
 */

/** Database roles whose passwords we set, and the container that logs in with each. */
export const SERVICE_DB_ROLES = [
  "authenticator", // rest
  "supabase_auth_admin", // auth
  "supabase_storage_admin", // storage
  // Unused here (the edge functions connect as postgres, as upstream's do); given a password so it is not left at
  // the image default.
  "supabase_functions_admin",
  "pgbouncer", // the pooler's auth query
] as const;
export type ServiceDbRole = (typeof SERVICE_DB_ROLES)[number];

/** The directory the image's `migrate.sh` runs as `supabase_admin` after its own migrations. */
export const MIGRATIONS_DIR = "/docker-entrypoint-initdb.d/migrations";

/** One file to place in the db container before it first starts. */
export interface InitFile {
  /** Absolute path inside the container. */
  file: string;
  content: string;
  /** True when the text holds a secret (a password). */
  secret: boolean;
}

/** The superuser roles the image's own init gives `POSTGRES_PASSWORD`. */
export const SUPERUSER_DB_ROLES = ["supabase_admin", "postgres"] as const;

/** What the init SQL is made from. */
export interface DbInitInput {
  /** A password per service role (generated, or all `postgresPassword`; secret). */
  rolePasswords: Record<ServiceDbRole, string>;
  /**
   * With `postgresPassword`, the superuser's password too, so the roles file sets every role the program logs in
   * with and can be run again on a kept data directory (`psql -f`) to make it match the stack.
   */
  superuserPassword?: string;
  /** User access-token lifetime in seconds (`app.settings.jwt_exp`). */
  jwtExpiry: number;
}

/** A SQL string literal. Doubling quotes is the whole escape with standard_conforming_strings (on since PG 9.1). */
export function sqlLiteral(value: string): string {
  if (/[\u0000\r\n]/.test(value)) throw new Error("a SQL literal here may not contain NUL or line breaks");
  return `'${value.replace(/'/g, "''")}'`;
}

/**
 * `ALTER ROLE … PASSWORD` for every service role: each its own generated password, or all `postgresPassword` (as
 * upstream's `roles.sql` does), then the superusers when their password is given.
 */
export function rolesSql(rolePasswords: Record<ServiceDbRole, string>, superuserPassword?: string): string {
  const alter = (role: string, password: unknown, minLength: number) => {
    if (typeof password !== "string" || password.length < minLength) {
      throw new Error(`the password for database role ${role} must be at least ${minLength} characters`);
    }
    return `ALTER ROLE ${role} WITH PASSWORD ${sqlLiteral(password)};`;
  };
  // An adopted deployment's password is whatever it was; a generated one is long.
  const minLength = superuserPassword === undefined ? 16 : 1;
  const lines = SERVICE_DB_ROLES.map((role) => alter(role, rolePasswords[role], minLength));
  if (superuserPassword !== undefined)
    lines.push(...SUPERUSER_DB_ROLES.map((role) => alter(role, superuserPassword, 1)));
  return ["-- Service role passwords (written by the supabase-selfhosted Pulumi program).", ...lines, ""].join("\n");
}

/**
 * The schema realtime keeps its tenants in. Realtime connects as `supabase_admin` with
 * `SET search_path TO _realtime` and creates its tables there itself.
 */
export function realtimeSql(): string {
  return [
    "-- Realtime's own schema (its migrations create the tables).",
    "CREATE SCHEMA IF NOT EXISTS _realtime;",
    "ALTER SCHEMA _realtime OWNER TO supabase_admin;",
    "",
  ].join("\n");
}

/**
 * Database-level JWT settings for SQL that reads them. Only the expiry: the HS256 secret is exposed to SQL nowhere
 * (see `rest.ts`), so no database-wide setting hands it to every role.
 */
export function jwtSql(jwtExpiry: number): string {
  if (!Number.isInteger(jwtExpiry) || jwtExpiry <= 0) throw new Error("jwtExpiry must be a positive integer");
  return [
    "-- JWT settings readable with current_setting('app.settings.jwt_exp').",
    `ALTER DATABASE postgres SET "app.settings.jwt_exp" TO ${sqlLiteral(String(jwtExpiry))};`,
    "",
  ].join("\n");
}

/** The database Supabase's own services keep their data in, apart from the users' `postgres` database. */
export const SUPABASE_INTERNAL_DATABASE = "_supabase";

/**
 * The internal database, owned by the superuser the migrations run as. `CREATE DATABASE` cannot run in a
 * transaction; the image runs each file with plain psql, statement by statement.
 */
export function internalDatabaseSql(): string {
  return [
    "-- The database of Supabase's own services (the pooler's tenants), apart from the users' data.",
    `CREATE DATABASE ${SUPABASE_INTERNAL_DATABASE} WITH OWNER supabase_admin;`,
    "",
  ].join("\n");
}

/** The schema supavisor keeps its tenants in, inside the internal database (psql's `\connect` switches to it). */
export function poolerSql(): string {
  return [
    "-- The pooler's schema (its migrations create the tables).",
    `\\connect ${SUPABASE_INTERNAL_DATABASE}`,
    "CREATE SCHEMA IF NOT EXISTS _supavisor;",
    "ALTER SCHEMA _supavisor OWNER TO supabase_admin;",
    "",
  ].join("\n");
}

/**
 * Every init file for the db container, in the order the image runs them. The pooler's files are shipped whether or
 * not it runs, so turning it on or off never touches the db container.
 */
export function dbInitFiles(input: DbInitInput): InitFile[] {
  return [
    { file: `${MIGRATIONS_DIR}/97-supabase-internal.sql`, content: internalDatabaseSql(), secret: false },
    { file: `${MIGRATIONS_DIR}/99-jwt.sql`, content: jwtSql(input.jwtExpiry), secret: false },
    { file: `${MIGRATIONS_DIR}/99-pooler.sql`, content: poolerSql(), secret: false },
    { file: `${MIGRATIONS_DIR}/99-realtime.sql`, content: realtimeSql(), secret: false },
    {
      file: `${MIGRATIONS_DIR}/99-roles.sql`,
      content: rolesSql(input.rolePasswords, input.superuserPassword),
      secret: true,
    },
  ];
}
