#!/usr/bin/env bash
# Healthy when the server answers PING (authenticated with REDIS_PASSWORD_FILE when set, through REDISCLI_AUTH so the
# password is on no command line).
set -euo pipefail
if [[ -n "${REDIS_PASSWORD_FILE:-}" ]]; then
  REDISCLI_AUTH="$(<"$REDIS_PASSWORD_FILE")"
  export REDISCLI_AUTH
fi
[[ "$(redis-cli -h 127.0.0.1 ping)" == PONG ]]
