from datetime import datetime

from airflow import DAG
from dockpod import container_task

# Docker arguments in the DAG's own default_args: the migration writes them into each task, then takes
# them out of default_args (retries and owner stay: they are BaseOperator's).
# dockpod: default_args mem_limit, environment, auto_remove: moved into the tasks of this DAG, all
#   rewritten (dockpod does not read DockerOperator arguments from default_args).
with DAG(
    "carried",
    start_date=datetime(2024, 1, 1),
    schedule=None,
    default_args={
        "owner": "analytics",
        "retries": 2,
    },
):
    # dockpod: auto_remove dropped: dockpod always removes the container after reading its exit state
    #   and result.
    container_task(
        task_id="extract",
        image="analytics/etl:3",
        command=["extract"],
        resources={"memory_limit": "1g"},
        env={"REGION": "eu"},
        security={"run_as_non_root": False, "capabilities_drop": []},
    )
    # dockpod: auto_remove dropped: dockpod always removes the container after reading its exit state
    #   and result.
    container_task(
        task_id="report",
        image="analytics/etl:3",
        command=["report"],
        resources={"memory_limit": "4g"},
        env={"REGION": "eu"},
        security={"run_as_non_root": False, "capabilities_drop": []},
    )
