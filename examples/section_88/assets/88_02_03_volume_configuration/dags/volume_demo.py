"""Runs inside the Airflow container of compose.yaml: writes a report to the data volume and shows which
mounts accept writes. Mounted read-only at /opt/airflow/dags."""

from __future__ import annotations

import json
import os
from datetime import datetime
from pathlib import Path

from airflow.sdk import DAG, task

with DAG(dag_id="volume_demo", schedule=None, start_date=datetime(2024, 1, 1), catchup=False,
         tags=["reference"]):

    @task
    def write_report(run_id: str | None = None) -> dict[str, object]:
        from airflow.configuration import conf
        from volume_helpers import try_write  # from the plugins mount

        folder = Path(conf.get("volume_demo", "report_folder"))  # from the mounted airflow.cfg
        folder.mkdir(parents=True, exist_ok=True)
        report = folder / "report.txt"
        with report.open("a") as handle:
            handle.write(f"{run_id}\n")
        result = {"report": str(report), "uid": os.getuid(),
                  "write_refused": {p: try_write(p) for p in ("/opt/airflow/dags", "/opt/airflow/plugins",
                                                               "/opt/airflow/config", "/opt/airflow/logs",
                                                               "/opt/airflow/data")}}
        print("VOLUME_DEMO " + json.dumps(result), flush=True)  # lands in the task log on the logs volume
        return result

    write_report()
