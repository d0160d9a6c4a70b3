"""Nightly report, written for Airflow 1.10 and never touched since."""
from datetime import datetime, timedelta

from airflow import DAG
from airflow.operators.python_operator import PythonOperator
from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator
from kubernetes.client import models as k8s

default_args = {
    "owner": "analytics",
    "depends_on_past": False,
    "retries": 1,
    "retry_delay": timedelta(minutes=5),
}

dag = DAG("nightly_report", default_args=default_args, schedule_interval="@daily",
          start_date=datetime(2020, 1, 1))

# dockpod: review: auto_remove=True: KubernetesPodOperator deletes the pod when it finishes
#   (on_finish_action="delete_pod").
# dockpod: review: the DAG reads this task's XCom: DockerOperator pushed the last log line,
#   KubernetesPodOperator pushes only the JSON the container writes to
#   /airflow/xcom/return.json.
# dockpod: auto_remove dropped: on_finish_action="delete_pod" deletes the pod when it finishes.
# dockpod: docker_url='unix://var/run/docker.sock' dropped: the pod runs on the cluster of the
#   Kubernetes connection.
# dockpod: review: set namespace=... (without it the pod goes to the namespace of the Kubernetes
#   connection, else 'default').
build_report = KubernetesPodOperator(
    task_id="build_report",
    image="registry.example.com/analytics/report:2.3",
    arguments=["python", "build.py", "--date", "{{ ds }}"],
    dag=dag,
    container_security_context=k8s.V1SecurityContext(allow_privilege_escalation=False, read_only_root_filesystem=False, run_as_non_root=False),
    on_finish_action="delete_pod",
)


def _publish(**context):
    path = context["ti"].xcom_pull(task_ids="build_report")
    print("publishing", path)


publish = PythonOperator(task_id="publish", python_callable=_publish, provide_context=True, dag=dag)

build_report >> publish
