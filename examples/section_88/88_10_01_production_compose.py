"""88.10.1 Production Docker Compose: every service configured, limited, health-checked, logged, and self-healing.

What it teaches
    A compose file is production-ready when what it declares is what Docker runs and when the stack
    recovers by itself from a crash. This DAG brings up ``deploy/compose/prod`` (PostgreSQL, Redis,
    airflow-init, api-server, scheduler, dag-processor, triggerer, two Celery workers), reads every
    container's configuration back from the engine, then kills the main process of the worker that runs
    a long container task and watches the stack heal: Docker restarts the worker (restart policy), the
    scheduler notices the lost task after the heartbeat timeout (60 s in this stack) and Airflow retries
    it to success on a worker.

Checklist items covered
    * All services configured: ``services`` lists each container with its state and health; all eight
      services are there, two worker replicas, the one-shot ``airflow-init`` exited 0.
    * Resource limits: ``services`` reports each container's CPU and memory limit from
      ``HostConfig.NanoCpus``/``HostConfig.Memory``: every long-running service has both.
    * Health checks: the health-check command and interval Docker holds for each service
      (``Config.Healthcheck``) and the resulting status; ``health_after_kill`` checks them all again once
      the worker is back.
    * Logging setup: the log driver and its rotation options as Docker reports them
      (``HostConfig.LogConfig``: json-file, ``max-size`` 10m, ``max-file`` 3), and that ``docker logs``
      reads each service's output (only line counts are returned, never the lines).
    * Restart policies (what makes the stack survive): ``unless-stopped`` everywhere but the one-shot
      ``airflow-init`` (``no``). ``kill_worker`` SIGKILLs the worker's main process from the host
      (``dockpod.runtime.stack.kill_container_process``, as a crash or the OOM killer would; not
      ``docker kill``, which Docker treats as a manual stop) while the task ``slow`` of the DAG
      ``production_compose_slow`` runs on it, then returns the worker's restart count, the task's try
      number and its XCom value.

How it runs
    The stack directory comes from ``DOCKPOD_REPO`` (or two folders above this file). ``prepare`` makes
    the stack's DAG folder (temporary, mode 0755) with the slow DAG written into it, picks a free API
    port and names the compose project and its edge network for this run alone
    (``dp-88-10-01-<8 hex>``). ``teardown`` (the DAG's teardown task, run whatever failed)
    brings the stack down with ``down -v``, checks that nothing of the project and no task container of
    the slow DAG is left, and removes the DAG folder.

Run it
    DOCKPOD_REPO=$PWD AIRFLOW_ENVIRONMENT=local airflow dags test 88_10_01_production_compose
    The test takes 5-8 minutes: .venv/bin/python -m pytest tests/examples/test_88_10_01_*.py
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

from dockpod.runtime.stack import end_run, kill_container_process, new_run, run_stack

REPO = Path(os.environ.get("DOCKPOD_REPO") or Path(__file__).resolve().parents[2])
PROD = REPO / "deploy" / "compose" / "prod"
PROJECT_PREFIX = "dp-88-10-01"
SLOW_DAG_ID = "production_compose_slow"
SLEEP_SECONDS = 45

#: The DAG the worker kill interrupts: one container task, long enough to lose its worker in the middle.
SLOW_DAG = f'''
from datetime import datetime, timedelta

from airflow.sdk import DAG

from dockpod import container_task

with DAG("{SLOW_DAG_ID}", schedule=None, start_date=datetime(2024, 1, 1), catchup=False,
         default_args={{"retries": 2, "retry_delay": timedelta(seconds=5)}}):
    container_task(
        task_id="slow",
        image="registry.localhost/dockpod/etl:1.0",
        entrypoint=["python3", "-c"],
        command=["import json, time; time.sleep({SLEEP_SECONDS}); "
                 "json.dump({{'slept': {SLEEP_SECONDS}}}, open('/airflow/xcom/return.json', 'w'))"],
        security={{"user": "1000:1000"}},
        xcom=True,
        resources={{"memory_limit": "128Mi"}},
    )
'''


def _docker(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["docker", *args], capture_output=True, text=True, check=check, timeout=120,
                          stdin=subprocess.DEVNULL)


def _inspect(container: str) -> dict[str, Any]:
    return json.loads(_docker("inspect", container).stdout)[0]


def _health(state: dict[str, Any]) -> str:
    return (state.get("Health") or {}).get("Status", "")


with DAG(
    dag_id="88_10_01_production_compose",
    schedule=None,
    start_date=datetime(2024, 1, 1),
    catchup=False,
    default_args={"retries": 0},
    tags=["reference", "example", "intermediate", "success"],
    doc_md=__doc__,
):

    @task
    def prepare() -> dict[str, Any]:
        """The stack's DAG folder with the slow DAG in it, a free API port, a project and edge network of its own."""
        return new_run(PROD, PROJECT_PREFIX, dag_texts={f"{SLOW_DAG_ID}.py": SLOW_DAG})

    @task
    def up(info: dict[str, Any]) -> dict[str, Any]:
        """``up --wait``: the seconds until every service is healthy."""
        return {"seconds_to_healthy": round(run_stack(info).up(timeout=600), 1)}

    @task
    def services(info: dict[str, Any]) -> dict[str, Any]:
        """What Docker runs for each container: state, health check, limits, log driver and options, restart."""
        found = {}
        for state in run_stack(info).services():
            data = _inspect(state.name)
            host, check = data["HostConfig"], data["Config"].get("Healthcheck") or {}
            logged = _docker("logs", "--tail", "20", state.name)
            found[state.name] = {
                "service": state.service,
                "state": state.state,
                "exit_code": state.exit_code,
                "health": _health(data["State"]),
                "healthcheck": {"test": check.get("Test", [])[1:],
                                "interval_s": check.get("Interval", 0) / 1e9, "retries": check.get("Retries")},
                "cpus": host["NanoCpus"] / 1e9,
                "memory_mib": host["Memory"] // 2**20,
                "logging": {"driver": host["LogConfig"]["Type"], "options": host["LogConfig"]["Config"]},
                "log_lines_readable": len((logged.stdout + logged.stderr).splitlines()),
                "restart": host["RestartPolicy"]["Name"],
            }
        problems = [name for name, f in found.items() if f["service"] != "airflow-init" and (
            f["health"] != "healthy" or not f["healthcheck"]["test"] or not f["cpus"] or not f["memory_mib"]
            or f["restart"] != "unless-stopped")]
        problems += [name for name, f in found.items() if f["logging"]["driver"] != "json-file"
                     or not {"max-size", "max-file"} <= set(f["logging"]["options"])]
        if problems:
            raise RuntimeError(f"not as production needs: {problems}: {[found[p] for p in problems]}")
        return found

    @task
    def kill_worker(info: dict[str, Any]) -> dict[str, Any]:
        """Kill the worker running ``slow`` mid-task; the task is retried to success and the worker restarted."""
        stack = run_stack(info)
        api = stack.api()
        api.wait_for_dag(SLOW_DAG_ID)
        run = api.trigger(SLOW_DAG_ID)
        deadline = time.monotonic() + 180
        while True:  # running on a worker, with its task container started
            slow = api.task_instances(run).get("slow", {})
            if slow.get("state") == "running" and slow.get("hostname") and stack.task_containers(SLOW_DAG_ID):
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"the task never started running: {slow}")
            time.sleep(1)
        workers = {s.name: _inspect(s.name) for s in stack.services() if s.service == "airflow-worker"}
        worker = next(name for name, data in workers.items() if data["Config"]["Hostname"] == slow["hostname"])
        restarts_before = workers[worker]["RestartCount"]
        kill_container_process(worker)
        killed_at = time.monotonic()
        final = api.wait(run, timeout=480)
        slow = api.task_instances(run)["slow"]
        deadline = time.monotonic() + 180
        while True:  # the killed worker back and healthy
            data = _inspect(worker)
            if data["RestartCount"] > restarts_before and _health(data["State"]) == "healthy":
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"{worker} was not restarted healthy: {_health(data['State'])}")
            time.sleep(3)
        summary = {"killed_worker": worker, "run_state": final, "task_state": slow["state"],
                   "try_number": slow["try_number"], "retried_on": slow["hostname"],
                   "restart_count": data["RestartCount"] - restarts_before,
                   "seconds_from_kill_to_success": round(time.monotonic() - killed_at),
                   "xcom": api.xcom(run, "slow") if slow["state"] == "success" else None}
        if final != "success" or slow["try_number"] < 2:
            raise RuntimeError(f"the stack did not recover: {summary}")
        return summary

    @task
    def health_after_kill(info: dict[str, Any]) -> dict[str, Any]:
        """Every service ready again once the worker is back."""
        states = run_stack(info).services()
        not_ready = [s.name for s in states if not s.ready]
        if not_ready:
            raise RuntimeError(f"not ready after the kill: {not_ready}")
        return {"ready": sorted(s.name for s in states), "workers": sum(s.service == "airflow-worker" for s in states)}

    @task
    def teardown(info: dict[str, Any]) -> dict[str, Any]:
        """``down -v``; nothing of the project and no task container may be left; the DAG folder goes too."""
        return end_run(info)

    info = prepare()
    checked = services(info)
    up(info) >> checked >> kill_worker(info) >> health_after_kill(info) >> teardown(info).as_teardown(setups=info)
