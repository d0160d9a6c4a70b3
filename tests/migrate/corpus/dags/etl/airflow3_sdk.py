"""Airflow 3 style: airflow.sdk, and a TaskFlow task that reads the container's XCom."""
import pendulum
from airflow.providers.docker.operators.docker import DockerOperator
from airflow.sdk import DAG, task

with DAG(dag_id="scores", schedule=None, start_date=pendulum.datetime(2025, 1, 1, tz="UTC")):
    score = DockerOperator(task_id="score", image="registry.example.com/ml/score:0.9", command=["score"],
                           auto_remove="success")

    @task
    def notify(result):
        print(result)

    notify(score.output)

    audit = DockerOperator(task_id="audit_scores", image="registry.example.com/ml/score:0.9", command=["audit"])
    score >> audit
