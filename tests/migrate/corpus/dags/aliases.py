from datetime import datetime

import airflow.providers.docker.operators.docker as dock
from airflow.models.dag import DAG
from airflow.providers.docker.operators.docker import DockerOperator as DockerOp

with DAG("aliases", start_date=datetime(2024, 1, 1), schedule=None):
    first = DockerOp(task_id="first", image="alpine:3.20", command="echo first")
    second = dock.DockerOperator(task_id="second", image="alpine:3.20", command="echo second", tty=True)
    first >> second
