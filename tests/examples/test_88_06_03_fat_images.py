"""88_06_03_fat_images: the fat single-stage image is flagged and far larger; the multi-stage one runs the
same program at the size of the base plus one binary, with no compiler in it."""

from __future__ import annotations

import subprocess
import uuid
from pathlib import Path

import pytest

from airflow_harness import place_example
from dockpod.lint import lint_paths
from dockpod.runtime.airflow_run import load_dag, run_dag

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "section_88" / "88_06_03_fat_images.py"
ASSETS = EXAMPLE.parent / "assets" / EXAMPLE.stem
DAG_ID = "88_06_03_fat_images"
REPOSITORY = "localhost:5000/dockpod/88-06-03-report"

pytestmark = pytest.mark.integration


def test_lint_flags_the_fat_dockerfile_and_not_the_multi_stage_one():
    broken = sorted((f.line, f.rule) for f in lint_paths([ASSETS / "broken" / "Dockerfile"]).failing())
    assert broken == [(5, "DL3008"), (5, "DP104"), (5, "DP105")]
    assert lint_paths([ASSETS / "fixed" / "Dockerfile"]).failing() == []


def test_the_multi_stage_image_runs_the_same_program_and_is_much_smaller():
    tag = f"t{uuid.uuid4().hex[:8]}"
    try:
        result = run_dag(load_dag(place_example(EXAMPLE, DAG_ID), DAG_ID), run_conf={"image_tag": tag})
    finally:
        subprocess.run(["docker", "rmi", "-f", f"{REPOSITORY}:broken-{tag}", f"{REPOSITORY}:fixed-{tag}",
                        f"{REPOSITORY}:build-stage-{tag}"],
                       capture_output=True)
    assert result.state == "success", result.failures
    assert result.xcoms["lint_images"] == {"broken": ["DL3008", "DP104", "DP105"], "fixed": []}
    measured = result.xcoms["build_and_measure"]
    fat, slim = measured["broken"], measured["fixed"]
    print(f"base {measured['base_mb']} MB, fat {fat['size_mb']} MB, multi-stage {slim['size_mb']} MB, "
          f"saved {measured['saved_mb']} MB")
    assert fat["output"] == slim["output"] == '{"report": "daily", "rows": 5}'
    assert fat["has_gcc"] and not slim["has_gcc"]
    assert slim["size_mb"] - measured["base_mb"] < 1, "the final stage adds one small binary to the base"
    assert measured["saved_mb"] > 100, measured
