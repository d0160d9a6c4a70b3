"""88.2.3 Volume configuration: DAGs, logs, plugins and configuration mounted into Airflow containers.

What it teaches
    An Airflow container's own file system is thrown away with the container. What comes from outside
    is mounted, and each mount says whether the container may write to it:

    * DAGs (``dags/``), plugins (``plugins/``) and the configuration file (``config/airflow.cfg``, found
      through ``AIRFLOW_CONFIG``) are bind mounts, read-only: the code and settings come from the host
      (in a cluster: git-sync, an image layer, a ConfigMap) and no component may change them.
    * Task logs (``airflow-logs`` at /opt/airflow/logs) and the files tasks hand on (``airflow-data`` at
      /opt/airflow/data) are named volumes, read-write: they outlive every container.

    ``run_stack`` starts assets/88_02_03_volume_configuration/compose.yaml for real with the Airflow image:
    an API server (which also serves the execution API) as uid 50000, on SQLite kept in the data volume.
    It runs the mounted DAG ``volume_demo`` with ``airflow dags test --use-executor`` (LocalExecutor, so
    the task log is written by Airflow's file handler into the logs volume). The task imports a helper
    from the plugins mount, reads its report folder from the mounted airflow.cfg, appends its run id to
    a report on the data volume and tries to write into every mount. Then the container is recreated
    (``up --force-recreate``: a new container, the same volumes), a marker left in the old container's own
    file system is gone, the report and the task log are still there, and the DAG runs a second time.
    The stack always ends with ``docker compose down -v``.

    ``ownership`` shows the gotcha of fresh named volumes (PLATFORM.md): docker copies a mount point's
    owner into an empty volume only when the image has that directory. At /opt/airflow/logs (created by
    the image, owned by 50000:0) a fresh volume is writable by uid 50000; at /opt/airflow/data (not in
    the image) it is root-owned and uid 50000 gets "Permission denied" until a one-shot root container
    hands it over (the ``volume-permissions`` service of the compose file does the same).

Checklist items covered
    DAG folder mounts (``./dags`` read-only, EROFS on write), log persistence (task logs on the
    ``airflow-logs`` volume across a container recreate), plugin volumes (``./plugins`` read-only, on
    sys.path, used by the DAG), configuration file mounts (``./config/airflow.cfg`` via ``AIRFLOW_CONFIG``,
    its ``[volume_demo]`` setting in effect).

Run it
    AIRFLOW_ENVIRONMENT=local airflow dags test 88_02_03_volume_configuration
    By hand: cd examples/section_88/assets/88_02_03_volume_configuration && docker compose up -d --wait &&
    docker compose exec airflow airflow dags test volume_demo --use-executor; docker compose down -v
    (tests/examples/test_88_02_03_volume_configuration.py runs the DAG and checks every object is removed.)
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from airflow.sdk import DAG, task

ASSETS = Path(__file__).parent / "assets" / "88_02_03_volume_configuration"
AIRFLOW_IMAGE = "localhost:5000/dockpod/airflow:3.3.2"
READ_ONLY = ("/opt/airflow/dags", "/opt/airflow/plugins", "/opt/airflow/config")

#: Inside the Airflow container after a run: the report, the task logs and who owns the volumes.
INSPECT = """
cat /opt/airflow/data/reports/report.txt | sed 's/^/report: /'
find /opt/airflow/logs -name '*.log' | sort | sed 's/^/log: /'
stat -c 'owner: %n %u:%g' /opt/airflow/logs /opt/airflow/data
for d in {read_only}; do {{ touch "$d/.probe"; }} 2>&1 | sed 's/^/refused: /'; done
test -e /tmp/layer-marker && echo 'marker: present' || echo 'marker: gone'
"""

#: Inside the Airflow container: run the mounted DAG with the LocalExecutor, print its task's result line.
#: Airflow 3.3's LocalExecutor.end() can hang when the DAG run ends before the worker process has put its
#: result on the queue (it joins a process whose queue is not drained); so the command waits for the run to
#: finish and its workload to be reported done, then stops the test process if it is still there.
RUN_DEMO = """
airflow dags test volume_demo --use-executor >/tmp/dags-test.out 2>&1 &
pid=$!
for _ in $(seq 240); do
  grep -q 'Workload finished' /tmp/dags-test.out && grep -q 'DagRun Finished' /tmp/dags-test.out && break
  kill -0 $pid 2>/dev/null || break
  sleep 1
done
kill $pid 2>/dev/null; wait $pid 2>/dev/null
grep 'DagRun Finished' /tmp/dags-test.out | grep -q 'state=success' || { tail -n 30 /tmp/dags-test.out; exit 1; }
grep -h VOLUME_DEMO $(ls -t $(find /opt/airflow/logs -name '*.log') | head -n 1)
"""


def _compose(project: str, env: dict[str, str], *args: str, timeout: int = 400) -> str:
    import subprocess

    done = subprocess.run(["docker", "compose", "-p", project, "-f", str(ASSETS / "compose.yaml"), *args],
                          capture_output=True, text=True, env=env, timeout=timeout, check=False, cwd=ASSETS,
                          stdin=subprocess.DEVNULL)  # a task process's stdin is not for docker
    if done.returncode != 0:
        raise RuntimeError(f"docker compose {args[0]} failed ({done.returncode}): "
                           f"{(done.stderr + done.stdout).strip()[-1500:]}")
    return done.stdout


def _run_demo(project: str, env: dict[str, str]) -> dict[str, Any]:
    """Run the mounted DAG once in the Airflow container; return what its task printed into its log file."""
    import json

    out = _compose(project, env, "exec", "-T", "airflow", "bash", "-c", RUN_DEMO)
    for line in out.splitlines():
        event = json.loads(line).get("event", "") if line.startswith("{") else line
        if "VOLUME_DEMO " in event:
            return json.loads(event.split("VOLUME_DEMO ", 1)[1])
    raise RuntimeError(f"the task's result line is not in its log file: {out[-500:]}")


def _inspect(project: str, env: dict[str, str]) -> dict[str, list[str]]:
    out = _compose(project, env, "exec", "-T", "airflow", "bash", "-c", INSPECT.format(read_only=" ".join(READ_ONLY)))
    found: dict[str, list[str]] = {}
    for line in out.splitlines():
        kind, _sep, rest = line.partition(": ")
        found.setdefault(kind, []).append(rest)
    return found


with DAG(
    dag_id="88_02_03_volume_configuration",
    schedule=None,
    start_date=datetime(2024, 1, 1),
    catchup=False,
    tags=["reference", "core", "intermediate", "success"],
    doc_md=__doc__,
):

    @task
    def run_stack() -> dict[str, Any]:
        """Run a task in the stack, recreate the container, check what persisted, run again; always down -v."""
        import os
        import uuid

        project = f"dp880203-{uuid.uuid4().hex[:10]}"
        env = {**os.environ, "AIRFLOW_IMAGE": AIRFLOW_IMAGE}
        try:
            _compose(project, env, "up", "-d", "--wait", "--wait-timeout", "240")
            first_id = _compose(project, env, "ps", "-q", "airflow").strip()
            _compose(project, env, "exec", "-T", "airflow", "touch", "/tmp/layer-marker")
            first_run = _run_demo(project, env)
            before = _inspect(project, env)
            _compose(project, env, "up", "-d", "--wait", "--wait-timeout", "240", "--force-recreate")
            second_id = _compose(project, env, "ps", "-q", "airflow").strip()
            after_restart = _inspect(project, env)
            second_run = _run_demo(project, env)
            final = _inspect(project, env)
        finally:
            _compose(project, env, "down", "-v", "--remove-orphans")
        return {"container_recreated": first_id != second_id, "first_run": first_run, "second_run": second_run,
                "before_restart": before, "after_restart": after_restart, "final": final}

    @task
    def ownership() -> dict[str, dict[str, str]]:
        """A fresh named volume as uid 50000: at a path the image owns, at one it lacks, and after a chown."""
        import uuid

        import docker

        client = docker.from_env()
        probe = "stat -c %u:%g {0} && touch {0}/probe 2>&1 && echo writable || true"
        found: dict[str, dict[str, str]] = {}
        volumes = []
        try:
            for case, path, fix in (("image_directory", "/opt/airflow/logs", False),
                                    ("missing_directory", "/opt/airflow/data", False),
                                    ("missing_directory_after_chown", "/opt/airflow/data", True)):
                volume = client.volumes.create(f"dp880203-{case.replace('_', '-')}-{uuid.uuid4().hex[:8]}")
                volumes.append(volume)
                mounts = {volume.name: {"bind": path, "mode": "rw"}}
                if fix:
                    client.containers.run(AIRFLOW_IMAGE, ["bash", "-c", f"chown 50000:0 {path}"], user="0:0",
                                          volumes=mounts, remove=True)
                out = client.containers.run(AIRFLOW_IMAGE, ["bash", "-c", probe.format(path)], user="50000:0",
                                            volumes=mounts, remove=True).decode().strip().splitlines()
                found[case] = {"path": path, "owner": out[0], "write": out[-1]}
        finally:
            for volume in volumes:
                volume.remove(force=True)
        return found

    run_stack() >> ownership()
