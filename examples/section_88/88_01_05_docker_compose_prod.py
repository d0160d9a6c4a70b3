"""88.1.5 Docker Compose production setup: Celery, PostgreSQL, Redis and two workers on one host, for real.

What it teaches
    A production-like Airflow on one Docker host is more than ``airflow standalone`` in a container: the
    metadata database and the Celery broker are services of their own, several workers share the
    queue, every service has a health check and a CPU and memory limit. ``deploy/compose/prod`` is
    such a stack (docs/compose.md). This DAG brings it up with ``dockpod.runtime.stack.ComposeStack``,
    reads back what Docker made of it, runs the demo DAG ``portable_pipeline`` through the stack's REST
    API so that its container tasks run on the Celery workers, and tears it all down again.

Checklist items covered
    * Multiple workers: ``health`` counts two ``airflow-worker`` replicas, every container healthy;
      ``run_pipeline`` shows each task instance's hostname is one of the worker containers.
    * External database: PostgreSQL is its own service (``postgres``, health check ``pg_isready``);
      Airflow reaches it through a connection string read from a Docker secret (``_CMD`` variable).
    * Redis/Celery configuration: CeleryExecutor with the ``redis`` service as broker (password from a
      secret), results in PostgreSQL; ``health`` shows the broker and the workers healthy, and the
      pipeline's tasks really went through the queue to the workers.
    * Resource limits: ``limits`` reads each container's CPU and memory limit as Docker reports it
      (``HostConfig.NanoCpus``/``Memory``), checks it equals what compose.yaml declares, and shows the
      peak memory each running container has used so far.

How it runs
    The stack directory is found from ``DOCKPOD_REPO`` (examples are copied into a DAGs folder to run;
    without it, two folders above this file). ``prepare`` makes the stack's own DAG folder (a temporary
    folder, mode 0755, with examples/dags/portable_pipeline.py), picks a free port for the API and
    names the compose project and its edge network for this run alone (``dp-88-01-05-<8 hex>``), so
    nothing of another stack on the same engine is touched or in the way.
    ``teardown`` is the DAG's teardown task: it runs whatever failed before it, runs ``down -v``,
    checks that no container, network or volume of the project is left, removes the DAG folder and
    removes portable_pipeline's volume ``dockpod_demo_data`` when this run created it. No task returns
    or logs a secret: the admin password stays in the library's API client.

Run it
    DOCKPOD_REPO=$PWD AIRFLOW_ENVIRONMENT=local airflow dags test 88_01_05_docker_compose_prod
    The test runs it in 3-6 minutes: .venv/bin/python -m pytest tests/examples/test_88_01_05_*.py
"""

from __future__ import annotations

import json
import os
import subprocess
from datetime import datetime
from pathlib import Path
from typing import Any

from airflow.sdk import DAG, task

from dockpod.runtime.stack import end_run, new_run, run_stack

REPO = Path(os.environ.get("DOCKPOD_REPO") or Path(__file__).resolve().parents[2])
PROD = REPO / "deploy" / "compose" / "prod"
PIPELINE = REPO / "examples" / "dags" / "portable_pipeline.py"
PROJECT_PREFIX = "dp-88-01-05"
DEMO_VOLUME = "dockpod_demo_data"


def _docker(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["docker", *args], capture_output=True, text=True, check=check, timeout=120,
                          stdin=subprocess.DEVNULL)


def _inspect(container: str) -> dict[str, Any]:
    return json.loads(_docker("inspect", container).stdout)[0]


with DAG(
    dag_id="88_01_05_docker_compose_prod",
    schedule=None,
    start_date=datetime(2024, 1, 1),
    catchup=False,
    params={"rows": 300, "min_amount": 10},
    default_args={"retries": 0},
    tags=["reference", "core", "intermediate", "success"],
    doc_md=__doc__,
):

    @task
    def prepare() -> dict[str, Any]:
        """A DAG folder for the stack, a free API port, a compose project and edge network of its own."""
        return new_run(PROD, PROJECT_PREFIX, PIPELINE, volumes=(DEMO_VOLUME,))

    @task
    def up(info: dict[str, Any]) -> dict[str, Any]:
        """``up --wait``: the seconds until every service is healthy."""
        stack = run_stack(info)
        seconds = stack.up(timeout=600)
        return {"project": stack.name, "seconds_to_healthy": round(seconds, 1), "api": stack.api_url()}

    @task
    def health(info: dict[str, Any]) -> dict[str, Any]:
        """Every container's state and health; two workers."""
        states = run_stack(info).services()
        services = {s.name: {"service": s.service, "state": s.state, "health": s.health, "ready": s.ready}
                    for s in states}
        workers = sorted(s.name for s in states if s.service == "airflow-worker")
        not_ready = [name for name, s in services.items() if not s["ready"]]
        if not_ready or len(workers) != 2:
            raise RuntimeError(f"not ready: {not_ready}; workers: {workers}")
        return {"services": services, "workers": workers, "all_healthy": True}

    @task
    def limits(info: dict[str, Any]) -> dict[str, Any]:
        """Each container's CPU and memory limit as Docker reports it, against compose.yaml; peak memory so far."""
        stack = run_stack(info)
        declared = json.loads(stack.compose("config", "--format", "json").stdout)["services"]
        peaks = stack.peak_memory()
        found = {}
        for state in stack.services():
            host = _inspect(state.name)["HostConfig"]
            want = declared[state.service]["deploy"]["resources"]["limits"]
            cpus, memory = host["NanoCpus"] / 1e9, host["Memory"]
            found[state.name] = {
                "service": state.service,
                "cpus": cpus,
                "memory_mib": memory // 2**20,
                "as_declared": cpus == float(want["cpus"]) and memory == int(want["memory"]),
                "peak_mib": peaks[state.name] // 2**20 if state.name in peaks else None,
            }
        wrong = [name for name, f in found.items() if not f["as_declared"] or not f["memory_mib"]]
        if wrong:
            raise RuntimeError(f"limits differ from compose.yaml (or are missing): {wrong}")
        return found

    @task
    def run_pipeline(info: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
        """portable_pipeline through the REST API; its task instances ran on the Celery workers."""
        stack = run_stack(info)
        api = stack.api()
        api.wait_for_dag("portable_pipeline")
        run = api.trigger("portable_pipeline", conf={"rows": params["rows"], "min_amount": params["min_amount"]})
        state = api.wait(run, timeout=600)
        instances = api.task_instances(run)
        workers = {s.name: _inspect(s.name)["Config"]["Hostname"] for s in stack.services()
                   if s.service == "airflow-worker"}
        ran_on = {t: next((name for name, host in workers.items() if host == ti["hostname"]), ti["hostname"])
                  for t, ti in instances.items()}
        summary = {"run_id": run[1], "state": state, "task_states": {t: ti["state"] for t, ti in instances.items()},
                   "ran_on": ran_on, "on_workers": set(ran_on.values()) <= set(workers)}
        if state != "success" or not summary["on_workers"]:
            raise RuntimeError(f"portable_pipeline: {summary}")
        loaded = api.xcom(run, "load")
        summary["load"] = {"rows": loaded["rows"], "checksum": loaded["checksum"][:12]}
        return summary

    @task
    def teardown(info: dict[str, Any]) -> dict[str, Any]:
        """``down -v``; nothing of the project may be left; the DAG folder and a volume this run made go too."""
        return end_run(info)

    info = prepare()
    started = up(info)
    checks = [health(info), limits(info), run_pipeline(info)]
    started >> checks[0] >> checks[1] >> checks[2]
    checks[2] >> teardown(info).as_teardown(setups=info)
