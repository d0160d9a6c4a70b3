"""Broken on purpose (88_06_05): the task's password written in the source; dockpod lint flags it (DP503)."""

from dockpod import container_task


def load_task():
    return container_task(
        task_id="load",
        image="registry.localhost/dockpod/etl:1.0",
        command=["load", "--in", "/data/rows.json"],
        env={"WAREHOUSE_HOST": "warehouse-prod.internal", "WAREHOUSE_PASSWORD": "prod-password-in-source"},
        resources={"cpu_request": "100m", "memory_request": "32Mi", "memory_limit": "64Mi"},
    )
