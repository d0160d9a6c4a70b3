"""Docker objects a test made: found by the name prefix the example gives them."""

from __future__ import annotations

import subprocess


def objects_named(prefix: str) -> list[str]:
    """Names of the containers (running or not) and networks whose name starts with ``prefix``."""
    names = []
    for command in (["docker", "ps", "-a", "--format", "{{.Names}}"],
                    ["docker", "network", "ls", "--format", "{{.Name}}"]):
        out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
        names += [name for name in out.split() if name.startswith(prefix)]
    return names
