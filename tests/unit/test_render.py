import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dockpod.cli import app
from dockpod.render import dump, render_paths

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "examples" / "dags" / "portable_pipeline.py"
EXAMPLES_CONFIG = REPO / "examples" / "dockpod.toml"


@pytest.fixture(autouse=True)
def _examples_config(monkeypatch):
    monkeypatch.setenv("DOCKPOD_CONFIG", str(EXAMPLES_CONFIG))


def test_production_pods_of_the_demo():
    result = render_paths([DEMO], "production")
    assert result.ok, result.errors
    assert [t.task_id for t in result.tasks] == ["extract", "transform", "load"]
    pods = {t.task_id: t.manifest for t in result.tasks}
    extract = pods["extract"]
    base = extract["spec"]["containers"][0]
    assert base["image"] == "registry.example.com/dockpod/etl:1.0"
    assert base["args"][:3] == ["extract", "--rows", "{{ params.rows }}"]
    assert extract["metadata"]["namespace"] == "data-pipelines"
    assert extract["spec"]["serviceAccountName"] == "airflow-task-runner"
    sidecar = extract["spec"]["containers"][1]
    assert sidecar["name"] == "airflow-xcom-sidecar"
    assert sidecar["image"] == "registry.example.com/dockpod/xcom-sidecar:bookworm"
    assert {"name": "API_TOKEN", "valueFrom": {"secretKeyRef": {"key": "token", "name": "etl-api"}}} in base["env"]


def test_local_render_is_the_container_create_body_with_placeholders(monkeypatch):
    monkeypatch.setenv("DOCKPOD_SECRET_ETL_API_TOKEN", "s3cr3t-value-never-shown")
    result = render_paths([DEMO], "local")
    assert result.ok, result.errors
    body = {t.task_id: t.manifest for t in result.tasks}["extract"]
    assert body["Image"] == "localhost:5000/dockpod/etl:1.0"
    assert "API_TOKEN=<secret etl-api/token>" in body["Env"]
    assert body["HostConfig"]["Memory"] == 128 * 1024**2
    assert body["HostConfig"]["NanoCpus"] == 500_000_000
    assert "s3cr3t-value-never-shown" not in dump(result, "json") + dump(result, "yaml")


def test_json_is_one_object_keyed_by_task_id():
    runner = CliRunner()
    out = runner.invoke(app, ["render", str(DEMO), "--env", "production", "--format", "json"])
    assert out.exit_code == 0, out.output
    data = json.loads(out.stdout)
    assert sorted(data) == ["extract", "load", "transform"]
    assert all(doc["kind"] == "Pod" for doc in data.values())


def test_out_writes_one_file_per_task(tmp_path):
    out = CliRunner().invoke(app, ["render", str(DEMO), "--out", str(tmp_path)])
    assert out.exit_code == 0, out.output
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "portable_pipeline.extract.yaml", "portable_pipeline.load.yaml", "portable_pipeline.transform.yaml"]


def test_broken_dag_and_untranslatable_task_are_reported(tmp_path):
    (tmp_path / "broken.py").write_text("from airflow.sdk import DAG\nraise RuntimeError('boom')\n")
    (tmp_path / "bad_task.py").write_text(
        "from datetime import datetime\nfrom airflow.sdk import DAG\nfrom dockpod import container_task\n"
        "with DAG('bad', schedule=None, start_date=datetime(2024, 1, 1)):\n"
        "    container_task(task_id='t', image='etl:1', resources={'memory_limit': 'lots'})\n")
    out = CliRunner().invoke(app, ["render", str(tmp_path), "--env", "production"])
    assert out.exit_code == 1
    assert "broken.py" in out.stderr and "boom" in out.stderr
    assert "bad_task.py" in out.stderr and "Task 't'" in out.stderr and "memory_limit" in out.stderr
    assert "Traceback" not in out.stderr


def test_unknown_environment_is_one_sentence():
    out = CliRunner().invoke(app, ["render", str(DEMO), "--env", "prod"])
    assert out.exit_code == 2
    assert "known environments: local, production, staging" in " ".join(out.stderr.split())
