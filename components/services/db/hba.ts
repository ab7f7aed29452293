/**
 * db's client authentication: the image's own `pg_hba.conf` (supabase/postgres ships it at
 * `/etc/postgresql/pg_hba.conf`, from ansible/files/postgresql_config/pg_hba.conf.j2) has no `replication` line, and
 * `all` does not match replication connections, so the backup service could not stream WAL. The program ships a
 * file of its own that allows the backup role's replication logins (password, SCRAM) and then includes the image's
 * file unchanged, so every other rule stays what the image says. `include` in pg_hba.conf is PostgreSQL 16 or later
 * (postgres/postgres doc/src/sgml/client-auth.sgml); the pinned image is 17. Pure.
 */
import { BACKUP_ROLE } from "../backup/archive";

/** The image's own rules, included after ours. */
export const IMAGE_HBA_FILE = "/etc/postgresql/pg_hba.conf";

/** Where the program's file goes; db is started with `hba_file` pointing at it. */
export const HBA_FILE = "/etc/postgresql/pg_hba.supabase-selfhosted.conf";

/**
 * The program's pg_hba.conf: replication for the backup role from any address (db is reachable only on the stack
 * network unless `database.publish` says otherwise; the role's password is generated), then the image's rules. The
 * lines are the same whether or not backups run, so turning them on or off never touches db.
 */
export function hbaFile(): string {
  return [
    "# Written by the supabase-selfhosted program: the backup service's replication logins, then the image's rules.",
    `host replication ${BACKUP_ROLE} 0.0.0.0/0 scram-sha-256`,
    `host replication ${BACKUP_ROLE} ::/0 scram-sha-256`,
    `include ${IMAGE_HBA_FILE}`,
    "",
  ].join("\n");
}
