"""88_01_05_docker_compose_prod: the prod stack comes up with every service healthy and limited, portable_pipeline
runs on the Celery workers, and `down -v` leaves nothing.
Brings up a stack of its own (project and edge network named for the run)."""

from __future__ import annotations

from pathlib import Path

import pytest

from compose_harness import project_objects, stack_example_run
from stack_harness import report

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "section_88" / "88_01_05_docker_compose_prod.py"
DAG_ID = "88_01_05_docker_compose_prod"

pytestmark = pytest.mark.integration


def test_prod_stack_is_healthy_runs_on_the_workers_and_leaves_nothing():
    with stack_example_run(EXAMPLE, DAG_ID) as (result, project):
        assert result.state == "success", result.failures
        assert set(result.task_states.values()) == {"success"}, result.task_states

        health = result.xcoms["health"]
        assert health["all_healthy"] and len(health["workers"]) == 2
        services = {s["service"] for s in health["services"].values()}
        assert services == {"postgres", "redis", "airflow-init", "airflow-api-server", "airflow-scheduler",
                            "airflow-dag-processor", "airflow-triggerer", "airflow-worker"}
        for name, state in health["services"].items():
            if state["service"] == "airflow-init":
                assert state["state"] == "exited", name
            else:
                assert (state["state"], state["health"]) == ("running", "healthy"), name

        limits = result.xcoms["limits"]
        assert all(f["as_declared"] for f in limits.values()), limits
        by_service = {f["service"]: (f["cpus"], f["memory_mib"]) for f in limits.values()}
        assert by_service["postgres"] == (1.0, 512) and by_service["redis"] == (0.5, 256)
        assert by_service["airflow-worker"] == (1.0, 1536)
        for name, f in limits.items():
            if f["peak_mib"] is not None:
                assert 0 < f["peak_mib"] <= f["memory_mib"], name

        pipeline = result.xcoms["run_pipeline"]
        assert pipeline["state"] == "success"
        assert pipeline["task_states"] == {"extract": "success", "transform": "success", "load": "success"}
        assert set(pipeline["ran_on"].values()) <= set(health["workers"]), pipeline["ran_on"]
        assert 0 < pipeline["load"]["rows"] <= 300

        teardown = result.xcoms["teardown"]
        assert teardown["left"] == {"containers": [], "networks": [], "volumes": []}
        assert teardown["task_containers"] == []
        assert project_objects(project) == []
        healthy = result.xcoms["up"]["seconds_to_healthy"]
        report("88_01_05_docker_compose_prod", [f"time from up to all healthy: {healthy} s"]
               + [f"{name}: peak {f['peak_mib']} MiB of {f['memory_mib']} MiB, {f['cpus']} CPU"
                  for name, f in sorted(limits.items()) if f["peak_mib"] is not None])
