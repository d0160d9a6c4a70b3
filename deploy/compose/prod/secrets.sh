#!/usr/bin/env bash
# Make the secret files of the production-like compose stack in secrets/ (next to this script), once: existing files
# are kept, so running it again changes nothing and a database made with the old password stays usable.
# Values are random (hex, safe in URLs) and never printed. Each file is readable only by the uid of the service that
# reads it (999: PostgreSQL and Redis; 50000: Airflow) when run as root; otherwise it is made readable by all local
# users, with a warning (compose mounts secret files as they are on the host).
# Usage: bash deploy/compose/prod/secrets.sh [SECRETS_DIR]
set -euo pipefail

dir="${1:-$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/secrets}"
umask 077
mkdir -p "$dir"
chmod 0700 "$dir"
# The folder itself must be enterable by the services' users for the bind mounts: 0711 (no listing).
chmod 0711 "$dir"

random() { od -An -N"$1" -tx1 /dev/urandom | tr -d ' \n'; }
owner_of() { case "$1" in postgres_password | redis_password) echo 999 ;; *) echo 50000 ;; esac; }

made=()
put() { # put NAME VALUE: write the file unless it exists
  local name="$1" value="$2" path="$dir/$1"
  [[ -e "$path" ]] && return 0
  printf '%s' "$value" >"$path.tmp"
  if ((EUID == 0)); then
    chown "$(owner_of "$name"):0" "$path.tmp"
    chmod 0400 "$path.tmp"
  else
    chmod 0444 "$path.tmp"
  fi
  mv "$path.tmp" "$path"
  made+=("$name")
}
read_secret() { cat "$dir/$1"; }

put postgres_password "$(random 24)"
put redis_password "$(random 24)"
db_password="$(read_secret postgres_password)"
broker_password="$(read_secret redis_password)"
put airflow_db_conn "postgresql+psycopg2://airflow:${db_password}@postgres:5432/airflow"
put airflow_result_backend "db+postgresql://airflow:${db_password}@postgres:5432/airflow"
put airflow_broker_url "redis://:${broker_password}@redis:6379/0"
# A Fernet key is 32 random bytes in URL-safe base64.
put airflow_fernet_key "$(head -c 32 /dev/urandom | base64 | tr '+/' '-_')"
put airflow_jwt_secret "$(random 32)"
put airflow_api_secret_key "$(random 32)"
put admin_password "$(random 16)"
put airflow_auth_passwords "{\"admin\": \"$(read_secret admin_password)\"}"
# The demo DAG's API token (the Kubernetes Secret etl-api, key token; dockpod reads it from the secret folder).
put etl_api_token "$(random 16)"

if ((EUID != 0)) && ((${#made[@]})); then
  echo "secrets.sh: not root, so the files are readable by every local user (the services run as other uids)" >&2
fi
echo "secrets.sh: ${#made[@]} secret file(s) made in $dir${made:+ (${made[*]})}; existing ones kept" >&2
