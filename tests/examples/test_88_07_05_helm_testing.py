"""88_07_05_helm_testing: broken values files fail with the right rule and message, good ones are clean."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest

from airflow_harness import place_example
from dockpod.lint import Severity, lint_paths
from dockpod.runtime.airflow_run import load_dag, run_dag

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "section_88" / "88_07_05_helm_testing.py"
ASSETS = EXAMPLE.parent / "assets" / EXAMPLE.stem
DAG_ID = "88_07_05_helm_testing"

#: Every warning and error of the broken files, by line: the exact rules a reviewer should see.
BROKEN = {
    "broken/values-dev.yaml": [(2, "DP401"), (4, "DP406"), (5, "DP406"), (7, "DP405"), (9, "DP404"), (13, "DP403")],
    "broken/values-prod.yaml": [(1, "DP402"), (1, "DP403"), (1, "DP405"), (1, "DP405"), (7, "DP404")],
}

pytestmark = pytest.mark.integration


def _failing(name: str) -> list[tuple[int, str]]:
    return [(f.line, f.rule) for f in lint_paths([ASSETS / name], severity=Severity.WARNING).failing()]


def _module():
    spec = importlib.util.spec_from_file_location("example_88_07_05", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("name", ["values/values-dev.yaml", "values/values-prod.yaml"])
def test_good_values_are_clean_at_every_level(name):
    assert lint_paths([ASSETS / name], severity=Severity.INFO).findings == []


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_broken_values_are_flagged_with_the_exact_rules(name):
    assert _failing(name) == BROKEN[name]


def test_the_typo_is_reported_with_the_key_it_meant():
    report = lint_paths([ASSETS / "broken/values-dev.yaml"], select=["DP401"])
    assert [f.message for f in report.findings] == [
        "'exector' is not a top-level key of the Airflow chart; did you mean executor?"]
    assert report.findings[0].severity is Severity.ERROR


def test_the_dag_runs_the_same_checks():
    result = run_dag(load_dag(place_example(EXAMPLE, DAG_ID), DAG_ID))
    assert result.state == "success", result.failures
    linted = result.xcoms["lint_values"]
    assert linted["values/values-dev.yaml"] == [] and linted["values/values-prod.yaml"] == []
    for name, expected in BROKEN.items():
        assert [(line, rule) for line, rule, _message in linted[name]] == expected
    values = result.xcoms["check_values"]
    assert values["broken/values-dev.yaml"]["executor"] == "KubernetesExecutor"
    assert "exector" in values["broken/values-dev.yaml"]["keys"]
    assert values["values/values-prod.yaml"]["executor"] == "CeleryExecutor"
    rendered = result.xcoms["render_chart"]
    problem = _module().chart_problem()
    if problem is not None:
        assert rendered == {"skipped": problem}


def test_helm_template_renders_schema_valid_objects():
    problem = _module().chart_problem()
    if problem is not None:
        pytest.skip(f"helm template not run: {problem}")
    result = run_dag(load_dag(place_example(EXAMPLE, DAG_ID), DAG_ID))
    rendered = result.xcoms["render_chart"]
    for name in ("values/values-dev.yaml", "values/values-prod.yaml"):
        assert rendered[name]["objects"] > 0 and rendered[name]["problems"] == [], (name, os.environ["AIRFLOW_CHART"])
