"""Shared set-up of the compose stack tests: a DAG folder the stack's uid 50000 can read, a free port, a report."""

from __future__ import annotations

import contextlib
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

from dockpod.runtime.stack import ComposeStack, dag_folder, free_port, run_names, write_dag

REPO = Path(__file__).resolve().parent.parent
REPORT = REPO / "build" / "stack-report.txt"

__all__ = [
    "REPO",
    "REPORT",
    "dag_folder",
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


DEMO_VOLUME = "dockpod_demo_data"


@contextlib.contextmanager
def running_stack(directory: Path, dags: Path) -> Iterator[ComposeStack]:
    """The stack in ``directory`` up (on a free port, with ``dags`` as its DAG folder), then down, whatever happens.

    The compose project and edge network are named for this run alone (``dp-test-dev-<8 hex>``): another stack on
    the same engine, even one a killed run left, is never in the way.

    ``stack.seconds_to_healthy`` holds the time ``up`` took; ``stack.dags`` the DAG folder. The DAG folder is removed
    afterwards, and so is portable_pipeline's data volume when it was not there before.
    """
    demo_volume_existed = subprocess.run(["docker", "volume", "inspect", DEMO_VOLUME], capture_output=True,
                                         check=False).returncode == 0
    names = run_names(f"dp-test-{directory.name}")  # this run's own project and edge network
    stack = ComposeStack(directory, env={"AIRFLOW_API_PORT": str(free_port()), "DAGS_DIR": str(dags),
                                         "EDGE_NETWORK": names["edge_network"]}, project=names["project"])
    stack.dags = dags
    try:
        stack.seconds_to_healthy = stack.up(timeout=600)
        yield stack
    finally:
        stack.down()
        shutil.rmtree(dags, ignore_errors=True)
        if not demo_volume_existed:
            subprocess.run(["docker", "volume", "rm", DEMO_VOLUME], capture_output=True, check=False)
