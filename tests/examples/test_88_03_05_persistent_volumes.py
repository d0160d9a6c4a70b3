"""88_03_05_persistent_volumes: claims valid with a storage class; data written by one pod is read by the next."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from airflow_harness import place_example
from dockpod.runtime.airflow_run import load_dag, run_dag

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "section_88" / "88_03_05_persistent_volumes.py"
DAG_ID = "88_03_05_persistent_volumes"
CLAIMS = ["airflow-dags", "airflow-data", "airflow-logs"]

pytestmark = pytest.mark.integration


@pytest.fixture
def fresh_claims():
    subprocess.run(["podman", "volume", "rm", "--force", *CLAIMS], capture_output=True, check=False)
    yield
    subprocess.run(["podman", "volume", "rm", "--force", *CLAIMS], capture_output=True, check=False)


def test_data_on_the_claims_outlives_the_pod(fresh_claims, monkeypatch):
    monkeypatch.setenv("DOCKPOD_REPO", str(REPO))
    result = run_dag(load_dag(place_example(EXAMPLE, DAG_ID), DAG_ID))
    assert result.state == "success", result.failures
    storage = result.xcoms["check_storage"]
    assert set(storage["claims"]) == set(CLAIMS)
    for claim in storage["claims"].values():
        assert claim["problems"] == [] and claim["storageClassName"] == "airflow-rwx"
        assert claim["accessModes"] == ["ReadWriteMany"]
    assert storage["mounted_by"]["airflow-data"] == ["airflow-worker"]
    assert len(storage["mounted_by"]["airflow-logs"]) == 5
    written, read = result.xcoms["write_shared"], result.xcoms["read_shared"]
    assert written["exit_code"] == 0 and written["logs"] == ["50000", "written"], written
    assert read["exit_code"] == 0, read
    run_id = read["logs"][0]
    assert run_id.startswith("manual__")
    assert read["logs"] == [run_id, f"task log of {run_id}", "50000:0"]
