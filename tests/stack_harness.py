"""Shared set-up of the compose stack tests: a DAG folder the stack's uid 50000 can read, a free port, a report."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

from dockpod.runtime.stack import ComposeStack

REPO = Path(__file__).resolve().parent.parent
REPORT = REPO / "build" / "stack-report.txt"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def dag_folder(*sources: Path) -> Path:
    """A fresh world-readable folder (the containers run as uid 50000) holding copies of ``sources``."""
    folder = Path(tempfile.mkdtemp(prefix="dockpod-stack-dags-"))
    folder.chmod(0o755)
    for source in sources:
        shutil.copyfile(source, folder / source.name)
        (folder / source.name).chmod(0o644)
    return folder


def write_dag(folder: Path, name: str, text: str) -> Path:
    """Write a DAG file atomically (the dag-processor must never read half a file)."""
    path = folder / name
    tmp = folder / f".{name}.tmp"
    tmp.write_text(text)
    tmp.chmod(0o644)
    os.replace(tmp, path)
    return path


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
