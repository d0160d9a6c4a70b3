"""88_03_02_k8s_manifests: every object is strictly valid and lint clean, wired together, every pod spec runs."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from airflow_harness import place_example
from dockpod.runtime.airflow_run import load_dag, run_dag

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "section_88" / "88_03_02_k8s_manifests.py"
DAG_ID = "88_03_02_k8s_manifests"
CLAIMS = ["airflow-dags", "airflow-data", "airflow-logs"]
WORKLOADS = ["airflow-api-server", "airflow-dag-processor", "airflow-scheduler", "airflow-triggerer", "airflow-worker"]

pytestmark = pytest.mark.integration


@pytest.fixture
def claims_removed():
    yield
    subprocess.run(["podman", "volume", "rm", "--force", *CLAIMS], capture_output=True, check=False)


def test_the_manifests_are_valid_wired_and_their_pods_run(claims_removed, monkeypatch):
    monkeypatch.setenv("DOCKPOD_REPO", str(REPO))
    result = run_dag(load_dag(place_example(EXAMPLE, DAG_ID), DAG_ID))
    assert result.state == "success", result.failures
    validated = result.xcoms["validate"]
    assert validated["problems"] == []
    assert validated["kinds"]["Deployment"] == 4 and validated["kinds"]["StatefulSet"] == 1
    assert result.xcoms["lint"] == []
    wiring = result.xcoms["check_wiring"]
    assert wiring["services"] == {"airflow-api-server": {"workloads": ["airflow-api-server"], "ports_found": True},
                                  "airflow-worker": {"workloads": ["airflow-worker"], "ports_found": True}}
    assert wiring["missing_secret_keys"] == []
    assert wiring["ingress"] == {"service": "airflow-api-server", "service_exists": True, "tls_secret": "airflow-tls"}
    runs = result.xcoms["run_pod_specs"]
    assert sorted(runs) == WORKLOADS
    for name, run in runs.items():
        assert run == {"exit_code": 0, "logs": ["50000:0 CeleryExecutor conn-set"]}, name
