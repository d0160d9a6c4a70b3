"""Pod templates: what a template adds to a task, merged the way KubernetesPodOperator merges it.

In production the provider does the merge itself (``pod_template_file``: ``PodGenerator.reconcile_pods``,
the task's own values winning). For the local runtime this module reads the same template into the
spec's terms, following the provider's rules, so that the laptop runs what the cluster would:

* the template's init containers run first (an init container with ``restartPolicy: Always`` is a
  native sidecar), then the task's own;
* the template's containers other than the first are sidecars (the first is the task's own container,
  ``base``, whose fields the task overrides);
* the first container's env, envFrom and volume mounts come before the task's (a name set by both:
  the task's value, as Kubernetes keeps the last);
* the pod's securityContext ``runAsUser``/``runAsGroup``/``fsGroup`` apply where the task sets no user;
* volumes: emptyDir (Memory: tmpfs), hostPath, configMap, secret and persistentVolumeClaim.

Anything else in a template that changes how the task runs (e.g. ``hostNetwork``, a container port,
a lifecycle hook) is a :class:`TranslationError` for the local profile, never dropped in silence.
Scheduling fields (nodeSelector, affinity, tolerations, priorityClassName, serviceAccountName...) have
no local meaning and are left to Kubernetes.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from typing import Any

from dockpod.errors import SpecError, TranslationError
from dockpod.spec import ContainerSpec, Secret, Volume

__all__ = ["TemplateParts", "load_template", "merge_template", "template_parts"]

#: PodSpec fields that only place or account for the pod: nothing to run differently locally.
SCHEDULING = frozenset({
    "affinity", "nodeSelector", "nodeName", "tolerations", "priorityClassName", "priority", "schedulerName",
    "serviceAccountName", "serviceAccount", "automountServiceAccountToken", "imagePullSecrets",
    "topologySpreadConstraints", "runtimeClassName", "preemptionPolicy", "overhead", "restartPolicy",
    "terminationGracePeriodSeconds", "activeDeadlineSeconds", "dnsPolicy", "enableServiceLinks",
    "containers", "initContainers", "volumes", "securityContext", "hostname", "subdomain", "hostAliases",
    "dnsConfig", "readinessGates", "setHostnameAsFQDN", "os",
})
CONTAINER_FIELDS = frozenset({
    "name", "image", "command", "args", "workingDir", "env", "envFrom", "volumeMounts", "resources",
    "securityContext", "imagePullPolicy", "livenessProbe", "readinessProbe", "startupProbe", "restartPolicy",
    "terminationMessagePath", "terminationMessagePolicy",
})


@dataclass(frozen=True)
class TemplateParts:
    """What a pod template adds to a task, in the spec's terms."""

    path: str
    init_containers: tuple[ContainerSpec, ...] = ()
    sidecars: tuple[ContainerSpec, ...] = ()
    env: tuple[tuple[str, str], ...] = ()
    secrets: tuple[Secret, ...] = ()
    volumes: tuple[Volume, ...] = ()
    user: str | None = None
    fs_group: int | None = None


def load_template(path: str) -> dict[str, Any]:
    """The pod template at ``path`` as a mapping; a clear error when it is missing or not a Pod."""
    return _load(os.path.abspath(os.path.expanduser(path)), os.path.getmtime(path) if os.path.exists(path) else 0)


@functools.cache
def _load(path: str, _mtime: float) -> dict[str, Any]:
    from ruamel.yaml import YAML, YAMLError

    try:
        with open(path, encoding="utf-8") as handle:
            document = YAML(typ="safe").load(handle)
    except FileNotFoundError:
        raise TranslationError("pod_template_file", "docker", f"the pod template {path} does not exist",
                               fix="Fix the path in the profile or the task, or create the file.") from None
    except (OSError, YAMLError) as exc:
        raise TranslationError("pod_template_file", "docker", f"the pod template {path} cannot be read: "
                               f"{' '.join(str(exc).split())[:200]}", fix="Make it one YAML document, a v1 Pod.") \
            from None
    if not isinstance(document, dict) or document.get("kind", "Pod") != "Pod" or not isinstance(
            document.get("spec"), dict):
        raise TranslationError("pod_template_file", "docker", f"{path} is not a Pod manifest",
                               fix="A pod template is one YAML document with kind: Pod and a spec.")
    return document


def template_parts(path: str) -> TemplateParts:
    """Read the template at ``path`` into :class:`TemplateParts`.

    Read and validated once per version of the file: every DAG parse of every task using it asks again.
    """
    full = os.path.abspath(os.path.expanduser(path))
    return _parts(full, os.path.getmtime(full) if os.path.exists(full) else 0)


@functools.cache
def _parts(path: str, _mtime: float) -> TemplateParts:
    pod_spec = load_template(path)["spec"]
    unknown = sorted(set(pod_spec) - SCHEDULING)
    if unknown:
        raise TranslationError(
            f"pod_template_file {path}", "docker",
            f"the template sets {', '.join(unknown)}, which the local runtime cannot honour",
            fix="Move it to a production-only template (the profile's pod_template_file), or drop it.")
    volumes = {v.get("name"): v for v in pod_spec.get("volumes") or ()}
    containers = list(pod_spec.get("containers") or ())
    init, sidecars = [], []
    for item in pod_spec.get("initContainers") or ():
        spec = _container(item, volumes, path)
        (sidecars if item.get("restartPolicy") == "Always" else init).append(spec)
    sidecars += [_container(item, volumes, path) for item in containers[1:]]
    env: list[tuple[str, str]] = []
    secrets: list[Secret] = []
    mounts: list[Volume] = []
    if containers:
        base = containers[0]
        _check_fields(base, path)
        env, secrets = _env(base, path)
        mounts, files = _mounts(base, volumes, path)
        secrets += files
    security = pod_spec.get("securityContext") or {}
    user = None
    if security.get("runAsUser") is not None:
        user = f"{security['runAsUser']}" + (f":{security['runAsGroup']}" if security.get("runAsGroup") is not None
                                             else "")
    return TemplateParts(path, tuple(init), tuple(sidecars), tuple(env), tuple(secrets), tuple(mounts), user,
                         security.get("fsGroup"))


def merge_template(spec: ContainerSpec, parts: TemplateParts) -> ContainerSpec:
    """``spec`` with the template's parts under its own, as KubernetesPodOperator's merge gives."""
    env = {**dict(parts.env), **spec.env}
    own_secret_envs = {s.env or s.key for s in spec.secrets if s.as_env}
    secrets = [s for s in parts.secrets if not (s.as_env and (s.env or s.key) in own_secret_envs | set(spec.env))]
    env = {k: v for k, v in env.items() if k not in own_secret_envs}
    taken = {v.target for v in spec.volumes} | {s.path for s in spec.secrets if s.path}
    volumes = [v for v in parts.volumes if v.target not in taken]
    security = spec.security
    if security.user is None and parts.user is not None:
        security = security.model_copy(update={"user": parts.user})
    if security.fs_group is None and parts.fs_group is not None:
        security = security.model_copy(update={"fs_group": parts.fs_group})
    try:
        return ContainerSpec(**{  # the model instances as they are: a dump would read millicores as cores
            **{name: getattr(spec, name) for name in type(spec).model_fields},
            "env": env,
            "secrets": (*secrets, *spec.secrets),
            "volumes": (*volumes, *spec.volumes),
            "security": security,
            "init_containers": (*parts.init_containers, *spec.init_containers),
            "sidecars": (*parts.sidecars, *spec.sidecars),
            "pod_template_file": None,  # applied: merging again would repeat its containers
        })
    except SpecError as exc:
        raise TranslationError(f"pod_template_file {parts.path}", "docker", f"merged with the task it gives {exc}",
                               fix="Rename what the template and the task both define.") from None


# --- Kubernetes container -> spec -------------------------------------------------------------------------


def _check_fields(item: dict[str, Any], path: str) -> None:
    unknown = sorted(set(item) - CONTAINER_FIELDS)
    if unknown:
        raise TranslationError(f"pod_template_file {path}", "docker",
                               f"container {item.get('name')!r} sets {', '.join(unknown)}, which the local "
                               "runtime cannot honour", fix="Drop it from the template, or keep the template "
                               "for production only.")


def _container(item: dict[str, Any], volumes: dict[str, Any], path: str) -> ContainerSpec:
    _check_fields(item, path)
    env, secrets = _env(item, path)
    mounts, files = _mounts(item, volumes, path)
    context = item.get("securityContext") or {}
    user = None
    if context.get("runAsUser") is not None:
        user = f"{context['runAsUser']}" + (f":{context['runAsGroup']}" if context.get("runAsGroup") is not None
                                            else "")
    resources = item.get("resources") or {}
    requests, limits = resources.get("requests") or {}, resources.get("limits") or {}
    fields: dict[str, Any] = {
        "name": item.get("name"),
        "image": item.get("image"),
        "entrypoint": item.get("command"),
        "command": item.get("args"),
        "working_dir": item.get("workingDir"),
        "env": dict(env),
        "secrets": [*secrets, *files],
        "volumes": mounts,
        "image_pull_policy": item.get("imagePullPolicy"),
        "resources": {k: v for k, v in {
            "cpu_request": requests.get("cpu"), "cpu_limit": limits.get("cpu"),
            "memory_request": requests.get("memory"), "memory_limit": limits.get("memory")}.items() if v},
        "security": {k: v for k, v in {
            "user": user, "run_as_non_root": context.get("runAsNonRoot"),
            "read_only_root_filesystem": context.get("readOnlyRootFilesystem"),
            "allow_privilege_escalation": context.get("allowPrivilegeEscalation"),
            "capabilities_add": (context.get("capabilities") or {}).get("add"),
            "capabilities_drop": (context.get("capabilities") or {}).get("drop")}.items() if v is not None},
    }
    for kind, key in (("liveness_probe", "livenessProbe"), ("readiness_probe", "readinessProbe"),
                      ("startup_probe", "startupProbe")):
        if item.get(key):
            fields[kind] = _probe(item[key])
    try:
        return ContainerSpec(**fields)
    except SpecError as exc:
        raise TranslationError(f"pod_template_file {path}", "docker", f"container {item.get('name')!r}: {exc}",
                               fix="Fix that container in the template.") from None


def _probe(probe: dict[str, Any]) -> dict[str, Any]:
    fields = {"initial_delay_seconds": probe.get("initialDelaySeconds"), "period_seconds": probe.get("periodSeconds"),
              "timeout_seconds": probe.get("timeoutSeconds"), "failure_threshold": probe.get("failureThreshold"),
              "success_threshold": probe.get("successThreshold")}
    fields = {k: v for k, v in fields.items() if v is not None}
    if probe.get("exec"):
        fields["exec"] = probe["exec"].get("command")
    elif probe.get("httpGet"):
        fields.update(http_get=probe["httpGet"].get("path", "/"), port=probe["httpGet"].get("port"))
    elif probe.get("tcpSocket"):
        fields.update(tcp_socket=True, port=probe["tcpSocket"].get("port"))
    return fields


def _env(item: dict[str, Any], path: str) -> tuple[list[tuple[str, str]], list[Secret]]:
    env: list[tuple[str, str]] = []
    secrets: list[Secret] = []
    for var in item.get("env") or ():
        ref = ((var.get("valueFrom") or {}).get("secretKeyRef")) or None
        if ref:
            secrets.append(Secret(ref["name"], ref["key"], env=var["name"]))
        elif var.get("valueFrom"):
            raise TranslationError(f"pod_template_file {path}", "docker",
                                   f"env {var.get('name')} takes its value from {sorted(var['valueFrom'])}, which "
                                   "exists only in a cluster", fix="Use a plain value or a secretKeyRef.")
        else:
            env.append((var["name"], str(var.get("value", ""))))
    for source in item.get("envFrom") or ():
        if source.get("secretRef"):
            secrets.append(Secret(source["secretRef"]["name"]))
        else:
            raise TranslationError(f"pod_template_file {path}", "docker", "envFrom other than secretRef",
                                   fix="Use env entries or a secretRef.")
    return env, secrets


def _mounts(item: dict[str, Any], volumes: dict[str, Any], path: str) -> tuple[list[Volume], list[Secret]]:
    mounts: list[Volume] = []
    files: list[Secret] = []
    for mount in item.get("volumeMounts") or ():
        volume = volumes.get(mount.get("name"))
        target, read_only, key = mount.get("mountPath"), bool(mount.get("readOnly")), mount.get("subPath")
        if volume is None:
            raise TranslationError(f"pod_template_file {path}", "docker",
                                   f"volume mount {mount.get('name')!r} names no volume of the pod",
                                   fix="Declare the volume under spec.volumes.")
        if "emptyDir" in volume:
            medium = (volume["emptyDir"] or {}).get("medium")
            size = (volume["emptyDir"] or {}).get("sizeLimit")
            scratch = Volume.tmpfs if medium == "Memory" else Volume.empty_dir
            mounts.append(scratch(target, size=size))
        elif "hostPath" in volume:
            mounts.append(Volume.bind(volume["hostPath"]["path"], target, read_only=read_only))
        elif "persistentVolumeClaim" in volume:
            claim = volume["persistentVolumeClaim"]["claimName"]
            mounts.append(Volume.named(claim, target, read_only=read_only, claim=claim))
        elif "configMap" in volume:
            mounts.append(Volume.config(volume["configMap"]["name"], target, key=key))
        elif "secret" in volume:
            files.append(Secret(volume["secret"]["secretName"], key, path=target))
        else:
            raise TranslationError(f"pod_template_file {path}", "docker",
                                   f"volume {mount.get('name')!r} is of a kind the local runtime cannot mount",
                                   fix="Use emptyDir, hostPath, persistentVolumeClaim, configMap or secret.")
    return mounts, files
