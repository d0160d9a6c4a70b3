from datetime import datetime
from airflow.providers.docker.operators.docker import (  # the provider
    DockerOperator,
)
from airflow.sdk import DAG, chain
with DAG("odd", start_date=datetime(2024, 1, 1), schedule=None):
    chain(DockerOperator(task_id = "a" , image = "alpine:3.20" ,  # comment after an argument
                         command = [ "sh" , "-c" ,
                                     # a comment inside the list
                                     "echo a" ] ) ,
          DockerOperator(
              # a comment before the first argument
              task_id=(
                  "b"
              ),
              image=\
                  "alpine:3.20",
              cpus=2,
              shm_size="256m",
          ),
    ); DockerOperator(task_id="c", image="alpine:3.20", user="nobody")
    nested = [DockerOperator(task_id=f"n{i}", image="alpine:3.20", labels=["team", "data"]) for i in range(2)]
