"""Docker containers and images: read the engine's record of a run and explain its failure.

The docker SDK is imported inside the functions. Everything is read (inspect, logs, a file's first
bytes through the archive API, the host's view of a mounted folder); nothing is changed.
"""

from __future__ import annotations

import io
import os
import re
import stat
import tarfile
from typing import Any

from dockpod.doctor._finding import Finding, clip, from_diagnosis
from dockpod.doctor._redact import Redactor
from dockpod.errors import DockpodError
from dockpod.operators import _diagnosis as dx
from dockpod.spec import format_memory

__all__ = ["docker_client", "doctor_container", "doctor_image", "inspect_container"]

_TAIL = 50
_EXEC_PATH = re.compile(r"exec:? \"?([^\s\":]+)\"?:? exec format error")
_TINI_EXEC = re.compile(r"exec (/\S+) failed: No such file or directory")
_PATHS = re.compile(r"(/[^\s'\":,;()\[\]]*)")


def docker_client() -> Any:
    """A low-level docker client for the engine of the environment (DOCKER_HOST), or a DockpodError."""
    try:
        import docker

        client = docker.APIClient(version="auto", timeout=60) if not os.environ.get("DOCKER_HOST") else \
            docker.from_env(version="auto", timeout=60).api
        client.ping()
        return client
    except Exception as exc:
        raise DockpodError(f"The Docker engine is not reachable ({clip(str(exc), 160)}).",
                           fix="Start it (make setup) or point DOCKER_HOST at it.") from None


def inspect_container(client: Any, name: str) -> dict[str, Any] | None:
    """The container's inspect data, or None when the engine knows no such container."""
    from docker.errors import NotFound

    try:
        return client.inspect_container(name)
    except NotFound:
        return None


def doctor_container(name: str, *, client: Any = None, info: dict[str, Any] | None = None) -> Finding:
    """Explain why the Docker container ``name`` failed (or say that it did not)."""
    client = client or docker_client()
    info = info or inspect_container(client, name)
    if info is None:
        raise DockpodError(f"No Docker container named {name!r} exists.",
                           fix="List them with docker ps -a; a dockpod task's container is removed after the run.")
    subject = (info.get("Name") or name).lstrip("/")
    state = info.get("State") or {}
    config = info.get("Config") or {}
    host = info.get("HostConfig") or {}
    redact = Redactor(config.get("Env") or ())
    code = int(state.get("ExitCode") or 0)
    error = redact(state.get("Error") or "")
    oom = bool(state.get("OOMKilled"))
    restarts = int(info.get("RestartCount") or 0)
    policy = (host.get("RestartPolicy") or {}).get("Name") or None
    running, restarting = bool(state.get("Running")), bool(state.get("Restarting"))
    lines = redact.lines(_logs(client, info["Id"]))
    evidence = [f"State.Status: {state.get('Status')}, ExitCode: {code}, OOMKilled: {str(oom).lower()}"
                f"{f', RestartCount: {restarts} (policy {policy})' if restarts or restarting else ''}"]
    if error:
        evidence.append(f"State.Error: {error}")
    if (running and not restarting and restarts == 0) or (code == 0 and not error and not oom and not restarts):
        what = "is running" if running else "exited with code 0"
        return Finding("container", subject, "no_failure",
                       f"The container {subject} {what} and shows no failure.", None, tuple(evidence))

    diagnosis = _diagnose(client, info, code, error, oom, lines, evidence)
    if restarts > 0 or restarting:
        diagnosis = dx.diagnose_crash_loop(restarts, diagnosis, policy=policy, backing_off=restarting)
    return from_diagnosis("container", subject, diagnosis, evidence)


def _diagnose(client: Any, info: dict[str, Any], code: int, error: str, oom: bool, lines: list[str],
              evidence: list[str]) -> dx.Diagnosis:
    state = info.get("State") or {}
    host = info.get("HostConfig") or {}
    text = "\n".join([error, *lines]).lower()
    if oom:
        limit = host.get("Memory") or None
        peak = None
        if state.get("Running") or state.get("Restarting"):
            peak = _peak_memory(client, info["Id"])
        evidence.append(f"HostConfig.Memory: {format_memory(limit) if limit else 'no limit'}")
        evidence.append(f"peak usage: {format_memory(peak)} (cgroup v1 max_usage)" if peak else
                        "peak usage: not known (the container has exited; Docker keeps no peak after the exit)")
        return dx.diagnose_exit(code, oom_killed=True, memory_limit=limit, memory_peak=peak,
                                error=error or None, last_lines=lines)
    if "exec format error" in text:
        return _exec_format(client, info, code, error, lines, evidence)
    tini = _TINI_EXEC.search("\n".join(lines))
    if code == 127 and tini:
        # tini's execvp falls back to /bin/sh on ENOEXEC; without a shell the error reads "No such file".
        file_arch = _file_arch(client, info["Id"], tini.group(1))
        host_arch = _host_arch(client)
        if file_arch and file_arch != host_arch:
            return _exec_format(client, info, code, error, lines, evidence)
    denied = [line for line in lines if dx.is_access_denied(line)]
    if denied and not error and code not in (126, 127):
        access = _path_access(info, denied)
        if access is not None:
            evidence.append(f"mount {access.target}: {access.kind} {access.source}, owner uid {access.owner_uid} "
                            f"gid {access.owner_gid}, mode {access.mode & 0o7777:04o}; container user "
                            f"{_user_text(info)}")
            return dx.diagnose_permission(access, code, lines)
    return dx.diagnose_exit(code, oom_killed=False, memory_limit=host.get("Memory") or None,
                            error=error or None, last_lines=lines)


def _exec_format(client: Any, info: dict[str, Any], code: int, error: str, lines: list[str],
                 evidence: list[str]) -> dx.Diagnosis:
    image_info = _inspect_image(client, info.get("Image") or "") or {}
    image = (info.get("Config") or {}).get("Image") or info.get("Image")
    image_arch = image_info.get("Architecture")
    variant = image_info.get("Variant")
    host_arch = _host_arch(client)
    match = _EXEC_PATH.search("\n".join([error, *lines])) or _TINI_EXEC.search("\n".join(lines))
    path = match.group(1) if match else _first_program(info)
    file_arch = _file_arch(client, info["Id"], path) if path else None
    evidence.append(f"image Architecture: {image_arch}{'/' + variant if variant else ''}; host: {host_arch}")
    if path:
        evidence.append(f"{path}: {('ELF for ' + file_arch) if file_arch else 'not an ELF file (or unreadable)'}")
    return dx.diagnose_exec_format(code, image=image, image_arch=image_arch, host_arch=host_arch, path=path,
                                   file_arch=file_arch, last_lines=lines)


def doctor_image(reference: str, *, client: Any = None) -> Finding:
    """Whether the image ``reference`` can be had: present locally, or why the registry refuses it.

    Asks the registry for the image's manifest (the engine's distribution inspect, no layers pulled),
    so an unreachable registry, a missing login and a missing tag are told apart.
    """
    from docker.errors import APIError

    client = client or docker_client()
    local = _inspect_image(client, reference)
    try:
        client.inspect_distribution(reference)
    except APIError as exc:
        text = _api_text(exc)
        diagnosis = dx.diagnose_pull(reference, text)
        evidence = [f"registry answer: {clip(text)}"]
        if local is not None:
            evidence.append("the image is present on this Docker host, so runs with pull policy IfNotPresent work")
        return from_diagnosis("image", reference, diagnosis, evidence)
    present = "is present on this Docker host and " if local is not None else ""
    return Finding("image", reference, "no_failure",
                   f"The image {reference} {present}can be pulled from its registry.", None, ())


# -- reading the engine and the host ----------------------------------------------------------------------


def _logs(client: Any, cid: str) -> list[str]:
    try:
        raw = client.logs(cid, stdout=True, stderr=True, tail=_TAIL)
    except Exception:
        return []
    text = raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else str(raw)
    return [line.rstrip() for line in text.splitlines() if line.strip()]


def _peak_memory(client: Any, cid: str) -> int | None:
    """The memory cgroup's peak usage while the container lives (``max_usage`` on cgroup v1)."""
    try:
        stats = client.stats(cid, stream=False)
    except Exception:
        return None
    peak = (stats.get("memory_stats") or {}).get("max_usage")
    return int(peak) if peak else None


def _inspect_image(client: Any, reference: str) -> dict[str, Any] | None:
    from docker.errors import APIError

    try:
        return client.inspect_image(reference) if reference else None
    except APIError:
        return None


def _host_arch(client: Any) -> str | None:
    try:
        return dx.normalize_architecture(client.info().get("Architecture"))
    except Exception:
        return dx.normalize_architecture(os.uname().machine)


def _first_program(info: dict[str, Any]) -> str | None:
    args = info.get("Path")
    return args if isinstance(args, str) and args.startswith("/") else None


def _file_arch(client: Any, cid: str, path: str) -> str | None:
    """The architecture of the ELF file at ``path`` in the container (first bytes, via the archive API)."""
    try:
        chunks, _ = client.get_archive(cid, path)
        data = b"".join(chunks)
        with tarfile.open(fileobj=io.BytesIO(data)) as tar:
            member = tar.next()
            while member is not None and member.issym():  # a link: the archive holds the link only
                return None
            handle = tar.extractfile(member) if member is not None else None
            return dx.elf_architecture(handle.read(20)) if handle is not None else None
    except Exception:
        return None


def _user(info: dict[str, Any]) -> tuple[int | None, int | None]:
    """The container's uid and gid (Config.User; empty means root)."""
    user = str((info.get("Config") or {}).get("User") or "")
    uid_text, _, gid_text = user.partition(":")
    if not uid_text:
        return 0, 0
    uid = int(uid_text) if uid_text.isdigit() else (0 if uid_text == "root" else None)
    gid = int(gid_text) if gid_text.isdigit() else None
    return uid, gid


def _user_text(info: dict[str, Any]) -> str:
    user = str((info.get("Config") or {}).get("User") or "")
    return f"User {user!r}" if user else "root (no User set)"


def _path_access(info: dict[str, Any], denied: list[str]) -> dx.PathAccess | None:
    """The mount the denied path lies on, with its host owner and mode; None when no mount matches."""
    mounts = [m for m in info.get("Mounts") or () if m.get("Source") and m.get("Destination")]
    if not mounts:
        return None
    paths = [p for line in denied for p in _PATHS.findall(line)]
    best = None
    for mount in mounts:
        dest = mount["Destination"].rstrip("/") or "/"
        for path in paths:
            inside = path == dest or path.startswith(dest + "/")
            if inside and (best is None or len(dest) > len(best["Destination"])):
                best = mount
    if best is None and len(mounts) == 1 and not paths:
        best = mounts[0]
    if best is None:
        return None
    try:
        found = os.stat(best["Source"])
    except OSError:
        return None
    uid, gid = _user(info)
    return dx.PathAccess(target=best["Destination"], source=best["Source"],
                         kind="bind" if best.get("Type") == "bind" else "volume",
                         owner_uid=found.st_uid, owner_gid=found.st_gid, mode=stat.S_IMODE(found.st_mode),
                         uid=uid, gid=gid, volume=best.get("Name"))


def _api_text(exc: Any) -> str:
    explanation = getattr(exc, "explanation", None)
    if isinstance(explanation, bytes):
        explanation = explanation.decode(errors="replace")
    return str(explanation or exc)
