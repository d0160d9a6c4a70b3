"""88_01_04_docker_compose_dev: a DAG file written and then edited in the dev stack's mounted folder is picked up with
no container restarted, and portable_pipeline's DockerOperator-backed tasks run on the host's engine.
Brings up a stack of its own (project and edge network named for the run)."""

from __future__ import annotations

from pathlib import Path

import pytest

from compose_harness import project_objects, stack_example_run
from stack_harness import report

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "section_88" / "88_01_04_docker_compose_dev.py"
DAG_ID = "88_01_04_docker_compose_dev"

pytestmark = pytest.mark.integration


def test_dev_stack_reloads_dags_without_restart_and_runs_container_tasks():
    with stack_example_run(EXAMPLE, DAG_ID) as (result, project):
        assert result.state == "success", result.failures
        assert set(result.task_states.values()) == {"success"}, result.task_states

        services = result.xcoms["services"]
        assert services["services"] == {"postgres": "healthy", "airflow-init": "exited",
                                        "airflow-api-server": "healthy", "airflow-scheduler": "healthy",
                                        "airflow-dag-processor": "healthy", "airflow-triggerer": "healthy"}
        assert services["dag_mount"]["read_write"] and services["dag_mount"]["is_this_runs_folder"]
        assert services["options"] == {"core.executor": "LocalExecutor", "dag_processor.refresh_interval": "5",
                                       "dag_processor.min_file_process_interval": "5"}

        reload = result.xcoms["hot_reload"]
        assert reload["tags_seen"] == ["first", "second"]
        assert reload["run_state"] == "success" and reload["returned"] == "hello from the second version"
        assert reload["containers_checked"] == 5 and reload["restarted"] == []

        pipeline = result.xcoms["run_pipeline"]
        assert pipeline["task_states"] == {"extract": "success", "transform": "success", "load": "success"}
        assert set(pipeline["operators"].values()) == {"DockpodDockerOperator"}
        assert pipeline["ran_on_scheduler"]
        containers = pipeline["task_containers"]
        assert containers["tasks"] == ["extract", "load", "transform"]
        assert containers["images"] == ["localhost:5000/dockpod/etl:1.0"]
        assert containers["on_edge_network"] == 3 and containers["left"] == []
        assert 0 < pipeline["load_rows"] <= 120

        assert result.xcoms["teardown"]["left"] == {"containers": [], "networks": [], "volumes": []}
        assert project_objects(project) == []
        healthy = result.xcoms["up"]["seconds_to_healthy"]
        report("88_01_04_docker_compose_dev", [f"time from up to all healthy: {healthy} s",
                                               f"new DAG file visible after {reload['new_file_seconds']} s, "
                                               f"edit after {reload['edit_seconds']} s"])
