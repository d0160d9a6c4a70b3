"""Shared set-up of the compose stack tests: a stack of the test run's own, up and torn down; a report of figures."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from dockpod.runtime.stack import ComposeStack, end_run, new_run, run_stack

REPO = Path(__file__).resolve().parent.parent
REPORT = REPO / "build" / "stack-report.txt"

def report(title: str, lines: list[str]) -> None:
    """Append measured figures to build/stack-report.txt (make stack-test prints it)."""
    REPORT.parent.mkdir(exist_ok=True)
    with REPORT.open("a") as handle:
        handle.write(f"== {title}\n" + "".join(f"  {line}\n" for line in lines))


DEMO_VOLUME = "dockpod_demo_data"


@contextlib.contextmanager
def running_stack(directory: Path, *dag_files: Path, dag_texts: dict[str, str] | None = None) -> Iterator[ComposeStack]:
    """The stack in ``directory`` up with a DAG folder of ``dag_files`` and ``dag_texts``; torn down whatever happens.

    A run of its own (``new_run``: project and edge network named for it, a free port), so another stack on the same
    engine, even one a killed run left, is never in the way. ``stack.seconds_to_healthy`` holds the time ``up`` took;
    ``stack.dags`` the DAG folder. ``end_run`` removes the stack, the DAG folder and portable_pipeline's data volume
    when it was not there before, and fails the tests when anything is left.
    """
    run = new_run(directory, f"dp-test-{directory.name}", *dag_files, dag_texts=dag_texts, volumes=(DEMO_VOLUME,))
    stack = run_stack(run)
    stack.dags = Path(run["dags"])
    try:
        stack.seconds_to_healthy = stack.up(timeout=600)
        yield stack
    finally:
        end_run(run)
