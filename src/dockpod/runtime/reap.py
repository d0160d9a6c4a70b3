"""``dockpod reap``: find and remove what dockpod started and nobody will clean up.

Every container and volume the local operator makes carries ``io.dockpod.run`` (and the task
instance's dag_id, task_id, run_id, try_number, map_index). Normally the run removes them itself; a
worker killed with SIGKILL cannot, and the next try of that task instance removes them (or reattaches)
only if there is a next try. This sweeps the rest:

* containers that are not running (exited, created, dead) and older than a minute: their worker is gone;
* running containers older than ``older_than``: a task that has run that long is presumed lost
  (the worker that watched it is gone); pass a longer age for tasks that legitimately run longer;
* volumes and per-run host directories (``dockpod-run-*`` in the temporary folder) whose run has no
  container any more, older than a minute.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from dockpod.errors import DockpodError

__all__ = ["Orphan", "find_orphans", "parse_age", "reap"]

RUN_LABEL = "io.dockpod.run"
#: Objects younger than this are left alone: a run may be between its steps.
SETTLE_SECONDS = 60.0
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


@dataclass(frozen=True)
class Orphan:
    """A container, volume or host directory of a dockpod run that nobody will remove."""

    kind: str
    id: str
    name: str
    run: str
    age_seconds: float
    state: str = ""
    dag_id: str = ""
    task_id: str = ""
    run_id: str = ""
    try_number: str = ""

    def as_dict(self) -> dict[str, Any]:
        """The orphan as a plain mapping (JSON output)."""
        return asdict(self)


def parse_age(text: str) -> float:
    """Seconds in an age such as ``90s``, ``30m``, ``2h`` or ``1d``; raises DockpodError otherwise."""
    text = text.strip()
    unit = text[-1:].lower()
    number = text[:-1] if unit in _UNITS else text
    try:
        value = float(number) * _UNITS.get(unit, 1)
    except ValueError:
        value = -1.0
    if value < 0 or value != value:
        raise DockpodError(f"--older-than {text!r} is not an age; use a number with s, m, h or d, e.g. 2h.")
    return value


def find_orphans(older_than: float = 3600.0, *, client: Any = None, tmp_dir: str | None = None,
                 now: float | None = None) -> list[Orphan]:
    """Every orphaned container, volume and per-run host directory, oldest first."""
    client = client or _client()
    now = time.time() if now is None else now
    orphans: list[Orphan] = []
    live_runs: set[str] = set()
    for container in client.containers(all=True, filters={"label": RUN_LABEL}):
        labels = container.get("Labels") or {}
        age = now - float(container.get("Created") or now)
        state = str(container.get("State") or "")
        limit = older_than if state in ("running", "paused", "restarting") else SETTLE_SECONDS
        if age < limit:
            live_runs.add(labels.get(RUN_LABEL, ""))
            continue
        orphans.append(Orphan(
            "container", container["Id"][:12], (container.get("Names") or ["?"])[0].lstrip("/"),
            labels.get(RUN_LABEL, ""), age, state, labels.get("io.dockpod.dag_id", ""),
            labels.get("io.dockpod.task_id", ""), labels.get("io.dockpod.run_id", ""),
            labels.get("io.dockpod.try_number", "")))
    for volume in (client.volumes(filters={"label": RUN_LABEL}) or {}).get("Volumes") or ():
        labels = volume.get("Labels") or {}
        run = labels.get(RUN_LABEL, "")
        age = now - _timestamp(client.inspect_volume(volume["Name"]).get("CreatedAt"), now)
        if run not in live_runs and age >= SETTLE_SECONDS:
            orphans.append(Orphan("volume", volume["Name"], volume["Name"], run, age, "",
                                  labels.get("io.dockpod.dag_id", ""), labels.get("io.dockpod.task_id", ""),
                                  labels.get("io.dockpod.run_id", ""), labels.get("io.dockpod.try_number", "")))
    base = tmp_dir or tempfile.gettempdir()
    for entry in _run_dirs(base):
        run = entry.name.removeprefix("dockpod-run-").split("-", 1)[0]
        age = now - entry.stat(follow_symlinks=False).st_mtime
        if run not in live_runs and age >= SETTLE_SECONDS:
            orphans.append(Orphan("directory", entry.path, entry.path, run, age))
    return sorted(orphans, key=lambda o: -o.age_seconds)


def reap(orphans: Iterable[Orphan], *, client: Any = None) -> list[tuple[Orphan, str | None]]:
    """Remove each orphan (containers first); return each with None, or why it could not be removed."""
    from docker.errors import DockerException, NotFound

    client = client or _client()
    done: list[tuple[Orphan, str | None]] = []
    order = {"container": 0, "volume": 1, "directory": 2}
    for orphan in sorted(orphans, key=lambda o: order[o.kind]):
        error = None
        try:
            if orphan.kind == "container":
                client.remove_container(orphan.id, force=True, v=True)
            elif orphan.kind == "volume":
                client.remove_volume(orphan.id, force=True)
            else:
                shutil.rmtree(orphan.id)
        except (NotFound, FileNotFoundError):
            pass
        except (DockerException, OSError) as exc:
            error = str(exc)
        done.append((orphan, error))
    return done


def _run_dirs(base: str) -> list[os.DirEntry[str]]:
    try:
        with os.scandir(base) as entries:
            return [e for e in entries if e.name.startswith("dockpod-run-") and e.is_dir(follow_symlinks=False)]
    except OSError:
        return []


def _timestamp(text: str | None, default: float) -> float:
    if not text:
        return default
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return default


def _client() -> Any:
    try:
        import docker

        return docker.APIClient(base_url=os.environ.get("DOCKER_HOST") or "unix://var/run/docker.sock",
                                version="auto", timeout=60)
    except Exception as exc:  # the SDK raises DockerException, or requests' errors, for an absent engine
        raise DockpodError(f"The Docker engine cannot be reached ({exc}); start it, or set DOCKER_HOST.") from None
