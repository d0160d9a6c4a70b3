"""Names that only look like DockerOperator: a parameter, a local variable, a local def shadow the import."""
from datetime import datetime

from airflow.providers.docker.operators.docker import DockerOperator
from airflow.sdk import DAG
from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator
from kubernetes.client import models as k8s


def build(DockerOperator, image):
    # the parameter, not the import: whatever the caller passed
    return DockerOperator(task_id="from_parameter", image=image)


def wrapped(image):
    DockerOperator = make_operator_factory()  # noqa: N806 - a local variable, not the import
    return DockerOperator(task_id="from_local_variable", image=image)


def with_local_def(image):
    def DockerOperator(**kwargs):  # noqa: N802
        return kwargs

    return DockerOperator(task_id="from_local_def", image=image)


def make_operator_factory():
    return dict


with DAG("scoped", start_date=datetime(2024, 1, 1), schedule=None):
    # dockpod: review: set namespace=... (without it the pod goes to the namespace of the Kubernetes
    #   connection, else 'default').
    KubernetesPodOperator(
        task_id="real_one",
        image="registry.example.com/etl:1.0",
        arguments=["run"],
        container_security_context=k8s.V1SecurityContext(allow_privilege_escalation=False, read_only_root_filesystem=False, run_as_non_root=False),
        on_finish_action="delete_pod",
    )
