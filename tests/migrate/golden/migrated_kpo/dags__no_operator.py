from datetime import datetime

from airflow.operators.bash import BashOperator
from airflow.sdk import DAG

with DAG("plain_bash", start_date=datetime(2024, 1, 1), schedule=None):
    BashOperator(task_id="hello", bash_command="echo hello")
