"""88_10_03_enterprise_helm: lint clean, every enterprise feature on and wired, prod kept; rendered when helm exists."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from airflow_harness import place_example
from dockpod.runtime.airflow_run import load_dag, run_dag

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "section_88" / "88_10_03_enterprise_helm.py"
DAG_ID = "88_10_03_enterprise_helm"


def _module():
    spec = importlib.util.spec_from_file_location("example_88_10_03", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def result():
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DOCKPOD_REPO", str(REPO))
        return run_dag(load_dag(place_example(EXAMPLE, DAG_ID), DAG_ID))


def test_the_enterprise_values_are_complete_and_secure(result):
    assert result.state == "success", result.failures
    assert result.xcoms["lint_values"] == []
    features = result.xcoms["check_features"]
    assert features["network_policies"] is True and features["pgbouncer"] is True
    assert features["pdb"] == ["apiServer", "pgbouncer", "scheduler"]
    assert features["undefined_classes"] == [] and features["priority"]["workers"] == "airflow-workers"
    assert features["literal_secrets"] == []
    assert "airflow-connections" in features["secret_refs"] and "airflow-metadata-db" in features["secret_refs"]
    assert features["ingress_tls"] == {"enabled": True, "secretName": "airflow-tls"}
    assert features["pull_secrets"] == [{"name": "registry-credentials"}]
    assert features["pod_security"]["pod"]["runAsNonRoot"] is True
    assert all(features["memory_limits"].values())
    compared = result.xcoms["compare_with_prod"]
    assert compared["changed"] == []
    assert compared["added"] == ["extraEnvFrom", "imagePullSecrets", "ingress", "networkPolicies", "pgbouncer",
                                 "priorityClasses", "secret"]


def test_helm_template_renders_or_says_why_not(result):
    problem = _module().chart_problem()
    rendered = result.xcoms["render_chart"]
    if problem is not None:
        assert rendered == {"skipped": problem}
        pytest.skip(f"helm template not run: {problem}")
    assert rendered["objects"] > 0 and rendered["problems"] == []
    assert {"NetworkPolicy", "PodDisruptionBudget", "PriorityClass", "Ingress"} <= set(rendered["kinds"])
