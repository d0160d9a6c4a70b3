"""``dockpod parity`` for real: the Docker engine against podman pods, runtime views read by the probe image."""

from __future__ import annotations

import json
import subprocess
import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner

from airflow_harness import place
from dockpod.cli import app

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "examples" / "dags" / "portable_pipeline.py"

pytestmark = pytest.mark.integration

PROFILES = """
[profiles.local]
registry_rewrites = { "registry.localhost" = "localhost:5000" }
secrets = { kind = "env" }

[profiles.production]
registry_rewrites = { "registry.localhost" = "registry.example.com" }
xcom_sidecar_image = "registry.localhost/dockpod/xcom-sidecar:bookworm"
"""

POD_DAG = '''
import pendulum
from airflow.sdk import DAG
from dockpod import Secret, Volume, container_task

ETL = "registry.localhost/dockpod/etl:1.0"
MAIN = ("import json, urllib.request as u; json.dump({'config': open('/work/config').read().strip(), "
        "'sidecar': u.urlopen('http://localhost:8080/config').read().decode().strip()}, "
        "open('/airflow/xcom/return.json', 'w'))")
with DAG("parity_pod", start_date=pendulum.datetime(2024, 1, 1, tz="UTC"), schedule=None):
    container_task(
        task_id="main", image=ETL, entrypoint=["python3", "-c", MAIN], xcom=True,
        env={"STAGE": "parity"}, secrets=[Secret("etl-api", "token", env="API_TOKEN")],
        volumes=[Volume.empty_dir("/work")], working_dir="/work",
        resources={"cpu_request": "250m", "cpu_limit": "500m", "memory_limit": "128Mi"},
        security={"user": "1000:1000", "read_only_root_filesystem": True},
        init_containers=[dict(name="setup", image=ETL, volumes=[Volume.empty_dir("/work")],
                              entrypoint=["sh", "-c", "echo ready > /work/config"])],
        sidecars=[dict(name="web", image=ETL, volumes=[Volume.empty_dir("/work")],
                       entrypoint=["python3", "-m", "http.server", "8080", "-d", "/work"],
                       readiness_probe={"exec": ["python3", "-c",
                                                 "import urllib.request as u; u.urlopen('http://localhost:8080/')"],
                                        "period_seconds": 1})],
    )
'''


@pytest.fixture
def demo_env(monkeypatch):
    monkeypatch.setenv("DOCKPOD_CONFIG", str(REPO / "examples" / "dockpod.toml"))
    monkeypatch.setenv("DOCKPOD_SECRET_ETL_API_TOKEN", "parity-command-token-91c2")
    yield
    subprocess.run(["docker", "volume", "rm", "-f", "dockpod_demo_data"], capture_output=True, check=False)
    subprocess.run(["podman", "volume", "rm", "-f", "dockpod-demo-data"], capture_output=True, check=False)


def test_the_demo_pipeline_has_parity_in_everything_compared(demo_env):
    outside = CliRunner().invoke(app, ["parity", str(DEMO)])
    assert outside.exit_code == 2
    assert "is not in Airflow's DAGs folder" in outside.output and "AIRFLOW__CORE__DAGS_FOLDER=" in outside.output
    result = CliRunner().invoke(app, ["parity", str(place(DEMO, "portable_pipeline")), "--format", "json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["equal"] is True
    assert [t["task_id"] for t in report["tasks"]] == ["extract", "transform", "load"]
    assert all(t["local_exit"] == 0 == t["pod_exit"] for t in report["tasks"])
    assert report["tasks"][2]["local_xcom"] == report["tasks"][2]["pod_xcom"]
    assert "parity-command-token-91c2" not in result.output


def test_a_task_with_init_container_sidecar_and_secret_has_parity(tmp_path, monkeypatch):
    config = tmp_path / "dockpod.toml"
    config.write_text(PROFILES)
    dag = place(POD_DAG, "parity_pod", text=True)
    monkeypatch.setenv("DOCKPOD_CONFIG", str(config))
    monkeypatch.setenv("DOCKPOD_SECRET_ETL_API_TOKEN", "pod-token-55aa")
    result = CliRunner().invoke(app, ["parity", str(dag)])
    assert result.exit_code == 0, result.output
    assert "PARITY OK" in result.output
    assert "pod-token-55aa" not in result.output


def test_a_profile_that_changes_the_memory_limit_is_named(tmp_path, monkeypatch):
    config = tmp_path / "dockpod.toml"
    config.write_text(PROFILES + '\n[profiles.production.default_resources]\nmemory_limit = "96Mi"\n')
    dag = place(textwrap.dedent('''
        import pendulum
        from airflow.sdk import DAG
        from dockpod import container_task

        with DAG("parity_limits", start_date=pendulum.datetime(2024, 1, 1, tz="UTC"), schedule=None):
            container_task(task_id="sized", image="registry.localhost/dockpod/etl:1.0", command=["exit", "0"])
    '''), "parity_limits", text=True)
    monkeypatch.setenv("DOCKPOD_CONFIG", str(config))
    result = CliRunner().invoke(app, ["parity", str(dag), "--format", "json"])
    assert result.exit_code == 1, result.output
    report = json.loads(result.stdout)
    differences = report["tasks"][0]["differences"]
    assert differences == [{"task_id": "sized", "aspect": "memory limit", "local": "None", "pod": str(96 * 2**20)}]
    assert "PARITY BROKEN: 1 difference(s)" in result.output


def test_bad_input_is_one_sentence(tmp_path):
    missing = CliRunner().invoke(app, ["parity", str(tmp_path / "nope.py")])
    assert missing.exit_code == 2
    assert "is not a file; pass a DAG file." in missing.output
    bad = CliRunner().invoke(app, ["parity", str(DEMO), "--rewrite", "nonsense"])
    assert bad.exit_code == 2
    assert "is not FROM=TO" in bad.output


TEMPLATE = """
apiVersion: v1
kind: Pod
metadata: {name: template}
spec:
  securityContext: {runAsUser: 1000, runAsGroup: 1000, fsGroup: 1000}
  initContainers:
  - name: team-config
    image: registry.localhost/dockpod/etl:1.0
    command: ["sh", "-c", "echo from-template > /etc/team/setting"]
    volumeMounts: [{name: team, mountPath: /etc/team}]
  containers:
  - name: base
    env: [{name: TEAM, value: data}, {name: STAGE, value: template}]
    volumeMounts: [{name: team, mountPath: /etc/team}]
  volumes:
  - {name: team, emptyDir: {}}
"""


def test_a_pod_template_runs_the_same_locally_and_in_the_pod(tmp_path, monkeypatch):
    config = tmp_path / "dockpod.toml"
    config.write_text(PROFILES)
    template = tmp_path / "template.yaml"
    template.write_text(TEMPLATE)
    main = ("import json, os; json.dump({'team': os.environ['TEAM'], 'stage': os.environ['STAGE'], "
            "'setting': open('/etc/team/setting').read().strip()}, open('/airflow/xcom/return.json', 'w'))")
    dag = place(textwrap.dedent(f'''
        import pendulum
        from airflow.sdk import DAG
        from dockpod import container_task

        with DAG("parity_template", start_date=pendulum.datetime(2024, 1, 1, tz="UTC"), schedule=None):
            container_task(task_id="templated", image="registry.localhost/dockpod/etl:1.0", xcom=True,
                           pod_template_file={str(template)!r}, env={{"STAGE": "task"}},
                           entrypoint=["python3", "-c", {main!r}])
    '''), "parity_template", text=True)
    monkeypatch.setenv("DOCKPOD_CONFIG", str(config))
    result = CliRunner().invoke(app, ["parity", str(dag), "--format", "json"])
    assert result.exit_code == 0, result.output
    task = json.loads(result.stdout)["tasks"][0]
    assert task["local_xcom"] == task["pod_xcom"] == {"team": "data", "stage": "task", "setting": "from-template"}
