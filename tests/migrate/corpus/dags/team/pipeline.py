from datetime import datetime

from airflow.sdk import DAG

from ..team.base import TeamBaseOperator as Base
from .nightly import NightlyOperator

# Three files: base.py subclasses the operator, nightly.py subclasses base.py's class (relative imports).
with DAG("team_pipeline", start_date=datetime(2024, 1, 1), schedule=None):
    Base(task_id="plain", image="registry.example.com/team:2.0")
    NightlyOperator(task_id="nightly", image="registry.example.com/team:2.0")
