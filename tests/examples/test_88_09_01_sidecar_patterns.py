"""88_09_01_sidecar_patterns: each sidecar pattern works on the Docker engine and in the podman pod (parity)."""

from __future__ import annotations

import contextlib
import io
import json
import logging
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from airflow_harness import place, run_dag
from dockpod.cli import app
from dockpod.render import render_paths

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "section_88" / "88_09_01_sidecar_patterns.py"
DAG_ID = "88_09_01_sidecar_patterns"
TASKS = ("log_shipping", "secrets_injection", "git_sync", "proxy")
TOKEN = "sidecar-pattern-token-7f3e9a"

pytestmark = pytest.mark.integration


@pytest.fixture
def profile_env(monkeypatch):
    monkeypatch.setenv("DOCKPOD_CONFIG", str(REPO / "examples" / "dockpod.toml"))
    monkeypatch.setenv("DOCKPOD_SECRET_REPORTING_API_TOKEN", TOKEN)


def _captured(run):
    """Call ``run()`` with everything it prints and logs (the task log under dag.test()) captured."""
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        with contextlib.redirect_stdout(buffer), contextlib.redirect_stderr(buffer):
            result = run()
    finally:
        root.removeHandler(handler)
    return result, buffer.getvalue()


def assert_patterns_worked(xcoms: dict) -> None:
    """What each task's XCom must say for its sidecar to have done its job (both modes)."""
    shipping = xcoms["log_shipping"]
    assert shipping["written"] == shipping["shipped"] == 5, shipping
    assert shipping["last"] == {"seq": 5, "source": "app.log", "shipper": "log-shipper",
                                "line": 'level=info event=5 msg="batch part 5 processed"'}

    secrets = xcoms["secrets_injection"]
    assert secrets == {"keys": ["token", "url"], "url": "http://reporting.internal/v1", "token_length": len(TOKEN),
                       "file_mode": "0o400", "file_owner": 1000, "uid": 1000, "token_in_my_env": False}

    synced = xcoms["git_sync"]
    assert re.fullmatch(r"rev-[0-9a-f]{12}", synced["revision"]), synced
    assert synced["link"] == synced["revision"]
    assert synced["files"] == ["REVISION", "etl.py"]
    assert synced["content_matches_revision"] is True

    answers = xcoms["proxy"]["answers"]
    assert [a["status"] for a in answers] == [200, 200]
    assert [a["via"] for a in answers] == ["1.1 egress-proxy"] * 2
    assert [a["forwarded"] for a in answers] == [1, 2]
    assert [a["body"] for a in answers] == [
        {"service": "reporting-api", "path": "/v1/reports/daily", "forwarded_by": "egress-proxy",
         "request_id": "req-1"},
        {"service": "reporting-api", "path": "/v1/reports/weekly", "forwarded_by": "egress-proxy",
         "request_id": "req-2"},
    ]


def test_every_sidecar_pattern_works_on_the_docker_engine(profile_env):
    result, log = _captured(lambda: run_dag(EXAMPLE, DAG_ID))
    assert result.task_states == dict.fromkeys(TASKS, "success"), result.failures
    assert_patterns_worked(result.xcoms)
    # The sidecars' own lines reach the task log with their names; the secret never does.
    for line in ("[log-shipper] shipped 5", "[secrets-agent] secrets-agent: credentials rendered",
                 "[bundle-sync] bundle-sync: published rev-", "Sidecar secrets-agent is ready",
                 "Sidecar bundle-sync is ready", "Sidecar reporting-api is ready", "Sidecar egress-proxy is ready"):
        assert line in log, line
    assert TOKEN not in log and TOKEN not in json.dumps(result.xcoms)


def test_the_production_pod_has_native_sidecars_gated_by_startup_probes(profile_env):
    rendered = render_paths([EXAMPLE], "production")
    assert rendered.ok, rendered.errors
    pods = {task.task_id: task.manifest for task in rendered.tasks}
    proxy = {c["name"]: c for c in pods["proxy"]["spec"]["initContainers"]}
    for name in ("reporting-api", "egress-proxy"):
        assert proxy[name]["restartPolicy"] == "Always"
        assert proxy[name]["startupProbe"] == proxy[name]["readinessProbe"]  # the kubelet waits for it
    agent = next(c for c in pods["secrets_injection"]["spec"]["initContainers"] if c["name"] == "secrets-agent")
    assert agent["env"] == [{"name": "REPORTING_TOKEN", "valueFrom": {"secretKeyRef": {
        "name": "reporting-api", "key": "token"}}}]
    base = next(c for c in pods["secrets_injection"]["spec"]["containers"] if c["name"] == "base")
    assert "env" not in base or all(e["name"] != "REPORTING_TOKEN" for e in base["env"] or [])
    (mount,) = [m["name"] for m in base["volumeMounts"] if m["mountPath"] == "/run/app-secrets"]
    (volume,) = [v for v in pods["secrets_injection"]["spec"]["volumes"] if v["name"] == mount]
    assert volume["emptyDir"]["medium"] == "Memory"  # the rendered credentials never touch the node's disk
    assert TOKEN not in json.dumps(pods)


def test_parity_every_pattern_works_the_same_in_the_podman_pod(profile_env):
    placed = place(EXAMPLE, DAG_ID)
    result = CliRunner().invoke(app, ["parity", str(placed), "--format", "json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["equal"] is True, report
    tasks = {t["task_id"]: t for t in report["tasks"]}
    assert sorted(tasks) == sorted(TASKS)
    assert all(t["local_exit"] == 0 == t["pod_exit"] for t in tasks.values())
    assert_patterns_worked({task_id: t["pod_xcom"] for task_id, t in tasks.items()})
    assert "PARITY OK" in result.output
    assert TOKEN not in result.output
