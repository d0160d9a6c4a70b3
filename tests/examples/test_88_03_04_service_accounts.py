"""88_03_04_service_accounts: the Role is schema-valid, lint-clean, and grants what the provider calls."""

from __future__ import annotations

from pathlib import Path

from airflow_harness import place_example
from dockpod.lint.kubernetes import KPO_RBAC
from dockpod.runtime.airflow_run import load_dag, run_dag

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "section_88" / "88_03_04_service_accounts.py"
DAG_ID = "88_03_04_service_accounts"


def test_the_role_grants_what_kubernetes_pod_operator_calls(monkeypatch):
    monkeypatch.setenv("DOCKPOD_REPO", str(REPO))
    result = run_dag(load_dag(place_example(EXAMPLE, DAG_ID), DAG_ID))
    assert result.state == "success", result.failures
    schema = result.xcoms["check_schema"]
    assert set(schema) == {"ServiceAccount/airflow-worker", "ServiceAccount/airflow-component",
                           "Role/airflow-pod-launcher", "RoleBinding/airflow-pod-launcher"}
    assert all(problems == [] for problems in schema.values())
    assert result.xcoms["lint_rbac"] == []
    needed = result.xcoms["provider_calls"]
    assert needed == {"events": ["list"], "pods": ["create", "delete", "get", "list", "patch"],
                      "pods/exec": ["get"], "pods/log": ["get"]}
    compared = result.xcoms["compare"]
    assert compared["granted"] == {r: sorted(v) for r, v in sorted(KPO_RBAC.items())}
    assert compared["missing"] == {}
    assert compared["extra"] == {"events": ["watch"], "pods": ["watch"], "pods/exec": ["create"]}
    assert compared["bound_to"] == ["airflow-worker"] and compared["namespaced"] is True
