"""The same task pinned to a release: every try, and the laptop and the cluster, run the same image."""

from dockpod import container_task


def extract_task():
    return container_task(
        task_id="extract",
        image="registry.localhost/dockpod/etl:1.0",
        command=["extract", "--rows", "5", "--out", "/data/rows.json"],
        resources={"cpu_request": "100m", "memory_request": "32Mi", "memory_limit": "64Mi"},
    )
