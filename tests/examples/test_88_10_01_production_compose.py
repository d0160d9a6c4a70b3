"""88_10_01_production_compose: every service of the prod stack healthy, limited, logged with rotation and restarted
by policy; a worker killed mid-task comes back and the task is retried to success.
Brings up a stack of its own (project and edge network named for the run)."""

from __future__ import annotations

from pathlib import Path

import pytest

from compose_harness import project_objects, stack_example_run
from stack_harness import report

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "section_88" / "88_10_01_production_compose.py"
DAG_ID = "88_10_01_production_compose"
SERVICES = {"postgres", "redis", "airflow-init", "airflow-api-server", "airflow-scheduler", "airflow-dag-processor",
            "airflow-triggerer", "airflow-worker"}

pytestmark = pytest.mark.integration


def test_the_stack_is_healthy_and_survives_a_worker_kill():
    with stack_example_run(EXAMPLE, DAG_ID) as (result, project):
        assert result.state == "success", result.failures
        assert set(result.task_states.values()) == {"success"}, result.task_states

        found = result.xcoms["services"]
        assert {f["service"] for f in found.values()} == SERVICES
        assert sum(f["service"] == "airflow-worker" for f in found.values()) == 2
        for name, f in found.items():
            assert f["logging"] == {"driver": "json-file", "options": {"max-size": "10m", "max-file": "3"}}, name
            assert f["log_lines_readable"] > 0, name
            assert f["cpus"] > 0 and f["memory_mib"] > 0, name
            assert f["healthcheck"]["test"] or f["service"] == "airflow-init", name
            if f["service"] == "airflow-init":
                assert (f["state"], f["exit_code"], f["restart"]) == ("exited", 0, "no")
            else:
                assert (f["state"], f["health"], f["restart"]) == ("running", "healthy", "unless-stopped"), name

        kill = result.xcoms["kill_worker"]
        assert found[kill["killed_worker"]]["service"] == "airflow-worker"
        assert kill["run_state"] == "success" and kill["task_state"] == "success"
        assert kill["try_number"] >= 2, kill
        assert kill["restart_count"] >= 1, kill
        assert kill["xcom"] == {"slept": 45}

        after = result.xcoms["health_after_kill"]
        assert after["workers"] == 2 and kill["killed_worker"] in after["ready"]

        assert result.xcoms["teardown"] == {"left": {"containers": [], "networks": [], "volumes": []},
                                            "task_containers": [], "volumes_removed": []}
        assert project_objects(project) == []
        healthy = result.xcoms["up"]["seconds_to_healthy"]
        report("88_10_01_production_compose", [f"time from up to all healthy: {healthy} s",
                                               f"worker killed mid-task: task try {kill['try_number']} succeeded "
                                               f"{kill['seconds_from_kill_to_success']} s after the kill"])
