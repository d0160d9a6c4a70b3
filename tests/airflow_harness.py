"""Run a DAG for real with ``dag.test()`` and read back task states and XCom values."""

from __future__ import annotations

import importlib.util
import os
import shutil
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class DagResult:
    """Outcome of one ``dag.test()`` run."""

    state: str
    task_states: dict[str, str] = field(default_factory=dict)
    xcoms: dict[str, Any] = field(default_factory=dict)


def dags_folder() -> Path:
    return Path(os.environ["AIRFLOW__CORE__DAGS_FOLDER"])


def load_dag(source: Path | str, dag_id: str, *, text: bool = False):
    """Copy a DAG file (or write DAG source text) into the DAGs folder and import it."""
    target = dags_folder() / f"{dag_id}.py"
    if text:
        target.write_text(str(source))
    else:
        shutil.copyfile(source, target)
    name = f"dag_{dag_id}_{uuid.uuid4().hex[:8]}"
    spec = importlib.util.spec_from_file_location(name, target)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    for value in vars(module).values():
        if getattr(value, "dag_id", None) == dag_id and hasattr(value, "test"):
            return value
    raise LookupError(f"{target} defines no DAG {dag_id!r}")


def run_dag(source: Path | str, dag_id: str, *, text: bool = False, params: dict | None = None) -> DagResult:
    """Run the DAG ``dag_id`` from a file (or source text) with ``dag.test()``."""
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    dag = load_dag(source, dag_id, text=text)
    run = dag.test(run_conf=params) if params else dag.test()
    result = DagResult(state=str(run.state))
    with create_session() as session:
        for ti in run.get_task_instances(session=session):
            key = ti.task_id if ti.map_index < 0 else f"{ti.task_id}[{ti.map_index}]"
            result.task_states[key] = str(ti.state)
            query = XComModel.get_many(
                run_id=run.run_id, dag_ids=run.dag_id, task_ids=ti.task_id, key="return_value",
                map_indexes=ti.map_index,
            )
            row = session.execute(query).scalars().first()
            if row is not None:
                result.xcoms[key] = XComModel.deserialize_value(row)
    return result
