#!/bin/sh
# The backup-s3 service of the supabase-selfhosted program. It runs in the rclone image and copies the backup
# archive (the backups volume, mounted read-only at <root>) to an S3 bucket, as it is laid out there:
#   <remote>/<system id>/wal/<timeline>/   WAL segments, and the segment being written (.partial) as it grows
#   <remote>/<system id>/base/<stamp>/     base backups (a base backup still being taken, base/.<stamp>, is left out)
#   <remote>/<system id>/config/           the copy of db's pgsodium root key
# where <remote> is the rclone remote `offsite:` (configured by RCLONE_CONFIG_OFFSITE_* in the environment) with the
# bucket and prefix. Nothing is ever deleted because the volume lacks it, so an emptied or lost volume never empties
# the bucket: only the retention of the settings deletes, applied to the bucket's own listing (the newest
# BACKUP_KEEP_COUNT base backups and those younger than BACKUP_KEEP_DAYS are kept, and the WAL from the oldest kept
# one on), and a `.partial` segment once the complete segment of that name is there.
#
# Subcommands: run (the service: an upload every OFFSITE_INTERVAL_SECONDS), upload (one now), prune (retention now),
# status (what the bucket holds per system id, and when the last upload finished), list (the `info` of every base
# backup in the bucket, as backup.sh list prints them), fetch <dir> [<system id> <stamp>] (copies the bucket's
# archive, or what a restore from one base backup reads, into <dir>), health (exit 0 while uploads succeed).
set -eu

ROOT=${BACKUP_ROOT:-/backups}
REMOTE="offsite:${OFFSITE_BUCKET:?}/${OFFSITE_PREFIX:?}"
INTERVAL=${OFFSITE_INTERVAL_SECONDS:-60}
STATE=${OFFSITE_STATE_DIR:-/tmp/supabase-backup-s3}
# awk (busybox's in the rclone image) without interval expressions, which some awks lack: a WAL file name
# (24 hex digits, or that and .partial) and a base backup stamp (20260101T120000Z).
AWK_NAMES='function is_wal(n) { sub(/\.partial$/, "", n); return length(n) == 24 && n ~ /^[0-9A-F]+$/ }
function is_stamp(n) { return length(n) == 16 && n ~ /^[0-9]+T[0-9]+Z$/ }'

log() { echo "supabase-backup-s3: $*" >&2; }

# Every file in the bucket's archive as `path;size`, one per line (the listing the clean-up and the status read).
listing() { rclone lsf -R --files-only --format ps --separator ';' "${REMOTE}"; }

# The base backup stamps of system $2 in listing $1, oldest first (a base backup counts once its `info` is there).
remote_base_backups() {
  awk -F';' -v sys="$2" "${AWK_NAMES}"'
    { n = split($1, part, "/") } n == 4 && part[1] == sys && part[2] == "base" && is_stamp(part[3]) && part[4] == "info" {
      print part[3] }' "$1" | sort
}

# Deletes the paths listed in file $1 (relative to the remote), if any.
delete_listed() {
  [ -s "$1" ] || return 0
  rclone delete "${REMOTE}" --files-from-raw "$1"
}

# Retention on the bucket's listing $1, for each system id in it: the same rule as the backup service's on the volume.
retention() {
  keep=${BACKUP_KEEP_COUNT:-7}
  cutoff=""
  if [ -n "${BACKUP_KEEP_DAYS:-}" ]; then cutoff=$(date -u -d "@$(($(date +%s) - BACKUP_KEEP_DAYS * 86400))" +%Y%m%dT%H%M%SZ); fi
  for sys in $(awk -F'/' '$1 ~ /^[0-9]+$/ {print $1}' "$1" | sort -u); do
    stamps=$(remote_base_backups "$1" "${sys}")
    [ -n "${stamps}" ] || continue
    doomed=$(echo "${stamps}" | awk -v keep="${keep}" -v cutoff="${cutoff}" '{ s[NR] = $0 }
      END { for (i = 1; i <= NR - keep; i++) { if (cutoff != "" && s[i] > cutoff) break; print s[i] } }')
    for old in ${doomed}; do
      log "retention: deleting base backup ${sys}/base/${old} from the bucket"
      rclone purge "${REMOTE}/${sys}/base/${old}"
    done
    oldest=$(echo "${stamps}" | awk -v skip="$(echo "${doomed}" | grep -c . || true)" 'NR == skip + 1')
    start_wal=$(rclone cat "${REMOTE}/${sys}/base/${oldest}/info" | sed -n 's/.*start_wal=\([0-9A-F]*\).*/\1/p')
    [ -n "${start_wal}" ] || continue
    # As pg_archivecleanup judges: a segment (or .partial) whose name, past its timeline, sorts before the oldest
    # kept base backup's first segment is not needed by any restore.
    awk -F';' -v sys="${sys}" -v first="${start_wal}" "${AWK_NAMES}"'
      { n = split($1, part, "/") } n == 4 && part[1] == sys && part[2] == "wal" && is_wal(part[4]) &&
        substr(part[4], 9, 16) < substr(first, 9, 16) { print $1 }' "$1" >"${STATE}/doomed-wal"
    if [ -s "${STATE}/doomed-wal" ]; then log "retention: deleting $(wc -l <"${STATE}/doomed-wal") WAL files of ${sys} before ${start_wal}"; fi
    delete_listed "${STATE}/doomed-wal"
  done
}

# One upload: what the volume holds that the bucket lacks or holds older (the growing .partial segment included),
# then the partial segments that are complete in the bucket now, then retention. Every step is checked by hand:
# `set -e` does not apply inside a function its caller tests (`if upload`), and a failed upload must not be recorded
# as the last one.
upload() {
  mkdir -p "${STATE}"
  started=$(date +%s)
  echo "started=${started} pid=$$" >"${STATE}/current-upload"
  # The first rule that matches decides (rclone's filtering docs): a base backup still being taken and the service's
  # marker are left out, then only the directories of system ids (not lost+found or a stray file) are copied.
  if ! rclone copy "${ROOT}" "${REMOTE}" --exclude '/*/base/.*/**' --exclude '/*/base-backup-due' \
    --include '/[0-9]*/**' --exclude '*' --transfers 4 --checkers 8 --retries 3 --low-level-retries 5; then
    rm -f "${STATE}/current-upload"
    return 1
  fi
  if ! listing >"${STATE}/listing"; then
    rm -f "${STATE}/current-upload"
    return 1
  fi
  awk -F';' '{ have[$1] = 1; paths[NR] = $1 }
    END { for (i = 1; i <= NR; i++) { p = paths[i]; if (p ~ /\.partial$/ && have[substr(p, 1, length(p) - 8)]) print p } }' \
    "${STATE}/listing" >"${STATE}/done-partials"
  delete_listed "${STATE}/done-partials" || log "could not delete completed .partial segments; next time"
  retention "${STATE}/listing" || log "retention in the bucket failed; next time"
  printf 'started=%s finished=%s\n' "${started}" "$(date +%s)" >"${STATE}/last-upload"
  rm -f "${STATE}/current-upload"
}

# Copies the bucket's archive into directory $2; with a system id and a base backup's stamp ($3, $4), only what a
# restore from that base backup reads: the base backup, the pgsodium key copy, the timeline history files and the WAL
# segments from its first one on (of every timeline: recovery may follow a later one).
fetch() {
  dir=${2:?usage: $0 fetch <dir> [<system id> <stamp>]}
  mkdir -p "${STATE}"
  if [ -z "${4:-}" ]; then
    rclone copy "${REMOTE}" "${dir}" --include '/[0-9]*/**' --exclude '*' --transfers 4 --checkers 8 --retries 3
    return
  fi
  start_wal=$(rclone cat "${REMOTE}/$3/base/$4/info" | sed -n 's/.*start_wal=\([0-9A-F]*\).*/\1/p')
  [ -n "${start_wal}" ] || { log "no base backup $3/base/$4 in the bucket"; return 1; }
  listing >"${STATE}/fetch-listing"
  awk -F';' -v sys="$3" -v stamp="$4" -v first="${start_wal}" "${AWK_NAMES}"'
    { n = split($1, part, "/") } part[1] != sys { next }
    part[2] == "base" && part[3] == stamp { print $1 }
    part[2] == "config" { print $1 }
    n == 4 && part[2] == "wal" && (!is_wal(part[4]) || substr(part[4], 9, 16) >= substr(first, 9, 16)) { print $1 }' \
    "${STATE}/fetch-listing" >"${STATE}/fetch-files"
  log "fetching $(wc -l <"${STATE}/fetch-files") files: base backup $3/$4 and the WAL from ${start_wal} on"
  rclone copy "${REMOTE}" "${dir}" --files-from-raw "${STATE}/fetch-files" --transfers 4 --checkers 8 --retries 3
}

# The service: an upload every interval, retried at the next one when it fails.
serve() {
  mkdir -p "${STATE}"
  # As PID 1 of its container the shell ignores SIGTERM unless it traps it, and runs a trap only once the command in
  # the foreground ends: `docker stop` (a restore stops this container) waited out its whole timeout. So the upload
  # and the sleep run in the background, and the trap stops them (their process group) and ends the service.
  trap 'trap "" TERM INT; log "stopping"; kill -TERM 0 2>/dev/null; exit 0' TERM INT
  log "copying ${ROOT} to ${REMOTE} every ${INTERVAL} s"
  while true; do
    upload &
    if wait $!; then :; else log "upload failed; retrying in ${INTERVAL} s"; fi
    sleep "${INTERVAL}" &
    wait $!
  done
}

# Per system id in the bucket: `system=… base_backups=… last_base_backup=… last_wal_file=… bytes=…`; then when the
# last upload of this container started and finished (epoch seconds), and its interval.
status() {
  mkdir -p "${STATE}"
  listing >"${STATE}/status-listing"
  for sys in $(awk -F'/' '$1 ~ /^[0-9]+$/ {print $1}' "${STATE}/status-listing" | sort -u); do
    stamps=$(remote_base_backups "${STATE}/status-listing" "${sys}")
    awk -F';' -v sys="${sys}" -v count="$(echo "${stamps}" | grep -c . || true)" -v last="$(echo "${stamps}" | tail -n 1)" \
      "${AWK_NAMES}"'
      { n = split($1, part, "/") } part[1] == sys { bytes += $2 }
      n == 4 && part[1] == sys && part[2] == "wal" && is_wal(part[4]) && substr(part[4], 1, 24) >= substr(wal, 1, 24) {
        wal = part[4] }
      END { printf "system=%s base_backups=%d last_base_backup=%s last_wal_file=%s bytes=%d\n", sys, count, last, wal, bytes }' \
      "${STATE}/status-listing"
  done
  echo "remote=${REMOTE}"
  echo "interval_seconds=${INTERVAL}"
  if [ -f "${STATE}/last-upload" ]; then cat "${STATE}/last-upload"; fi
}

case "${1:-run}" in
run) serve ;;
upload) upload ;;
prune)
  mkdir -p "${STATE}"
  listing >"${STATE}/listing"
  retention "${STATE}/listing"
  ;;
status) status ;;
list)
  mkdir -p "${STATE}"
  listing >"${STATE}/list-listing"
  for sys in $(awk -F'/' '$1 ~ /^[0-9]+$/ {print $1}' "${STATE}/list-listing" | sort -u); do
    for stamp in $(remote_base_backups "${STATE}/list-listing" "${sys}"); do rclone cat "${REMOTE}/${sys}/base/${stamp}/info"; done
  done
  ;;
fetch) fetch "$@" ;;
health)
  # Healthy while the last upload finished within three intervals, or one is running (the first copy of a large
  # archive takes as long as it takes).
  finished=$(sed -n 's/.*finished=\([0-9]*\).*/\1/p' "${STATE}/last-upload" 2>/dev/null || true)
  if [ -n "${finished}" ] && [ $(($(date +%s) - finished)) -le $((3 * INTERVAL + 60)) ]; then exit 0; fi
  pid=$(sed -n 's/.*pid=\([0-9]*\).*/\1/p' "${STATE}/current-upload" 2>/dev/null || true)
  [ -n "${pid}" ] && kill -0 "${pid}"
  ;;
*)
  echo "usage: $0 run|upload|prune|status|list|fetch <dir> [<system id> <stamp>]|health" >&2
  exit 2
  ;;
esac
