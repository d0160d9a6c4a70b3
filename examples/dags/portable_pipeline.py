"""portable_pipeline: extract >> transform >> load, described once, run anywhere.

Each step is a ``container_task`` on the same ETL image (its own ENTRYPOINT; the tasks give only its
command). Data moves between steps through a shared volume (a Docker named volume locally, a
PersistentVolumeClaim in production); values move through XCom: every step writes JSON to
/airflow/xcom/return.json and the next step reads it through a template. The API token is a Secret
reference: locally its value comes from DOCKPOD_SECRET_ETL_API_TOKEN, in production from the Kubernetes
Secret ``etl-api``. It never appears in a rendered template, a log line or an XCom.

Run it with ``make demo``, or ``airflow dags test portable_pipeline`` with AIRFLOW_ENVIRONMENT=local.
"""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import DAG

from dockpod import Secret, Volume, container_task

ETL_IMAGE = "registry.localhost/dockpod/etl:1.0"
SHARED = Volume.named("dockpod_demo_data", "/data")
AS_ETL_USER = {"user": "1000:1000"}
SMALL = {"cpu_request": "100m", "cpu_limit": "500m", "memory_request": "64Mi", "memory_limit": "128Mi"}

with DAG(
    dag_id="portable_pipeline",
    schedule=None,
    start_date=datetime(2024, 1, 1),
    catchup=False,
    params={"rows": 500, "min_amount": 10},
    tags=["dockpod", "demo"],
):
    extract = container_task(
        task_id="extract",
        image=ETL_IMAGE,
        command=["extract", "--rows", "{{ params.rows }}", "--secret-env", "API_TOKEN"],
        secrets=[Secret("etl-api", "token", env="API_TOKEN")],
        volumes=[SHARED],
        resources=SMALL,
        security=AS_ETL_USER,
        xcom=True,
    )
    transform = container_task(
        task_id="transform",
        image=ETL_IMAGE,
        command=[
            "transform",
            "--expect-rows", "{{ ti.xcom_pull(task_ids='extract')['rows'] }}",
            "--min-amount", "{{ params.min_amount }}",
        ],
        volumes=[SHARED],
        resources=SMALL,
        security=AS_ETL_USER,
        xcom=True,
    )
    load = container_task(
        task_id="load",
        image=ETL_IMAGE,
        command=["load"],
        env={"RUN_ID": "{{ run_id }}"},
        volumes=[SHARED],
        resources=SMALL,
        security=AS_ETL_USER,
        xcom=True,
    )
    extract >> transform >> load
