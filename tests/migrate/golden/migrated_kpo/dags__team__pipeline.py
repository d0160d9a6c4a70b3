from datetime import datetime

from airflow.sdk import DAG

from ..team.base import TeamBaseOperator as Base
from .nightly import NightlyOperator
from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator
from kubernetes.client import models as k8s

# Three files: base.py subclasses the operator, nightly.py subclasses base.py's class (relative imports).
with DAG("team_pipeline", start_date=datetime(2024, 1, 1), schedule=None):
    # dockpod: review: set namespace=... (without it the pod goes to the namespace of the Kubernetes
    #   connection, else 'default').
    KubernetesPodOperator(
        task_id="plain",
        image="registry.example.com/team:2.0",
        container_security_context=k8s.V1SecurityContext(allow_privilege_escalation=False, read_only_root_filesystem=False, run_as_non_root=False),
        on_finish_action="delete_pod",
    )
    # dockpod: subclass NightlyOperator of DockerOperator (defined in corpus/dags/team/nightly.py): move
    #   its behaviour into the image or a plain task, then rewrite the call (migrate leaves it,
    #   since the subclass's own code would be dropped).
    NightlyOperator(task_id="nightly", image="registry.example.com/team:2.0")
