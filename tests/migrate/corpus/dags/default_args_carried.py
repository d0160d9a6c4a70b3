from datetime import datetime

from airflow import DAG
from airflow.providers.docker.operators.docker import DockerOperator

# Docker arguments in the DAG's own default_args: the migration writes them into each task, then takes
# them out of default_args (retries and owner stay: they are BaseOperator's).
with DAG(
    "carried",
    start_date=datetime(2024, 1, 1),
    schedule=None,
    default_args={
        "owner": "analytics",
        "retries": 2,
        "mem_limit": "1g",  # every task of this DAG
        "environment": {"REGION": "eu"},
        "auto_remove": "success",
    },
):
    DockerOperator(task_id="extract", image="analytics/etl:3", command=["extract"])
    DockerOperator(task_id="report", image="analytics/etl:3", command=["report"], mem_limit="4g")
