"""88_06_01_running_as_root: the root image is refused, or breaks the non-root task after it; the fix works.

The two writer images are built here from the local base image with a unique tag (never pushed: the
tasks use image_pull_policy IfNotPresent) and removed afterwards, with the example's named volume.
"""

from __future__ import annotations

import subprocess
import uuid
from pathlib import Path

import pytest

from airflow_harness import place_example
from dockpod.lint import lint_paths
from dockpod.runtime.airflow_run import load_dag, run_dag

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "section_88" / "88_06_01_running_as_root.py"
ASSETS = EXAMPLE.parent / "assets" / EXAMPLE.stem
DAG_ID = "88_06_01_running_as_root"
REPOSITORY = "localhost:5000/dockpod/88-06-01-writer"
VOLUME = "dockpod-88-06-01-reports"

pytestmark = pytest.mark.integration


def _docker(*args: str, check: bool = False) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["docker", *args], capture_output=True, text=True, timeout=300, check=check,
                          env={"DOCKER_BUILDKIT": "0", "PATH": "/usr/local/bin:/usr/bin:/bin"})


@pytest.fixture(scope="module")
def tag():
    """Both writer images, built from the example's Dockerfiles under one unique tag."""
    tag = f"t{uuid.uuid4().hex[:8]}"
    images = [f"{REPOSITORY}:root-{tag}", f"{REPOSITORY}:nonroot-{tag}"]
    try:
        for image, folder in zip(images, ("broken", "fixed"), strict=True):
            _docker("build", "-q", "-t", image, str(ASSETS / folder), check=True)
        yield tag
    finally:
        _docker("rmi", "-f", *images)


@pytest.fixture
def fresh_volume():
    _docker("volume", "rm", "-f", VOLUME)
    yield
    _docker("volume", "rm", "-f", VOLUME)


def _run(tag: str, variant: str):
    return run_dag(load_dag(place_example(EXAMPLE, DAG_ID), DAG_ID), run_conf={"variant": variant, "image_tag": tag})


def test_lint_flags_the_root_dockerfile_and_not_the_fixed_one():
    broken = lint_paths([ASSETS / "broken" / "Dockerfile"]).failing()
    assert sorted((f.line, f.rule) for f in broken) == [(5, "DL3002"), (5, "DP101")]
    assert lint_paths([ASSETS / "fixed" / "Dockerfile"]).failing() == []


def test_root_variant_is_refused_and_then_breaks_the_non_root_task(tag, fresh_volume):
    result = _run(tag, "root")
    assert result.task_states == {"lint_images": "success", "choose": "success", "refused_root": "failed",
                                  "write_as_root": "success", "write_as_nonroot": "skipped",
                                  "update_report": "failed"}, result.failures
    assert result.xcoms["lint_images"] == {"broken": ["DL3002", "DP101"], "fixed": []}
    refused = result.failures["refused_root"]
    assert "runAsNonRoot" in refused and "will run as root" in refused and "USER root" in refused, refused
    denied = result.failures["update_report"]
    assert "/reports/daily.csv" in denied and ("Permission denied" in denied or "denied access" in denied), denied
    owner = _docker("run", "--rm", "-v", f"{VOLUME}:/reports", "--entrypoint", "stat",
                    f"{REPOSITORY}:nonroot-{tag}", "-c", "%u %a", "/reports/daily.csv", check=True).stdout
    assert owner.split() == ["0", "644"], "the root task left a root-owned file that uid 1000 cannot write"


def test_fixed_variant_writes_and_updates_the_report_as_uid_1000(tag, fresh_volume):
    result = _run(tag, "fixed")
    assert result.state == "success", result.failures
    assert result.task_states["refused_root"] == "skipped" and result.task_states["write_as_root"] == "skipped"
    assert result.xcoms["update_report"] == {"uid": 1000, "file_owner": 1000,
                                             "lines": ["day,rows", "2024-01-01,5", "2024-01-02,7"]}
