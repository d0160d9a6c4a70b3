"""Podman pods (what ``podman kube play`` ran): find the container that failed and explain it.

podman 4.3 keeps no marker of which containers were init containers. A failed init container shows
as a container that exited non-zero while the pod's other containers were never started (state
``created``): that is what kube play leaves when an init container fails, and what is reported.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from typing import Any

from dockpod.doctor._containers import _EXEC_PATH, _path_access, _user_text
from dockpod.doctor._finding import Finding, clip, from_diagnosis
from dockpod.doctor._redact import Redactor
from dockpod.errors import DockpodError
from dockpod.operators import _diagnosis as dx
from dockpod.runtime.podman import inspect_container
from dockpod.spec import format_memory

__all__ = ["doctor_pod", "pod_exists"]

_TAIL = 50


def pod_exists(name: str) -> bool:
    """True when podman is installed and knows a pod called ``name``."""
    if shutil.which("podman") is None:
        return False
    return _podman("pod", "exists", name).returncode == 0


def doctor_pod(name: str) -> Finding:
    """Explain why the podman pod ``name`` failed: an init container, a crash loop, or a container's exit."""
    if shutil.which("podman") is None:
        raise DockpodError("podman is not installed, so podman pods cannot be examined.",
                           fix="Install it (make setup), or give a Docker container or a log file.")
    result = _podman("pod", "inspect", name)
    if result.returncode != 0:
        raise DockpodError(f"No podman pod named {name!r} exists.", fix="List them with podman pod ps.")
    pod = json.loads(result.stdout)
    pod = pod[0] if isinstance(pod, list) else pod
    prefix = f"{pod.get('Name') or name}-"
    members = [c for c in (inspect_container(c["Id"]) for c in pod.get("Containers") or ())
               if c and not c.get("IsInfra")]
    evidence = [f"pod state: {pod.get('State')}"] + [
        f"{_short(c, prefix)}: {c['State'].get('Status')}, exit code {c['State'].get('ExitCode')}"
        f", restarts {c.get('RestartCount') or 0}" for c in members]
    failed = [c for c in members if _failed(c)]
    never_started = [c for c in members if c["State"].get("Status") in ("created", "configured")]
    if not failed and never_started and pod.get("State") not in ("Running", "Created"):
        names = ", ".join(repr(_short(c, prefix)) for c in never_started)
        return Finding("pod", pod.get("Name") or name, "start_failed",
                       f"Container {names} of pod {pod.get('Name') or name} was created but never started, and podman "
                       "keeps no record of why (podman kube play printed it when the pod was played).",
                       "Start it by hand to see the error (podman start --attach CONTAINER): most often the command "
                       "is not in the image (exit 127) or not executable (126).", tuple(evidence))
    if not failed:
        return Finding("pod", pod.get("Name") or name, "no_failure",
                       f"No container of pod {pod.get('Name') or name} has failed.", None, tuple(evidence))
    if never_started and any(c["State"].get("Status") == "exited" for c in failed):
        init = next(c for c in failed if c["State"].get("Status") == "exited")
        waiting = ", ".join(repr(_short(c, prefix)) for c in never_started)
        evidence.append(f"{waiting} never started (state created): {_short(init, prefix)!r} ran before them")
        inner = _diagnose(init, prefix, evidence)
        return from_diagnosis("pod", pod.get("Name") or name, dx.diagnose_init_failed(_short(init, prefix), inner),
                              evidence)
    failed.sort(key=lambda c: _short(c, prefix) != "base")
    member = failed[0]
    diagnosis = _diagnose(member, prefix, evidence)
    restarts = int(member.get("RestartCount") or 0)
    policy = ((member.get("HostConfig") or {}).get("RestartPolicy") or {}).get("Name") or None
    if restarts > 0:
        diagnosis = dx.diagnose_crash_loop(restarts, diagnosis, policy=policy,
                                           backing_off=bool(member["State"].get("Restarting")))
    return from_diagnosis("pod", pod.get("Name") or name, diagnosis, evidence,
                          prefix=f"Container {_short(member, prefix)!r} of pod {pod.get('Name') or name}: ")


def _failed(container: dict[str, Any]) -> bool:
    state = container["State"]
    if state.get("OOMKilled") or state.get("Error"):
        return True
    return (state.get("Status") in ("exited", "stopped") and int(state.get("ExitCode") or 0) != 0) or \
        int(container.get("RestartCount") or 0) > 0


def _diagnose(container: dict[str, Any], prefix: str, evidence: list[str]) -> dx.Diagnosis:
    state = container["State"]
    config = container.get("Config") or {}
    redact = Redactor(config.get("Env") or ())
    code = int(state.get("ExitCode") or 0)
    error = redact(state.get("Error") or "")
    lines = redact.lines(_logs(container["Id"]))
    limit = (container.get("HostConfig") or {}).get("Memory") or None
    oom = bool(state.get("OOMKilled")) or (code == 137 and _kernel_oom(container["Id"]))
    if oom:
        evidence.append(f"{_short(container, prefix)}: memory limit {format_memory(limit) if limit else 'none'}, "
                        "peak usage not known (podman keeps none after the exit)")
        return dx.diagnose_exit(code, oom_killed=True, memory_limit=limit, last_lines=lines)
    text = "\n".join([error, *lines])
    if "exec format error" in text.lower():
        image = config.get("Image") or container.get("ImageName")
        inspected = _podman("image", "inspect", "--format", "{{.Architecture}}", container.get("Image") or "")
        image_arch = inspected.stdout.strip() if inspected.returncode == 0 else None
        match = _EXEC_PATH.search(text)
        evidence.append(f"image Architecture: {image_arch}; host: {dx.normalize_architecture(os.uname().machine)}")
        return dx.diagnose_exec_format(code, image=image, image_arch=image_arch, host_arch=os.uname().machine,
                                       path=match.group(1) if match else None, last_lines=lines)
    denied = [line for line in lines if dx.is_access_denied(line)]
    if denied and not error and code not in (126, 127):
        access = _path_access(container, denied)
        if access is not None:
            evidence.append(f"mount {access.target}: {access.kind} {access.source}, owner uid {access.owner_uid}, "
                            f"mode {access.mode & 0o7777:04o}; container user {_user_text(container)}")
            return dx.diagnose_permission(access, code, lines)
    return dx.diagnose_exit(code, memory_limit=limit, error=error or None, last_lines=lines)


def _short(container: dict[str, Any], prefix: str) -> str:
    name = str(container.get("Name") or container["Id"][:12])
    return name[len(prefix):] if name.startswith(prefix) else name


def _logs(cid: str) -> list[str]:
    result = subprocess.run(["podman", "logs", "--tail", str(_TAIL), cid], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, errors="replace", timeout=60, check=False)
    if result.returncode != 0:
        return []
    return [clip(line, 400) for line in result.stdout.splitlines()
            if line.strip() and not line.startswith("failed to connect to syslog")]


def _kernel_oom(cid: str) -> bool:
    from dockpod.runtime.podman import kernel_oom_kill

    return kernel_oom_kill(cid)


def _podman(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["podman", *args], capture_output=True, text=True, timeout=120, check=False)
