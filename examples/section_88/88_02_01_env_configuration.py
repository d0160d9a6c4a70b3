"""88.2.1 Configuring Airflow through the environment: options, connections, executor, feature flags.

What it teaches
    One image serves every environment when its configuration comes from environment variables: the
    container platform (compose ``environment:``, a Kubernetes ConfigMap or Secret, ``docker run -e``)
    sets them, and Airflow reads them when it starts. Four kinds are shown, each set on a container of
    the project's Airflow image (``localhost:5000/dockpod/airflow:3.3.2``) and read back inside it with
    Airflow's own CLI, so the test compares what was set with what Airflow really uses:

    * ``AIRFLOW__{SECTION}__{KEY}``: ``AIRFLOW__CORE__PARALLELISM`` is option ``parallelism`` of
      section ``[core]``; double underscores separate the parts, the names are case-insensitive.
      Read back with ``airflow config get-value SECTION KEY``.
    * ``AIRFLOW_CONN_{CONN_ID}``: a connection as a URI (``postgres://user:password@host:port/db?extra=``)
      or, since Airflow 2.3, as JSON (``{"conn_type": ..., "host": ..., "extra": {...}}``). Read back
      with ``airflow connections get CONN_ID -o json``. Such connections are never in the database.
      The password comes from the worker's ``DOCKPOD_SECRET_WAREHOUSE_DB_PASSWORD`` when set, else it
      is made fresh for the run; the container hashes it before anything leaves it, so it is in no
      log line and no XCom (88_02_02 shows where real secrets belong).
    * the executor: ``AIRFLOW__CORE__EXECUTOR`` takes a short name (``LocalExecutor``), a class path
      (the Celery provider's ``CeleryExecutor``), or a list for several executors at once. Each choice
      runs in its own container, which reports the value and the executor class Airflow loads for it.
    * feature flags: ``AIRFLOW__CORE__LOAD_EXAMPLES`` (the image's own ``ENV`` says False; ``-e``
      overrides an image's ENV), ``AIRFLOW__API__EXPOSE_CONFIG`` (whether the UI shows the
      configuration: ``non-sensitive-only`` here), ``AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION``.

    ``_CMD`` variants: for its sensitive options (database URL, Fernet key, broker URL, secret keys...)
    Airflow also reads ``AIRFLOW__{SECTION}__{KEY}_CMD``, runs that command and takes its output, so
    the value itself need not sit in the environment. ``cmd_variants`` puts a database URL and a fresh
    Fernet key into files in the container and points ``AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_CMD`` and
    ``AIRFLOW__CORE__FERNET_KEY_CMD`` at them (``cat FILE``): ``airflow db check`` connects with the
    URL (the image's entrypoint waited for that database too) and the key reads back, compared as a
    digest. It also shows the limit: ``AIRFLOW__CORE__PARALLELISM_CMD`` is ignored, because
    ``parallelism`` is not a sensitive option, and the default (32) stays. And a trap: Airflow takes
    the command's output as it is, final newline included (seen with 3.3.2). ``cat`` of a file that
    ends with a newline gives a database URL ending in ``\n``, and SQLite then creates a file literally
    named ``newline.db\n`` (``ls -b`` shows it); a password would be wrong the same way. Write such
    files without the final newline (``printf %s``), as this task does, or strip it in the command.

    ``precedence`` mounts assets/88_02_01_env_configuration/airflow.cfg (``parallelism = 8``) through
    ``AIRFLOW_CONFIG`` twice: alone, the file's value is used; with ``AIRFLOW__CORE__PARALLELISM`` set,
    the environment wins, while options the variable does not name still come from the file.
    ``airflow config list --include-sources`` names the source of each value ("airflow.cfg", "env
    var", "cmd"), and a plain variable beats its own ``_CMD`` variant. Airflow's order, highest first:
    environment variable, ``_CMD`` variable, ``_SECRET`` variable, airflow.cfg, the file's ``_cmd``
    and ``_secret`` keys, Airflow's defaults.

Checklist items covered
    AIRFLOW__ prefix convention (``section_key_variables``, ``precedence``), connection URIs
    (``connections``: URI and JSON forms), executor configuration (``executor``: three choices, the
    loaded class of each), feature flags (``feature_flags``); plus ``_CMD`` (``cmd_variants``).

Run it
    AIRFLOW_ENVIRONMENT=local airflow dags test 88_02_01_env_configuration -c '{"parallelism": 24}'
    By hand: docker run --rm -e AIRFLOW__CORE__PARALLELISM=24 localhost:5000/dockpod/airflow:3.3.2 \\
                 config get-value core parallelism
    (tests/examples/test_88_02_01_env_configuration.py sets random values and checks each one read
    back, the ``_CMD`` variants and the precedence; every container is removed.)
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import secrets
import tarfile
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

from airflow.sdk import DAG, task

ASSETS = Path(__file__).parent / "assets" / "88_02_01_env_configuration"
AIRFLOW_IMAGE = "localhost:5000/dockpod/airflow:3.3.2"
LABEL_KEY, LABEL_VALUE = "io.dockpod.example", "88_02_01_env_configuration"
CONFIG_DIR = "/opt/airflow/config"
#: Lists each option with the source of its value ("env var", "cmd", "airflow.cfg", "default"); sensitive values
#: are shown as "< hidden >".
SOURCE = "airflow config list --include-sources --show-values --hide-sensitive 2>/dev/null"

#: Shell helper for the scripts below: prints "@@name=value", the value being the command's last stdout line
#: that is not one of Airflow's log lines (they go to stdout too, before and, at DEBUG level, after the answer).
PRELUDE = r"""
set -uo pipefail
logline='^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z \['
answer() { local name="$1"; shift; printf '@@%s=%s\n' "$name" "$("$@" 2>/dev/null | grep -Ev "$logline" | tail -n 1)"; }
"""

#: Copied into the container: reads ``airflow connections get -o json`` and replaces what holds the password
#: (the password, the URI) by a SHA-256 digest of the password, before anything leaves the container.
CONN_DIGEST = """
import hashlib, json, sys
conn = json.loads(sys.stdin.read())[0]
conn['password'] = hashlib.sha256((conn['password'] or '').encode()).hexdigest()
conn.pop('get_uri', None)
print(json.dumps(conn, sort_keys=True))
"""


def _archive(files: dict[str, str]) -> bytes:
    """A tar of ``files`` (absolute path -> text), owned by 50000:0, readable by that user only."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for path, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(path.lstrip("/"))
            info.size, info.mode, info.uid, info.gid = len(data), 0o640, 50000, 0
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def run_airflow(script: str, env: dict[str, str], files: dict[str, str] | None = None) -> dict[str, str]:
    """Run ``script`` in a new container of the image with ``env``; the ``@@name=value`` lines it printed.

    ``files`` are copied into the container before it starts (so they need no host path the engine can
    see). The container has a tmpfs at /data for SQLite files and is removed afterwards, whatever happens.
    """
    import docker

    client = docker.from_env()
    container = client.containers.create(
        AIRFLOW_IMAGE, ["bash", "-c", PRELUDE + script], environment=env,
        name=f"dp-88-02-01-{uuid.uuid4().hex[:10]}", labels={LABEL_KEY: LABEL_VALUE},
        tmpfs={"/data": "uid=50000,gid=0,mode=0770"})
    try:
        if files:
            container.put_archive("/", _archive(files))
        container.start()
        status = container.wait(timeout=300)["StatusCode"]
        stdout = container.logs(stdout=True, stderr=False).decode()
        stderr = container.logs(stdout=False, stderr=True).decode()
    finally:
        container.remove(force=True)
    if status != 0:
        raise RuntimeError(f"the container exited {status}: {stderr[-1500:]}")
    return dict(line[2:].split("=", 1) for line in stdout.splitlines() if line.startswith("@@") and "=" in line)


with DAG(
    dag_id="88_02_01_env_configuration",
    schedule=None,
    start_date=datetime(2024, 1, 1),
    catchup=False,
    params={"parallelism": 24, "max_active_tasks_per_dag": 6, "logging_level": "WARNING",
            "warehouse_host": "warehouse.internal", "reporting_port": 8443},
    tags=["reference", "core", "beginner", "success"],
    doc_md=__doc__,
):

    @task
    def section_key_variables(params: dict[str, Any]) -> dict[str, dict[str, str]]:
        """Three options of three sections, set as AIRFLOW__SECTION__KEY, read back with config get-value."""
        env = {"AIRFLOW__CORE__PARALLELISM": str(params["parallelism"]),
               "AIRFLOW__CORE__MAX_ACTIVE_TASKS_PER_DAG": str(params["max_active_tasks_per_dag"]),
               "AIRFLOW__LOGGING__LOGGING_LEVEL": str(params["logging_level"])}
        read = run_airflow("\n".join(f"answer {name} airflow config get-value {name.split('__')[1].lower()} "
                                     f"{name.split('__')[2].lower()}" for name in env), env)
        return {"set": env, "read": read}

    @task
    def connections(params: dict[str, Any]) -> dict[str, Any]:
        """A connection as a URI and one as JSON, read back with ``airflow connections get``."""
        # The worker's local secret source (as dockpod's local profile uses it), else a fresh value for this run.
        password = os.environ.get("DOCKPOD_SECRET_WAREHOUSE_DB_PASSWORD") or secrets.token_urlsafe(18)
        uri = f"postgres://etl:{password}@{params['warehouse_host']}:5432/analytics?sslmode=require&connect_timeout=10"
        as_json = {"conn_type": "http", "host": "reporting.internal", "port": int(params["reporting_port"]),
                   "schema": "https", "login": "reporter", "extra": {"timeout": 30, "verify": True}}
        env = {"AIRFLOW_CONN_WAREHOUSE": uri, "AIRFLOW_CONN_REPORTING_API": json.dumps(as_json)}
        script = "\n".join(f"answer {conn} bash -c 'airflow connections get {conn} -o json 2>/dev/null | tail -n 1 "
                           f"| python {CONFIG_DIR}/conn_digest.py'" for conn in ("warehouse", "reporting_api"))
        read = {name: json.loads(text) for name, text in
                run_airflow(script, env, files={f"{CONFIG_DIR}/conn_digest.py": CONN_DIGEST}).items()}
        warehouse = read["warehouse"]
        return {
            "warehouse": warehouse,
            "warehouse_password_matches": warehouse.pop("password") == hashlib.sha256(password.encode()).hexdigest(),
            "reporting_api": read["reporting_api"],
            "set_json": as_json,
        }

    @task
    def executor() -> dict[str, dict[str, str]]:
        """Each executor choice in its own container: the configured value and the class Airflow loads."""
        load = ("python -c 'from airflow.executors.executor_loader import ExecutorLoader as L; "
                "print(\",\".join(n.module_path.rsplit(\".\", 1)[1] for n in L.get_executor_names()))'")
        default_cls = ("python -c 'from airflow.executors.executor_loader import ExecutorLoader as L; "
                       "c = L.import_default_executor_cls()[0]; print(c.__module__ + \".\" + c.__name__)'")
        found = {}
        for choice in ("LocalExecutor", "airflow.providers.celery.executors.celery_executor.CeleryExecutor",
                       "LocalExecutor,CeleryExecutor"):
            found[choice] = run_airflow(f"answer configured airflow config get-value core executor\n"
                                        f"answer executors {load}\nanswer default_class {default_cls}",
                                        {"AIRFLOW__CORE__EXECUTOR": choice})
        return found

    @task
    def feature_flags() -> dict[str, dict[str, str]]:
        """Three switches set through the environment, one of them overriding the image's own ENV."""
        env = {"AIRFLOW__CORE__LOAD_EXAMPLES": "True", "AIRFLOW__API__EXPOSE_CONFIG": "non-sensitive-only",
               "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False"}
        import docker

        image_env = docker.from_env().images.get(AIRFLOW_IMAGE).attrs["Config"]["Env"]
        script = ("answer AIRFLOW__CORE__LOAD_EXAMPLES airflow config get-value core load_examples\n"
                  "answer AIRFLOW__API__EXPOSE_CONFIG airflow config get-value api expose_config\n"
                  "answer AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION "
                  "airflow config get-value core dags_are_paused_at_creation")
        return {"set": env, "read": run_airflow(script, env),
                "image_env": sorted(e for e in image_env if e.startswith("AIRFLOW__"))}

    @task
    def cmd_variants() -> dict[str, Any]:
        """_CMD for two sensitive options (the database URL, the Fernet key), and where it does not apply."""
        from cryptography.fernet import Fernet

        fernet_key = Fernet.generate_key().decode()
        db_url = "sqlite:////data/from_cmd.db"
        env = {"AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_CMD": f"cat {CONFIG_DIR}/db_url",
               "AIRFLOW__CORE__FERNET_KEY_CMD": f"cat {CONFIG_DIR}/fernet_key",
               "AIRFLOW__CORE__PARALLELISM_CMD": "echo 77"}
        newline_cmd = f"AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_CMD='cat {CONFIG_DIR}/db_url_with_newline'"
        script = ("answer sql_alchemy_conn airflow config get-value database sql_alchemy_conn\n"
                  "answer db_check bash -c 'airflow db check >/dev/null 2>&1 && echo ok || echo failed'\n"
                  "answer fernet_key_sha256 bash -c 'airflow config get-value core fernet_key 2>/dev/null "
                  "| tail -n 1 | tr -d \"\\n\" | sha256sum | cut -d\" \" -f1'\n"
                  "answer parallelism airflow config get-value core parallelism\n"
                  f"answer source bash -c '{SOURCE} --section database | grep -B1 \"^sql_alchemy_conn \" | head -n 1'\n"
                  f"answer newline_file bash -c \"{newline_cmd} airflow db check >/dev/null 2>&1; "
                  "ls -b /data | grep newline\"")
        read = run_airflow(script, env, files={f"{CONFIG_DIR}/db_url": db_url,
                                               f"{CONFIG_DIR}/fernet_key": fernet_key,
                                               f"{CONFIG_DIR}/db_url_with_newline": "sqlite:////data/newline.db\n"})
        return {
            "env": env,
            "sql_alchemy_conn": read["sql_alchemy_conn"],
            "sql_alchemy_conn_expected": db_url,
            "db_check": read["db_check"],
            "fernet_key_matches": read["fernet_key_sha256"] == hashlib.sha256(fernet_key.encode()).hexdigest(),
            "sql_alchemy_conn_source": read["source"].lstrip("# ").strip(),
            "sqlite_file_from_a_value_with_newline": read["newline_file"],
            "parallelism_with_ignored_cmd": read["parallelism"],
        }

    @task
    def precedence(params: dict[str, Any]) -> dict[str, dict[str, str]]:
        """airflow.cfg alone, then with an environment variable naming one of its options."""
        files = {f"{CONFIG_DIR}/airflow.cfg": (ASSETS / "airflow.cfg").read_text()}
        base = {"AIRFLOW_CONFIG": f"{CONFIG_DIR}/airflow.cfg"}
        script = ("answer parallelism airflow config get-value core parallelism\n"
                  "answer max_active_runs_per_dag airflow config get-value core max_active_runs_per_dag\n"
                  f"answer parallelism_source bash -c '{SOURCE} --section core | grep -B1 \"^parallelism \" "
                  "| head -n 1'\n"
                  "answer env_over_cmd bash -c 'AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=sqlite:////data/env.db "
                  "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_CMD=\"echo sqlite:////data/cmd.db\" "
                  "airflow config get-value database sql_alchemy_conn'")
        file_only = run_airflow(script, base, files=files)
        with_env = run_airflow(script, {**base, "AIRFLOW__CORE__PARALLELISM": str(params["parallelism"])},
                               files=files)
        for read in (file_only, with_env):
            read["parallelism_source"] = read["parallelism_source"].lstrip("# ").strip()
        return {"file_only": file_only, "file_and_env": with_env}

    section_key_variables() >> connections() >> executor() >> feature_flags() >> cmd_variants() >> precedence()
