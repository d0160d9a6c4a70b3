#!/usr/bin/env bash
# Regenerate constraints.txt, the pins of every package that `pip install -e '.[airflow,postgres,celery,dev]'` brings in
# (Airflow's upstream constraints file cannot be fetched here, so the project keeps its own).
# It installs the project into a throwaway venv and freezes it, excluding dockpod itself.
#   bash scripts/freeze-constraints.sh          keep the current pins, add pins for new dependencies
#   bash scripts/freeze-constraints.sh --fresh  resolve everything anew (upgrades whatever pip picks)
# Takes about a minute; review the diff of constraints.txt before committing it.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

fresh=0
case "${1:-}" in
  --fresh) fresh=1 ;;
  "") ;;
  *) echo "usage: bash scripts/freeze-constraints.sh [--fresh]" >&2; exit 2 ;;
esac

tmp="$(mktemp -d /tmp/dockpod-freeze.XXXXXX)"
trap 'rm -rf "$tmp"' EXIT

constraint=()
if ((fresh == 0)) && [[ -f constraints.txt ]]; then
  constraint=(-c constraints.txt)
fi

python3 -m venv "$tmp/venv"
if ! "$tmp/venv/bin/pip" install --progress-bar off "${constraint[@]}" -e '.[airflow,postgres,celery,dev]' >"$tmp/pip.log" 2>&1; then
  tail -n 20 "$tmp/pip.log" >&2
  if ((${#constraint[@]})); then
    echo "freeze-constraints: install with the current pins failed; retry with --fresh" >&2
  else
    echo "freeze-constraints: pip install -e '.[airflow,postgres,celery,dev]' failed; fix pyproject.toml and retry" >&2
  fi
  exit 1
fi
{
  echo "# Pins for every package that 'pip install -e .[airflow,postgres,celery,dev]' brings in (Python 3.11, Linux x86_64)."
  echo "# Airflow's upstream constraints file cannot be fetched here, so the project keeps its own."
  echo "# Regenerate with: bash scripts/freeze-constraints.sh [--fresh]"
  "$tmp/venv/bin/pip" freeze --exclude-editable | grep -v -i -E '^(dockpod==|-e )' | LC_ALL=C sort -f
} >constraints.txt.new
mv constraints.txt.new constraints.txt
echo "freeze-constraints: wrote constraints.txt ($(grep -c -v '^#' constraints.txt) pins)" >&2
