"""Run a DAG file for real, in this process, with ``dag.test()``, and read back what each task did.

Airflow must be configured (AIRFLOW_HOME with a migrated database, AIRFLOW__CORE__DAGS_FOLDER holding
the DAG file) before this module is used: ``dag.test()`` serializes the DAG from its bundle.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class DagRunResult:
    """Outcome of one ``dag.test()`` run: the run state, each task's state and XCom return value."""

    state: str
    task_states: dict[str, str] = field(default_factory=dict)
    xcoms: dict[str, Any] = field(default_factory=dict)
    failures: dict[str, str] = field(default_factory=dict)


def load_dag(path: Path, dag_id: str) -> Any:
    """Import the DAG file at ``path`` the way Airflow does (a DagBag) and return its DAG ``dag_id``."""
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(path), load_op_links=False)
    if bag.import_errors:
        trace = next(iter(bag.import_errors.values())).strip().splitlines()
        raise LookupError(f"{path} failed to import: {trace[-1] if trace else 'unknown error'}")
    if dag_id not in bag.dags:
        raise LookupError(f"{path} defines no DAG {dag_id!r} (it defines {sorted(bag.dags) or 'none'})")
    return bag.dags[dag_id]


def run_dag(dag: Any, *, run_conf: dict[str, Any] | None = None) -> DagRunResult:
    """Run ``dag`` with ``dag.test()`` and collect task states and XCom return values."""
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    failures: dict[str, str] = {}
    _record_failures(dag, failures)
    run = dag.test(run_conf=run_conf) if run_conf else dag.test()
    result = DagRunResult(state=str(run.state), failures=failures)
    with create_session() as session:
        for ti in run.get_task_instances(session=session):
            key = ti.task_id if ti.map_index < 0 else f"{ti.task_id}[{ti.map_index}]"
            result.task_states[key] = str(ti.state)
            query = XComModel.get_many(run_id=run.run_id, dag_ids=run.dag_id, task_ids=ti.task_id,
                                       key="return_value", map_indexes=ti.map_index)
            row = session.execute(query).scalars().first()
            if row is not None:
                result.xcoms[key] = XComModel.deserialize_value(row)
    return result


def _record_failures(dag: Any, failures: dict[str, str]) -> None:
    """Add a failure callback to every task that keeps the exception's message for the result."""

    def record(context: Any) -> None:
        failures[context["ti"].task_id] = str(context.get("exception") or "failed")

    for task in dag.tasks:
        existing = task.on_failure_callback
        callbacks = list(existing) if isinstance(existing, list | tuple) else ([existing] if existing else [])
        task.on_failure_callback = [*callbacks, record]
