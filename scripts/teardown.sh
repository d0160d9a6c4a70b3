#!/usr/bin/env bash
# Stop what scripts/setup.sh started: the local registry and dockerd (containers keep their state on disk;
# images, volumes, the registry's storage, the base tarball cache and .venv are kept).
# Usage: bash scripts/teardown.sh
set -euo pipefail

REGISTRY_PIDFILE="/run/dockpod-registry.pid"
DOCKERD_PIDFILE="/var/run/docker.pid"

# alive PID: a live process, not a zombie (this machine's init reaps exited processes late).
alive() {
  local stat
  stat="$(ps -o stat= -p "$1" 2>/dev/null || true)"
  [[ -n "$stat" && "$stat" != Z* ]]
}

# stop NAME PID: SIGTERM, wait up to 20 s, then SIGKILL.
stop() {
  local name="$1" pid="$2" i
  kill -TERM "$pid" 2>/dev/null || return 0
  for ((i = 0; i < 40; i++)); do
    alive "$pid" || { echo "teardown: stopped $name (pid $pid)" >&2; return 0; }
    sleep 0.5
  done
  kill -KILL "$pid" 2>/dev/null || true
  echo "teardown: killed $name (pid $pid) after 20 s" >&2
}

# The registry: by its pid file, else the process serving dockpod's config.
pid="$(cat "$REGISTRY_PIDFILE" 2>/dev/null || true)"
if [[ ! "$pid" =~ ^[0-9]+$ ]] || ! alive "$pid"; then
  pid="$(pgrep -f -o 'docker-registry serve .*deploy/registry/config\.yml' || true)"
fi
if [[ -n "$pid" ]]; then
  stop registry "$pid"
else
  echo "teardown: registry not running" >&2
fi
rm -f "$REGISTRY_PIDFILE"

# dockerd: by its pid file (dockerd writes it), else by exact name.
pid="$(cat "$DOCKERD_PIDFILE" 2>/dev/null || true)"
if [[ ! "$pid" =~ ^[0-9]+$ ]] || ! alive "$pid"; then
  pid="$(pgrep -x -o dockerd || true)"
fi
if [[ -n "$pid" ]]; then
  stop dockerd "$pid"
else
  echo "teardown: dockerd not running" >&2
fi
