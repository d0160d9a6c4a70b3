from datetime import datetime

from airflow import DAG
from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator
from kubernetes.client import models as k8s

# Docker arguments in the DAG's own default_args: the migration writes them into each task, then takes
# them out of default_args (retries and owner stay: they are BaseOperator's).
# dockpod: default_args mem_limit, environment, auto_remove: moved into the tasks of this DAG, all
#   rewritten (KubernetesPodOperator does not read DockerOperator arguments from
#   default_args).
with DAG(
    "carried",
    start_date=datetime(2024, 1, 1),
    schedule=None,
    default_args={
        "owner": "analytics",
        "retries": 2,
    },
):
    # dockpod: auto_remove dropped: on_finish_action="delete_pod" deletes the pod when it finishes.
    # dockpod: review: set namespace=... (without it the pod goes to the namespace of the Kubernetes
    #   connection, else 'default').
    KubernetesPodOperator(
        task_id="extract",
        image="analytics/etl:3",
        arguments=["extract"],
        container_resources=k8s.V1ResourceRequirements(limits={"memory": "1Gi"}),
        env_vars={"REGION": "eu"},
        container_security_context=k8s.V1SecurityContext(allow_privilege_escalation=False, read_only_root_filesystem=False, run_as_non_root=False),
        on_finish_action="delete_pod",
    )
    # dockpod: auto_remove dropped: on_finish_action="delete_pod" deletes the pod when it finishes.
    # dockpod: review: set namespace=... (without it the pod goes to the namespace of the Kubernetes
    #   connection, else 'default').
    KubernetesPodOperator(
        task_id="report",
        image="analytics/etl:3",
        arguments=["report"],
        container_resources=k8s.V1ResourceRequirements(limits={"memory": "4Gi"}),
        env_vars={"REGION": "eu"},
        container_security_context=k8s.V1SecurityContext(allow_privilege_escalation=False, read_only_root_filesystem=False, run_as_non_root=False),
        on_finish_action="delete_pod",
    )
