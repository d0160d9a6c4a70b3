from datetime import datetime

from airflow.providers.docker.operators import docker
from airflow.sdk import DAG

with DAG("builder", start_date=datetime(2024, 1, 1), schedule=None):
    # Needs the host's Docker daemon: builds an image inside the task.
    # dockpod: privileged=True: a privileged container has no safe counterpart in a shared cluster. Add
    #   the capabilities the task needs (cap_add, which becomes the container's securityContext
    #   capabilities) instead.
    # dockpod: network_mode='host': host, none and container: network modes have no pod counterpart.
    #   Drop network_mode: pods share the cluster network.
    docker.DockerOperator(
        task_id="build_image",
        image="docker:27-dind",
        privileged=True,
        network_mode="host",
        command=["docker", "build", "-t", "app:latest", "/src"],
    )
