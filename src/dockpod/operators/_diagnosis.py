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
    "PathAccess",
    "diagnose_crash_loop",
    "diagnose_exec_format",
    "diagnose_exit",
    "diagnose_init_failed",
    "diagnose_missing_image",
    "diagnose_non_root",
    "diagnose_permission",
    "diagnose_pod",
    "diagnose_pull",
    "diagnose_timeout",
    "elf_architecture",
    "explain_exit",
    "image_runs_as_root",
    "is_access_denied",
    "normalize_architecture",
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
    ``timeout``, ``runs_as_root``, ``exit_code``, ``start_failed``, ``config_error``, ``crash_loop``,
    ``init_failed``.
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
    denied = next((line for line in reversed(lines) if is_access_denied(line)), None)
    if denied is not None and not error:
        return Diagnosis(
            "permission_denied",
            f"The container's process was denied access to a file or folder (exit code {exit_code}): "
            f"{_clip(denied)}.",
            "Make the path writable (or readable) for the container's user: chown the host folder or the "
            "volume to its uid, mount the volume where the image made a folder owned by that user, or set "
            "security user= to the owner's uid. `dockpod doctor` names the owner and the uid.",
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
        peak = peak or " (peak usage not known)"
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


#: Log phrases of a file access refused by the kernel (EACCES), as shells, Python and coreutils print it.
_ACCESS_DENIED = re.compile(r"permission denied|\[errno 13\]|eacces", re.IGNORECASE)


def is_access_denied(line: str) -> bool:
    """Whether a log line reports a refused file access (not an exec or a registry's pull refusal)."""
    low = line.lower()
    return bool(_ACCESS_DENIED.search(line)) and "exec:" not in low and "pull access denied" not in low


@dataclass(frozen=True)
class PathAccess:
    """What the host says about a mounted path the container was denied: who owns it, its mode.

    ``source`` is the host path (a bind mount's source or a volume's mountpoint), ``target`` where the
    container sees it, ``kind`` ``bind`` or ``volume``; ``uid``/``gid`` the container's user (None when
    the image names a user by name only).
    """

    target: str
    source: str
    kind: str
    owner_uid: int
    owner_gid: int
    mode: int
    uid: int | None
    gid: int | None = None
    volume: str | None = None

    def allows(self, want: str = "w") -> bool | None:
        """Whether the container's user may ``r``/``w`` the folder by its mode bits (None: unknown user)."""
        if self.uid is None:
            return None
        if self.uid == 0:
            return True
        bit = {"r": 4, "w": 2, "x": 1}[want]
        if self.uid == self.owner_uid:
            return bool(self.mode >> 6 & bit)
        if self.gid is not None and self.gid == self.owner_gid:
            return bool(self.mode >> 3 & bit)
        return bool(self.mode & bit)


def diagnose_permission(access: PathAccess, exit_code: int, last_lines: Sequence[str] = ()) -> Diagnosis:
    """Permission denied on a mounted path: the owner uid and mode on the host against the container's uid."""
    who = f"uid {access.uid}" if access.uid is not None else "a user named in the image"
    what = (f"the bind mount of {access.source}" if access.kind == "bind"
            else f"the volume {access.volume or access.source} (on the host {access.source})")
    owner = f"owned by uid {access.owner_uid} (gid {access.owner_gid}) with mode {access.mode & 0o7777:04o}"
    verdict = {True: "", False: f", which gives {who} no write access", None: ""}[access.allows("w")]
    if access.kind == "bind":
        chown = f"{access.uid}:{access.gid if access.gid is not None else access.uid}" if access.uid else "UID:GID"
        fix = (f"Give the folder to the container's user (chown -R {chown} {access.source} on the host, or "
               "chmod it so that user may write), or mount a folder that user owns.")
    else:
        fix = ("Mount the volume where the image created a folder owned by the container's user (an empty named "
               "volume copies that ownership), or chown the volume in an init step; do not run the task as root "
               "to get around it.")
    return Diagnosis(
        "permission_denied",
        f"The container's user ({who}) was denied access to {access.target} (exit code {exit_code}): it is "
        f"{what}, {owner}{verdict}.",
        fix,
        tuple(last_lines[-LAST_LINES:]),
    )


#: ELF e_machine numbers of the architectures containers run on, by Go/OCI architecture name.
_ELF_MACHINES = {3: "386", 8: "mips", 20: "ppc", 21: "ppc64le", 22: "s390x", 40: "arm", 62: "amd64",
                 183: "arm64", 243: "riscv64", 258: "loong64"}
_ARCH_ALIASES = {"x86_64": "amd64", "x86-64": "amd64", "aarch64": "arm64", "armv7l": "arm", "armhf": "arm",
                 "i386": "386", "i686": "386", "ppc64el": "ppc64le"}


def normalize_architecture(name: str | None) -> str | None:
    """The OCI name of an architecture (``x86_64`` -> ``amd64``, ``aarch64`` -> ``arm64``)."""
    if not name:
        return None
    low = name.strip().lower()
    return _ARCH_ALIASES.get(low, low)


def elf_architecture(header: bytes) -> str | None:
    """The architecture an ELF file was built for, from its first 20 bytes; None if it is not ELF."""
    if len(header) < 20 or header[:4] != b"\x7fELF":
        return None
    order = "little" if header[5] == 1 else "big"
    machine = int.from_bytes(header[18:20], order)
    return _ELF_MACHINES.get(machine, f"ELF machine {machine}")


def diagnose_exec_format(
    exit_code: int,
    *,
    image: str | None,
    image_arch: str | None,
    host_arch: str | None,
    path: str | None = None,
    file_arch: str | None = None,
    last_lines: Sequence[str] = (),
) -> Diagnosis:
    """Exec format error, with the architecture the image (and the failing file) was built for vs the host's."""
    image_arch, host_arch = normalize_architecture(image_arch), normalize_architecture(host_arch)
    program = path or "the container's program"
    facts = []
    if image and image_arch:
        facts.append(f"the image {image} is built for {image_arch}")
    if file_arch:
        facts.append(f"{program} is an ELF executable for {file_arch}")
    elif path and image_arch == host_arch:
        facts.append(f"{program} is not an executable this kernel can load (not ELF for the host, no #! line)")
    facts.append(f"the host is {host_arch or 'of another architecture'}")
    if image_arch and host_arch and image_arch != host_arch:
        fix = (f"Use an image built for {host_arch}: build with docker build --platform linux/{host_arch}, or "
               "push a multi-architecture tag (docker buildx / manifest list); running it here needs "
               "qemu-user emulation (binfmt_misc), which this host does not have.")
    else:
        fix = (f"Rebuild {program} for {host_arch or 'the host'} (or give a script its #! line); the image's "
               "metadata matches the host, so a binary of another architecture was copied into it.")
    return Diagnosis(
        "exec_format",
        f"{program[0].upper() + program[1:]} could not run (exit code {exit_code}): exec format error, "
        f"{', '.join(facts)}.",
        fix,
        tuple(last_lines[-LAST_LINES:]),
    )


def diagnose_crash_loop(restarts: int, last: Diagnosis, *, policy: str | None = None,
                        backing_off: bool = False) -> Diagnosis:
    """A container that keeps failing and being restarted: how often, and why it failed the last time."""
    by = f" by its restart policy {policy}" if policy else ""
    state = "; it is now waiting to be restarted again (CrashLoopBackOff)" if backing_off else ""
    inner = last.message.rstrip(".")
    inner = inner[0].lower() + inner[1:] if inner else inner
    return Diagnosis(
        "crash_loop",
        f"The container keeps crashing: it was restarted {restarts} time{'s' if restarts != 1 else ''}{by}"
        f"{state}, and each time {inner}.",
        "Restarting does not help a failure that is the same every time: fix the cause below, then restart. "
        + (last.fix or ""),
        last.last_lines,
    )


def diagnose_init_failed(name: str, last: Diagnosis) -> Diagnosis:
    """An init container failed, so the main container never started."""
    inner = last.message.rstrip(".")
    inner = inner[0].lower() + inner[1:] if inner else inner
    return Diagnosis(
        "init_failed",
        f"Init container {name!r} failed, so the main container never started: {inner}.",
        f"Fix init container {name!r} first (its command, image or what it waits for); "
        + (last.fix or "its last log lines say why."),
        last.last_lines,
    )


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

    ``remote_pod`` is a ``V1Pod`` (read by attribute, so nothing of the client is imported here). A failed
    init container is named first (the main container never ran); a main container in CrashLoopBackOff is
    explained from its last termination. Returns None when the status says nothing more than
    KubernetesPodOperator's own message.
    """
    status_block = getattr(remote_pod, "status", None) if remote_pod is not None else None
    for init in getattr(status_block, "init_container_statuses", None) or ():
        found = _container_status_diagnosis(init, None)
        if found is not None:
            return diagnose_init_failed(init.name, found)
    statuses = [*(getattr(status_block, "container_statuses", None) or ())]
    status = next((s for s in statuses if s.name == container), None)
    return _container_status_diagnosis(status, memory_limit)


def _container_status_diagnosis(status: Any, memory_limit: int | None) -> Diagnosis | None:
    """One V1ContainerStatus: pull errors, config errors, crash loops, or the termination."""
    state = getattr(status, "state", None)
    waiting = getattr(state, "waiting", None)
    if waiting is not None and waiting.reason in ("ErrImagePull", "ImagePullBackOff", "InvalidImageName"):
        return diagnose_pull(getattr(status, "image", "") or "the image", waiting.message or waiting.reason)
    if waiting is not None and waiting.reason == "CreateContainerConfigError":
        return Diagnosis("config_error", f"The container could not be created: {_clip(waiting.message or '')}.",
                         "A Secret or ConfigMap (or one of its keys) that the task references does not exist "
                         "in the namespace: create it, or fix the reference.")
    restarts = int(getattr(status, "restart_count", 0) or 0)
    if waiting is not None and waiting.reason == "CrashLoopBackOff":
        last = getattr(getattr(status, "last_state", None), "terminated", None)
        inner = (_terminated_diagnosis(last, memory_limit) if last is not None else
                 Diagnosis("exit_code", "The container exited with an error the status does not record."))
        return diagnose_crash_loop(restarts, inner, backing_off=True)
    terminated = getattr(state, "terminated", None)
    if terminated is None or (terminated.exit_code == 0 and (terminated.reason or "") != "OOMKilled"):
        return None
    found = _terminated_diagnosis(terminated, memory_limit)
    return diagnose_crash_loop(restarts, found) if restarts > 0 else found


def _terminated_diagnosis(terminated: Any, memory_limit: int | None) -> Diagnosis:
    reason = terminated.reason or ""
    return diagnose_exit(
        int(terminated.exit_code if terminated.exit_code is not None else -1),
        oom_killed=reason == "OOMKilled",
        memory_limit=memory_limit,
        error=terminated.message if reason in ("StartError", "ContainerCannotRun") else None,
    )
