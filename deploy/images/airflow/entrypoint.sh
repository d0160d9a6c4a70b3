#!/usr/bin/env bash
# dockpod Airflow image entrypoint.
#   1. Waits for the metadata database when one is configured (AIRFLOW__DATABASE__SQL_ALCHEMY_CONN, or its
#      _CMD / _SECRET forms): `airflow db check` every CONNECTION_CHECK_SLEEP_TIME seconds (default 3), at
#      most CONNECTION_CHECK_MAX_COUNT times (default 20; 0 skips the wait), each check cut off after
#      CONNECTION_CHECK_TIMEOUT seconds (default 30, for a host that drops packets); then exits 1 with the
#      last error. Bounded: at most MAX_COUNT * (TIMEOUT + SLEEP_TIME) seconds.
#   2. Runs `airflow db migrate` only when _AIRFLOW_DB_MIGRATE=true (one container of a deployment does it,
#      e.g. an init job), never by default.
#   3. Copies DOCKPOD_AUTH_PASSWORDS_FILE (a read-only secret: {"user": "password"} JSON) to the writable path
#      SimpleAuthManager reads (AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE, default
#      $AIRFLOW_HOME/simple_auth_manager_passwords.json.generated), mode 0600: Airflow opens that file read-write,
#      which a secret mount refuses.
#   4. Execs the command: an Airflow subcommand (`api-server`, `scheduler`, `version`...) runs as
#      `airflow ARGS`; `bash`, `python`, `airflow`, `celery` or an absolute path runs as given.
# The variable names are the official apache/airflow image's, so compose files work with either image.
set -euo pipefail

log() { echo "entrypoint: $*" >&2; }

db_configured() {
  [[ -n "${AIRFLOW__DATABASE__SQL_ALCHEMY_CONN:-}" || -n "${AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_CMD:-}" \
     || -n "${AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_SECRET:-}" ]]
}

wait_for_db() {
  local max="${CONNECTION_CHECK_MAX_COUNT:-20}" pause="${CONNECTION_CHECK_SLEEP_TIME:-3}" attempt=0 out=""
  local limit="${CONNECTION_CHECK_TIMEOUT:-30}"
  [[ "$max" =~ ^[0-9]+$ && "$pause" =~ ^[0-9]+$ && "$limit" =~ ^[1-9][0-9]*$ ]] \
    || { log "CONNECTION_CHECK_MAX_COUNT, _SLEEP_TIME and _TIMEOUT must be whole numbers"; exit 2; }
  ((max > 0)) || return 0
  local start=$SECONDS
  while ((attempt < max)); do
    attempt=$((attempt + 1))
    if out="$(timeout "$limit" airflow db check 2>&1)"; then
      log "database reachable (attempt $attempt of $max, $((SECONDS - start))s)"
      return 0
    fi
    if ((attempt < max)); then sleep "$pause"; fi
  done
  log "last error of airflow db check:"
  printf '%s\n' "$out" | grep -v '^[[:space:]]*$' | tail -n 5 | sed 's/^/  | /' >&2
  log "database not reachable after $max attempts ($((SECONDS - start))s); check" \
    "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN and that the database is up, or raise CONNECTION_CHECK_MAX_COUNT"
  exit 1
}

if db_configured; then
  wait_for_db
fi

case "${_AIRFLOW_DB_MIGRATE:-false}" in
  true | True | TRUE | 1)
    log "running airflow db migrate (_AIRFLOW_DB_MIGRATE=${_AIRFLOW_DB_MIGRATE})"
    airflow db migrate
    ;;
  false | False | FALSE | 0 | "") ;;
  *) log "_AIRFLOW_DB_MIGRATE must be true or false, not '${_AIRFLOW_DB_MIGRATE}'"; exit 2 ;;
esac

if [[ -n "${DOCKPOD_AUTH_PASSWORDS_FILE:-}" ]]; then
  target="${AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE:-${AIRFLOW_HOME:-/opt/airflow}/simple_auth_manager_passwords.json.generated}"
  [[ -r "$DOCKPOD_AUTH_PASSWORDS_FILE" ]] \
    || { log "DOCKPOD_AUTH_PASSWORDS_FILE=$DOCKPOD_AUTH_PASSWORDS_FILE cannot be read by uid $(id -u); check the secret's owner"; exit 1; }
  install -m 0600 "$DOCKPOD_AUTH_PASSWORDS_FILE" "$target"
fi

if (($# == 0)); then
  set -- version
fi
case "$1" in
  bash | sh | python | python3 | airflow | celery | /*) exec "$@" ;;
  *) exec airflow "$@" ;;
esac
