#!/bin/sh
# First start on an empty data volume: initdb, our bootstrap roles, then /docker-entrypoint-initdb.d in the
# order supabase/postgres runs it (init-scripts/*.sql as postgres, migrations/*.sql as supabase_admin, each in
# name order), on a server that listens on the socket only. Later starts only run postgres.
set -eu
: "${POSTGRES_PASSWORD:?POSTGRES_PASSWORD must be set}"
as_postgres() { setpriv --reuid=postgres --regid=postgres --init-groups "$@"; }

mkdir -p "$PGDATA" /var/run/postgresql /etc/postgresql-custom
chown -R postgres:postgres "$PGDATA" /var/run/postgresql /etc/postgresql-custom
chmod 700 "$PGDATA"

if [ ! -s "$PGDATA/PG_VERSION" ]; then
  echo "supabase-e2e-db: empty data directory, initializing"
  pwfile=$(mktemp); printf '%s\n' "$POSTGRES_PASSWORD" > "$pwfile"; chown postgres "$pwfile"
  as_postgres initdb --username=postgres --pwfile="$pwfile" --auth-local=trust --auth-host=scram-sha-256 \
    --encoding=UTF8 --locale=C.UTF-8 -D "$PGDATA" >/dev/null
  rm -f "$pwfile"
  as_postgres pg_ctl -D "$PGDATA" -o "-c config_file=/etc/postgresql/postgresql.conf -c listen_addresses=''" \
    -w -t 60 start >/dev/null
  psql_as() { user=$1; shift; as_postgres psql -X -q -v ON_ERROR_STOP=1 -h /var/run/postgresql -U "$user" -d postgres "$@"; }
  psql_as postgres -f /usr/local/share/supabase-e2e/bootstrap.sql
  # psql quotes the password itself (:'pw'); variables are only interpolated in scripts, hence stdin.
  echo "ALTER ROLE supabase_admin WITH PASSWORD :'pw';" | psql_as postgres -v pw="$POSTGRES_PASSWORD"
  for f in /docker-entrypoint-initdb.d/init-scripts/*.sql; do [ -e "$f" ] || continue; echo "  init-scripts: $f"; psql_as postgres -f "$f"; done
  for f in /docker-entrypoint-initdb.d/migrations/*.sql; do [ -e "$f" ] || continue; echo "  migrations: $f"; psql_as supabase_admin -f "$f"; done
  as_postgres pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null
  echo "supabase-e2e-db: initialized"
fi

if [ "${1:-}" = "postgres" ]; then exec setpriv --reuid=postgres --regid=postgres --init-groups "$@"; fi
exec "$@"
