from datetime import datetime

from airflow.sdk import DAG

from company_operators import SparkSubmitDockerOperator

# A subclass defined in another module of the tree (plugins/): the audit follows the import.
with DAG("spark", start_date=datetime(2024, 1, 1), schedule=None):
    SparkSubmitDockerOperator(task_id="aggregate", application="/jobs/aggregate.py")
