"""88_05_02_container_shell: commands run through exec in a running task container and pod return what is expected."""

from __future__ import annotations

import re
import subprocess
import threading
import time
from pathlib import Path

import pytest

from airflow_harness import run_dag
from dockpod.render import render_paths
from dockpod.runtime.podman import run_pod

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "section_88" / "88_05_02_container_shell.py"
DAG_ID = "88_05_02_container_shell"
PROGRESS = "halfway through batch 42"

pytestmark = pytest.mark.integration


def _xcom(dag_id: str, task_id: str, key: str):
    """The newest XCom ``key`` of a task (the harness collects return values only)."""
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        row = session.execute(
            select(XComModel).where(XComModel.dag_id == dag_id, XComModel.task_id == task_id, XComModel.key == key)
            .order_by(XComModel.timestamp.desc())
        ).scalars().first()
        return None if row is None else XComModel.deserialize_value(row)


def test_exec_into_the_running_task_container_returns_the_expected_output():
    result = run_dag(EXAMPLE, DAG_ID)
    assert result.task_states == {"work": "success"}, result.failures

    shell = _xcom(DAG_ID, "work", "shell")
    assert shell["error"] is None, shell["error"]
    outputs = shell["outputs"]
    assert outputs["id"] == {"exit_code": 0, "output": "uid=1000(etl) gid=1000(etl) groups=1000(etl)"}
    assert outputs["progress"] == {"exit_code": 0, "output": PROGRESS}
    # No installing tools into a non-root task container.
    assert "Permission denied" in outputs["install_tools"]["output"], outputs["install_tools"]

    # The ephemeral container saw the task's processes and read its file through /proc/PID/root.
    ephemeral = outputs["ephemeral"]
    assert any("python3 /app/etl.py sleep 10" in line for line in ephemeral), ephemeral
    assert ephemeral[-1] == f"progress: {PROGRESS}"
    # Both the task container and the debug container are gone.
    left = subprocess.run(["docker", "ps", "-aq", "--filter", f"name={outputs['container']}"],
                          capture_output=True, text=True, check=True).stdout.split()
    assert left == []


def test_exec_into_the_running_production_pod_like_kubectl_exec():
    rendered = render_paths([EXAMPLE], "production")
    assert rendered.ok, rendered.errors
    (task,) = rendered.tasks

    said: list[str] = []
    outcome: dict[str, object] = {}
    thread = threading.Thread(target=lambda: outcome.update(run=run_pod(
        task.manifest, image_rewrites={"registry.localhost": "localhost:5000"}, log=said.append)))
    thread.start()
    try:
        exec_result = None
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and thread.is_alive():
            started = [m for line in said if (m := re.match(r"pod (\S+): starting under podman", line))]
            if started:
                # kubectl exec POD -c base -- cat /tmp/progress, as the kubelet runs it
                exec_result = subprocess.run(["podman", "exec", f"{started[0].group(1)}-base", "cat", "/tmp/progress"],
                                             capture_output=True, text=True, timeout=30)
                if exec_result.returncode == 0:
                    break
            time.sleep(0.2)
    finally:
        thread.join(timeout=180)
    assert exec_result is not None and exec_result.returncode == 0, (exec_result, said)
    assert exec_result.stdout.strip() == PROGRESS
    run = outcome["run"]
    assert run.succeeded, run.reason
    assert run.leftovers == ()
