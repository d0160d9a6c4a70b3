from datetime import datetime

from airflow.contrib.operators.kubernetes_pod_operator import KubernetesPodOperator as OldKPO
from airflow.providers.cncf.kubernetes.operators import pod
from airflow.providers.cncf.kubernetes.operators.kubernetes_pod import KubernetesPodOperator as KPO210
from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator
from airflow.sdk import DAG

with DAG("already_pods", start_date=datetime(2024, 1, 1), schedule=None):
    KubernetesPodOperator(task_id="new_style", image="busybox:1.36", cmds=["true"], namespace="jobs")
    pod.KubernetesPodOperator(task_id="qualified", image="busybox:1.36", namespace="jobs")
    KPO210(task_id="provider_2_x", image="busybox:1.36", namespace="jobs")
    OldKPO(task_id="contrib", image="busybox:1.36", namespace="jobs")
