"""The same DAG through the Docker engine (local profile) and as production pods under podman:
exit codes and XCom values must be equal, and no secret value may show anywhere."""

import json
import os
import subprocess
from pathlib import Path

import pytest

from airflow_harness import run_dag
from dockpod.render import dump, render_paths
from dockpod.render.validate import validate_manifest
from dockpod.runtime.airflow_run import load_dag
from dockpod.runtime.pod_leg import run_dag_pods

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "examples" / "dags" / "portable_pipeline.py"
TOKEN = "parity-token-7f3a9c1e5b"

pytestmark = pytest.mark.integration


@pytest.fixture
def demo_env(monkeypatch):
    monkeypatch.setenv("DOCKPOD_CONFIG", str(REPO / "examples" / "dockpod.toml"))
    monkeypatch.setenv("DOCKPOD_SECRET_ETL_API_TOKEN", TOKEN)
    yield
    subprocess.run(["docker", "volume", "rm", "-f", "dockpod_demo_data"], capture_output=True, check=False)
    subprocess.run(["podman", "volume", "rm", "-f", "dockpod-demo-data"], capture_output=True, check=False)


def test_portable_pipeline_has_equal_results_in_both_modes(demo_env, monkeypatch):
    monkeypatch.setenv("AIRFLOW_ENVIRONMENT", "local")
    local = run_dag(DEMO, "portable_pipeline")
    assert local.state == "success", local.task_states

    monkeypatch.setenv("AIRFLOW_ENVIRONMENT", "production")
    pods = run_dag_pods(load_dag(DEMO, "portable_pipeline"),
                        image_rewrites={"registry.example.com": "localhost:5000"},
                        secrets={"etl-api": {"token": TOKEN}})
    assert {t: o.state for t, o in pods.items()} == {"extract": "success", "transform": "success", "load": "success"}
    for task_id, outcome in pods.items():
        assert outcome.exit_code == 0
        assert outcome.schema_problems == ()
        assert outcome.xcom == local.xcoms[task_id], task_id
    assert local.xcoms["extract"]["rows"] == 500
    assert len(local.xcoms["load"]["checksum"]) == 64

    texts = [json.dumps(local.xcoms), json.dumps({t: o.xcom for t, o in pods.items()})]
    assert not any(TOKEN in text for text in texts)


@pytest.mark.parametrize("env", ["local", "production"])
def test_renders_hold_no_secret_value(demo_env, env):
    result = render_paths([DEMO], env)
    assert result.ok, result.errors
    assert TOKEN not in dump(result, "yaml") + dump(result, "json")


def test_every_example_pod_passes_the_strict_schema(demo_env):
    folders = [REPO / "examples" / "dags", REPO / "examples" / "section_88"]
    result = render_paths(folders, "production")
    assert result.ok, result.errors
    assert len(result.tasks) >= 6
    problems = {f"{t.dag_id}.{t.task_id}": validate_manifest(t.manifest) for t in result.tasks}
    assert all(not p for p in problems.values()), problems


def test_no_container_or_pod_left_behind():
    leftover = subprocess.run(["docker", "ps", "-aq", "--filter", "label=io.dockpod.run"],
                              capture_output=True, text=True, check=True).stdout.split()
    pods = subprocess.run(["podman", "pod", "ps", "-q"], capture_output=True, text=True, check=True).stdout.split()
    assert leftover == [] and pods == [], (leftover, pods)
    assert os.environ.get("AIRFLOW_ENVIRONMENT") in (None, "local")
