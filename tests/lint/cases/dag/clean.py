# Nothing here may be flagged.
from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator
from airflow.sdk import DAG

from dockpod import Secret, Volume, container_task

with DAG("clean"):
    container_task(task_id="a", image="registry.example.com/etl:1.4.2", resources={"memory_limit": "1Gi"},
                   env={"MODE": "fast", "KEY_COUNT": "3"}, secrets=[Secret("db", "password", env="DB_PASSWORD")],
                   volumes=["shared:/data", Volume.empty_dir("/scratch")])
    container_task(task_id="b", image="registry.example.com/etl@sha256:" + "a" * 64, resources={"cpu_limit": "1"})
    container_task(task_id="c", image="{{ params.image }}", resources={"cpu_limit": "1"})
    KubernetesPodOperator(task_id="d", image="registry.example.com/etl:1.0", cmds=["python3", "-m", "etl"],
                          arguments=["extract"])
    KubernetesPodOperator(task_id="e", image="registry.example.com/etl:1.0", cmds=["extract"], arguments=["x"])
