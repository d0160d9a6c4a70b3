from datetime import datetime

from airflow.sdk import DAG
from dockpod import container_task

TABLES = ["customers", "orders", "payments"]
IMAGES = {"customers": "loader:1.0", "orders": "loader:1.1", "payments": "loader:1.1"}

with DAG("load_tables", start_date=datetime(2024, 1, 1), schedule="@daily"):
    for table in TABLES:
        container_task(
            task_id=f"load_{table}",
            image=IMAGES[table],
            command=["load", "--table", table],
            env={"TABLE": table, "DS": "{{ ds }}"},
            security={"run_as_non_root": False, "capabilities_drop": []},
        )
