"""Broken on purpose (88_06_02): the task runs whatever was pushed last as `latest`."""

from dockpod import container_task


def extract_task():
    return container_task(
        task_id="extract",
        image="registry.localhost/dockpod/etl:latest",
        command=["extract", "--rows", "5", "--out", "/data/rows.json"],
        resources={"cpu_request": "100m", "memory_request": "32Mi", "memory_limit": "64Mi"},
    )
