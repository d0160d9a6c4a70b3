from datetime import datetime

from airflow import DAG
from airflow.providers.docker.operators.docker import DockerOperator
from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator
from kubernetes.client import models as k8s

# dockpod: default_args docker_url, network_mode: DockerOperator arguments, which
#   KubernetesPodOperator does not read from default_args; each task rewritten here takes
#   their values as arguments of its own. They stay here because the dict is not written in a
#   with DAG(...) or @dag(...) line, so other DAGs or files may read it too.
#   KubernetesPodOperator ignores them.
DEFAULT_ARGS = {
    "owner": "ingest",
    "retries": 3,
    "docker_url": "tcp://docker-builder.internal:2375",  # the shared build host
    "network_mode": "host",
}

with DAG("ingest_remote", default_args=DEFAULT_ARGS, start_date=datetime(2024, 1, 1), schedule=None) as dag:
    # dockpod: docker_url='tcp://docker-builder.internal:2375': a task bound to a remote Docker engine
    #   has no pod counterpart. Run the task on the cluster.
    # dockpod: network_mode='host': host, none and container: network modes have no pod counterpart.
    #   Drop network_mode: pods share the cluster network.
    DockerOperator(task_id="pull_feed", image="ingest/feed:7", command=["pull"])
    # dockpod: docker_url='unix://var/run/docker.sock' dropped: the pod runs on the cluster of the
    #   Kubernetes connection.
    # dockpod: review: set namespace=... (without it the pod goes to the namespace of the Kubernetes
    #   connection, else 'default').
    KubernetesPodOperator(task_id="parse_feed", image="ingest/feed:7", arguments=["parse"], container_security_context=k8s.V1SecurityContext(allow_privilege_escalation=False, read_only_root_filesystem=False, run_as_non_root=False), on_finish_action="delete_pod")
