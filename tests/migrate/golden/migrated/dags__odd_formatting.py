from datetime import datetime
from airflow.providers.docker.operators.docker import (  # the provider
    DockerOperator,
)
from airflow.sdk import DAG, chain
from dockpod import container_task
with DAG("odd", start_date=datetime(2024, 1, 1), schedule=None):
    # dockpod: security.user='nobody' is not valid; expected a numeric uid or uid:gid, e.g. '1000' or
    #   '1000:1000'. Kubernetes runAsUser/runAsGroup take numbers only; look the ids up with
    #   `docker run --rm IMAGE id`.
    chain(container_task(task_id = "a" , image = "alpine:3.20" ,  # comment after an argument
                         command = [ "sh" , "-c" ,
                                     # a comment inside the list
                                     "echo a" ] ,  security={"run_as_non_root": False, "capabilities_drop": []}) ,
          container_task(
              # a comment before the first argument
              task_id=(
                  "b"
              ),
              image=\
                  "alpine:3.20",
              resources={"cpu_request": 2, "shm_size": "256m"},
              security={"run_as_non_root": False, "capabilities_drop": []},
          ),
    ); DockerOperator(task_id="c", image="alpine:3.20", user="nobody")
    nested = [container_task(
        task_id=f"n{i}",
        image="alpine:3.20",
        labels={"team": "", "data": ""},
        security={"run_as_non_root": False, "capabilities_drop": []},
    ) for i in range(2)]
