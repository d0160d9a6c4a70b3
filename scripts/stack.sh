#!/usr/bin/env bash
# The compose stacks of deploy/compose/ (dev: LocalExecutor + PostgreSQL; prod: Celery + PostgreSQL + Redis).
#   bash scripts/stack.sh images          build the PostgreSQL and Redis images from the Debian base and push them
#                                         (skipped when their inputs are unchanged; the Airflow image is `make image`)
#   bash scripts/stack.sh up dev|prod     .env from .env.example once (with the Docker socket's group), the prod
#                                         secrets once, then `docker compose up -d --wait`; prints the time to healthy
#   bash scripts/stack.sh down dev|prod   `docker compose down -v`, then checks that nothing of the project is left
#   bash scripts/stack.sh ps dev|prod     the services and their health
# Environment: BASE_IMAGE (default localhost:5000/dockpod/debian:bookworm).
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
REGISTRY="${REGISTRY:-localhost:5000}"
BASE_IMAGE="${BASE_IMAGE:-$REGISTRY/dockpod/debian:bookworm}"

die() { echo "stack: $*" >&2; exit 1; }

image() { # image NAME TAG: build deploy/images/NAME as $REGISTRY/dockpod/NAME:TAG unless its stamp matches, push
  local name="$1" tag="$2" context="$REPO_ROOT/deploy/images/$1" ref="$REGISTRY/dockpod/$1:$2" stamp base_id
  base_id="$(docker image inspect -f '{{.Id}}' "$BASE_IMAGE" 2>/dev/null)" || die "base image $BASE_IMAGE is missing; run make setup"
  stamp="$( (cd "$context" && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum; echo "$base_id") \
    | sha256sum | cut -c 1-32)"
  if [[ "$(docker image inspect -f '{{index .Config.Labels "io.dockpod.build.stamp"}}' "$ref" 2>/dev/null)" != "$stamp" ]]; then
    local log="$REPO_ROOT/build/$name-image.log" start=$SECONDS
    mkdir -p "$REPO_ROOT/build"
    DOCKER_BUILDKIT=0 docker build --force-rm --build-arg "BASE_IMAGE=$BASE_IMAGE" --label "io.dockpod.build.stamp=$stamp" \
      --tag "$ref" "$context" >"$log" 2>&1 || { tail -n 20 "$log" >&2; die "docker build of $ref failed; see $log"; }
    echo "stack: $ref built ($((SECONDS - start))s)" >&2
  fi
  docker push "$ref" >/dev/null 2>&1 || die "docker push $ref failed; is the registry up? run make setup"
  echo "stack: $ref $(docker image inspect -f '{{.Size}}' "$ref" | awk '{ printf "%.0f MB", $1 / 1e6 }')" >&2
}

stack_dir() {
  case "${1:-}" in
    dev | prod) echo "$REPO_ROOT/deploy/compose/$1" ;;
    *) die "name the stack: dev or prod (got '${1:-}')" ;;
  esac
}

# up/down/ps are dockpod's library (dockpod.runtime.stack), the same code the stack tests and examples use.
stack() { "$REPO_ROOT/.venv/bin/python" -m dockpod.runtime.stack "$1" "$(stack_dir "${2:-}")"; }

case "${1:-}" in
  images) image postgres 15; image redis 7 ;;
  up | down | ps) stack "$1" "${2:-}" ;;
  *) die "usage: bash scripts/stack.sh images | up dev|prod | down dev|prod | ps dev|prod" ;;
esac
