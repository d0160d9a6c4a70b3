"""Star import, and XCom read only from a template string."""
from datetime import datetime

from airflow.operators.bash import BashOperator
from airflow.providers.docker.operators.docker import *  # noqa: F403
from airflow.sdk import DAG

with DAG("templated_pull", start_date=datetime(2024, 1, 1), schedule=None):
    fetch = DockerOperator(task_id="fetch", image="curlimages/curl:8.8.0", command="curl -s https://example.com")
    show = BashOperator(task_id="show", bash_command="echo {{ ti.xcom_pull(task_ids='fetch') }}")
    fetch >> show
