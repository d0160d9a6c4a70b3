"""A running task killed for real, both ways: nothing may be left behind, ever.

* SIGTERM (what Airflow sends a task it stops): reaches the workload even when it is PID 1 (``sleep``
  ignores SIGTERM as PID 1 without an init), and every container, volume and host directory of the
  run is removed, well within the termination grace period.
* SIGKILL of the worker: nothing can clean up; the next try finds the leftovers by label, reattaches
  to a main container that still runs, or removes the stale ones.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
from test_docker_operator import ETL, LABEL, _dag, _docker, _engine, _host_dirs, _nothing_left_behind, _unique  # noqa: F401

from airflow_harness import place

pytestmark = pytest.mark.integration

RUN_ID = "manual__2026-01-01T00:00:00+00:00"


def _containers(dag_id: str, *, running: bool = False) -> list[str]:
    return _docker("ps", *(() if running else ("-a",)), "-q", "--filter",
                   f"label=io.dockpod.dag_id={dag_id}").stdout.split()


def _volumes(dag_id: str) -> list[str]:
    return _docker("volume", "ls", "-q", "--filter", f"label=io.dockpod.dag_id={dag_id}").stdout.split()


def _wait_running(dag_id: str, count: int, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if len(_containers(dag_id, running=True)) >= count:
            return
        time.sleep(0.2)
    raise AssertionError(f"the task's {count} container(s) never ran")


def test_sigterm_reaches_a_pid_1_sleep_and_removes_the_whole_pod():
    dag_id = _unique("sigterm")
    place(_dag(dag_id, """
        DockpodDockerOperator(task_id="main", profile=LOCAL, spec=ContainerSpec(
            image=ETL, entrypoint=["sleep", "300"], xcom=True, volumes=[Volume.empty_dir("/work")],
            sidecars=[ContainerSpec(name="shipper", image=ETL, entrypoint=["sleep", "300"])]))
    """), dag_id, text=True)
    airflow = Path(sys.executable).with_name("airflow")
    process = subprocess.Popen([str(airflow), "dags", "test", dag_id], stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
    try:
        _wait_running(dag_id, 3)  # holder, sidecar, main
        assert _volumes(dag_id), "the run's scratch volume exists while it runs"
        started = time.monotonic()
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=60)
        stopped_in = time.monotonic() - started
    finally:
        if process.poll() is None:
            process.kill()
    assert stopped_in < 15, f"stopping took {stopped_in:.1f} s: SIGTERM did not reach sleep (30 s grace)"
    assert "Stopping container" in output
    assert _containers(dag_id) == []
    assert _volumes(dag_id) == []


SCRIPT = """
import sys, types
from dockpod.operators._docker import DockpodDockerOperator
from dockpod.profiles import get_profile
from dockpod.spec import ContainerSpec

spec = ContainerSpec(image={etl!r}, entrypoint=["sh", "-c", sys.argv[1]], xcom=True, volumes=["/work"])
op = DockpodDockerOperator(spec=spec, profile=get_profile("local"), task_id="main")
ti = types.SimpleNamespace(dag_id={dag_id!r}, run_id={run_id!r}, try_number=1, map_index=-1)
op.execute({{"ti": ti, "run_id": {run_id!r}}})
"""


def _first_try_killed(dag_id: str, command: str) -> None:
    """Run try 1 in a process of its own and SIGKILL it once its container runs."""
    script = textwrap.dedent(SCRIPT.format(etl=ETL, dag_id=dag_id, run_id=RUN_ID))
    process = subprocess.Popen([sys.executable, "-c", script, command], env=os.environ.copy(),
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_running(dag_id, 1)
    finally:
        process.kill()
        process.wait(timeout=30)
    assert _containers(dag_id), "SIGKILL leaves the container behind (nothing could remove it)"


def _second_try(dag_id: str, command: str) -> tuple[object, list[str]]:
    from dockpod.operators._docker import DockpodDockerOperator
    from dockpod.profiles import get_profile
    from dockpod.spec import ContainerSpec

    spec = ContainerSpec(image=ETL, entrypoint=["sh", "-c", command], xcom=True, volumes=["/work"])
    op = DockpodDockerOperator(spec=spec, profile=get_profile("local"), task_id="main")
    lines: list[str] = []
    op.log.info = lambda message, *args: lines.append(message % args if args else message)  # type: ignore[method-assign]
    ti = SimpleNamespace(dag_id=dag_id, run_id=RUN_ID, try_number=2, map_index=-1)
    return op.execute({"ti": ti, "run_id": RUN_ID}), lines


def test_after_sigkill_the_next_try_reattaches_to_the_running_container():
    dag_id = _unique("reattach")
    before = _host_dirs()
    _first_try_killed(dag_id, "sleep 4; echo first try > /work/who; echo '{\"try\": 1}' > /airflow/xcom/return.json")
    result, lines = _second_try(dag_id, "echo '{\"try\": 2}' > /airflow/xcom/return.json")
    assert result == {"try": 1}  # the first try's container finished and its result was read
    assert any("Reattaching to container" in line and "of try 1" in line for line in lines)
    assert _containers(dag_id) == []
    assert _volumes(dag_id) == []
    assert _host_dirs() - before == set()


def test_after_sigkill_the_next_try_removes_stale_containers_and_runs_again():
    dag_id = _unique("stale")
    before = _host_dirs()
    _first_try_killed(dag_id, "sleep 1; exit 3")
    deadline = time.monotonic() + 30
    while _containers(dag_id, running=True) and time.monotonic() < deadline:
        time.sleep(0.2)
    result, lines = _second_try(dag_id, "echo '{\"try\": 2}' > /airflow/xcom/return.json")
    assert result == {"try": 2}
    assert any("left behind by an earlier try" in line for line in lines)
    assert _containers(dag_id) == []
    assert _volumes(dag_id) == []
    assert _host_dirs() - before == set()


def test_reap_lists_and_removes_what_a_killed_worker_left(tmp_path):
    import json
    import time as clock

    from typer.testing import CliRunner

    from dockpod.cli import app
    from dockpod.runtime.reap import find_orphans, reap

    dag_id = _unique("reap")
    before = _host_dirs()
    _first_try_killed(dag_id, "sleep 120")
    listed = CliRunner().invoke(app, ["reap", "--older-than", "0s", "--dry-run", "--format", "json"])
    assert listed.exit_code == 0, listed.output
    mine = [row for row in json.loads(listed.stdout) if row["dag_id"] == dag_id]
    assert [row["kind"] for row in mine] == ["container"] and mine[0]["state"] == "running"
    assert mine[0]["removed"] is False and _containers(dag_id)  # a dry run removes nothing
    # A minute later the run's volume and host directory count too; only this test's run is reaped.
    orphans = find_orphans(0, now=clock.time() + 120)
    new_dirs = {str(p) for p in _host_dirs() - before}
    ours = [o for o in orphans if o.dag_id == dag_id or o.id in new_dirs]
    assert sorted(o.kind for o in ours) == ["container", "directory", "volume"]
    assert all(error is None for _o, error in reap(ours))
    assert _containers(dag_id) == []
    assert _volumes(dag_id) == []
    assert _host_dirs() - before == set()
