"""Airflow 3 style: airflow.sdk, and a TaskFlow task that reads the container's XCom."""
import pendulum
from airflow.sdk import DAG, task
from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator
from kubernetes.client import models as k8s

with DAG(dag_id="scores", schedule=None, start_date=pendulum.datetime(2025, 1, 1, tz="UTC")):
    # dockpod: review: the DAG reads this task's XCom: DockerOperator pushed the last log line,
    #   KubernetesPodOperator pushes only the JSON the container writes to
    #   /airflow/xcom/return.json.
    # dockpod: auto_remove dropped: on_finish_action="delete_pod" deletes the pod when it finishes.
    # dockpod: review: set namespace=... (without it the pod goes to the namespace of the Kubernetes
    #   connection, else 'default').
    score = KubernetesPodOperator(task_id="score", image="registry.example.com/ml/score:0.9", arguments=["score"], container_security_context=k8s.V1SecurityContext(allow_privilege_escalation=False, read_only_root_filesystem=False, run_as_non_root=False), on_finish_action="delete_pod")

    @task
    def notify(result):
        print(result)

    notify(score.output)

    # dockpod: review: set namespace=... (without it the pod goes to the namespace of the Kubernetes
    #   connection, else 'default').
    audit = KubernetesPodOperator(
        task_id="audit_scores",
        image="registry.example.com/ml/score:0.9",
        arguments=["audit"],
        container_security_context=k8s.V1SecurityContext(allow_privilege_escalation=False, read_only_root_filesystem=False, run_as_non_root=False),
        on_finish_action="delete_pod",
    )
    score >> audit
