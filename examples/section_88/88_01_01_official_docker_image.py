"""88.1.1 The Airflow image: which tag to take, what is in it, and how to run it with its configuration.

What it teaches
    An Airflow image is used through three things: its tag (which Airflow version, which variant),
    its configuration, which comes from environment variables at ``docker run`` time rather than from
    files baked into it, and the command given to its entrypoint. This DAG does all three with the
    project's image ``localhost:5000/dockpod/airflow:3.3.2`` (deploy/images/airflow/).

    Where Docker Hub is reachable, teams start from the official ``apache/airflow:3.3.2``; the
    project's Dockerfile takes it as ``--build-arg BASE_IMAGE=apache/airflow:3.3.2``. These machines
    cannot pull from Docker Hub, so the image used here is the same Dockerfile built FROM the local
    Debian bookworm base (``localhost:5000/dockpod/debian:bookworm``, its ``base.name`` label says
    so). It keeps the official image's conventions, which is what this example relies on: user
    ``airflow`` with uid 50000 and gid 0, ``AIRFLOW_HOME=/opt/airflow``, an entrypoint that runs
    ``airflow ARGS`` (``docker run IMAGE version``) or ``bash``/``python`` as given, waits for the
    database when one is configured, and the same ``AIRFLOW__*`` variables.

    ``image_facts`` pulls the tag from the registry with the docker SDK (what ``docker pull`` does)
    and reads what the image says about itself: digest, labels (Airflow version, base image), user,
    entrypoint, default command, size. ``docker_run`` runs the image several times with plain
    ``docker run`` command lines (returned as text, to copy): the default command (``version``), the
    user, a setting read with and without ``AIRFLOW__CORE__PARALLELISM``, ``airflow db check``
    against a throwaway SQLite database on a tmpfs the uid 50000 user can write, the installed
    providers and the Python version. ``as_container_task`` runs the same image as a dockpod
    container task (DockerOperator here, KubernetesPodOperator in production), with the setting and
    the database given as ``env`` and a tmpfs volume, and returns what it saw as its XCom.

Checklist items covered
    * Image tags and versions: ``image_facts`` pulls ``3.3.2`` and reports its digest (pin that in
      production: a tag can move, the digest cannot) and its version label, which ``docker_run``
      checks against what ``airflow version`` prints.
    * Image variants (slim, full): the official tags come as ``apache/airflow:3.3.2`` (with a set
      of providers), ``apache/airflow:3.3.2-python3.11`` (a chosen Python) and
      ``apache/airflow:slim-3.3.2`` (Airflow alone). ``docker_run`` reads the Python version and the
      providers of this image and ``image_facts`` names the official tag it corresponds to: a
      "full" variant on Python 3.11, with the docker, cncf.kubernetes, postgres and celery providers.
    * Environment configuration: ``AIRFLOW__CORE__PARALLELISM`` (the DAG param ``parallelism``) is
      what ``airflow config get-value core parallelism`` returns, and the default (32) without it;
      ``AIRFLOW__DATABASE__SQL_ALCHEMY_CONN`` points ``db check`` at the SQLite file. 88_02_01 goes
      through the configuration options in depth.
    * Basic docker run commands: every command ``docker_run`` ran is in its XCom, e.g.
      ``docker run --rm -e AIRFLOW__CORE__PARALLELISM=12 localhost:5000/dockpod/airflow:3.3.2 config
      get-value core parallelism``.

Run it
    AIRFLOW_ENVIRONMENT=local airflow dags test 88_01_01_official_docker_image -c '{"parallelism": 12}'
    (tests/examples/test_88_01_01_official_docker_image.py runs it with a random parallelism and
    checks version, configuration, database check and user; every container it starts is removed.)
"""

from __future__ import annotations

import json
import shlex
import subprocess
import uuid
from datetime import datetime
from typing import Any

from airflow.sdk import DAG, task

from dockpod import Volume, container_task

AIRFLOW_IMAGE = "localhost:5000/dockpod/airflow:3.3.2"
#: The same image as a container task names it; the local profile rewrites registry.localhost (examples/dockpod.toml).
TASK_IMAGE = "registry.localhost/dockpod/airflow:3.3.2"
LABEL = "io.dockpod.example=88_01_01_official_docker_image"
SQLITE = "sqlite:////data/airflow.db"
#: A tmpfs owned by the image's user: the SQLite file of `db check` lives and dies with the container.
DATA_TMPFS = "/data:uid=50000,gid=0,mode=0770"

#: Runs inside the container task: what the container sees, as JSON in the XCom file.
IN_CONTAINER = r"""
set -euo pipefail
last() { "$@" 2>/dev/null | tail -n 1; }
version="$(last airflow version)"
parallelism="$(last airflow config get-value core parallelism)"
if airflow db check >/dev/null 2>&1; then db=ok; else db=failed; fi
python -c 'import json, sys; keys = ("version", "parallelism", "db_check", "uid", "gid", "airflow_home")
json.dump(dict(zip(keys, sys.argv[1:])), open("/airflow/xcom/return.json", "w"))' \
  "$version" "$parallelism" "$db" "$(id -u)" "$(id -g)" "$AIRFLOW_HOME"
""".strip()


def docker_run(flags: list[str], args: list[str]) -> dict[str, Any]:
    """``docker run --rm FLAGS IMAGE ARGS``: the command line (without the cleanup flags), exit code, stdout lines.

    The container gets a unique name and the example's label, and is removed whatever happens.
    """
    name = f"dp-88-01-01-{uuid.uuid4().hex[:10]}"
    shown = ["docker", "run", "--rm", *flags, AIRFLOW_IMAGE, *args]
    command = ["docker", "run", "--rm", "--name", name, "--label", LABEL, *flags, AIRFLOW_IMAGE, *args]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=180, check=False)
    finally:
        subprocess.run(["docker", "rm", "--force", name], capture_output=True, check=False)
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    return {"command": shlex.join(shown), "exit_code": done.returncode, "stdout": lines}


def _last(run: dict[str, Any]) -> str:
    """The command's answer: Airflow's log lines also go to stdout, the answer is printed last."""
    if run["exit_code"] != 0 or not run["stdout"]:
        raise RuntimeError(f"{run['command']} exited {run['exit_code']}: {run['stdout'][-5:]}")
    return run["stdout"][-1].strip()


with DAG(
    dag_id="88_01_01_official_docker_image",
    schedule=None,
    start_date=datetime(2024, 1, 1),
    catchup=False,
    params={"parallelism": 12},
    tags=["reference", "core", "beginner", "success"],
    doc_md=__doc__,
):

    @task
    def image_facts() -> dict[str, Any]:
        """Pull the tag and read the image's own metadata, as anyone choosing an image would."""
        import docker

        client = docker.from_env()
        repository, tag = AIRFLOW_IMAGE.rsplit(":", 1)
        image = client.images.pull(repository, tag=tag)
        config = image.attrs["Config"]
        labels = config.get("Labels") or {}
        version = labels.get("org.opencontainers.image.version", "")
        return {
            "image": AIRFLOW_IMAGE,
            "digest": next((d for d in image.attrs.get("RepoDigests", []) if d.startswith(repository + "@")), None),
            "airflow_version_label": version,
            "base_image": labels.get("org.opencontainers.image.base.name"),
            "description": labels.get("org.opencontainers.image.description"),
            "user": config.get("User"),
            "entrypoint": config.get("Entrypoint"),
            "default_command": config.get("Cmd"),
            "size_mb": round(image.attrs["Size"] / 1e6),
            "official_equivalent": f"apache/airflow:{version}",
            "official_slim_variant": f"apache/airflow:slim-{version}",
        }

    @task
    def run_with_docker(params: dict[str, Any]) -> dict[str, Any]:
        """Basic ``docker run`` commands against the image; returns each command line with its answer."""
        parallelism = str(int(params["parallelism"]))
        db_flags = ["--tmpfs", DATA_TMPFS, "-e", f"AIRFLOW__DATABASE__SQL_ALCHEMY_CONN={SQLITE}"]
        runs = {
            "default_command": docker_run([], []),
            "user": docker_run([], ["bash", "-c", "echo $(id -u):$(id -g) $AIRFLOW_HOME"]),
            "parallelism_default": docker_run([], ["config", "get-value", "core", "parallelism"]),
            "parallelism_from_env": docker_run(["-e", f"AIRFLOW__CORE__PARALLELISM={parallelism}"],
                                               ["config", "get-value", "core", "parallelism"]),
            "db_check": docker_run(db_flags, ["db", "check"]),
            "python": docker_run([], ["python", "-c", "import platform; print(platform.python_version())"]),
            "providers": docker_run([], ["providers", "list", "--output", "json"]),
        }
        providers_json = next(line for line in reversed(runs["providers"]["stdout"]) if line.startswith("["))
        user, home = _last(runs["user"]).split()
        python = _last(runs["python"])
        return {
            "commands": {key: run["command"] for key, run in runs.items()},
            "version": _last(runs["default_command"]),
            "user": user,
            "airflow_home": home,
            "parallelism_default": _last(runs["parallelism_default"]),
            "parallelism_from_env": _last(runs["parallelism_from_env"]),
            "db_check": "Connection successful" in "\n".join(runs["db_check"]["stdout"])
                        and runs["db_check"]["exit_code"] == 0,
            "python": python,
            "providers": sorted(p["package_name"] for p in json.loads(providers_json)),
            "official_tag_for_this_python": f"apache/airflow:{_last(runs['default_command'])}-python"
                                            f"{'.'.join(python.split('.')[:2])}",
        }

    as_container_task = container_task(
        task_id="as_container_task",
        image=TASK_IMAGE,
        command=["bash", "-c", IN_CONTAINER],
        env={"AIRFLOW__CORE__PARALLELISM": "{{ params.parallelism }}",
             "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": SQLITE},
        volumes=[Volume.tmpfs("/data", size="64Mi")],
        resources={"cpu_request": "250m", "memory_request": "256Mi", "memory_limit": "1Gi"},
        xcom=True,
    )

    image_facts() >> run_with_docker() >> as_container_task
