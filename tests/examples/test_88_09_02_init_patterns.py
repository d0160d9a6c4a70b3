"""88_09_02_init_patterns: four init containers run in order before the main container, locally and in the pod.

The broken variant (nothing published) fails at ``wait-for-batch``, named, on the Docker engine and in the
podman pod. The named volume of the example is removed from Docker and podman before and after each test,
so each leg starts from the same empty inbox.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from airflow_harness import place, run_dag
from dockpod.cli import app
from dockpod.runtime.airflow_run import load_dag
from dockpod.runtime.pod_leg import run_dag_pods

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "section_88" / "88_09_02_init_patterns.py"
DAG_ID = "88_09_02_init_patterns"
VOLUME = "dockpod-88-09-02-inbox"
INITS = ["wait-for-batch", "fix-permissions", "write-config", "migrate-db"]

pytestmark = pytest.mark.integration


def _remove_volume() -> None:
    for tool in ("docker", "podman"):
        subprocess.run([tool, "volume", "rm", "-f", VOLUME], capture_output=True, check=False, timeout=120)


@pytest.fixture(autouse=True)
def profile_env(monkeypatch):
    monkeypatch.setenv("DOCKPOD_CONFIG", str(REPO / "examples" / "dockpod.toml"))
    _remove_volume()
    yield
    _remove_volume()


def assert_prepared_by_the_init_containers(load: dict) -> None:
    """What the main container of ``load`` found: every init container's work, in order, before it started."""
    assert load["init_order"] == INITS
    assert load["all_init_before_main"] is True
    assert load["batch"] == {"batch": "2024-06-30", "rows": 3, "source": "publish_batch"}
    assert load["config"] == {"region": "eu-west", "batch_size": 500, "target_table": "daily_sales",
                              "batch": "2024-06-30"}
    assert load["schema_version"] == 3
    assert load["tables"] == {"daily_sales": ["day", "city", "amount", "currency"], "load_audit": ["batch", "rows"]}
    assert load["audit_rows"] == 1  # the main container (uid 1000) could write the migrated database
    assert load["uid"] == 1000
    assert load["folders"] == {"private": {"uid": 1000, "gid": 1000, "mode": "0o700"},
                               "db": {"uid": 1000, "gid": 1000, "mode": "0o750"}}


def test_the_init_containers_prepare_everything_before_the_task_on_the_docker_engine():
    result = run_dag(EXAMPLE, DAG_ID)
    assert result.task_states == {"publish_batch": "success", "load": "success"}, result.failures
    assert result.xcoms["publish_batch"] == {"published": True}
    assert_prepared_by_the_init_containers(result.xcoms["load"])


def test_a_failing_init_container_fails_the_task_naming_it_on_the_docker_engine():
    result = run_dag(EXAMPLE, DAG_ID, params={"variant": "broken"})
    assert result.task_states == {"publish_batch": "success", "load": "failed"}
    assert result.xcoms["publish_batch"] == {"published": False}
    message = str(result.failures["load"])
    assert "The init container wait-for-batch failed: the container exited with code 1" in message, message
    assert "no batch in /inbox/inbox/batch.json after 8 s" in message  # its last line is quoted
    assert "The main container and the sidecars were not started" in message


def test_a_failing_init_container_fails_the_pod_naming_it_under_podman(monkeypatch):
    monkeypatch.setenv("AIRFLOW_ENVIRONMENT", "production")
    dag = load_dag(place(EXAMPLE, DAG_ID), DAG_ID)
    dag.params["variant"] = "broken"
    pods = run_dag_pods(dag, image_rewrites={"registry.example.com": "localhost:5000"})
    assert pods["publish_batch"].state == "success" and pods["publish_batch"].xcom == {"published": False}
    assert pods["load"].state == "failed"
    assert pods["load"].exit_code is None  # the main container never ran
    assert "Init container 'wait-for-batch' failed, so the main container never ran" in pods["load"].reason
    assert "exited with code 1" in pods["load"].reason


def test_parity_the_init_containers_work_the_same_in_the_podman_pod():
    placed = place(EXAMPLE, DAG_ID)
    result = CliRunner().invoke(app, ["parity", str(placed), "--format", "json"])
    assert result.exit_code == 0, result.output
    assert "PARITY OK" in result.output
    report = json.loads(result.stdout)
    tasks = {t["task_id"]: t for t in report["tasks"]}
    assert sorted(tasks) == ["load", "publish_batch"]
    assert all(t["local_exit"] == 0 == t["pod_exit"] for t in tasks.values())
    assert_prepared_by_the_init_containers(tasks["load"]["pod_xcom"])
    assert tasks["load"]["local_xcom"] == tasks["load"]["pod_xcom"]
    assert report["volumes"] == []  # both legs wrote the same inbox/batch.json to the volume / the claim
