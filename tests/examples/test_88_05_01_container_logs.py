"""88_05_01_container_logs: every container's lines reach the task log, prefixed; docker and pod logs read them."""

from __future__ import annotations

from pathlib import Path

import pytest

from airflow_harness import run_dag
from dockpod.render import render_paths
from dockpod.runtime.podman import run_pod

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "section_88" / "88_05_01_container_logs.py"
DAG_ID = "88_05_01_container_logs"
STEPS = [f"step {i} of 5" for i in range(1, 6)]
EVENTS = ["run header", *(f"app event {i}" for i in range(1, 6))]

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


def _in_order(text: str, needles: list[str]) -> None:
    positions = [text.index(needle) for needle in needles]
    assert positions == sorted(positions), needles


@pytest.fixture(scope="module")
def local_run():
    """One run of the DAG on the Docker engine, with everything it printed (the task log under dag.test())."""
    import contextlib
    import io
    import logging

    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        with contextlib.redirect_stdout(buffer), contextlib.redirect_stderr(buffer):
            result = run_dag(EXAMPLE, DAG_ID)
    finally:
        root.removeHandler(handler)
    return result, buffer.getvalue()


def test_every_container_reaches_the_task_log_with_its_prefix(local_run):
    result, log = local_run
    assert result.task_states == {"pipeline": "success"}, result.failures
    assert "[prepare] log folder ready" in log
    _in_order(log, ["[prepare] log folder ready", *(f"[base] {step}" for step in STEPS), "[base] all steps done"])
    _in_order(log, [f"[shipper] {event}" for event in EVENTS])  # the sidecar ships the file in its order
    assert "[base] disk almost full (a warning on stderr)" in log  # stderr is in the task log too
    assert "[prepare] log folder ready" in log.split("[shipper] run header")[0]  # init ran before the sidecar


def test_the_main_container_logs_were_followed_while_it_ran(local_run):
    followed = _xcom(DAG_ID, "pipeline", "followed_logs")
    assert followed["error"] is None
    lines = [text for _seconds, text in followed["lines"]]
    assert lines[:5] == STEPS and lines[-1] == "all steps done"
    seconds = {text: at for at, text in followed["lines"]}
    # Streamed: the steps arrived about one second apart, not all at the end.
    assert seconds["step 5 of 5"] - seconds["step 1 of 5"] >= 3, followed["lines"]


def test_the_production_pod_gives_each_containers_logs_as_kubectl_logs_would():
    rendered = render_paths([EXAMPLE], "production")
    assert rendered.ok, rendered.errors
    (task,) = rendered.tasks
    names = [c["name"] for c in task.manifest["spec"]["initContainers"]] + [
        c["name"] for c in task.manifest["spec"]["containers"]]
    assert {"prepare", "shipper", "base"} <= set(names)

    said: list[str] = []
    run = run_pod(task.manifest, image_rewrites={"registry.localhost": "localhost:5000"}, log=said.append)
    assert run.succeeded, run.reason
    assert run.leftovers == ()
    logs = run.container_logs
    assert logs["prepare"] == ("log folder ready",)
    assert [line for line in logs["base"] if line.startswith("step")] == STEPS
    assert "disk almost full (a warning on stderr)" in logs["base"]
    assert [line for line in logs["shipper"] if line in EVENTS] == EVENTS
    # The main container's lines also streamed through the log callback while the pod ran.
    assert [line for line in said if line.startswith("[base] step")] == [f"[base] {s}" for s in STEPS]
