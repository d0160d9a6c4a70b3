"""Star import, and XCom read only from a template string."""
from datetime import datetime

from airflow.operators.bash import BashOperator
from airflow.providers.docker.operators.docker import *  # noqa: F403
from airflow.sdk import DAG
from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator
from kubernetes.client import models as k8s

with DAG("templated_pull", start_date=datetime(2024, 1, 1), schedule=None):
    # dockpod: review: the DAG reads this task's XCom: DockerOperator pushed the last log line,
    #   KubernetesPodOperator pushes only the JSON the container writes to
    #   /airflow/xcom/return.json.
    # dockpod: review: set namespace=... (without it the pod goes to the namespace of the Kubernetes
    #   connection, else 'default').
    fetch = KubernetesPodOperator(
        task_id="fetch",
        image="curlimages/curl:8.8.0",
        arguments=["curl", "-s", "https://example.com"],
        container_security_context=k8s.V1SecurityContext(allow_privilege_escalation=False, read_only_root_filesystem=False, run_as_non_root=False),
        on_finish_action="delete_pod",
    )
    show = BashOperator(task_id="show", bash_command="echo {{ ti.xcom_pull(task_ids='fetch') }}")
    fetch >> show
