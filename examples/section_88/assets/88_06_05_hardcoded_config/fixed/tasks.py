"""The same task with its settings passed in and its password referenced, never written down."""

from dockpod import Secret, container_task


def load_task():
    return container_task(
        task_id="load",
        image="registry.localhost/dockpod/etl:1.0",
        command=["load", "--in", "/data/rows.json"],
        env={"WAREHOUSE_HOST": "{{ params.warehouse_host }}"},
        secrets=[Secret("warehouse-db", "password", env="WAREHOUSE_PASSWORD")],
        resources={"cpu_request": "100m", "memory_request": "32Mi", "memory_limit": "64Mi"},
    )
