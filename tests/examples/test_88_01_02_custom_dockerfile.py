"""88_01_02_custom_dockerfile: the image extending the Airflow image builds; its package imports, its system tool
runs, its configuration is in effect, it still runs as uid 50000, its Dockerfile lints clean; it is removed."""

from __future__ import annotations

import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from airflow_harness import place_example
from dockpod.runtime.airflow_run import load_dag, run_dag

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "section_88" / "88_01_02_custom_dockerfile.py"
ASSETS = EXAMPLE.parent / "assets" / EXAMPLE.stem
DAG_ID = "88_01_02_custom_dockerfile"
REPOSITORY = "localhost:5000/dockpod/airflow-custom"

pytestmark = pytest.mark.integration


def _exists(ref: str) -> bool:
    return subprocess.run(["docker", "image", "inspect", ref], capture_output=True, check=False).returncode == 0


def test_the_dockerfile_lints_clean_with_dockpod_lint():
    dockpod = Path(sys.executable).with_name("dockpod")
    done = subprocess.run([str(dockpod), "lint", str(ASSETS)], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 error(s), 0 warning(s)" in done.stdout + done.stderr


def test_the_custom_image_builds_and_has_each_addition():
    tag = f"t{uuid.uuid4().hex[:10]}"
    ref = f"{REPOSITORY}:{tag}"
    try:
        result = run_dag(load_dag(place_example(EXAMPLE, DAG_ID), DAG_ID), run_conf={"image_tag": tag})
    finally:
        if _exists(ref):  # the DAG removes it; this is only for a run that died before its last task
            subprocess.run(["docker", "image", "rm", "--force", ref], capture_output=True, check=False)
    assert result.state == "success", result.failures
    assert result.xcoms["lint_dockerfile"] == {"findings": []}

    built = result.xcoms["build_image"]
    assert built["tag"] == ref and built["user"] == "50000:0"
    assert built["env_airflow_config"] == "/opt/airflow/config/airflow.cfg"
    assert built["wheel_stage_image"], "the wheel stage's image was not found in the build output"
    assert 0 < built["added_mb"] < 10, "jq and a small wheel add a few MB; more means a cache was left behind"

    seen = result.xcoms["verify_image"]
    assert seen["teamkit"] == "0.1.0 raw_sales_orders_20240131"
    assert seen["jq_version"].startswith("jq-1.6") and seen["jq_result"] == "3"
    assert seen["default_task_retries"] == "2" and seen["max_active_tasks_per_dag"] == "8"
    assert seen["env_still_wins"] == "5"
    assert seen["airflow_version"].startswith("3.3.")
    assert seen["uid_gid"] == "50000:0"
    assert seen["pip_check"] == "No broken requirements found."

    assert sorted(result.xcoms["remove_image"]) == sorted([ref, built["wheel_stage_image"]])
    assert not _exists(ref) and not _exists(built["image_id"]) and not _exists(built["wheel_stage_image"])
