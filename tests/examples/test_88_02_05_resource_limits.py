"""88_02_05_resource_limits: per-component sizing in both modes; OOM at the limit, then the right size."""

import importlib.util
from pathlib import Path

import pytest

from airflow_harness import run_dag
from dockpod.render import render_paths
from dockpod.render.validate import validate_manifest

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "section_88" / "88_02_05_resource_limits.py"
DAG_ID = "88_02_05_resource_limits"

pytestmark = pytest.mark.integration


def _module():
    spec = importlib.util.spec_from_file_location("example_88_02_05", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_right_sized_pipeline_passes_on_the_docker_engine():
    result = run_dag(EXAMPLE, DAG_ID)
    assert result.state == "success", result.task_states
    assert result.xcoms["transform"] == {"allocated_mb": 150}


def test_undersized_transform_is_oom_killed_with_the_limit_named():
    result = run_dag(EXAMPLE, DAG_ID, params={"transform_mb": 400})
    assert result.task_states["extract"] == "success"
    assert result.task_states["transform"] == "failed"
    assert result.task_states["load"] == "upstream_failed"

    message = result.failures["transform"]
    assert "OOM-killed" in message and "256Mi" in message, message


def test_sizes_reach_the_production_pods_and_validate():
    module = _module()
    result = render_paths([EXAMPLE], "production")
    assert result.ok, result.errors
    for task in result.tasks:
        resources = task.manifest["spec"]["containers"][0]["resources"]
        size = module.SIZES[task.task_id]
        assert resources["requests"] == {"cpu": size["cpu_request"], "memory": size["memory_request"]}
        assert resources["limits"] == {"cpu": size["cpu_limit"], "memory": size["memory_limit"]}
        assert validate_manifest(task.manifest) == []


def test_sizes_reach_the_local_containers():
    result = render_paths([EXAMPLE], "local")
    assert result.ok, result.errors
    host = {t.task_id: t.manifest["HostConfig"] for t in result.tasks}
    assert host["transform"]["Memory"] == 256 * 1024**2
    assert host["transform"]["MemoryReservation"] == 192 * 1024**2
    assert host["transform"]["NanoCpus"] == 1_000_000_000
    assert host["transform"]["CpuShares"] == 512
