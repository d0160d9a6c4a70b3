from datetime import datetime

from airflow import DAG
from dockpod import container_task

DEFAULT_ARGS = {
    "owner": "ingest",
    "retries": 3,
    "docker_url": "tcp://docker-builder.internal:2375",  # the shared build host
    "network_mode": "host",
}

with DAG("ingest_remote", default_args=DEFAULT_ARGS, start_date=datetime(2024, 1, 1), schedule=None) as dag:
    container_task(task_id="pull_feed", image="ingest/feed:7", command=["pull"], security={"run_as_non_root": False, "capabilities_drop": []})
    # dockpod: docker_url='unix://var/run/docker.sock' dropped: the profile's engine is used (set
    #   docker_url in dockpod.toml to choose another).
    container_task(task_id="parse_feed", image="ingest/feed:7", command=["parse"], security={"run_as_non_root": False, "capabilities_drop": []})
