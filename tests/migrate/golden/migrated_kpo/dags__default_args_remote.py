from datetime import datetime

from airflow import DAG
from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator
from kubernetes.client import models as k8s

DEFAULT_ARGS = {
    "owner": "ingest",
    "retries": 3,
    "docker_url": "tcp://docker-builder.internal:2375",  # the shared build host
    "network_mode": "host",
}

with DAG("ingest_remote", default_args=DEFAULT_ARGS, start_date=datetime(2024, 1, 1), schedule=None) as dag:
    # dockpod: review: set namespace=... (without it the pod goes to the namespace of the Kubernetes
    #   connection, else 'default').
    KubernetesPodOperator(task_id="pull_feed", image="ingest/feed:7", arguments=["pull"], container_security_context=k8s.V1SecurityContext(allow_privilege_escalation=False, read_only_root_filesystem=False, run_as_non_root=False), on_finish_action="delete_pod")
    # dockpod: docker_url='unix://var/run/docker.sock' dropped: the pod runs on the cluster of the
    #   Kubernetes connection.
    # dockpod: review: set namespace=... (without it the pod goes to the namespace of the Kubernetes
    #   connection, else 'default').
    KubernetesPodOperator(task_id="parse_feed", image="ingest/feed:7", arguments=["parse"], container_security_context=k8s.V1SecurityContext(allow_privilege_escalation=False, read_only_root_filesystem=False, run_as_non_root=False), on_finish_action="delete_pod")
