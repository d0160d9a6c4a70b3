"""88_03_01_helm_deployment: the values files use only the chart's keys, lint clean, and render when helm exists."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from airflow_harness import place_example
from dockpod.runtime.airflow_run import load_dag, run_dag

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "section_88" / "88_03_01_helm_deployment.py"
DAG_ID = "88_03_01_helm_deployment"


def _module():
    spec = importlib.util.spec_from_file_location("example_88_03_01", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def result():
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DOCKPOD_REPO", str(REPO))
        return run_dag(load_dag(place_example(EXAMPLE, DAG_ID), DAG_ID))


def test_the_values_are_the_charts_and_lint_clean(result):
    assert result.state == "success", result.failures
    keys = result.xcoms["check_keys"]
    assert keys["values-dev.yaml"]["executor"] == "LocalExecutor"
    assert keys["values-prod.yaml"]["executor"] == "CeleryExecutor,KubernetesExecutor"
    for name in ("values-dev.yaml", "values-prod.yaml"):
        assert keys[name]["unknown"] == []
        assert keys[name]["airflowVersion"] == keys[name]["tag"] == "3.3.2"
    assert result.xcoms["lint_values"] == {"values-dev.yaml": [], "values-prod.yaml": []}
    commands = result.xcoms["install_commands"]
    assert all("--atomic" in c and "--version 1.18.0" in c for c in commands.values())


def test_helm_template_renders_or_says_why_not(result):
    problem = _module().chart_problem()
    rendered = result.xcoms["render_chart"]
    if problem is not None:
        assert rendered == {"skipped": problem}
        pytest.skip(f"helm template not run: {problem}")
    for name in ("values-dev.yaml", "values-prod.yaml"):
        assert rendered[name]["objects"] > 0 and rendered[name]["problems"] == []
