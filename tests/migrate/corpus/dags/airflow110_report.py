"""Nightly report, written for Airflow 1.10 and never touched since."""
from datetime import datetime, timedelta

from airflow import DAG
from airflow.operators.docker_operator import DockerOperator
from airflow.operators.python_operator import PythonOperator

default_args = {
    "owner": "analytics",
    "depends_on_past": False,
    "retries": 1,
    "retry_delay": timedelta(minutes=5),
}

dag = DAG("nightly_report", default_args=default_args, schedule_interval="@daily",
          start_date=datetime(2020, 1, 1))

build_report = DockerOperator(
    task_id="build_report",
    image="registry.example.com/analytics/report:2.3",
    api_version="auto",
    auto_remove=True,
    command="python build.py --date {{ ds }}",
    docker_url="unix://var/run/docker.sock",
    network_mode="bridge",
    dag=dag,
)


def _publish(**context):
    path = context["ti"].xcom_pull(task_ids="build_report")
    print("publishing", path)


publish = PythonOperator(task_id="publish", python_callable=_publish, provide_context=True, dag=dag)

build_report >> publish
