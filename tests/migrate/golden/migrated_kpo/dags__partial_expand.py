from datetime import datetime

from airflow.providers.docker.operators.docker import DockerOperator
from airflow.sdk import DAG

with DAG("mapped", start_date=datetime(2024, 1, 1), schedule=None):
    DockerOperator.partial(
        task_id="resize", image="registry.example.com/img/resize:3", mem_limit="1g"
    ).expand(command=[["resize", "a.png"], ["resize", "b.png"]])

    shards = DockerOperator.partial(task_id="shard", image="registry.example.com/img/shard:1")
    shards.expand_kwargs([{"command": ["shard", "0"]}, {"command": ["shard", "1"]}])
