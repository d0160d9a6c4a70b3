"""The compose project a Section 88 stack example brings up: what of it exists, and removal of what a failed run left.

Each run of a stack example names its own compose project and edge network (``prepare`` returns them, from
``dockpod.runtime.stack.new_run``), so a test only ever looks at and removes objects of that run's project, never
those of another stack on the same engine, and two test runs can share one engine.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from airflow_harness import place_example
from dockpod.runtime.airflow_run import DagRunResult, load_dag, run_dag
from dockpod.runtime.stack import run_stack

REPO = Path(__file__).resolve().parent.parent


def project_objects(project: str) -> list[str]:
    """Ids of the containers (running or not), networks and volumes labelled as ``project``'s."""
    label = f"label=com.docker.compose.project={project}"
    ids = []
    for kind in (["ps", "-a"], ["network", "ls"], ["volume", "ls"]):
        ids += subprocess.run(["docker", *kind, "--filter", label, "-q"], capture_output=True, text=True,
                              check=True).stdout.split()
    return ids


@contextlib.contextmanager
def stack_example_run(example: Path, dag_id: str,
                      run_conf: dict[str, Any] | None = None) -> Iterator[tuple[DagRunResult, str | None]]:
    """Run a stack example; yield its result and the project its ``prepare`` named, then ``down -v`` what is left.

    The example finds deploy/compose through DOCKPOD_REPO (it runs from a copy in the DAGs folder). Its own
    teardown task removes the stack; this is the net under it, for a run that died half-way.
    """
    before = os.environ.get("DOCKPOD_REPO")
    os.environ["DOCKPOD_REPO"] = str(REPO)
    try:
        result = run_dag(load_dag(place_example(example, dag_id), dag_id), run_conf=run_conf)
    finally:
        if before is None:
            os.environ.pop("DOCKPOD_REPO")
        else:
            os.environ["DOCKPOD_REPO"] = before
    run = result.xcoms.get("prepare") or {}
    try:
        yield result, run.get("project")
    finally:
        if run and project_objects(run["project"]):
            run_stack(run).down()
