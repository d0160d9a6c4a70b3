"""Airflow 3 style: airflow.sdk, and a TaskFlow task that reads the container's XCom."""
import pendulum
from airflow.sdk import DAG, task
from dockpod import container_task

with DAG(dag_id="scores", schedule=None, start_date=pendulum.datetime(2025, 1, 1, tz="UTC")):
    # dockpod: review: the DAG reads this task's XCom: DockerOperator pushed the last log line, dockpod
    #   pushes only the JSON the container writes to /airflow/xcom/return.json.
    # dockpod: auto_remove dropped: dockpod always removes the container after reading its exit state
    #   and result.
    score = container_task(task_id="score", image="registry.example.com/ml/score:0.9", command=["score"], security={"run_as_non_root": False, "capabilities_drop": []})

    @task
    def notify(result):
        print(result)

    notify(score.output)

    audit = container_task(
        task_id="audit_scores",
        image="registry.example.com/ml/score:0.9",
        command=["audit"],
        security={"run_as_non_root": False, "capabilities_drop": []},
    )
    score >> audit
