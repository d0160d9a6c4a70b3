#!/usr/bin/env bash
# Build dockpod's Airflow image (deploy/images/airflow) and push it to the local registry.
#   1. A wheelhouse of every package deploy/images/airflow/Dockerfile installs, built on the host with pip
#      from constraints.txt (the same pins as .venv) and cached in
#      $DOCKPOD_CACHE_DIR/wheelhouse-airflow-<hash of constraints.txt and pyproject.toml>.
#   2. dockpod's own wheel (pip wheel --no-deps .).
#   3. Both copied (hard-linked where possible) into deploy/images/airflow/wheels/{deps,dockpod} (gitignored), then
#      `docker build` with the classic builder: the build needs no PyPI access.
# Skipped when an image with the same inputs exists: their digest is the image's label io.dockpod.build.stamp
# (Dockerfile, entrypoint, health check, wheelhouse hash, dockpod's sources, base image id).
# Usage: bash scripts/build-airflow-image.sh   (normally through `make image`, which runs make setup first)
# Environment: DOCKPOD_CACHE_DIR (default ~/.cache/dockpod), AIRFLOW_IMAGE (default
#   localhost:5000/dockpod/airflow:3.3.2), BASE_IMAGE (default localhost:5000/dockpod/debian:bookworm),
#   DOCKPOD_IMAGE_FORCE=1 to rebuild even when the stamp matches.
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO_ROOT"
CACHE_DIR="${DOCKPOD_CACHE_DIR:-${HOME:-/root}/.cache/dockpod}"
IMAGE="${AIRFLOW_IMAGE:-localhost:5000/dockpod/airflow:3.3.2}"
BASE_IMAGE="${BASE_IMAGE:-localhost:5000/dockpod/debian:bookworm}"
CONTEXT="deploy/images/airflow"
LOG="build/airflow-image.log"
PY="$REPO_ROOT/.venv/bin/python"

die() {
  if [[ -s "$LOG" ]]; then tail -n 25 "$LOG" | cut -c 1-300 | sed 's/^/  | /' >&2; fi
  echo "image: $1" >&2
  exit 1
}

mkdir -p build "$CACHE_DIR"
: >"$LOG"
start=$SECONDS
[[ -x "$PY" ]] || die "$PY is missing; run make setup"

# pip prints a warning for every configured index folder that does not exist on this machine: keep the log
# readable.
pip_quiet() { "$PY" -m pip --disable-pip-version-check "$@" 2>&1 | grep -v "^WARNING: Location 'file:" >>"$LOG"; }

deps_hash="$(cat constraints.txt pyproject.toml | sha256sum | cut -c 1-16)"
wheelhouse="$CACHE_DIR/wheelhouse-airflow-$deps_hash"
src_hash="$(find src -type f ! -path '*/__pycache__/*' ! -path '*.egg-info/*' ! -name '*.pyc' -print0 | LC_ALL=C sort -z \
  | xargs -0 sha256sum | sha256sum | cut -c 1-16)"
base_id="$(docker image inspect -f '{{.Id}}' "$BASE_IMAGE" 2>/dev/null)" \
  || die "base image $BASE_IMAGE is missing; run make setup"
stamp="$(cat "$CONTEXT/Dockerfile" "$CONTEXT/entrypoint.sh" "$CONTEXT/healthcheck.py" \
  | sha256sum | cut -c 1-16)-$deps_hash-$src_hash-${base_id#sha256:}"
stamp="${stamp:0:64}"

size() { docker image inspect -f '{{.Size}}' "$IMAGE" | awk '{ printf "%.0f MB", $1 / 1e6 }'; }

if [[ "${DOCKPOD_IMAGE_FORCE:-0}" != 1 \
      && "$(docker image inspect -f '{{index .Config.Labels "io.dockpod.build.stamp"}}' "$IMAGE" 2>/dev/null)" \
         == "$stamp" ]]; then
  docker push "$IMAGE" >>"$LOG" 2>&1 || die "docker push $IMAGE failed; is the registry up? run make setup"
  echo "image: $IMAGE up to date ($(size), inputs unchanged, $((SECONDS - start))s)" >&2
  exit 0
fi

# 1. The wheelhouse (cached by the pins): built into a temporary folder, renamed when complete.
if [[ ! -f "$wheelhouse/.complete" ]]; then
  rm -rf "$wheelhouse" "$wheelhouse.partial"
  t0=$SECONDS
  echo "--- pip wheel -c constraints.txt '.[airflow,postgres,celery]' -> $wheelhouse" >>"$LOG"
  pip_quiet wheel --progress-bar off --wheel-dir "$wheelhouse.partial" -c constraints.txt '.[airflow,postgres,celery]' \
    || die "pip wheel of the Airflow image's packages failed; see $LOG (is PyPI reachable?)"
  rm -f "$wheelhouse.partial"/dockpod-*.whl
  cp constraints.txt "$wheelhouse.partial/constraints.txt"
  touch "$wheelhouse.partial/.complete"
  mv "$wheelhouse.partial" "$wheelhouse"
  echo "image: wheelhouse built ($(find "$wheelhouse" -name '*.whl' | wc -l) wheels, $((SECONDS - t0))s)" >&2
fi

# 2.-3. The build context's wheels/ folder: the wheelhouse plus a fresh wheel of dockpod.
#        wheels/deps (the build stage's layer, cached by Docker while the pins stay) and wheels/dockpod.
rm -rf "$CONTEXT/wheels"
mkdir -p "$CONTEXT/wheels/deps" "$CONTEXT/wheels/dockpod"
cp -l "$wheelhouse"/*.whl "$wheelhouse/constraints.txt" "$CONTEXT/wheels/deps/" 2>/dev/null \
  || cp "$wheelhouse"/*.whl "$wheelhouse/constraints.txt" "$CONTEXT/wheels/deps/"
echo "--- pip wheel --no-deps ." >>"$LOG"
pip_quiet wheel --progress-bar off --no-deps --wheel-dir "$CONTEXT/wheels/dockpod" . \
  || die "pip wheel of dockpod itself failed; see $LOG"

# 4. Build (classic builder; --force-rm: a failed step leaves no container behind) and push.
echo "--- docker build $IMAGE" >>"$LOG"
previous="$(docker image inspect -f '{{.Id}}' "$IMAGE" 2>/dev/null || true)"
DOCKER_BUILDKIT=0 docker build --force-rm --build-arg "BASE_IMAGE=$BASE_IMAGE" --label "io.dockpod.build.stamp=$stamp" \
  --tag "$IMAGE" "$CONTEXT" >>"$LOG" 2>&1 || die "docker build of $IMAGE failed; see $LOG"
rm -rf "$CONTEXT/wheels"
docker push "$IMAGE" >>"$LOG" 2>&1 || die "docker push $IMAGE failed; is the registry up? run make setup"
# The image this build replaced would stay as an untagged ~800 MB image after every source change: remove it,
# unless a container still uses it (then Docker refuses, and it stays).
if [[ -n "$previous" && "$previous" != "$(docker image inspect -f '{{.Id}}' "$IMAGE")" ]]; then
  docker image rm "$previous" >>"$LOG" 2>&1 || true
fi
echo "image: $IMAGE built and pushed ($(size), $((SECONDS - start))s)" >&2
