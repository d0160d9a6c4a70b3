"""Shared set-up of the compose stack tests: a DAG folder the stack's uid 50000 can read, a free port, a report."""

from __future__ import annotations

import contextlib
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

from dockpod.runtime.stack import ComposeStack, dag_folder, free_port, write_dag

REPO = Path(__file__).resolve().parent.parent
REPORT = REPO / "build" / "stack-report.txt"

__all__ = [
    "REPO",
    "REPORT",
    "dag_folder",
    "dockpod_task_containers",
    "free_port",
    "report",
    "running_stack",
    "write_dag",
]


def report(title: str, lines: list[str]) -> None:
    """Append measured figures to build/stack-report.txt (make stack-test prints it)."""
    REPORT.parent.mkdir(exist_ok=True)
    with REPORT.open("a") as handle:
        handle.write(f"== {title}\n" + "".join(f"  {line}\n" for line in lines))


def dockpod_task_containers(dag_id: str) -> list[str]:
    """Containers (running or not) that dockpod started for tasks of ``dag_id``."""
    out = subprocess.run(["docker", "ps", "-a", "--filter", f"label=io.dockpod.dag_id={dag_id}", "--format",
                          "{{.Names}}"], capture_output=True, text=True, check=True).stdout
    return out.split()


DEMO_VOLUME = "dockpod_demo_data"


@contextlib.contextmanager
def running_stack(directory: Path, dags: Path) -> Iterator[ComposeStack]:
    """The stack in ``directory`` up (on a free port, with ``dags`` as its DAG folder), then down, whatever happens.

    ``stack.seconds_to_healthy`` holds the time ``up`` took; ``stack.dags`` the DAG folder. The DAG folder is removed
    afterwards, and so is portable_pipeline's data volume when it was not there before.
    """
    demo_volume_existed = subprocess.run(["docker", "volume", "inspect", DEMO_VOLUME], capture_output=True,
                                         check=False).returncode == 0
    stack = ComposeStack(directory, env={"AIRFLOW_API_PORT": str(free_port()), "DAGS_DIR": str(dags)})
    stack.dags = dags
    try:
        stack.down()  # a stack left by an interrupted run
        stack.seconds_to_healthy = stack.up(timeout=600)
        yield stack
    finally:
        stack.down()
        shutil.rmtree(dags, ignore_errors=True)
        if not demo_volume_existed:
            subprocess.run(["docker", "volume", "rm", DEMO_VOLUME], capture_output=True, check=False)
