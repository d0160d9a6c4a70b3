from datetime import datetime

from airflow import DAG
from airflow.providers.docker.operators.docker import DockerOperator
from dockpod import container_task

# dockpod: default_args docker_url, network_mode: DockerOperator arguments, which dockpod does not
#   read from default_args; each task rewritten here takes their values as arguments of its
#   own. They stay here because the dict is not written in a with DAG(...) or @dag(...) line,
#   so other DAGs or files may read it too. They still reach the DockerOperator
#   container_task runs locally, and are ignored on Kubernetes.
DEFAULT_ARGS = {
    "owner": "ingest",
    "retries": 3,
    "docker_url": "tcp://docker-builder.internal:2375",  # the shared build host
    "network_mode": "host",
}

with DAG("ingest_remote", default_args=DEFAULT_ARGS, start_date=datetime(2024, 1, 1), schedule=None) as dag:
    # dockpod: docker_url='tcp://docker-builder.internal:2375': a task bound to a remote Docker engine
    #   has no pod counterpart. Run the task on the cluster, or set docker_url in the local
    #   profile of dockpod.toml.
    # dockpod: network_mode='host': host, none and container: network modes have no pod counterpart.
    #   Drop network_mode, or name a user-defined network in the profile's `network`.
    DockerOperator(task_id="pull_feed", image="ingest/feed:7", command=["pull"])
    # dockpod: docker_url='unix://var/run/docker.sock' dropped: the profile's engine is used (set
    #   docker_url in dockpod.toml to choose another).
    container_task(task_id="parse_feed", image="ingest/feed:7", command=["parse"], security={"run_as_non_root": False, "capabilities_drop": []})
