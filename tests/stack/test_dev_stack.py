"""The development compose stack (deploy/compose/dev), for real: LocalExecutor + PostgreSQL, DAGs from disk.

A DAG file written while the stack runs appears without a restart, and so does an edit to it; portable_pipeline's
DockerOperator-backed container tasks run from the scheduler on the host's engine, on the edge network; `down -v`
leaves nothing.
"""

from __future__ import annotations

import json
import subprocess
import time

import pytest

from dockpod.runtime.stack import write_dag
from stack_harness import REPO, report, running_stack

pytestmark = pytest.mark.integration

DEV = REPO / "deploy" / "compose" / "dev"
PIPELINE = REPO / "examples" / "dags" / "portable_pipeline.py"

HELLO = '''
from datetime import datetime

from airflow.sdk import DAG, task

with DAG("dev_stack_hello", schedule=None, start_date=datetime(2024, 1, 1), catchup=False, tags=[{tag!r}]):
    @task
    def hello():
        return "hello"

    hello()
'''


@pytest.fixture(scope="module")
def stack():
    with running_stack(DEV, PIPELINE) as stack:
        yield stack


def test_every_service_is_healthy(stack):
    states = stack.services()
    assert all(state.ready for state in states), [s for s in states if not s.ready]
    assert {"postgres", "airflow-init", "airflow-api-server", "airflow-scheduler", "airflow-dag-processor",
            "airflow-triggerer"} == {s.service for s in states}
    report("dev stack: up", [f"time from up to all healthy: {stack.seconds_to_healthy:.0f} s"])


def test_a_dag_written_and_edited_on_disk_is_picked_up_without_a_restart(stack):
    api = stack.api()
    started = {s.name: _started(s.name) for s in stack.services() if s.state == "running"}
    t0 = time.monotonic()
    write_dag(stack.dags, "dev_stack_hello.py", HELLO.format(tag="first"))
    assert api.wait_for_dag("dev_stack_hello", timeout=120)["tags"][0]["name"] == "first"
    appeared = time.monotonic() - t0
    write_dag(stack.dags, "dev_stack_hello.py", HELLO.format(tag="second"))
    deadline = time.monotonic() + 120
    while (tags := [t["name"] for t in api.request("GET", "/api/v2/dags/dev_stack_hello")["tags"]]) != ["second"]:
        assert time.monotonic() < deadline, f"the edit was not picked up: tags {tags}"
        time.sleep(2)
    assert {name: _started(name) for name in started} == started  # nothing restarted
    report("dev stack: DAG folder", [f"new DAG file visible in the API after {appeared:.0f} s"])


def test_a_dockeroperator_backed_pipeline_runs_on_the_host_engine(stack):
    api = stack.api()
    api.wait_for_dag("portable_pipeline")
    run = api.trigger("portable_pipeline", conf={"rows": 120, "min_amount": 10})
    assert api.wait(run, timeout=600) == "success"
    assert {t: ti["state"] for t, ti in api.task_instances(run).items()} == {
        "extract": "success", "transform": "success", "load": "success"}
    assert 0 < api.xcom(run, "load")["rows"] <= 120
    assert stack.task_containers("portable_pipeline") == []
    # The scheduler's own view of the task containers (dockpod render in the stack, with the stack's profile).
    rendered = stack.compose("exec", "-T", "airflow-scheduler", "dockpod", "render", "--env", "local", "--format",
                             "json", "/opt/airflow/dags/portable_pipeline.py").stdout
    assert json.loads(rendered)["extract"]["HostConfig"]["NetworkMode"] == stack.env["EDGE_NETWORK"]


def test_down_removes_every_container_network_and_volume(stack):
    left = stack.down()
    assert not left, left
    assert stack.task_containers("portable_pipeline") == []


def _started(container: str) -> str:
    return subprocess.run(["docker", "inspect", "-f", "{{.State.StartedAt}}", container], capture_output=True,
                          text=True, check=True).stdout.strip()
