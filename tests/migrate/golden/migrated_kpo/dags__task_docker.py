from datetime import datetime

from airflow.decorators import dag, task


@dag(start_date=datetime(2024, 1, 1), schedule=None, catchup=False)
def taskflow_docker():
    @task.docker(image="python:3.11-slim", multiple_outputs=True, auto_remove="force")
    def transform(rows: int):
        return {"rows": rows * 2}

    @task.docker(image="python:3.11-slim", task_id="clean_up", mount_tmp_dir=False, python_command="python3")
    def cleanup():
        pass

    transform(10) >> cleanup()


taskflow_docker()
