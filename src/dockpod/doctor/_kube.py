"""Kubernetes pods: read the pod from the cluster of the kubeconfig, explain it from its status.

:func:`doctor_pod_object` is pure (a ``V1Pod`` in, a finding out) and shares
:func:`dockpod.operators._diagnosis.diagnose_pod` with KubernetesPodOperator's failure messages.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from dockpod.doctor._finding import Finding, clip, from_diagnosis
from dockpod.errors import DockpodError, SpecError
from dockpod.operators import _diagnosis as dx
from dockpod.spec import parse_memory

__all__ = ["doctor_kubernetes_pod", "doctor_pod_object", "find_kubeconfig"]

BASE_CONTAINER = "base"


def find_kubeconfig() -> Path | None:
    """The kubeconfig kubectl would use: the first existing file of KUBECONFIG, else ~/.kube/config."""
    listed = os.environ.get("KUBECONFIG")
    candidates = [Path(p).expanduser() for p in listed.split(os.pathsep) if p] if listed else []
    candidates.append(Path("~/.kube/config").expanduser())
    return next((path for path in candidates if path.is_file()), None)


def doctor_kubernetes_pod(namespace: str, name: str, *, container: str = BASE_CONTAINER) -> Finding:
    """Read pod ``namespace/name`` through the kubeconfig's cluster and explain its failure."""
    config_file = find_kubeconfig()
    if config_file is None:
        raise DockpodError(
            f"No kubeconfig was found (KUBECONFIG is {'unset' if 'KUBECONFIG' not in os.environ else 'empty'} "
            f"and ~/.kube/config does not exist), so the Kubernetes pod {namespace}/{name} cannot be read.",
            fix="Point KUBECONFIG at the cluster's config file, or run dockpod doctor on the task's log file.")
    try:
        from kubernetes import client, config
        from kubernetes.client.exceptions import ApiException
    except ImportError:
        raise DockpodError("The kubernetes client is not installed.",
                           fix="Install dockpod with the kubernetes provider "
                               "(apache-airflow-providers-cncf-kubernetes).") from None
    try:
        config.load_kube_config(config_file=str(config_file))
        pod = client.CoreV1Api().read_namespaced_pod(name, namespace, _request_timeout=30)
    except ApiException as exc:
        if exc.status == 404:
            raise DockpodError(f"The cluster has no pod {name!r} in namespace {namespace!r}.",
                               fix="KubernetesPodOperator deletes finished pods unless on_finish_action="
                                   "'keep_pod'; read the task's log file instead.") from None
        raise DockpodError(f"Reading pod {namespace}/{name} failed: {exc.status} {exc.reason}.",
                           fix="Check the kubeconfig's context and the RBAC rights to get pods.") from None
    except Exception as exc:
        raise DockpodError(f"The cluster of {config_file} could not be reached ({clip(str(exc), 160)}).",
                           fix="Check the kubeconfig's server and context.") from None
    return doctor_pod_object(pod, container=container)


def doctor_pod_object(pod: Any, *, container: str = BASE_CONTAINER) -> Finding:
    """Explain a ``V1Pod`` (as the API returns it): init containers, pull errors, crash loops, exits."""
    meta = getattr(pod, "metadata", None)
    subject = f"{getattr(meta, 'namespace', None) or 'default'}/{getattr(meta, 'name', None) or '?'}"
    limit = _memory_limit(pod, container)
    status = getattr(pod, "status", None)
    evidence = [f"phase: {getattr(status, 'phase', None)}"]
    for kind, statuses in (("init container", getattr(status, "init_container_statuses", None)),
                           ("container", getattr(status, "container_statuses", None))):
        for item in statuses or ():
            evidence.append(f"{kind} {item.name}: {_state_text(item)}, restarts {item.restart_count or 0}")
    diagnosis = dx.diagnose_pod(pod, container, limit)
    if diagnosis is None:
        phase = getattr(status, "phase", None)
        if phase in ("Succeeded", "Running", "Pending"):
            return Finding("kubernetes", subject, "no_failure",
                           f"Pod {subject} is {phase} and its status records no failure.", None, tuple(evidence))
        return Finding("kubernetes", subject, "unknown",
                       f"Pod {subject} is {phase or 'in an unknown phase'} but its status does not say why.",
                       f"Read the pod's events (kubectl describe pod -n {subject.replace('/', ' ')}) and its "
                       "container logs.", tuple(evidence))
    return from_diagnosis("kubernetes", subject, diagnosis, evidence, prefix=f"Pod {subject}: ")


def _memory_limit(pod: Any, container: str) -> int | None:
    spec = getattr(pod, "spec", None)
    for item in getattr(spec, "containers", None) or ():
        if item.name == container:
            limits = getattr(getattr(item, "resources", None), "limits", None) or {}
            try:
                return parse_memory(limits["memory"], "limits.memory") if "memory" in limits else None
            except SpecError:
                return None
    return None


def _state_text(status: Any) -> str:
    state = getattr(status, "state", None)
    if getattr(state, "waiting", None) is not None:
        return f"waiting ({state.waiting.reason})"
    if getattr(state, "terminated", None) is not None:
        term = state.terminated
        return f"terminated ({term.reason}, exit code {term.exit_code})"
    if getattr(state, "running", None) is not None:
        return "running"
    return "unknown state"
