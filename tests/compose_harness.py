"""The compose project a Section 88 stack example brings up: what of it exists, and removal of what a failed run left.

Each run of a stack example names its own compose project and edge network (``prepare`` returns them, from
``dockpod.runtime.stack.run_names``), so a test only ever looks at and removes objects of that run's project, never
those of another stack on the same engine, and two test runs can share one engine.
"""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from airflow_harness import place_example
from dockpod.runtime.airflow_run import DagRunResult, load_dag, run_dag
from dockpod.runtime.stack import ComposeStack

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
def stack_example_run(example: Path, dag_id: str, stack: str,
                      run_conf: dict[str, Any] | None = None) -> Iterator[tuple[DagRunResult, str | None]]:
    """Run a stack example; yield its result and the project its ``prepare`` named, then ``down -v`` what is left.

    The example's own teardown task removes the stack; this is the net under it, for a run that died half-way.
    """
    result = run_dag(load_dag(place_example(example, dag_id), dag_id), run_conf=run_conf)
    project = (result.xcoms.get("prepare") or {}).get("project")
    try:
        yield result, project
    finally:
        if project and project_objects(project):
            ComposeStack(REPO / "deploy" / "compose" / stack, project=project).down()
