"""88_06_04_missing_probes: lint finds the missing probes; without a readiness probe the task races its
sidecar and fails, with it the task waits and passes."""

from __future__ import annotations

from pathlib import Path

import pytest

from airflow_harness import place_example
from dockpod.lint import lint_paths
from dockpod.runtime.airflow_run import load_dag, run_dag

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "section_88" / "88_06_04_missing_probes.py"
ASSETS = EXAMPLE.parent / "assets" / EXAMPLE.stem
DAG_ID = "88_06_04_missing_probes"

pytestmark = pytest.mark.integration


def _run(variant: str):
    return run_dag(load_dag(place_example(EXAMPLE, DAG_ID), DAG_ID), run_conf={"variant": variant})


def test_lint_flags_the_missing_probes_and_passes_the_fixed_files():
    broken = {(Path(f.path).name, f.line, f.rule) for f in lint_paths([ASSETS / "broken"]).failing()}
    assert broken == {("compose.yaml", 3, "DP202"), ("deployment.yaml", 18, "DP303")}
    assert lint_paths([ASSETS / "fixed"]).findings == []


def test_without_a_readiness_probe_the_task_races_its_sidecar_and_fails():
    result = _run("unprobed")
    assert result.task_states == {"lint_probes": "success", "choose": "success", "call_unprobed": "failed",
                                  "call_probed": "skipped"}, result.failures
    assert result.xcoms["lint_probes"] == {"broken": ["DP202", "DP303"], "fixed": []}
    assert "Connection refused" in result.failures["call_unprobed"], result.failures["call_unprobed"]


def test_with_the_readiness_probe_the_task_waits_and_passes():
    result = _run("probed")
    assert result.state == "success", result.failures
    assert result.task_states["call_unprobed"] == "skipped"
    assert result.xcoms["call_probed"] == {"report": "daily", "rows": 5}
