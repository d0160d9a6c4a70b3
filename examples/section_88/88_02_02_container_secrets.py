"""88.2.2 Secrets in containers: values that reach Airflow and the task, and nowhere else.

What it teaches
    A secret belongs neither in an image nor in a container's environment block, where ``docker
    inspect``, a compose file or a manifest shows it to everyone who can read those. It is a file the
    platform mounts read-only at run time, or a reference the platform resolves, and the program reads
    the value itself.

    ``docker_secrets`` starts assets/88_02_02_container_secrets/compose.yaml for real. Its secret files
    are written at run time into a private temporary folder (mode 0640, group 0: readable by Airflow's
    uid 50000 in gid 0, by nobody else) and compose mounts them read-only under ``/run/secrets/``.
    Airflow reads them with its two suffixes, which work for its sensitive options only:
    ``AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_CMD=cat /run/secrets/airflow_db_conn`` and
    ``AIRFLOW__CORE__FERNET_KEY_CMD`` run a command and take its output; ``AIRFLOW__API__SECRET_KEY_SECRET``
    and ``AIRFLOW__API_AUTH__JWT_SECRET_SECRET`` ask the secrets backend, here Airflow's
    ``LocalFilesystemBackend`` reading a JSON file that is itself a Docker secret. The task then asks
    Airflow inside the container for each option and compares SHA-256 digests with the values it wrote
    (no value is printed), encrypts a probe with Airflow's Fernet and decrypts it with the key it wrote,
    reads the container's environment and logs through ``docker inspect``/``docker compose logs`` to
    count the secret values found there (none), checks the mounts are read-only (a write fails with
    "Read-only file system"), and always ends with ``docker compose down -v`` and deletes the folder.
    The container only turns healthy after ``airflow db check`` connected with the ``_CMD`` value.

    ``use_secrets`` is a dockpod container task with two ``Secret(...)`` references: one key as an
    environment variable, one as a read-only file under /run/secrets/. Locally dockpod takes the values
    from the profile's secret source (the worker's ``DOCKPOD_SECRET_WAREHOUSE_DB_PASSWORD`` and
    ``DOCKPOD_SECRET_WAREHOUSE_DB_API_TOKEN``) and mounts the file for this run only; the container
    returns digests and lengths as its XCom. ``render_for_production`` renders the same task with
    dockpod's public render API (``dockpod.render.render_paths``, what ``dockpod render --env
    production`` prints): the pod has a ``secretKeyRef`` and a ``secret`` volume naming the Kubernetes
    Secret ``warehouse-db``, and no value; the task also checks that no ``DOCKPOD_SECRET_*`` value of the
    worker occurs anywhere in the rendered text.

Checklist items covered
    Docker secrets (compose ``secrets:`` from files, ``docker_secrets``), Kubernetes secrets
    (``Secret(...)`` rendered as ``secretKeyRef`` and a secret volume, ``render_for_production``),
    ``_CMD`` and ``_SECRET`` suffixes (the compose file's environment), secret file mounting
    (``/run/secrets/...`` in compose and ``Secret(..., path=...)`` in the container task).

Run it
    export DOCKPOD_SECRET_WAREHOUSE_DB_PASSWORD=any-local-password DOCKPOD_SECRET_WAREHOUSE_DB_API_TOKEN=any-token
    AIRFLOW_ENVIRONMENT=local airflow dags test 88_02_02_container_secrets
    dockpod render examples/section_88/88_02_02_container_secrets.py --env production
    The compose stack's secrets come from DOCKPOD_SECRET_AIRFLOW_* variables when set (FERNET_KEY,
    DB_CONN, API_SECRET_KEY, JWT_SECRET), otherwise fresh random values are made for the run.
    (tests/examples/test_88_02_02_container_secrets.py sets every value to a random one and checks it
    is in no log line, no XCom and no rendered output.)
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from airflow.sdk import DAG, task

from dockpod import Secret, container_task

ASSETS = Path(__file__).parent / "assets" / "88_02_02_container_secrets"
AIRFLOW_IMAGE = "localhost:5000/dockpod/airflow:3.3.2"
ETL_IMAGE = "registry.localhost/dockpod/etl:1.0"

#: Secret name -> (worker variable it comes from, Airflow option that reads it, how).
STACK_SECRETS = {
    "airflow_db_conn": ("DOCKPOD_SECRET_AIRFLOW_DB_CONN", "database.sql_alchemy_conn", "_CMD"),
    "airflow_fernet_key": ("DOCKPOD_SECRET_AIRFLOW_FERNET_KEY", "core.fernet_key", "_CMD"),
    "api_secret_key": ("DOCKPOD_SECRET_AIRFLOW_API_SECRET_KEY", "api.secret_key", "_SECRET"),
    "jwt_secret": ("DOCKPOD_SECRET_AIRFLOW_JWT_SECRET", "api_auth.jwt_secret", "_SECRET"),
}

#: Run inside the Airflow container: what Airflow's configuration resolved, as digests; a Fernet probe.
AIRFLOW_CHECK = """
import hashlib, json
from airflow.configuration import conf
from airflow.models.crypto import get_fernet
options = ['database.sql_alchemy_conn', 'core.fernet_key', 'api.secret_key', 'api_auth.jwt_secret']
digests = {o: hashlib.sha256(conf.get(*o.split('.')).encode()).hexdigest() for o in options}
print(json.dumps({'digests': digests, 'fernet_token': get_fernet().encrypt(b'dockpod-probe').decode()}))
""".strip()

#: Run in the task container: digests and lengths of what the Secret references delivered, never the values.
USE_SECRETS = """
import errno, hashlib, json, os, stat
password = os.environ['WAREHOUSE_PASSWORD']
path = '/run/secrets/warehouse/api-token'
token = open(path).read()
try:
    open(path, 'a').close()
    refused = ''
except OSError as exc:
    refused = errno.errorcode[exc.errno]
mounts = [line.split() for line in open('/proc/self/mountinfo')]
read_only = [m[5].split(',')[0] == 'ro' for m in mounts if path.startswith(m[4].rstrip('/') + '/')]
digest = lambda v: hashlib.sha256(v.encode()).hexdigest()
json.dump({'password_sha256': digest(password), 'password_length': len(password),
           'token_sha256': digest(token), 'token_length': len(token),
           'token_file_mode': oct(stat.S_IMODE(os.stat(path).st_mode)), 'token_write_refused': refused,
           'token_mount_read_only': bool(read_only) and read_only[-1],
           'uid': os.getuid()}, open('/airflow/xcom/return.json', 'w'))
print('used the warehouse password and API token (values not shown)', flush=True)
""".strip()


def _stack_values() -> dict[str, str]:
    """The compose stack's secret values: from the worker's environment, or fresh random ones."""
    import os
    import secrets

    from cryptography.fernet import Fernet

    fresh = {"airflow_db_conn": f"sqlite:////tmp/airflow-{secrets.token_hex(16)}.db",
             "airflow_fernet_key": Fernet.generate_key().decode(),
             "api_secret_key": secrets.token_urlsafe(32), "jwt_secret": secrets.token_urlsafe(32)}
    return {name: os.environ.get(variable) or fresh[name] for name, (variable, _o, _h) in STACK_SECRETS.items()}


def _compose(project: str, env: dict[str, str], *args: str, timeout: int = 300) -> str:
    import subprocess

    done = subprocess.run(["docker", "compose", "-p", project, "-f", str(ASSETS / "compose.yaml"), *args],
                          capture_output=True, text=True, env=env, timeout=timeout, check=False,
                          stdin=subprocess.DEVNULL)
    if done.returncode != 0:
        raise RuntimeError(f"docker compose {args[0]} failed ({done.returncode}): {done.stderr.strip()[-800:]}")
    return done.stdout


with DAG(
    dag_id="88_02_02_container_secrets",
    schedule=None,
    start_date=datetime(2024, 1, 1),
    catchup=False,
    tags=["reference", "core", "intermediate", "success"],
    doc_md=__doc__,
):

    @task
    def docker_secrets() -> dict[str, Any]:
        """Start the compose stack with secrets from files; check what reached Airflow and what did not leak."""
        import hashlib
        import json
        import os
        import shutil
        import tempfile
        import uuid

        import docker
        from cryptography.fernet import Fernet

        values = _stack_values()
        folder = Path(tempfile.mkdtemp(prefix="dockpod-88-02-02-"))
        files = {"airflow_db_conn": "airflow_db_conn", "airflow_fernet_key": "airflow_fernet_key"}
        for name, file in files.items():
            (folder / file).write_text(values[name])
        backend = {name: values[name] for name in ("api_secret_key", "jwt_secret")}
        (folder / "airflow-config.json").write_text(json.dumps(backend))
        for path in folder.iterdir():  # the folder itself is 0700: nobody else on the host reaches them
            if os.getuid() == 0:
                os.chown(path, -1, 0)
                path.chmod(0o640)  # group 0 reads: Airflow's uid 50000 runs in gid 0
            else:
                path.chmod(0o644)  # a worker that cannot give the file to group 0
        project = f"dp880202-{uuid.uuid4().hex[:10]}"
        env = {**os.environ, "DOCKPOD_SECRETS_DIR": str(folder), "AIRFLOW_IMAGE": AIRFLOW_IMAGE}
        try:
            _compose(project, env, "up", "-d", "--wait", "--wait-timeout", "180")
            out = _compose(project, env, "exec", "-T", "airflow", "python3", "-c", AIRFLOW_CHECK)
            seen = json.loads([line for line in out.splitlines() if line.startswith("{")][-1])
            refused = _compose(project, env, "exec", "-T", "airflow", "sh", "-c",
                               "{ echo x > /run/secrets/airflow_db_conn; } 2>&1 || true")
            container_id = _compose(project, env, "ps", "-q", "airflow").strip()
            attrs = docker.from_env().api.inspect_container(container_id)
            logs = _compose(project, env, "logs", "--no-color")
        finally:
            try:
                _compose(project, env, "down", "-v", "--remove-orphans")
            finally:
                shutil.rmtree(folder, ignore_errors=True)
        expected = {option: hashlib.sha256(values[name].encode()).hexdigest()
                    for name, (_v, option, _h) in STACK_SECRETS.items()}
        environment = attrs["Config"]["Env"]
        return {
            "reached_airflow": {o: seen["digests"][o] == digest for o, digest in expected.items()},
            "read_with": {option: how for _v, option, how in STACK_SECRETS.values()},
            "fernet_probe_decrypts": Fernet(values["airflow_fernet_key"].encode())
            .decrypt(seen["fernet_token"].encode()) == b"dockpod-probe",
            "lengths": {name: len(value) for name, value in values.items()},
            "references_in_environment": sorted(e.split("=", 1)[0] for e in environment
                                                if e.split("=", 1)[0].endswith(("_CMD", "_SECRET"))),
            "values_in_environment": sum(v in e for v in values.values() for e in environment),
            "values_in_logs": sum(v in line for v in values.values() for line in logs.splitlines()),
            "secret_mounts": sorted([m["Destination"], m["RW"]] for m in attrs["Mounts"]
                                    if m["Destination"].startswith("/run/secrets/")),
            "write_refused": "Read-only file system" in refused,
            "healthy": attrs["State"].get("Health", {}).get("Status"),
        }

    use_secrets = container_task(
        task_id="use_secrets",
        image=ETL_IMAGE,
        entrypoint=["python3", "-c", USE_SECRETS],
        secrets=[Secret("warehouse-db", "password", env="WAREHOUSE_PASSWORD"),
                 Secret("warehouse-db", "api-token", path="/run/secrets/warehouse/api-token")],
        resources={"cpu_request": "100m", "memory_request": "32Mi", "memory_limit": "64Mi"},
        xcom=True,
    )

    @task
    def render_for_production() -> dict[str, Any]:
        """The production pod of ``use_secrets``: references to the Secret, never its value."""
        import os

        from dockpod.render import dump, render_paths

        result = render_paths([Path(__file__)], "production")
        if not result.ok:
            raise RuntimeError("; ".join(result.errors))
        pod = next(t.manifest for t in result.tasks if t.task_id == "use_secrets")
        base = next(c for c in pod["spec"]["containers"] if c["name"] == "base")
        text = dump(result, "yaml") + dump(result, "json")
        local_values = [v for k, v in os.environ.items() if k.startswith("DOCKPOD_SECRET_") and v]
        return {
            "env": {e["name"]: e.get("valueFrom", {}).get("secretKeyRef") for e in base.get("env", [])
                    if e["name"] == "WAREHOUSE_PASSWORD"},
            "env_with_value": sorted(e["name"] for e in base.get("env", []) if "value" in e),
            "secret_volumes": [v["secret"] for v in pod["spec"].get("volumes", []) if "secret" in v],
            "mounts": sorted([m["mountPath"], bool(m.get("readOnly"))] for m in base.get("volumeMounts", [])),
            "worker_secret_values_in_render": sum(v in text for v in local_values),
        }

    docker_secrets() >> use_secrets >> render_for_production()
