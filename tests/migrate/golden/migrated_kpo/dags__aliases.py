from datetime import datetime

from airflow.models.dag import DAG
from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator
from kubernetes.client import models as k8s

with DAG("aliases", start_date=datetime(2024, 1, 1), schedule=None):
    # dockpod: review: set namespace=... (without it the pod goes to the namespace of the Kubernetes
    #   connection, else 'default').
    first = KubernetesPodOperator(
        task_id="first",
        image="alpine:3.20",
        arguments=["echo", "first"],
        container_security_context=k8s.V1SecurityContext(allow_privilege_escalation=False, read_only_root_filesystem=False, run_as_non_root=False),
        on_finish_action="delete_pod",
    )
    # dockpod: review: tty=True: no terminal is allocated; logs are streamed line by line.
    # dockpod: review: set namespace=... (without it the pod goes to the namespace of the Kubernetes
    #   connection, else 'default').
    second = KubernetesPodOperator(
        task_id="second",
        image="alpine:3.20",
        arguments=["echo", "second"],
        container_security_context=k8s.V1SecurityContext(allow_privilege_escalation=False, read_only_root_filesystem=False, run_as_non_root=False),
        on_finish_action="delete_pod",
    )
    first >> second
