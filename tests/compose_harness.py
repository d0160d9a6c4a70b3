"""The compose project a Section 88 stack example brings up: what of it exists, and removal of what a failed run left.

The examples give their stacks a project name of their own (``dp-88-...``), so a test only ever looks at and removes
objects of that project, never those of another stack on the same engine.
"""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import Iterator
from pathlib import Path

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
def project_cleaned(stack: str, project: str) -> Iterator[None]:
    """After the block, ``down -v`` the project of ``deploy/compose/<stack>`` when the teardown left some of it."""
    try:
        yield
    finally:
        if project_objects(project):
            ComposeStack(REPO / "deploy" / "compose" / stack, project=project).down()
