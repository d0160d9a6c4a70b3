from datetime import datetime

from airflow.providers.docker.operators.docker import DockerOperator
from airflow.sdk import DAG

TABLES = ["customers", "orders", "payments"]
IMAGES = {"customers": "loader:1.0", "orders": "loader:1.1", "payments": "loader:1.1"}

with DAG("load_tables", start_date=datetime(2024, 1, 1), schedule="@daily"):
    for table in TABLES:
        DockerOperator(
            task_id=f"load_{table}",
            image=IMAGES[table],
            command=["load", "--table", table],
            environment={"TABLE": table, "DS": "{{ ds }}"},
        )
