"""Test session set-up: a private AIRFLOW_HOME with a migrated SQLite database and a DAGs folder.

The environment is set before anything imports Airflow. The DAGs folder holds only DAG files that
tests copy there (a harness file in it would be parsed as a DAG, see PLATFORM.md).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

_HOME = Path(tempfile.mkdtemp(prefix="dockpod-airflow-"))
os.environ["AIRFLOW_HOME"] = str(_HOME)
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(_HOME / "dags")
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ["AIRFLOW__LOGGING__LOGGING_LEVEL"] = "INFO"
os.environ.setdefault("AIRFLOW_ENVIRONMENT", "local")
os.environ.pop("DOCKPOD_CONFIG", None)
(_HOME / "dags").mkdir()

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))


def pytest_configure(config):
    airflow = Path(sys.executable).with_name("airflow")
    subprocess.run([str(airflow), "db", "migrate"], check=True, capture_output=True)
