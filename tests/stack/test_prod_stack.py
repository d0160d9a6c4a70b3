"""The production-like compose stack (deploy/compose/prod), for real: Celery + PostgreSQL + Redis, two workers.

It comes up healthy, the REST API demands authentication, portable_pipeline runs its container tasks through the
Celery workers on the host's engine, a worker killed mid-task is restarted and the task retried to success, and
`down -v` leaves nothing. Figures (time to healthy, image sizes, peak memory) go to build/stack-report.txt.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest

from dockpod.runtime.stack import kill_container_process
from stack_harness import REPO, report, running_stack

pytestmark = pytest.mark.integration

PROD = REPO / "deploy" / "compose" / "prod"
PIPELINE = REPO / "examples" / "dags" / "portable_pipeline.py"

#: A container task that takes long enough to lose its worker in the middle.
SLOW_DAG = '''
from datetime import datetime, timedelta

from airflow.sdk import DAG

from dockpod import container_task

with DAG("stack_worker_kill", schedule=None, start_date=datetime(2024, 1, 1), catchup=False,
         default_args={"retries": 2, "retry_delay": timedelta(seconds=5)}):
    container_task(
        task_id="slow",
        image="registry.localhost/dockpod/etl:1.0",
        entrypoint=["python3", "-c"],
        command=["import json, time; time.sleep(45); json.dump({'slept': 45}, open('/airflow/xcom/return.json', 'w'))"],
        security={"user": "1000:1000"},
        xcom=True,
        resources={"memory_limit": "128Mi"},
    )
'''


@pytest.fixture(scope="module")
def stack():
    with running_stack(PROD, PIPELINE, dag_texts={"stack_worker_kill.py": SLOW_DAG}) as stack:
        yield stack


def test_every_service_is_healthy_with_two_workers(stack):
    states = stack.services()
    assert all(state.ready for state in states), [s for s in states if not s.ready]
    services = sorted(state.service for state in states)
    assert services.count("airflow-worker") == 2
    assert {"postgres", "redis", "airflow-api-server", "airflow-scheduler", "airflow-dag-processor",
            "airflow-triggerer", "airflow-init"} <= set(services)
    sizes = stack.image_sizes()
    report("prod stack: up", [f"time from up to all healthy: {stack.seconds_to_healthy:.0f} s"]
           + [f"image {image}: {size / 1e6:.0f} MB" for image, size in sizes.items()])


def test_the_rest_api_requires_authentication(stack):
    api = stack.api()
    assert api.status("/api/v2/dags") == 401
    assert api.request("GET", "/api/v2/monitor/health")["metadatabase"]["status"] == "healthy"
    assert api.wait_for_dag("portable_pipeline")["dag_id"] == "portable_pipeline"


def test_portable_pipeline_runs_on_the_celery_workers(stack):
    api = stack.api()
    api.wait_for_dag("portable_pipeline")
    run = api.trigger("portable_pipeline", conf={"rows": 300, "min_amount": 10})
    assert api.wait(run, timeout=600) == "success"
    instances = api.task_instances(run)
    assert {task: ti["state"] for task, ti in instances.items()} == {
        "extract": "success", "transform": "success", "load": "success"}
    workers = {stack.compose("exec", "-T", "--index", str(i), "airflow-worker", "hostname").stdout.strip()
               for i in (1, 2)}
    assert {ti["hostname"] for ti in instances.values()} <= workers
    loaded = api.xcom(run, "load")
    assert 0 < loaded["rows"] <= 300 and len(loaded["checksum"]) == 64
    token = (PROD / "secrets" / "etl_api_token").read_text().strip()
    leaked = [task for task in instances if token in api.log(run, task)]  # names only: a failure never shows it
    assert leaked == []
    assert stack.task_containers("portable_pipeline") == []


def test_a_worker_killed_mid_task_is_replaced_and_the_task_retried_to_success(stack):
    api = stack.api()
    api.wait_for_dag("stack_worker_kill")
    run = api.trigger("stack_worker_kill")
    deadline = time.monotonic() + 180
    while True:
        slow = api.task_instances(run).get("slow", {})
        if slow.get("state") == "running" and slow.get("hostname") and stack.task_containers("stack_worker_kill"):
            break
        assert time.monotonic() < deadline, f"the task never ran: {slow}"
        time.sleep(1)
    worker = next(name for name in (s.name for s in stack.services() if s.service == "airflow-worker")
                  if _hostname(name) == slow["hostname"])
    kill_container_process(worker)
    assert api.wait(run, timeout=480) == "success"
    slow = api.task_instances(run)["slow"]
    assert slow["state"] == "success" and slow["try_number"] >= 2
    assert api.xcom(run, "slow") == {"slept": 45}
    deadline = time.monotonic() + 180
    while not (_restarts(worker) >= 1 and _health(worker) == "healthy"):
        assert time.monotonic() < deadline, f"{worker} was not restarted healthy: {_health(worker)}"
        time.sleep(3)
    assert stack.task_containers("stack_worker_kill") == []


def test_peak_memory_of_each_service_is_within_its_limit(stack):
    peaks = stack.peak_memory()
    assert set(peaks) == {s.name for s in stack.services() if s.state == "running"}
    limits = {name: int(_inspect(name, "{{.HostConfig.Memory}}")) for name in peaks}
    for name, peak in peaks.items():
        assert 0 < peak <= limits[name], (name, peak, limits[name])
    report("prod stack: peak memory since start (limit)",
           [f"{name}: {peak / 2**20:.0f} MiB ({limits[name] / 2**20:.0f} MiB)" for name, peak in sorted(peaks.items())])


def test_down_removes_every_container_network_and_volume(stack):
    left = stack.down()
    assert not left, left
    assert stack.services() == []


def _inspect(container: str, template: str) -> str:
    return subprocess.run(["docker", "inspect", "-f", template, container], capture_output=True, text=True,
                          check=True).stdout.strip()


def _hostname(container: str) -> str:
    return _inspect(container, "{{.Config.Hostname}}")


def _restarts(container: str) -> int:
    return int(_inspect(container, "{{.RestartCount}}"))


def _health(container: str) -> str:
    return _inspect(container, "{{if .State.Health}}{{.State.Health.Status}}{{end}}")


def test_stack_files_are_lint_clean():
    from dockpod.lint import lint_paths

    assert [f"{f.path}:{f.line} {f.rule} {f.message}" for f in lint_paths([PROD]).failing()] == []
    assert Path(PROD / ".env.example").is_file()
