"""DockerOperator subclasses in the DAG file: a trivial one migrates, one with code of its own does not."""
from datetime import datetime

from airflow.providers.docker.operators.docker import DockerOperator
from airflow.sdk import DAG
from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator
from kubernetes.client import models as k8s


class TeamDockerOperator(DockerOperator):
    """The team's DockerOperator: only its colour differs."""

    ui_color = "#3b8ec2"
    template_fields = (*DockerOperator.template_fields, "labels")


class CheckedDockerOperator(DockerOperator):
    """Fails the task when the container printed a warning: behaviour a rewrite would drop."""

    def execute(self, context):
        result = super().execute(context)
        if result and "WARN" in str(result):
            raise RuntimeError("warnings in the output")
        return result


with DAG("local_subclasses", start_date=datetime(2024, 1, 1), schedule=None):
    # dockpod: review: set namespace=... (without it the pod goes to the namespace of the Kubernetes
    #   connection, else 'default').
    KubernetesPodOperator(
        task_id="trivial",
        image="registry.example.com/etl:1.0",
        arguments=["run"],
        container_security_context=k8s.V1SecurityContext(allow_privilege_escalation=False, read_only_root_filesystem=False, run_as_non_root=False),
        on_finish_action="delete_pod",
    )
    # dockpod: subclass CheckedDockerOperator of DockerOperator (defined in this file): move its
    #   behaviour into the image or a plain task, then rewrite the call (migrate leaves it, since
    #   the subclass's own code would be dropped).
    CheckedDockerOperator(task_id="checked", image="registry.example.com/etl:1.0", command=["check"])
