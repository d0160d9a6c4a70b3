from datetime import datetime

from airflow.sdk import DAG
from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator
from kubernetes.client import models as k8s

TABLES = ["customers", "orders", "payments"]
IMAGES = {"customers": "loader:1.0", "orders": "loader:1.1", "payments": "loader:1.1"}

with DAG("load_tables", start_date=datetime(2024, 1, 1), schedule="@daily"):
    for table in TABLES:
        # dockpod: review: set namespace=... (without it the pod goes to the namespace of the Kubernetes
        #   connection, else 'default').
        KubernetesPodOperator(
            task_id=f"load_{table}",
            image=IMAGES[table],
            arguments=["load", "--table", table],
            env_vars={"TABLE": table, "DS": "{{ ds }}"},
            container_security_context=k8s.V1SecurityContext(allow_privilege_escalation=False, read_only_root_filesystem=False, run_as_non_root=False),
            on_finish_action="delete_pod",
        )
