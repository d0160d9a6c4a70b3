"""Star import, and XCom read only from a template string."""
from datetime import datetime

from airflow.operators.bash import BashOperator
from airflow.providers.docker.operators.docker import *  # noqa: F403
from airflow.sdk import DAG
from dockpod import container_task

with DAG("templated_pull", start_date=datetime(2024, 1, 1), schedule=None):
    # dockpod: review: the DAG reads this task's XCom: DockerOperator pushed the last log line, dockpod
    #   pushes only the JSON the container writes to /airflow/xcom/return.json.
    fetch = container_task(
        task_id="fetch",
        image="curlimages/curl:8.8.0",
        command="curl -s https://example.com",
        security={"run_as_non_root": False, "capabilities_drop": []},
    )
    show = BashOperator(task_id="show", bash_command="echo {{ ti.xcom_pull(task_ids='fetch') }}")
    fetch >> show
