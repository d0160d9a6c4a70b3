"""``dockpod doctor``: explain a failed run in one sentence plus the fix.

A target is a Docker container (name or id), a podman pod (``podman:NAME`` or a pod's name), a
Kubernetes pod (``k8s:NAMESPACE/NAME``, read through the kubeconfig), an image reference
(``image:REF``: can it be pulled, and if not why) or an Airflow task log file (a path). The answer is a
frozen :class:`Finding`; the explanations are the ones dockpod's operators put in their failure
messages (:mod:`dockpod.operators._diagnosis`), so the doctor and the task log agree.

    from dockpod.doctor import doctor
    finding = doctor("my-container")
    print(finding)            # the sentence, "Fix: ...", then the evidence lines
    finding.cause             # "oom_killed", "permission_denied", ...
"""

from __future__ import annotations

from pathlib import Path

from dockpod.doctor._finding import CAUSES, KINDS, Finding
from dockpod.doctor._kube import doctor_pod_object, find_kubeconfig
from dockpod.doctor._logs import doctor_log, doctor_log_text
from dockpod.errors import DockpodError

__all__ = [
    "CAUSES",
    "KINDS",
    "Finding",
    "doctor",
    "doctor_log",
    "doctor_log_text",
    "doctor_pod_object",
    "find_kubeconfig",
]

_PREFIXES = {"docker": "container", "container": "container", "podman": "pod", "pod": "pod",
             "k8s": "kubernetes", "kubernetes": "kubernetes", "log": "log", "file": "log", "image": "image"}


def doctor(target: str) -> Finding:
    """Explain why ``target`` failed; raises :class:`DockpodError` (one sentence and the fix) for bad input.

    The kind is taken from a prefix (``docker:``, ``podman:``, ``k8s:``, ``image:``, ``log:``), else
    detected: an existing file is a log, then a podman pod of that name, then a Docker container.
    """
    target = (target or "").strip()
    if not target:
        raise DockpodError("No target was given.", fix=_USAGE)
    prefix, sep, rest = target.partition(":")
    kind = _PREFIXES.get(prefix.lower()) if sep and rest else None
    if kind is not None:
        return _run(kind, rest.strip())
    path = Path(target).expanduser()
    if path.exists():
        return doctor_log(path)
    if "/" in target and (target.endswith((".log", ".txt")) or target.startswith((".", "/", "~"))):
        raise DockpodError(f"The log file {target} does not exist.", fix="Check the path.")
    from dockpod.doctor._pods import pod_exists

    if pod_exists(target):
        return _run("pod", target)
    from dockpod.doctor._containers import docker_client, doctor_container, inspect_container

    try:
        client = docker_client()
    except DockpodError as exc:
        raise DockpodError(f"{target!r} is no log file or podman pod, and Docker containers cannot be looked up: "
                           f"{exc.message[0].lower()}{exc.message[1:]}", fix=exc.fix) from None
    info = inspect_container(client, target)
    if info is None:
        raise DockpodError(f"No Docker container, podman pod or log file named {target!r} was found.",
                           fix="Check the name (docker ps -a, podman pod ps) or the log file's path; for a "
                               "Kubernetes pod use k8s:NAMESPACE/NAME, for an image image:REF.")
    return doctor_container(target, client=client, info=info)


_USAGE = ("Give a Docker container name or id, podman:POD, k8s:NAMESPACE/POD, image:REF or the path of a task "
          "log file.")


def _run(kind: str, name: str) -> Finding:
    if kind == "log":
        return doctor_log(Path(name).expanduser())
    if kind == "pod":
        from dockpod.doctor._pods import doctor_pod

        return doctor_pod(name)
    if kind == "container":
        from dockpod.doctor._containers import doctor_container

        return doctor_container(name)
    if kind == "image":
        from dockpod.doctor._containers import doctor_image

        return doctor_image(name)
    namespace, sep, pod = name.partition("/")
    if not sep or not namespace or not pod:
        raise DockpodError(f"k8s:{name} does not name a pod as NAMESPACE/NAME.",
                           fix="Write e.g. k8s:airflow/etl-abc12.")
    from dockpod.doctor._kube import doctor_kubernetes_pod

    return doctor_kubernetes_pod(namespace, pod)
