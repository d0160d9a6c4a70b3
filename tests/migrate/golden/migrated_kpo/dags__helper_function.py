from datetime import datetime

from airflow.providers.docker.operators.docker import DockerOperator
from airflow.sdk import DAG, Variable

COMMON = {"auto_remove": "success", "mount_tmp_dir": False}


def dbt(step: str, **extra) -> DockerOperator:
    """One dbt step in the dbt image."""
    # dockpod: cannot tell at parse time whether docker_url=Variable.get("docker_url") is accepted: a
    #   task bound to a remote Docker engine has no pod counterpart.
    # dockpod: the audit cannot see **COMMON; check what it passes.
    # dockpod: the audit cannot see **extra; check what it passes.
    return DockerOperator(task_id=f"dbt_{step}", image="ghcr.io/dbt-labs/dbt-postgres:1.8.0",
                          command=["dbt", step], docker_url=Variable.get("docker_url"), **COMMON, **extra)


with DAG("dbt", start_date=datetime(2024, 1, 1), schedule=None):
    dbt("run") >> dbt("test", retries=2)
