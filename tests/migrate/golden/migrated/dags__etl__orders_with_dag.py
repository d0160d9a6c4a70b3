from datetime import datetime

from airflow import DAG
from dockpod import container_task

ETL_IMAGE = "registry.example.com/etl/orders:1.4.0"

with DAG("orders", start_date=datetime(2023, 1, 1), schedule="@hourly", catchup=False) as dag:
    extract = container_task(
        task_id="extract",
        image=ETL_IMAGE,
        command=["extract", "--since", "{{ data_interval_start }}"],
        env={"SOURCE": "orders", "BATCH": "500"},
        volumes=["orders_data:/data"],
        resources={"memory_limit": "512m", "cpu_request": 0.5},
        security={"user": "1000:1000"},
        xcom=False,
    )
    load = container_task(
        task_id="load",
        image=ETL_IMAGE,
        command=["load"],
        volumes=["orders_data:/data:ro"],
        image_pull_policy="Always",
        skip_on_exit_code=99,
        security={"run_as_non_root": False, "capabilities_drop": []},
    )
    extract >> load
