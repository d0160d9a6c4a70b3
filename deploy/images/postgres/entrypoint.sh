#!/usr/bin/env bash
# Entrypoint of dockpod's PostgreSQL image: the upstream image's contract, kept small.
#   On an empty PGDATA: initdb with scram-sha-256 for TCP clients, POSTGRES_USER as the superuser (default
#   postgres) with the password of POSTGRES_PASSWORD_FILE (a Docker secret) or POSTGRES_PASSWORD, and the database
#   POSTGRES_DB (default: the user's name). Listens on all interfaces of the container.
#   Then runs the command: `postgres ...` as the server on PGDATA, anything else as given.
# The password is handed to initdb through a file readable only by this user and removed right after.
set -euo pipefail

log() { echo "postgres-entrypoint: $*" >&2; }

user="${POSTGRES_USER:-postgres}"
db="${POSTGRES_DB:-$user}"

init_cluster() {
  local password=""
  if [[ -n "${POSTGRES_PASSWORD_FILE:-}" ]]; then
    [[ -r "$POSTGRES_PASSWORD_FILE" ]] \
      || { log "POSTGRES_PASSWORD_FILE=$POSTGRES_PASSWORD_FILE cannot be read by uid $(id -u); check the secret's owner"; exit 1; }
    password="$(<"$POSTGRES_PASSWORD_FILE")"
  elif [[ -n "${POSTGRES_PASSWORD:-}" ]]; then
    password="$POSTGRES_PASSWORD"
  fi
  [[ -n "$password" ]] \
    || { log "set POSTGRES_PASSWORD_FILE (a secret file) or POSTGRES_PASSWORD: TCP clients need a password"; exit 1; }
  local pwfile
  pwfile="$(mktemp)"
  trap 'rm -f "$pwfile"' RETURN
  printf '%s\n' "$password" >"$pwfile"
  initdb --username="$user" --pwfile="$pwfile" --auth-local=peer --auth-host=scram-sha-256 \
    --encoding=UTF8 --locale=C.UTF-8 -D "$PGDATA" >/dev/null
  {
    echo "listen_addresses = '*'"
    echo "unix_socket_directories = '/var/run/postgresql'"
  } >>"$PGDATA/postgresql.conf"
  {
    echo "local all all trust"
    echo "host all all all scram-sha-256"
  } >"$PGDATA/pg_hba.conf"
  if [[ "$db" != postgres ]]; then
    echo "CREATE DATABASE \"$db\" OWNER \"$user\";" | postgres --single -D "$PGDATA" -j postgres >/dev/null
  fi
  log "initialized $PGDATA (superuser $user, database $db)"
}

if [[ "${1:-postgres}" == postgres ]]; then
  if [[ ! -s "$PGDATA/PG_VERSION" ]]; then
    init_cluster
  fi
  exec postgres -D "$PGDATA" "${@:2}"
fi
exec "$@"
