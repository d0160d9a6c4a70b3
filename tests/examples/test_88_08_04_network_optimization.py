"""88_08_04_network_optimization: the server sees 1 connection for pooled requests and N without pooling; the
resolver options are in effect; the policies are strict-valid, lint clean, and default-deny selects all pods."""

from __future__ import annotations

from pathlib import Path

import pytest

from airflow_harness import place_example
from docker_harness import objects_named
from dockpod.lint import lint_paths
from dockpod.runtime.airflow_run import load_dag, run_dag

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "section_88" / "88_08_04_network_optimization.py"
ASSETS = EXAMPLE.parent / "assets" / EXAMPLE.stem
DAG_ID = "88_08_04_network_optimization"
N = 200

pytestmark = pytest.mark.integration


def _ours() -> list[str]:
    return objects_named("dp880804-")


def test_connection_reuse_is_measured_and_the_policies_are_valid():
    before = _ours()
    result = run_dag(load_dag(place_example(EXAMPLE, DAG_ID), DAG_ID))
    assert result.state == "success", result.failures

    measured = result.xcoms["measure_pooling"]
    assert measured["new_connection_each"]["requests"] == N and measured["new_connection_each"]["connections"] == N
    assert measured["pooled"]["requests"] == N and measured["pooled"]["connections"] == 1
    assert measured["time_ratio_new_over_pooled"] > 0
    assert "options ndots:1 timeout:1 attempts:2" in measured["resolv_conf"]
    assert "nameserver 127.0.0.11" in measured["resolv_conf"]
    assert measured["dns"]["lookups"] == N and measured["dns"]["cache_hits"] == N - 1
    print(f"pooling: {measured['time_ratio_new_over_pooled']}x, "
          f"DNS cache: {measured['dns']['time_ratio_uncached_over_cached']}x")

    policies = result.xcoms["check_policies"]["policies"]
    assert set(policies) == {"default-deny-all", "allow-dns", "allow-tasks-to-counting-server",
                             "counting-server-from-tasks"}
    assert all(p["problems"] == [] for p in policies.values()), policies
    assert policies["default-deny-all"] == {"problems": [], "selects": "all pods",
                                            "policyTypes": ["Ingress", "Egress"]}
    assert policies["allow-dns"]["selects"] == "all pods"
    assert result.xcoms["check_policies"]["lint"] == []
    report = lint_paths([ASSETS])
    assert report.failing() == [], [f"{f.path}:{f.line} {f.rule}" for f in report.failing()]
    assert _ours() == before, "a container or network of the example was left behind"
