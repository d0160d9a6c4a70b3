"""88.1.4 Docker Compose development setup: a local Airflow whose DAG folder is live, and container tasks on Docker.

What it teaches
    For day-to-day DAG work the loop must be short: save a file, see the DAG change, run it, without
    rebuilding or restarting anything. ``deploy/compose/dev`` is that stack: PostgreSQL, airflow-init,
    api-server, scheduler (LocalExecutor: it runs the tasks), dag-processor and triggerer, with the DAG
    folder mounted read-write from the host. This DAG brings it up with
    ``dockpod.runtime.stack.ComposeStack``, writes a new DAG file into the mounted folder, edits it,
    and shows both changes picked up while every container keeps its start time; then it runs the demo
    DAG ``portable_pipeline``, whose container tasks dockpod's DockerOperator starts on the host's
    Docker engine through the mounted socket, and tears the stack down.

Checklist items covered
    * Service definitions: ``services`` lists the six services and their health (airflow-init exited 0).
    * Volume mounts for DAGs: ``services`` reads the DAG mount from Docker (source = the folder this run
      made, read-write) and ``hot_reload`` writes into it from the host.
    * Environment variables: ``services`` asks the scheduler (``airflow config get-value``) for options
      that only compose.yaml's and .env's ``AIRFLOW__SECTION__KEY`` variables set: the executor and the
      dag-processor's refresh and parse intervals (5 s, from ``DAG_REFRESH_SECONDS``/``DAG_PARSE_SECONDS``).
    * Hot reload configuration: ``hot_reload`` writes ``dev_hello.py`` (tag ``first``), waits for the
      REST API to list it, rewrites it (tag ``second``, a different return value), waits for the edit,
      runs it and gets the edited value back; each container's ``State.StartedAt`` and restart count are
      the same before and after. It returns how many seconds each change took to show.
    * A DockerOperator-backed task: ``run_pipeline`` triggers portable_pipeline; its task instances ran
      on the scheduler's host with operator ``DockpodDockerOperator``, and the engine's event stream shows
      the three task containers (image localhost:5000/dockpod/etl:1.0) started and joined to the stack's
      network (``EDGE_NETWORK``, this run's own); none of them is left afterwards.

How it runs
    The stack directory comes from ``DOCKPOD_REPO`` (or two folders above this file). ``prepare`` makes
    the stack's DAG folder (temporary, mode 0755, with examples/dags/portable_pipeline.py), picks a free
    API port and names the compose project and its edge network for this run alone
    (``dp-88-01-04-<8 hex>``; ``new_run``), so another stack on the same engine is never in the way.
    ``teardown`` (the DAG's teardown task, run whatever failed; ``end_run``) brings it down with ``down -v``,
    checks nothing of it and no task container on its network is left, removes the DAG folder and
    portable_pipeline's volume ``dockpod_demo_data`` when this run created it. The dev stack's keys live in
    its .env; no task reads or returns them.

Run it
    DOCKPOD_REPO=$PWD AIRFLOW_ENVIRONMENT=local airflow dags test 88_01_04_docker_compose_dev
    The test takes 3-5 minutes: .venv/bin/python -m pytest tests/examples/test_88_01_04_*.py
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from airflow.sdk import DAG, task

from dockpod.runtime.stack import end_run, new_run, run_stack, write_dag

REPO = Path(os.environ.get("DOCKPOD_REPO") or Path(__file__).resolve().parents[2])
DEV = REPO / "deploy" / "compose" / "dev"
PIPELINE = REPO / "examples" / "dags" / "portable_pipeline.py"
PROJECT_PREFIX = "dp-88-01-04"
DEMO_VOLUME = "dockpod_demo_data"
HELLO_ID = "dev_hello"

#: The DAG written into the live folder, then edited: its tag and return value change.
HELLO = '''
from datetime import datetime

from airflow.sdk import DAG, task

with DAG("{dag_id}", schedule=None, start_date=datetime(2024, 1, 1), catchup=False, tags=["{version}"]):

    @task
    def hello() -> str:
        return "hello from the {version} version"

    hello()
'''


def _docker(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["docker", *args], capture_output=True, text=True, check=check, timeout=120,
                          stdin=subprocess.DEVNULL)


def _inspect(container: str) -> dict[str, Any]:
    return json.loads(_docker("inspect", container).stdout)[0]


def _write_dag(folder: Path, version: str) -> None:
    """Replace the DAG file in one step: the dag-processor never reads half a file."""
    write_dag(folder, f"{HELLO_ID}.py", HELLO.format(dag_id=HELLO_ID, version=version))


with DAG(
    dag_id="88_01_04_docker_compose_dev",
    schedule=None,
    start_date=datetime(2024, 1, 1),
    catchup=False,
    params={"rows": 120, "min_amount": 10},
    default_args={"retries": 0},
    tags=["reference", "core", "beginner", "success"],
    doc_md=__doc__,
):

    @task
    def prepare() -> dict[str, Any]:
        """The stack's DAG folder with portable_pipeline, a free API port, a project and edge network of its own."""
        return new_run(DEV, PROJECT_PREFIX, PIPELINE, volumes=(DEMO_VOLUME,))

    @task
    def up(info: dict[str, Any]) -> dict[str, Any]:
        """``up --wait``: the seconds until every service is healthy."""
        return {"seconds_to_healthy": round(run_stack(info).up(timeout=600), 1)}

    @task
    def services(info: dict[str, Any]) -> dict[str, Any]:
        """The services and their health, the DAG mount as Docker made it, options set by environment variables."""
        stack = run_stack(info)
        states = stack.services()
        not_ready = [s.name for s in states if not s.ready]
        if not_ready:
            raise RuntimeError(f"not ready: {not_ready}")
        scheduler = next(s.name for s in states if s.service == "airflow-scheduler")
        mount = next(m for m in _inspect(scheduler)["Mounts"] if m["Destination"] == "/opt/airflow/dags")
        options = {}
        for section, key in (("core", "executor"), ("dag_processor", "refresh_interval"),
                             ("dag_processor", "min_file_process_interval")):
            answer = stack.compose("exec", "-T", "airflow-scheduler", "airflow", "config", "get-value", section, key)
            options[f"{section}.{key}"] = answer.stdout.strip().splitlines()[-1]
        return {"services": {s.service: s.health or s.state for s in states},
                "dag_mount": {"source": mount["Source"], "read_write": mount["RW"],
                              "is_this_runs_folder": mount["Source"] == info["dags"]},
                "options": options}

    @task
    def hot_reload(info: dict[str, Any]) -> dict[str, Any]:
        """A new DAG file, then an edit, picked up and run without restarting any container."""
        stack = run_stack(info)
        api, folder = stack.api(), Path(info["dags"])
        running = [s.name for s in stack.services() if s.state == "running"]
        before = {name: (_inspect(name)["State"]["StartedAt"], _inspect(name)["RestartCount"]) for name in running}

        start = time.monotonic()
        _write_dag(folder, "first")
        first_tags = [t["name"] for t in api.wait_for_dag(HELLO_ID, timeout=120)["tags"]]
        new_file_seconds = time.monotonic() - start

        start = time.monotonic()
        _write_dag(folder, "second")
        while (tags := [t["name"] for t in api.request("GET", f"/api/v2/dags/{HELLO_ID}")["tags"]]) != ["second"]:
            if time.monotonic() - start > 120:
                raise RuntimeError(f"the edit was not picked up within 120 s: tags {tags}")
            time.sleep(1)
        edit_seconds = time.monotonic() - start
        run = api.trigger(HELLO_ID)
        state = api.wait(run, timeout=180)
        returned = api.xcom(run, "hello") if state == "success" else None

        after = {name: (_inspect(name)["State"]["StartedAt"], _inspect(name)["RestartCount"]) for name in running}
        restarted = sorted(name for name in running if after[name] != before[name])
        summary = {"tags_seen": [*first_tags, *tags], "new_file_seconds": round(new_file_seconds, 1),
                   "edit_seconds": round(edit_seconds, 1), "run_state": state, "returned": returned,
                   "containers_checked": len(running), "restarted": restarted}
        if restarted or state != "success":
            raise RuntimeError(f"hot reload: {summary}")
        return summary

    @task
    def run_pipeline(info: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
        """portable_pipeline: DockerOperator tasks run by the scheduler as containers on the host's engine."""
        stack = run_stack(info)
        api = stack.api()
        api.wait_for_dag("portable_pipeline")
        since = int(time.time()) - 1
        run = api.trigger("portable_pipeline", conf={"rows": params["rows"], "min_amount": params["min_amount"]})
        state = api.wait(run, timeout=600)
        until = int(time.time()) + 1
        instances = api.task_instances(run)
        scheduler = next(s.name for s in stack.services() if s.service == "airflow-scheduler")
        scheduler_host = _inspect(scheduler)["Config"]["Hostname"]
        events = _docker("events", "--since", str(since), "--until", str(until), "--filter", "type=container",
                         "--filter", "event=start", "--filter", "label=io.dockpod.dag_id=portable_pipeline",
                         "--filter", f"label=io.dockpod.run_id={run[1]}",  # this run's, not another stack's
                         "--format", "{{json .}}").stdout.splitlines()
        started = {e["id"]: e["Actor"]["Attributes"] for e in map(json.loads, events)}
        connects = _docker("events", "--since", str(since), "--until", str(until), "--filter", "type=network",
                           "--filter", "event=connect", "--format", "{{json .}}").stdout.splitlines()
        on_edge = {e["Actor"]["Attributes"].get("container") for e in map(json.loads, connects)
                   if e["Actor"]["Attributes"].get("name") == info["edge_network"]}
        left = stack.task_containers("portable_pipeline", run_id=run[1])
        summary = {
            "state": state,
            "task_states": {t: ti["state"] for t, ti in instances.items()},
            "operators": {t: ti["operator"] for t, ti in instances.items()},
            "ran_on_scheduler": all(ti["hostname"] == scheduler_host for ti in instances.values()),
            "task_containers": {"started": len(started),
                                "tasks": sorted(a.get("io.dockpod.task_id", "?") for a in started.values()),
                                "images": sorted({a["image"] for a in started.values()}),
                                "on_edge_network": sum(cid in on_edge for cid in started),
                                "left": left},
        }
        if state != "success":
            raise RuntimeError(f"portable_pipeline: {summary}")
        summary["load_rows"] = api.xcom(run, "load")["rows"]
        return summary

    @task
    def teardown(info: dict[str, Any]) -> dict[str, Any]:
        """``down -v``; nothing of the project may be left; the DAG folder and a volume this run made go too."""
        return end_run(info)

    info = prepare()
    up(info) >> services(info) >> hot_reload(info) >> run_pipeline(info) >> teardown(info).as_teardown(setups=info)
