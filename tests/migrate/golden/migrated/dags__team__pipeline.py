from datetime import datetime

from airflow.sdk import DAG

from ..team.base import TeamBaseOperator as Base
from .nightly import NightlyOperator
from dockpod import container_task

# Three files: base.py subclasses the operator, nightly.py subclasses base.py's class (relative imports).
with DAG("team_pipeline", start_date=datetime(2024, 1, 1), schedule=None):
    container_task(
        task_id="plain",
        image="registry.example.com/team:2.0",
        security={"run_as_non_root": False, "capabilities_drop": []},
    )
    # dockpod: subclass NightlyOperator of DockerOperator (defined in corpus/dags/team/nightly.py): move
    #   its behaviour into the image or a plain task, then rewrite the call (migrate leaves it,
    #   since the subclass's own code would be dropped).
    NightlyOperator(task_id="nightly", image="registry.example.com/team:2.0")
