from datetime import datetime

from airflow import DAG
from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator
from kubernetes.client import models as k8s

ETL_IMAGE = "registry.example.com/etl/orders:1.4.0"

with DAG("orders", start_date=datetime(2023, 1, 1), schedule="@hourly", catchup=False) as dag:
    # dockpod: review: set namespace=... (without it the pod goes to the namespace of the Kubernetes
    #   connection, else 'default').
    extract = KubernetesPodOperator(
        task_id="extract",
        image=ETL_IMAGE,
        arguments=["extract", "--since", "{{ data_interval_start }}"],
        env_vars={"SOURCE": "orders", "BATCH": "500"},
        volume_mounts=[k8s.V1VolumeMount(mount_path="/data", name="claim-0")],
        container_resources=k8s.V1ResourceRequirements(limits={"memory": "512Mi"}, requests={"cpu": "500m"}),
        container_security_context=k8s.V1SecurityContext(allow_privilege_escalation=False, read_only_root_filesystem=False, run_as_group=1000, run_as_non_root=False, run_as_user=1000),
        do_xcom_push=False,
        volumes=[k8s.V1Volume(name="claim-0", persistent_volume_claim=k8s.V1PersistentVolumeClaimVolumeSource(claim_name="orders-data"))],
        security_context=k8s.V1PodSecurityContext(fs_group=1000),
        on_finish_action="delete_pod",
    )
    # dockpod: review: set namespace=... (without it the pod goes to the namespace of the Kubernetes
    #   connection, else 'default').
    load = KubernetesPodOperator(
        task_id="load",
        image=ETL_IMAGE,
        arguments=["load"],
        volume_mounts=[k8s.V1VolumeMount(mount_path="/data", name="claim-0", read_only=True)],
        image_pull_policy="Always",
        skip_on_exit_code=[99],
        volumes=[k8s.V1Volume(name="claim-0", persistent_volume_claim=k8s.V1PersistentVolumeClaimVolumeSource(claim_name="orders-data"))],
        container_security_context=k8s.V1SecurityContext(allow_privilege_escalation=False, read_only_root_filesystem=False, run_as_non_root=False),
        on_finish_action="delete_pod",
    )
    extract >> load
