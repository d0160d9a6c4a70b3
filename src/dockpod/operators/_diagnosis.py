"""Why a container failed, in one sentence plus what to do: shared by every local runner and the doctor.

Pure functions of what the engine reports (exit code, ``OOMKilled``, the ``State.Error`` text, the
last log lines, a pull error): no Airflow, docker or kubernetes import, so ``dockpod doctor`` and the
podman runner word their findings exactly like the Docker operator does.
"""

from __future__ import annotations

import re
import signal
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from dockpod.spec import format_memory

__all__ = [
    "LAST_LINES",
    "Diagnosis",
    "diagnose_exit",
    "diagnose_missing_image",
    "diagnose_non_root",
    "diagnose_pull",
    "diagnose_timeout",
    "explain_exit",
    "image_runs_as_root",
]

#: How many log lines a failure message quotes.
LAST_LINES = 5
_LINE_WIDTH = 200

# Substrings of engine and registry messages, lower case, by cause.
_NOT_FOUND = ("manifest unknown", "not found", "no such image", "repository does not exist", "name unknown")
_AUTH = ("unauthorized", "authentication required", "no basic auth credentials", "denied",
         "docker login", "incorrect username or password")
_UNREACHABLE = ("connection refused", "no such host", "i/o timeout", "dial tcp", "network is unreachable",
                "tls handshake timeout", "timeout exceeded", "connection reset", "no route to host",
                "server gave http response to https client", "x509:", "certificate")
_COMMAND_NOT_FOUND = ("executable file not found", "no such file or directory")
_EXEC_FORMAT = "exec format error"


@dataclass(frozen=True)
class Diagnosis:
    """A failure explained: a short ``cause`` id, one sentence, what to do, and the last log lines.

    ``cause`` is one of ``oom``, ``command_not_found``, ``permission_denied``, ``exec_format``,
    ``image_not_found``, ``registry_unreachable``, ``auth_required``, ``pull_failed``, ``signal``,
    ``timeout``, ``runs_as_root``, ``exit_code``, ``start_failed``.
    """

    cause: str
    message: str
    fix: str | None = None
    last_lines: tuple[str, ...] = ()

    @property
    def advice(self) -> str | None:
        """The fix followed by the quoted log lines: everything after the first sentence."""
        lines = [line[:_LINE_WIDTH] for line in self.last_lines[-LAST_LINES:] if line.strip()]
        quoted = "Last log lines:\n" + "\n".join(f"  | {line}" for line in lines) if lines else ""
        return "\n".join(part for part in (self.fix, quoted) if part) or None

    def __str__(self) -> str:
        advice = self.advice
        if not advice:
            return self.message
        return f"{self.message}{chr(10) if advice.startswith('Last log') else ' '}{advice}"


def explain_exit(
    exit_code: int,
    *,
    oom_killed: bool = False,
    memory_limit: int | None = None,
    memory_peak: int | None = None,
    error: str | None = None,
    last_lines: Sequence[str] = (),
) -> str:
    """Explain why a container exited with ``exit_code``: one sentence, the fix, the last log lines."""
    return str(diagnose_exit(exit_code, oom_killed=oom_killed, memory_limit=memory_limit,
                             memory_peak=memory_peak, error=error, last_lines=last_lines))


def diagnose_exit(
    exit_code: int,
    *,
    oom_killed: bool = False,
    memory_limit: int | None = None,
    memory_peak: int | None = None,
    error: str | None = None,
    last_lines: Sequence[str] = (),
) -> Diagnosis:
    """Explain a non-zero exit (or a failed start) from the engine's report of the container.

    ``error`` is ``State.Error`` (set when the runtime could not start the process), ``last_lines``
    the container's last log lines (already stripped of secret values by the caller).
    """
    error = " ".join((error or "").split())
    lines = tuple(last_lines[-LAST_LINES:])
    low_error = error.lower()
    exec_error = "exec:" in low_error or "exec " in low_error
    if oom_killed:
        return _oom(exit_code, memory_limit, memory_peak)
    if _EXEC_FORMAT in "\n".join([low_error, *lines]).lower():
        return Diagnosis(
            "exec_format",
            f"The container's program could not run (exit code {exit_code}): exec format error, the "
            "executable was built for another CPU architecture than the Docker host's.",
            "Build or pull the image for the host's platform (docker build --platform, or a "
            "multi-architecture tag).",
            lines,
        )
    if exit_code == 127 or (exec_error and any(s in low_error for s in _COMMAND_NOT_FOUND)):
        return Diagnosis(
            "command_not_found",
            f"The container's command was not found (exit code {exit_code}){_detail(error)}.",
            "Check entrypoint and command: `command` alone keeps the image's ENTRYPOINT and passes "
            "arguments to it, `entrypoint` replaces it; the program must exist in the image's PATH.",
            lines,
        )
    if exit_code == 126 or (exec_error and "permission denied" in low_error):
        return Diagnosis(
            "permission_denied",
            "The container's command could not be executed, permission denied or not an executable file "
            f"(exit code {exit_code}){_detail(error)}.",
            "Make the file executable in the image (chmod +x in the Dockerfile), run it through its "
            "interpreter (e.g. ['python3', 'script.py']), or check that the container's user may read it.",
            lines,
        )
    if "image" in low_error and any(s in low_error for s in _NOT_FOUND):
        return Diagnosis("image_not_found", f"The container's image was not found: {_clip(error)}.",
                         "Build or push the image, or fix its name and tag.")
    if error:
        return Diagnosis("start_failed", f"The container could not be started: {_clip(error)}.", None, lines)
    if exit_code > 128 and (name := _signal_name(exit_code - 128)):
        return Diagnosis(
            "signal",
            f"The container was killed by {name} (exit code {exit_code}) without an out-of-memory kill "
            "being recorded.",
            "Something stopped it from outside (docker stop or kill, a task timeout, or the host's "
            "OOM killer when no memory limit was set); check the host and the task's timeouts.",
            lines,
        )
    return Diagnosis("exit_code", f"The container exited with code {exit_code}.",
                     None if lines else "It printed nothing; check the program's exit codes.", lines)


def _oom(exit_code: int, memory_limit: int | None, memory_peak: int | None) -> Diagnosis:
    peak = f", peak usage {format_memory(memory_peak)}" if memory_peak else ""
    if memory_limit:
        return Diagnosis(
            "oom",
            f"The container was OOM-killed (exit code {exit_code}): it used more memory than its limit "
            f"of {format_memory(memory_limit)}{peak}.",
            f"Raise resources.memory_limit above {format_memory(memory_limit)} (and memory_request with "
            "it), or make the task use less memory, e.g. by processing its input in chunks.",
        )
    return Diagnosis(
        "oom",
        f"The container was OOM-killed (exit code {exit_code}) without a memory limit of its own: the "
        f"host ran out of memory{peak}.",
        "Set resources.memory_limit so the task fails alone and predictably, and give the host more memory.",
    )


def diagnose_timeout(timeout: int, last_lines: Sequence[str] = ()) -> Diagnosis:
    """Explain that the container ran longer than the spec's ``timeout`` and was stopped."""
    return Diagnosis(
        "timeout",
        f"The container timed out after {timeout} s and was stopped.",
        "Raise the task's timeout, or find out why it ran that long.",
        tuple(last_lines[-LAST_LINES:]),
    )


def diagnose_pull(image: str, error: str) -> Diagnosis:
    """Explain a failed pull: image or tag not found, registry unreachable, or login needed."""
    low = error.lower()
    detail = _clip(error)
    registry = _registry(image)
    if any(s in low for s in _AUTH):
        maybe_missing = " (or the repository does not exist)" if "does not exist" in low else ""
        return Diagnosis(
            "auth_required",
            f"Pulling {image} failed: the registry {registry} requires authentication{maybe_missing} "
            f"({detail}).",
            f"Set docker_conn_id in the profile to an Airflow Docker connection holding a login for "
            f"{registry}, or run `docker login {registry}` for the worker's Docker engine.",
        )
    if any(s in low for s in _UNREACHABLE):
        return Diagnosis(
            "registry_unreachable",
            f"Pulling {image} failed: the registry {registry} is unreachable ({detail}).",
            "Start the registry or fix its address (registry_rewrites in the profile); a registry "
            "served over plain http must be listed as an insecure registry of the Docker engine.",
        )
    if any(s in low for s in _NOT_FOUND):
        return Diagnosis(
            "image_not_found",
            f"Pulling {image} failed: the image or its tag was not found in {registry} ({detail}).",
            "Check the repository name and tag, and push the image (e.g. make image) before running.",
        )
    return Diagnosis("pull_failed", f"Pulling {image} failed: {detail}.",
                     "Check the Docker engine's log and the registry.")


def diagnose_missing_image(image: str) -> Diagnosis:
    """``image_pull_policy='Never'`` and the image is not on the Docker host."""
    return Diagnosis(
        "image_not_found",
        f"The image {image} is not present on the Docker host and image_pull_policy is Never.",
        "Build or pull it first (docker pull / docker build), or use image_pull_policy='IfNotPresent'.",
    )


def image_runs_as_root(image_user: str | None) -> bool | None:
    """Whether an image's ``Config.User`` runs as root: True, False, or None when it names a user by name."""
    user = (image_user or "").split(":", 1)[0].strip()
    if user in ("", "0", "root"):
        return True
    return False if user.isdigit() else None


def diagnose_non_root(image: str, image_user: str | None) -> Diagnosis | None:
    """Kubernetes' refusal of an image that would run as root under ``runAsNonRoot``; None if it may run."""
    verdict = image_runs_as_root(image_user)
    fix = ("Set security user='1000:1000' (any non-zero uid:gid the image can run as) in the task's spec, "
           "or run_as_non_root=False if the task truly needs root.")
    if verdict is True:
        return Diagnosis(
            "runs_as_root",
            f"container has runAsNonRoot and image will run as root (image {image} has "
            f"{'no USER' if not image_user else f'USER {image_user}'}); Kubernetes would refuse to start it "
            "the same way.",
            fix,
        )
    if verdict is None:
        return Diagnosis(
            "runs_as_root",
            f"container has runAsNonRoot and image has non-numeric user ({image_user}), cannot verify user "
            f"is non-root (image {image}); Kubernetes would refuse to start it the same way.",
            fix,
        )
    return None


def _signal_name(number: int) -> str | None:
    try:
        return signal.Signals(number).name
    except ValueError:
        return None


def _clip(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= 300 else text[:297] + "..."


def _detail(error: str) -> str:
    match = re.search(r'exec: "[^"]*": [^:]+', error) if error else None
    if match:
        return f": {match.group(0)}"
    return f": {_clip(error)}" if error else ""


def _registry(image: str) -> str:
    first = image.split("/", 1)[0]
    return first if "/" in image and (first == "localhost" or re.search(r"[.:]", first)) else "docker.io"


def diagnose_pod(remote_pod: Any, container: str, memory_limit: int | None) -> Diagnosis | None:
    """Explain why a pod's ``container`` failed, from its status as the Kubernetes API returns it.

    ``remote_pod`` is a ``V1Pod`` (read by attribute, so nothing of the client is imported here).
    Returns None when the status says nothing more than KubernetesPodOperator's own message.
    """
    statuses = [*(getattr(remote_pod.status, "container_statuses", None) or ())] if remote_pod else []
    status = next((s for s in statuses if s.name == container), None)
    state = getattr(status, "state", None)
    waiting = getattr(state, "waiting", None)
    if waiting is not None and waiting.reason in ("ErrImagePull", "ImagePullBackOff", "InvalidImageName"):
        return diagnose_pull(getattr(status, "image", "") or "the image", waiting.message or waiting.reason)
    if waiting is not None and waiting.reason == "CreateContainerConfigError":
        return Diagnosis("config_error", f"The container could not be created: {_clip(waiting.message or '')}.",
                         "A Secret or ConfigMap (or one of its keys) that the task references does not exist "
                         "in the namespace: create it, or fix the reference.")
    terminated = getattr(state, "terminated", None)
    if terminated is None:
        return None
    reason = terminated.reason or ""
    return diagnose_exit(
        int(terminated.exit_code if terminated.exit_code is not None else -1),
        oom_killed=reason == "OOMKilled",
        memory_limit=memory_limit,
        error=terminated.message if reason in ("StartError", "ContainerCannotRun") else None,
    )
