"""Run a DAG for real with ``dag.test()`` from a test: copy it into the session's DAGs folder first."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from dockpod.runtime.airflow_run import DagRunResult, load_dag
from dockpod.runtime.airflow_run import run_dag as _run

DagResult = DagRunResult


def dags_folder() -> Path:
    return Path(os.environ["AIRFLOW__CORE__DAGS_FOLDER"])


def place(source: Path | str, dag_id: str, *, text: bool = False) -> Path:
    """Put a DAG file (or DAG source text) into the DAGs folder as ``{dag_id}.py``."""
    target = dags_folder() / f"{dag_id}.py"
    if text:
        target.write_text(str(source))
    else:
        shutil.copyfile(source, target)
    return target


def run_dag(source: Path | str, dag_id: str, *, text: bool = False, params: dict | None = None) -> DagRunResult:
    """Run the DAG ``dag_id`` from a file (or source text) with ``dag.test()``."""
    return _run(load_dag(place(source, dag_id, text=text), dag_id), run_conf=params)


def place_example(source: Path, dag_id: str) -> Path:
    """Put an example DAG into the DAGs folder with its ``assets/<stem>/`` folder, which it finds by __file__."""
    assets = source.parent / "assets" / source.stem
    if assets.is_dir():
        shutil.copytree(assets, dags_folder() / "assets" / source.stem, dirs_exist_ok=True)
    return place(source, dag_id)
