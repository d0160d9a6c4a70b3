"""88_05_05_common_issues: each issue fails for real with a one-sentence diagnosis, doctor agrees, the fix passes.

The broken run's task log (what Airflow prints while ``dag.test()`` runs) is saved to a file and read by
dockpod doctor; the OOM and permission containers are also reproduced with ``docker run`` (labelled
``io.dockpod.test=doctor``, removed afterwards) and diagnosed from the engine's record.
"""

from __future__ import annotations

import subprocess
import uuid
from pathlib import Path

import pytest

from airflow_harness import run_dag
from dockpod.doctor import doctor

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "section_88" / "88_05_05_common_issues.py"
DAG_ID = "88_05_05_common_issues"
ETL = "localhost:5000/dockpod/etl:1.0"
VOLUMES = ("dockpod-88-05-05-cache", "dockpod-88-05-05-data")
TASKS = ("oom", "crash", "pull", "permission")

pytestmark = pytest.mark.integration


def _docker(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["docker", *args], capture_output=True, text=True, timeout=120)


@pytest.fixture(autouse=True)
def _fresh_volumes():
    """The example's named volumes start absent (so Docker creates them as a first run would) and are removed."""
    _docker("volume", "rm", "-f", *VOLUMES)
    yield
    _docker("volume", "rm", "-f", *VOLUMES)


@pytest.fixture(scope="module")
def broken(tmp_path_factory):
    """One run of the broken variant, with its task log saved to a file."""
    import contextlib
    import io
    import logging

    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        with contextlib.redirect_stdout(buffer), contextlib.redirect_stderr(buffer):
            result = run_dag(EXAMPLE, DAG_ID, params={"variant": "broken"})
    finally:
        root.removeHandler(handler)
        _docker("volume", "rm", "-f", *VOLUMES)
    log = tmp_path_factory.mktemp("logs") / "broken.log"
    log.write_text(buffer.getvalue())
    return result, log


def test_fixed_variant_passes():
    result = run_dag(EXAMPLE, DAG_ID)
    assert result.task_states == dict.fromkeys(TASKS, "success"), result.failures
    assert result.xcoms["oom"] == {"allocated_mb": 48}
    assert result.xcoms["crash"]["rows"] == 5
    assert result.xcoms["permission"] == {"rows": 5, "path": "/data/rows.json"}


EXPECTED = {
    # task: (operator cause, doctor cause, words of the failure message)
    "oom": ("oom", "oom_killed", ["OOM-killed", "limit of 128Mi"]),
    "crash": ("exit_code", "unknown", ["exited with code 2", "invalid choice: 'extrct'"]),
    "pull": ("image_not_found", "image_not_found", ["localhost:5000/dockpod/etl:1.0-typo", "not found"]),
    "permission": ("permission_denied", "permission_denied", ["denied access", "/cache/"]),
}


@pytest.mark.parametrize("task", TASKS)
def test_broken_variant_fails_with_the_diagnosis(broken, task):
    result, _log = broken
    assert result.task_states[task] == "failed"
    message = result.failures[task]
    for word in EXPECTED[task][2]:
        assert word in message, message


@pytest.mark.parametrize("task", ["oom", "pull", "permission"])
def test_doctor_on_the_task_log_says_the_same(broken, task, tmp_path):
    result, log = broken
    text = log.read_text()
    sentence = result.failures[task].split(". ")[0]
    assert sentence in text, "the failure is in the captured task log"
    # One task's part of the log: its failure line (each task fails with its own ContainerFailed).
    own = tmp_path / f"{task}.log"
    own.write_text("\n".join(line for line in text.splitlines() if sentence in line))
    finding = doctor(str(own))
    assert finding.cause == EXPECTED[task][1]
    assert result.failures[task].startswith(finding.message)


def test_doctor_on_the_whole_broken_log_names_a_failure(broken):
    _result, log = broken
    assert doctor(str(log)).cause in {"oom_killed", "image_not_found", "permission_denied"}


@pytest.fixture
def reproduce():
    made: list[str] = []

    def run(*args: str) -> str:
        name = f"dockpod-88-05-05-{uuid.uuid4().hex[:8]}"
        made.append(name)
        _docker("run", "--name", name, "--label", "io.dockpod.test=doctor", *args)
        return name

    yield run
    if made:
        _docker("rm", "-f", *made)


def test_doctor_on_the_reproduced_containers(reproduce):
    oom = doctor(reproduce("--memory", "128m", "--memory-swap", "128m", ETL, "alloc", "300"))
    assert oom.cause == "oom_killed" and "limit of 128Mi" in oom.message

    denied = doctor(reproduce("-v", f"{VOLUMES[0]}:/cache", ETL, "extract", "--rows", "5", "--out",
                              "/cache/rows.json"))
    assert denied.cause == "permission_denied"
    for word in ["uid 1000", f"the volume {VOLUMES[0]}", "owned by uid 0", "/cache"]:
        assert word in denied.message, denied.message

    fixed = doctor(reproduce("-v", f"{VOLUMES[1]}:/data", ETL, "extract", "--rows", "5", "--out", "/data/rows.json"))
    assert fixed.cause == "no_failure"


def test_doctor_on_the_missing_image():
    finding = doctor("image:localhost:5000/dockpod/etl:1.0-typo")
    assert finding.cause == "image_not_found"
    assert doctor(f"image:{ETL}").cause == "no_failure"
