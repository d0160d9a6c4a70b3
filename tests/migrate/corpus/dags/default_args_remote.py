from datetime import datetime

from airflow import DAG
from airflow.providers.docker.operators.docker import DockerOperator

DEFAULT_ARGS = {
    "owner": "ingest",
    "retries": 3,
    "docker_url": "tcp://docker-builder.internal:2375",  # the shared build host
    "network_mode": "host",
}

with DAG("ingest_remote", default_args=DEFAULT_ARGS, start_date=datetime(2024, 1, 1), schedule=None) as dag:
    DockerOperator(task_id="pull_feed", image="ingest/feed:7", command=["pull"])
    DockerOperator(task_id="parse_feed", image="ingest/feed:7", command=["parse"], network_mode="bridge",
                   docker_url="unix://var/run/docker.sock")
