"""88.2.5 Resource limits and requests: size each component once, get the same limits in both modes.

What it teaches
    A request is what a task is promised, a limit is the ceiling it cannot pass. Each step of this
    pipeline is sized on its own (a light extract, a memory-hungry transform, a light load), written
    once with ``resources=`` and translated faithfully:

    * CPU request: Docker CPU shares (``cpus`` x 1024), Kubernetes ``requests.cpu``: a weight that
      only matters under contention, in both.
    * CPU limit: Docker ``NanoCpus``, Kubernetes ``limits.cpu``: a hard quota, in both.
    * Memory request: Docker's soft reservation, Kubernetes ``requests.memory`` (what the scheduler
      places the pod by).
    * Memory limit: Docker ``Memory``, Kubernetes ``limits.memory``: crossing it is an OOM kill, in both.

Checklist items covered
    CPU limits/requests and memory limits/requests (``SIZES`` below, rendered with
    ``dockpod render examples/section_88/88_02_05_resource_limits.py --env production``);
    per-component sizing (three different sizes); OOM killer behaviour: run the DAG with
    ``{"transform_mb": 400}`` and the transform is OOM-killed at its 256Mi limit. dockpod's failure
    message says so ("OOM-killed ... 256Mi limit") instead of DockerOperator's bare exit code 137.
    Run it again with the default (150 MB) and it passes.

Run it
    AIRFLOW_ENVIRONMENT=local airflow dags test 88_02_05_resource_limits
    AIRFLOW_ENVIRONMENT=local airflow dags test 88_02_05_resource_limits -c '{"transform_mb": 400}'
    (tests/examples/test_88_02_05_resource_limits.py does both against the real Docker engine.)
"""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import DAG

from dockpod import container_task

ETL_IMAGE = "registry.localhost/dockpod/etl:1.0"

#: One size per component: requests are what the scheduler reserves, limits are the ceilings.
SIZES = {
    "extract": {"cpu_request": "100m", "cpu_limit": "500m", "memory_request": "32Mi", "memory_limit": "64Mi"},
    "transform": {"cpu_request": "500m", "cpu_limit": "1", "memory_request": "192Mi", "memory_limit": "256Mi"},
    "load": {"cpu_request": "100m", "cpu_limit": "250m", "memory_request": "32Mi", "memory_limit": "64Mi"},
}

with DAG(
    dag_id="88_02_05_resource_limits",
    schedule=None,
    start_date=datetime(2024, 1, 1),
    catchup=False,
    params={"transform_mb": 150},
    tags=["reference", "core", "intermediate", "success"],
    doc_md=__doc__,
):
    extract = container_task(
        task_id="extract",
        image=ETL_IMAGE,
        command=["alloc", "16"],
        resources=SIZES["extract"],
        xcom=True,
    )
    transform = container_task(
        task_id="transform",
        image=ETL_IMAGE,
        command=["alloc", "{{ params.transform_mb }}"],
        resources=SIZES["transform"],
        xcom=True,
    )
    load = container_task(
        task_id="load",
        image=ETL_IMAGE,
        command=["alloc", "16"],
        resources=SIZES["load"],
        xcom=True,
    )
    extract >> transform >> load
