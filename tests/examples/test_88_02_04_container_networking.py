"""88_02_04_container_networking: a task container reaches services by name; an internal-only service has no
host port and is unreachable from other networks; the published one answers on 127.0.0.1."""

from __future__ import annotations

from pathlib import Path

import pytest

from airflow_harness import place_example
from docker_harness import objects_named
from dockpod.runtime.airflow_run import load_dag, run_dag

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "section_88" / "88_02_04_container_networking.py"
DAG_ID = "88_02_04_container_networking"

pytestmark = pytest.mark.integration


def _ours() -> list[str]:
    return objects_named("dp880204-")


def test_names_resolve_inside_a_network_and_only_published_ports_reach_the_host():
    before = _ours()
    result = run_dag(load_dag(place_example(EXAMPLE, DAG_ID), DAG_ID))
    assert result.state == "success", result.failures
    seen = result.xcoms["network_stack"]

    assert seen["networks"] == {"internal-api": ["backend"], "public-api": ["frontend"]}
    assert seen["backend_internal"] is True
    assert seen["from_task"] == {"http://internal-api:8000/": "ok internal-api",
                                 "http://api.internal:8000/": "ok internal-api",
                                 "http://public-api:8000/": "ok public-api"}
    assert seen["from_outsider"]["http://internal-api:8000/"] == "name not found"
    assert seen["from_outsider"]["http://INTERNAL_API_IP:8000/"].startswith("unreachable")
    assert seen["from_outsider"]["http://public-api:8000/"] == "ok public-api"
    assert seen["from_internal_api"]["http://public-api:8000/"] == "name not found"
    assert seen["from_internal_api"]["http://PUBLIC_API_IP:8000/"].startswith("unreachable")

    assert seen["internal_api_host_port"] is None, "the internal-only service must have no host port"
    host, _sep, port = seen["published_port"].rpartition(":")
    assert host == "127.0.0.1" and int(port) > 0
    assert seen["from_host"]["published"] == "ok public-api"
    assert _ours() == before, "a container or network of the example was left behind"
