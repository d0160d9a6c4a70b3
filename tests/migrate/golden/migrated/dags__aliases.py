from datetime import datetime

from airflow.models.dag import DAG
from dockpod import container_task

with DAG("aliases", start_date=datetime(2024, 1, 1), schedule=None):
    first = container_task(
        task_id="first",
        image="alpine:3.20",
        command="echo first",
        security={"run_as_non_root": False, "capabilities_drop": []},
    )
    # dockpod: review: tty=True: no terminal is allocated; logs are streamed line by line.
    second = container_task(
        task_id="second",
        image="alpine:3.20",
        command="echo second",
        security={"run_as_non_root": False, "capabilities_drop": []},
    )
    first >> second
