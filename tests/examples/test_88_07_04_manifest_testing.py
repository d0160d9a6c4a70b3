"""88_07_04_manifest_testing: each broken manifest is caught by the check meant for it; the good ones pass all."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from airflow_harness import place_example
from dockpod.lint import lint_paths
from dockpod.render.validate import validate_manifest
from dockpod.runtime.airflow_run import load_dag, run_dag

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "section_88" / "88_07_04_manifest_testing.py"
ASSETS = EXAMPLE.parent / "assets" / EXAMPLE.stem
DAG_ID = "88_07_04_manifest_testing"

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def example():
    spec = importlib.util.spec_from_file_location("example_88_07_04", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("version", ["1.29", "1.33"])
def test_good_manifests_are_schema_valid_and_lint_clean(example, version):
    objects = example.load("manifests")
    assert sorted(o["kind"] for o in objects) == ["ConfigMap", "Deployment", "Role", "RoleBinding", "Service",
                                                   "ServiceAccount"]
    assert {o["kind"]: validate_manifest(o, k8s_version=version) for o in objects} == {o["kind"]: [] for o in objects}
    assert lint_paths([ASSETS / "manifests"], k8s_version=version).findings == []


def test_a_field_of_a_newer_version_is_caught_only_by_testing_the_older_one(example):
    deployment = next(o for o in example.load("broken") if o["kind"] == "Deployment")
    assert validate_manifest(deployment, k8s_version="1.33") == []
    assert validate_manifest(deployment, k8s_version="1.29") == [
        "spec.template.spec.resources: unknown field (not in the Kubernetes 1.29 schema; strict mode)"]


def test_policies_flag_the_broken_manifests_with_exact_rules():
    found = {(Path(f.path).name, f.line, f.rule) for f in
             lint_paths([ASSETS / "broken"], k8s_version="1.29").failing()}
    assert found == {("deployment.yaml", 17, "DP301"), ("deployment.yaml", 20, "DP303"),
                     ("deployment.yaml", 20, "DP304"), ("rbac.yaml", 14, "DP310"), ("rbac.yaml", 16, "DP310")}
    on_133 = {f.rule for f in lint_paths([ASSETS / "broken"], k8s_version="1.33").failing()}
    assert on_133 == {"DP303", "DP304", "DP310"}


def test_the_dag_runs_schema_policy_and_the_podman_dry_run():
    result = run_dag(load_dag(place_example(EXAMPLE, DAG_ID), DAG_ID))
    assert result.state == "success", result.failures
    schema = result.xcoms["schema"]
    assert all(problems == [] for problems in schema["1.33"].values())
    assert [k for k, problems in schema["1.29"].items() if problems] == ["broken/Deployment/etl-api"]
    assert result.xcoms["policy"] == {
        "1.29": {"manifests": [], "broken": ["DP301", "DP303", "DP304", "DP310"]},
        "1.33": {"manifests": [], "broken": ["DP303", "DP304", "DP310"]},
    }
    good, broken = result.xcoms["dry_run"]["manifests"], result.xcoms["dry_run"]["broken"]
    assert good["succeeded"] and good["exit_code"] == 0, good
    assert any("env ROWS=5" in line for line in good["logs"]), good["logs"]
    assert any("env LOG_FORMAT=json" in line for line in good["logs"]), good["logs"]
    assert not broken["succeeded"] and broken["exit_code"] is None, broken
    assert "ROW" in broken["reason"] and "etl-settings" in broken["reason"], broken["reason"]
    assert good["leftovers"] == [] and broken["leftovers"] == []
