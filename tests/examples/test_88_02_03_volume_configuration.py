"""88_02_03_volume_configuration: task files persist across a container recreate on named volumes, read-only
mounts refuse writes, and uid 50000 can write where the image created the mount point (or after a chown)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from airflow_harness import place_example
from dockpod.runtime.airflow_run import load_dag, run_dag

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "section_88" / "88_02_03_volume_configuration.py"
DAG_ID = "88_02_03_volume_configuration"
READ_ONLY = ["/opt/airflow/dags", "/opt/airflow/plugins", "/opt/airflow/config"]

pytestmark = pytest.mark.integration


def _ours() -> list[str]:
    """Containers and volumes this example's runs created (names start with dp880203-)."""
    names = []
    for command in (["docker", "ps", "-a", "--format", "{{.Names}}"],
                    ["docker", "volume", "ls", "--format", "{{.Name}}"],
                    ["docker", "network", "ls", "--format", "{{.Name}}"]):
        out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
        names += [name for name in out.split() if name.startswith("dp880203-")]
    return names


def test_volumes_persist_refuse_writes_where_read_only_and_fit_uid_50000():
    before = _ours()
    result = run_dag(load_dag(place_example(EXAMPLE, DAG_ID), DAG_ID))
    assert result.state == "success", result.failures
    stack = result.xcoms["run_stack"]

    first, second = stack["first_run"], stack["second_run"]
    assert first["uid"] == 50000 and first["report"] == "/opt/airflow/data/reports/report.txt"
    for run in (first, second):
        assert run["write_refused"] == {"/opt/airflow/dags": "EROFS", "/opt/airflow/plugins": "EROFS",
                                        "/opt/airflow/config": "EROFS", "/opt/airflow/logs": "",
                                        "/opt/airflow/data": ""}

    before_restart, after_restart, final = stack["before_restart"], stack["after_restart"], stack["final"]
    assert stack["container_recreated"] is True
    assert before_restart["marker"] == ["present"] and after_restart["marker"] == ["gone"]
    assert len(before_restart["report"]) == 1 and before_restart["report"][0].startswith("manual__")
    assert after_restart["report"] == before_restart["report"], "the data volume lost the task's file"
    assert after_restart["log"] == before_restart["log"] and len(before_restart["log"]) == 1
    assert "/task_id=write_report/attempt=1.log" in before_restart["log"][0]
    assert final["report"][0] == before_restart["report"][0] and len(final["report"]) == 2
    assert len(final["log"]) == 2 and set(before_restart["log"]) < set(final["log"])
    for state in (before_restart, after_restart):
        assert state["owner"] == ["/opt/airflow/logs 50000:0", "/opt/airflow/data 50000:0"]
        assert [line.split(":")[-1].strip() for line in state["refused"]] == ["Read-only file system"] * 3
        assert all(any(path in line for line in state["refused"]) for path in READ_ONLY)

    assert result.xcoms["ownership"] == {
        "image_directory": {"path": "/opt/airflow/logs", "owner": "50000:0", "write": "writable"},
        "missing_directory": {"path": "/opt/airflow/data", "owner": "0:0",
                              "write": "touch: cannot touch '/opt/airflow/data/probe': Permission denied"},
        "missing_directory_after_chown": {"path": "/opt/airflow/data", "owner": "50000:0", "write": "writable"},
    }
    assert _ours() == before, "a container, volume or network of the example was left behind"
