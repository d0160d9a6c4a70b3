#!/usr/bin/env bash
# Entrypoint of dockpod's Redis image. `redis-server [ARGS]` runs the server with its configuration on standard
# input: append-only persistence in /data, every interface, and `requirepass` from REDIS_PASSWORD_FILE when it is
# set (so the password is on no command line and in no file of the image). Anything else runs as given.
set -euo pipefail

if [[ "${1:-redis-server}" != redis-server ]]; then
  exec "$@"
fi
shift || true

config() {
  echo "bind * -::*"
  echo "protected-mode no"
  echo "dir /data"
  echo "appendonly yes"
  if [[ -n "${REDIS_PASSWORD_FILE:-}" ]]; then
    if [[ ! -r "$REDIS_PASSWORD_FILE" ]]; then
      echo "redis-entrypoint: REDIS_PASSWORD_FILE=$REDIS_PASSWORD_FILE cannot be read by uid $(id -u); check the secret's owner" >&2
      exit 1
    fi
    printf 'requirepass "%s"\n' "$(<"$REDIS_PASSWORD_FILE")"
  fi
}

exec redis-server - "$@" < <(config)
