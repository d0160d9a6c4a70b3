"""88_03_03_pod_templates: one pod template, applied locally on Docker and merged by the provider in the pod."""

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from airflow_harness import place_example
from dockpod.cli import app
from dockpod.render import render_paths
from dockpod.render.validate import validate_manifest
from dockpod.runtime.airflow_run import load_dag, run_dag

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "section_88" / "88_03_03_pod_templates.py"
DAG_ID = "88_03_03_pod_templates"
PREPARED = {"region": "eu-west", "prepared_by": "init container"}

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def placed() -> Path:
    return place_example(EXAMPLE, DAG_ID)


def test_locally_the_templates_init_container_runs_first_and_its_settings_apply(placed):
    result = run_dag(load_dag(placed, DAG_ID))
    assert result.state == "success", (result.task_states, result.failures)
    assert result.xcoms["check_templates"] == {name: [] for name in (
        "task-pod-template.yaml", "worker-pod-template.yaml", "scheduler-pod-template.yaml")}
    assert result.xcoms["templated_task"] == {"settings": PREPARED, "log_format": "json", "uid": 1000,
                                              "gids": [1000]}
    merged = result.xcoms["merged_pod"]
    assert merged["init_containers"] == ["prepare-config"]
    assert merged["node_selector"] == {"workload": "batch"}
    assert merged["security_context"] == {"fsGroup": 1000, "runAsGroup": 1000, "runAsNonRoot": True, "runAsUser": 1000,
                                          "seccompProfile": {"type": "RuntimeDefault"}}
    assert merged["labels"] == {"team": "data-platform"}


def test_the_merged_production_pod_is_valid_and_has_the_template_in_it(placed):
    rendered = render_paths([placed], "production")
    assert rendered.ok, rendered.errors
    pod = next(t.manifest for t in rendered.tasks if t.task_id == "templated_task")
    assert validate_manifest(pod) == []
    base = next(c for c in pod["spec"]["containers"] if c["name"] == "base")
    assert {"name": "LOG_FORMAT", "value": "json"} in base["env"]
    assert pod["spec"]["initContainers"][0]["image"] == "registry.example.com/dockpod/etl:1.0" or \
        pod["spec"]["initContainers"][0]["image"].endswith("dockpod/etl:1.0")


def test_parity_the_same_settings_and_user_locally_and_in_the_podman_pod(placed, monkeypatch):
    monkeypatch.setenv("DOCKPOD_CONFIG", str(EXAMPLE.parent.parent / "dockpod.toml"))  # the mirrored XCom sidecar
    result = CliRunner().invoke(app, ["parity", str(placed), "--task", "templated_task", "--format", "json"])
    assert result.exit_code == 0, result.output
    task = json.loads(result.stdout)["tasks"][0]
    assert task["local_xcom"] == task["pod_xcom"]
    assert task["pod_xcom"]["settings"] == PREPARED
