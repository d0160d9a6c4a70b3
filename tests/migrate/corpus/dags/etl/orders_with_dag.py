from datetime import datetime

from airflow import DAG
from airflow.providers.docker.operators.docker import DockerOperator
from docker.types import Mount

ETL_IMAGE = "registry.example.com/etl/orders:1.4.0"

with DAG("orders", start_date=datetime(2023, 1, 1), schedule="@hourly", catchup=False) as dag:
    extract = DockerOperator(
        task_id="extract",
        image=ETL_IMAGE,
        command=["extract", "--since", "{{ data_interval_start }}"],
        environment={"SOURCE": "orders", "BATCH": "500"},
        mounts=[Mount(target="/data", source="orders_data", type="volume")],
        mem_limit="512m",
        cpus=0.5,
        user="1000:1000",
        mount_tmp_dir=False,
        do_xcom_push=False,
    )
    load = DockerOperator(
        task_id="load",
        image=ETL_IMAGE,
        command=["load"],
        mounts=[Mount(target="/data", source="orders_data", type="volume", read_only=True)],
        force_pull=True,
        skip_on_exit_code=99,
    )
    extract >> load
