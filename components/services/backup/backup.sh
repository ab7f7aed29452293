#!/bin/sh
# The backup service of the supabase-selfhosted program. It runs in the db image (only that image's own tools:
# psql, pg_receivewal, pg_basebackup, pg_archivecleanup, tar) and keeps, on its volume, per database cluster
# (system identifier) and timeline:
#   <root>/<system id>/wal/<timeline>/   every WAL segment, streamed continuously by pg_receivewal from a replication
#                                        slot (the segment being written ends in .partial)
#   <root>/<system id>/base/<stamp>/     base backups by pg_basebackup (base.tar.gz, pg_wal.tar.gz, backup_manifest)
#                                        and `info` (start WAL file, timeline, when it finished)
#   <root>/<system id>/config/           a copy of db's pgsodium root key (vault secrets are unreadable without it)
# A restore or a new data volume gives a new timeline or system id, so streaming starts afresh in an empty
# directory; nothing of an earlier one is touched. Only retention deletes: base backups beyond the configured count
# and age, and the WAL older than the oldest base backup kept.
#
# Subcommands: run (the service; starts as root, then works as postgres), base (a base backup now), receive (one
# streaming session, until the connection ends), status, list (base backups, one `key=value ...` line each), prune
# (retention now, for every cluster), health (exit 0 while WAL is being received).
set -eu

ROOT=${BACKUP_ROOT:-/backups}
SLOT=${BACKUP_SLOT:-supabase_backup}
ROLE=${BACKUP_ROLE:-supabase_backup}
STATE=${BACKUP_STATE_DIR:-/tmp/supabase-backup}
CONNINFO="host=${PGHOST:-db} port=${PGPORT:-5432} user=${ROLE} application_name=supabase-backup"

log() { echo "supabase-backup: $*" >&2; }

# The cluster's system identifier and current timeline (IDENTIFY_SYSTEM on a replication connection), printed as
# two words; fails (printing nothing) while the database cannot be reached, so callers never work on a half answer.
identify() {
  answer=$(psql -X -A -t -F ' ' -d "${CONNINFO} replication=true" -c "IDENTIFY_SYSTEM" 2>/dev/null | awk 'NR==1 {print $1, $2}')
  case "${answer}" in
  [0-9]*" "[0-9]*) echo "${answer}" ;;
  *) return 1 ;;
  esac
}

# Where the cluster with system id $1 keeps its archive.
cluster_dir() { echo "${ROOT}/$1"; }

# A timeline as WAL file names spell it (8 hex digits).
timeline_hex() { printf '%08X' "$1"; }

# The base backups of a cluster directory, oldest first (their directory names are UTC timestamps).
base_backups() { ls -1 "$1/base" 2>/dev/null | grep -E '^[0-9]{8}T[0-9]{6}Z$' | sort || true; }

# Creates the replication role (or sets its password and rights) as the superuser, so a database created before
# backups were turned on gets it too; the superuser's password is not kept in any process after this.
ensure_role() {
  PGPASSWORD="${SUPABASE_ADMIN_PASSWORD:?}" psql -X -q -v ON_ERROR_STOP=1 -v pw="${PGPASSWORD:?}" \
    -d "host=${PGHOST:-db} port=${PGPORT:-5432} user=supabase_admin dbname=postgres" <<SQL
SELECT format('CREATE ROLE %I', '${ROLE}') WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '${ROLE}') \gexec
ALTER ROLE ${ROLE} WITH LOGIN REPLICATION PASSWORD :'pw';
SQL
}

# Creates the replication slot unless it exists, reserving WAL at once and writing that to disk before it returns.
# `pg_receivewal --create-slot` reserves nothing (postgres/postgres src/bin/pg_basebackup/pg_receivewal.c): such a
# slot holds WAL from its first stream on, and only in memory until the next checkpoint, so a crash before that left
# it holding none; the end-of-recovery checkpoint removed the segment the archive was in the middle of, and streaming
# never resumed. CREATE_REPLICATION_SLOT ... RESERVE_WAL saves the slot with its restart position
# (src/backend/replication/walsender.c).
ensure_slot() {
  exists=$(psql -X -A -t -d "${CONNINFO} dbname=postgres" \
    -c "SELECT count(*) FROM pg_replication_slots WHERE slot_name = '${SLOT}'") || return 1
  [ "${exists}" = 0 ] || return 0
  psql -X -q -d "${CONNINFO} replication=true" -c "CREATE_REPLICATION_SLOT ${SLOT} PHYSICAL RESERVE_WAL" >/dev/null
}

# Streams WAL into the current cluster's and timeline's directory until the connection ends.
receive_once() {
  ident=$(identify) || return 1
  set -- ${ident}
  dir="$(cluster_dir "$1")/wal/$(timeline_hex "$2")"
  mkdir -p "${dir}"
  ensure_slot || return 1
  log "streaming WAL of system $1, timeline $2 into ${dir}"
  # --synchronous: flushed to disk and reported as flushed at once, so what status shows as received is durable.
  pg_receivewal -d "${CONNINFO}" --slot="${SLOT}" -D "${dir}" --synchronous --no-loop 2>"${STATE}/receivewal.err" &
  echo $! >"${STATE}/receivewal.pid"
  status=0
  wait $! || status=$?
  cat "${STATE}/receivewal.err" >&2
  if grep -q "has already been removed" "${STATE}/receivewal.err"; then skip_gap "$1" "${dir}"; fi
  [ "${status}" = 0 ] || log "pg_receivewal ended (status ${status}); reconnecting in 5 s"
}

# The server no longer has the WAL the archive needs next (a slot dropped or invalidated by hand or by
# max_slot_wal_keep_size): streaming into $2 can never resume. Keeps what it holds beside it (a restore still reads
# it), streams afresh from a new slot, and asks for a base backup at once, since no restore can cross the gap.
skip_gap() {
  aside="$2.before-gap-$(date -u +%Y%m%dT%H%M%SZ)"
  log "ERROR: the server no longer has the WAL this archive needs next; a point-in-time restore cannot cross this gap"
  log "keeping the WAL received so far in ${aside}; streaming again from a new slot and taking a base backup now"
  mv "$2" "${aside}"
  mkdir -p "$2"
  psql -X -q -d "${CONNINFO} replication=true" -c "DROP_REPLICATION_SLOT ${SLOT}" >/dev/null || true
  touch "$(cluster_dir "$1")/base-backup-due"
}

# Takes a base backup of the current cluster now, then applies retention.
base_backup() {
  ident=$(identify) || return 1
  set -- ${ident}
  dir=$(cluster_dir "$1")
  stamp=$(date -u +%Y%m%dT%H%M%SZ)
  partial="${dir}/base/.${stamp}"
  mkdir -p "${dir}/base" "${partial}"
  log "base backup ${stamp} of system $1 (timeline $2)"
  # Its own WAL (-X stream) makes each base backup restorable without the archive; the archive adds what follows.
  # Every step is checked by hand: `set -e` does not apply inside a function its caller tests (`base_backup || ...`),
  # and a failed backup must never be kept under a name a restore would choose.
  if ! pg_basebackup -d "${CONNINFO%application_name=*}application_name=supabase-base-backup" -D "${partial}" -Ft -z -X stream --checkpoint=fast -l "supabase-backup ${stamp}"; then
    rm -rf "${partial}"
    log "base backup ${stamp} failed (pg_basebackup); nothing kept"
    return 1
  fi
  label=$(tar -xzOf "${partial}/base.tar.gz" backup_label) || label=""
  start_wal=$(echo "${label}" | sed -n 's/^START WAL LOCATION: .*(file \([0-9A-F]*\))$/\1/p')
  timeline=$(echo "${label}" | sed -n 's/^START TIMELINE: //p')
  if [ -z "${start_wal}" ] || [ -z "${timeline}" ]; then
    rm -rf "${partial}"
    log "base backup ${stamp} failed (no backup_label in base.tar.gz); nothing kept"
    return 1
  fi
  bytes=$(du -sk "${partial}" | awk '{print $1 * 1024}')
  printf 'stamp=%s system=%s timeline=%s start_wal=%s finished=%s bytes=%s\n' \
    "${stamp}" "$1" "${timeline}" "${start_wal}" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "${bytes}" >"${partial}/info"
  mv "${partial}" "${dir}/base/${stamp}"
  rm -f "${dir}/base-backup-due"
  save_config "${dir}"
  retention "${dir}"
  log "base backup ${stamp} done (${bytes} bytes)"
}

# A copy of db's pgsodium root key next to the backups (db's config volume is mounted read-only here).
save_config() {
  [ -f /etc/postgresql-custom/pgsodium_root.key ] || return 0
  mkdir -p "$1/config"
  cp /etc/postgresql-custom/pgsodium_root.key "$1/config/pgsodium_root.key.new"
  mv "$1/config/pgsodium_root.key.new" "$1/config/pgsodium_root.key"
}

# Keeps the newest BACKUP_KEEP_COUNT base backups and every one younger than BACKUP_KEEP_DAYS (when set); deletes
# the others, then the WAL segments older than the oldest base backup kept.
retention() {
  cluster=$1
  keep=${BACKUP_KEEP_COUNT:-7}
  total=$(base_backups "${cluster}" | wc -l)
  cutoff=""
  if [ -n "${BACKUP_KEEP_DAYS:-}" ]; then cutoff=$(date -u -d "@$(($(date +%s) - BACKUP_KEEP_DAYS * 86400))" +%Y%m%dT%H%M%SZ); fi
  n=0
  for old in $(base_backups "${cluster}"); do
    n=$((n + 1))
    [ $((total - n)) -ge "${keep}" ] || break
    if [ -n "${cutoff}" ] && [ "${old}" \> "${cutoff}" ]; then break; fi
    log "retention: deleting base backup ${old}"
    rm -rf "${cluster}/base/${old}"
  done
  oldest=$(base_backups "${cluster}" | head -n 1)
  [ -n "${oldest}" ] || return 0
  start_wal=$(sed -n 's/.*start_wal=\([0-9A-F]*\).*/\1/p' "${cluster}/base/${oldest}/info")
  [ -n "${start_wal}" ] || return 0
  for wal in "${cluster}"/wal/*/; do
    if [ -d "${wal}" ]; then pg_archivecleanup "${wal}" "${start_wal}"; fi
  done
}

# True when the current cluster has no base backup on its current timeline, or the newest is older than the interval.
base_backup_due() {
  ident=$(identify) || return 1
  set -- ${ident}
  dir=$(cluster_dir "$1")
  [ ! -e "${dir}/base-backup-due" ] || return 0
  newest=$(base_backups "${dir}" | tail -n 1)
  [ -n "${newest}" ] || return 0
  grep -q "timeline=$2 " "${dir}/base/${newest}/info" || return 0
  finished=$(sed -n 's/.*finished=\([^ ]*\).*/\1/p' "${dir}/base/${newest}/info")
  age=$(($(date +%s) - $(date -u -d "${finished}" +%s)))
  [ "${age}" -ge "${BACKUP_INTERVAL_SECONDS:-86400}" ]
}

# Streams WAL for good: reconnects 5 s after each end (the database restarting, a restore, a network hiccup).
receive_forever() { while true; do receive_once || log "the database cannot be reached"; sleep 5; done; }

# The service itself, as postgres: WAL streaming in the background (started again should it ever end), base backups
# when due.
serve() {
  mkdir -p "${STATE}"
  until ensure_role; do log "waiting for the database"; sleep 5; done
  unset SUPABASE_ADMIN_PASSWORD
  receive_forever &
  receiver=$!
  while true; do
    if ! kill -0 "${receiver}" 2>/dev/null; then
      log "the WAL receiver ended; starting it again"
      receive_forever &
      receiver=$!
    fi
    if base_backup_due; then base_backup || log "base backup failed; retrying in a minute"; fi
    sleep 60
  done
}

# Prints what the archive of the current cluster holds, `key=value` per line.
status() {
  ident=$(identify) || { echo "the database cannot be reached" >&2; return 1; }
  set -- ${ident}
  dir=$(cluster_dir "$1")
  newest=$(base_backups "${dir}" | tail -n 1)
  echo "system=$1"
  echo "timeline=$2"
  echo "base_backups=$(base_backups "${dir}" | wc -l)"
  [ -z "${newest}" ] || echo "last_base_backup=$(cat "${dir}/base/${newest}/info")"
  last=$(ls -1 "${dir}/wal/$(timeline_hex "$2")" 2>/dev/null | grep -E '^[0-9A-F]{24}(\.partial)?$' | sort | tail -n 1)
  echo "last_wal_file=${last}"
  echo "archive_bytes=$(du -sk "${dir}" 2>/dev/null | awk '{print $1 * 1024}')"
  # The slot's restart_lsn is what pg_receivewal reported flushed; pg_stat_replication shows that only to roles
  # with pg_read_all_stats, pg_replication_slots to every role.
  psql -X -A -t -F ' ' -d "${CONNINFO} dbname=postgres" -c "SELECT 'server_lsn=' || pg_current_wal_lsn(),
      'flushed_lsn=' || coalesce(restart_lsn::text, ''),
      'lag_bytes=' || coalesce(pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)::bigint::text, '')
    FROM (SELECT 1) one LEFT JOIN pg_replication_slots ON slot_name = '${SLOT}' AND active" | tr ' ' '\n'
}

# Every base backup of every cluster, oldest first.
list() {
  for dir in "${ROOT}"/*/; do
    for stamp in $(base_backups "${dir%/}"); do cat "${dir%/}/base/${stamp}/info"; done
  done
}

case "${1:-run}" in
run)
  mkdir -p "${ROOT}"
  chown postgres:postgres "${ROOT}"
  if [ "$(id -u)" = 0 ]; then
    if command -v gosu >/dev/null; then exec gosu postgres sh "$0" serve; fi
    exec setpriv --reuid=postgres --regid=postgres --init-groups sh "$0" serve
  fi
  serve
  ;;
serve) serve ;;
receive) mkdir -p "${STATE}" && receive_once ;;
base) base_backup ;;
prune) for dir in "${ROOT}"/*/; do if [ -d "${dir}base" ]; then retention "${dir%/}"; fi; done ;;
status) status ;;
list) list ;;
health) kill -0 "$(cat "${STATE}/receivewal.pid")" ;;
*)
  echo "usage: $0 run|base|status|list|prune|health" >&2
  exit 2
  ;;
esac
