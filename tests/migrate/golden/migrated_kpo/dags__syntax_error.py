from airflow.providers.docker.operators.docker import DockerOperator

with DAG("half_edited", schedule=None)
    DockerOperator(task_id="broken", image="alpine:3.20")
