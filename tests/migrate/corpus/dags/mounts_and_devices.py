from datetime import datetime

from airflow.providers.docker.operators.docker import DockerOperator
from airflow.sdk import DAG
from docker.types import DeviceRequest, Mount

SCRATCH = [Mount("/scratch", None, type="tmpfs", tmpfs_size=268435456)]

with DAG("training", start_date=datetime(2024, 1, 1), schedule=None):
    DockerOperator(
        task_id="train",
        image="registry.example.com/ml/train:cuda12",
        mounts=[Mount("/models", "/srv/models", type="bind"), *SCRATCH],
        device_requests=[DeviceRequest(count=-1, capabilities=[["gpu"]])],
        env_file="{{ var.value.train_env }}",
    )
    DockerOperator(
        task_id="evaluate",
        image="registry.example.com/ml/train:cuda12",
        mounts=SCRATCH,
        private_environment={"API_KEY": "{{ var.value.api_key }}"},
        xcom_all=True,
    )
