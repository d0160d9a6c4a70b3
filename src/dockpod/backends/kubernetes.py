"""Spec -> KubernetesPodOperator keyword arguments, built from ``kubernetes.client.models``.

One function, :func:`container`, turns any container description into a ``V1Container`` and the
volumes it needs; the main container, init containers and native sidecars all go through it, so a
field means the same thing wherever it appears. :func:`operator_kwargs` spreads the main container
over KubernetesPodOperator's arguments (cncf.kubernetes 10.x: ``cmds``/``arguments``,
``container_resources``, ``container_security_context``, ``on_finish_action``).
"""

from __future__ import annotations

import functools
import warnings
from dataclasses import dataclass, field
from typing import Any

from dockpod.errors import TranslationError
from dockpod.profiles import Profile
from dockpod.spec import ContainerSpec, Probe, Secret, Volume, format_cpu, format_memory

#: KubernetesPodOperator's name for the main container.
BASE_CONTAINER = "base"


class _Models:
    """``kubernetes.client.models``, every constructor given one shared client configuration.

    Without it each model builds its own ``Configuration()`` (about 150 microseconds, mostly
    logging set-up); a task makes ten models, and Airflow parses DAG files again and again.
    """

    def __getattr__(self, name: str) -> Any:
        from kubernetes.client import models

        model = functools.partial(getattr(models, name), local_vars_configuration=_configuration())
        setattr(self, name, model)
        return model


@functools.cache
def _configuration() -> Any:
    from kubernetes.client import Configuration

    return Configuration()


k8s = _Models()


@dataclass
class PodParts:
    """Volumes collected while building a pod's containers, named once per identity."""

    volumes: dict[tuple[str, ...], Any] = field(default_factory=dict)

    def volume(self, identity: tuple[str, ...], make: Any) -> str:
        """Name of the volume for ``identity``, created by ``make(name)`` the first time."""
        if identity not in self.volumes:
            name = f"{identity[0]}-{len(self.volumes)}".replace("_", "-")
            self.volumes[identity] = make(name)
        return self.volumes[identity].name


def operator_kwargs(spec: ContainerSpec, profile: Profile) -> dict[str, Any]:
    """KubernetesPodOperator keyword arguments for ``spec`` in ``profile``."""
    parts = PodParts()
    main = container(spec, profile, parts, name=BASE_CONTAINER)
    init = [container(c, profile, parts) for c in spec.init_containers]
    sidecars = [container(c, profile, parts) for c in spec.sidecars]
    for sidecar, sidecar_spec in zip(sidecars, spec.sidecars, strict=True):
        sidecar.restart_policy = "Always"  # a native sidecar: the pod completes when the main container exits
        if sidecar.startup_probe is None and sidecar_spec.readiness_probe is not None:
            # The kubelet starts the main container once a native sidecar's startup probe passes (not its
            # readiness probe); the local runtime awaits readiness: the same check as startup probe makes
            # both wait for the same thing.
            sidecar.startup_probe = probe(sidecar_spec.readiness_probe)
    security = spec.security
    fs_group = security.fs_group if security.fs_group is not None else security.gid
    kwargs: dict[str, Any] = {
        "image": main.image,
        "cmds": main.command,
        "arguments": main.args,
        "env_vars": main.env or None,
        "env_from": main.env_from or None,
        "volume_mounts": main.volume_mounts or None,
        "volumes": [v for v in parts.volumes.values()] or None,
        "container_resources": main.resources,
        "container_security_context": main.security_context,
        "security_context": k8s.V1PodSecurityContext(fs_group=fs_group) if fs_group is not None else None,
        "image_pull_policy": spec.image_pull_policy,
        "init_containers": [*init, *sidecars] or None,
        "labels": {**profile.labels, **spec.labels} or None,
        "annotations": dict(spec.annotations) or None,
        "hostname": spec.hostname,
        "host_aliases": [k8s.V1HostAlias(ip=ip, hostnames=[host]) for host, ip in spec.extra_hosts.items()]
        or None,
        "dns_config": k8s.V1PodDNSConfig(nameservers=list(spec.dns) or None, searches=list(spec.dns_search) or None)
        if spec.dns or spec.dns_search
        else None,
        "dnspolicy": "None" if spec.dns else None,
        "active_deadline_seconds": spec.timeout,
        "termination_grace_period": spec.termination_grace_period,
        "skip_on_exit_code": list(spec.skip_on_exit_code) or None,
        "do_xcom_push": spec.xcom,
        # The profile's cluster settings.
        "namespace": profile.namespace,
        "in_cluster": profile.in_cluster,
        "config_file": profile.config_file,
        "cluster_context": profile.cluster_context,
        "service_account_name": profile.service_account,
        "pod_template_file": spec.pod_template_file or profile.pod_template_file,
        "node_selector": dict(profile.node_selector) or None,
        "tolerations": [dict(t) for t in profile.tolerations] or None,
        "affinity": dict(profile.affinity) or None,
        "priority_class_name": profile.priority_class,
        "image_pull_secrets": [k8s.V1LocalObjectReference(name=s) for s in profile.image_pull_secrets] or None,
        "startup_timeout_seconds": profile.startup_timeout,
        "on_finish_action": profile.on_finish_action,
    }
    if profile.kubernetes_conn_id:
        kwargs["kubernetes_conn_id"] = profile.kubernetes_conn_id
    return {key: value for key, value in kwargs.items() if value is not None}


def container(spec: ContainerSpec, profile: Profile, parts: PodParts, *, name: str | None = None) -> Any:
    """A ``V1Container`` for ``spec``; the volumes it needs are added to ``parts``."""
    env = [k8s.V1EnvVar(name=key, value=value) for key, value in spec.env.items()]
    env_from = []
    for secret in spec.secrets:
        if secret.path:
            continue
        if secret.key:
            selector = k8s.V1SecretKeySelector(name=secret.name, key=secret.key)
            env.append(k8s.V1EnvVar(name=secret.env or secret.key, value_from=k8s.V1EnvVarSource(
                secret_key_ref=selector)))
        else:
            env_from.append(k8s.V1EnvFromSource(secret_ref=k8s.V1SecretEnvSource(name=secret.name)))
    mounts = [_mount(volume, profile, parts) for volume in spec.volumes if volume.kind != "secret"]
    mounts += [_secret_mount(secret, parts) for secret in spec.secret_files()]
    if spec.resources.shm_size:
        shm = parts.volume(("shm",), lambda n: k8s.V1Volume(name=n, empty_dir=k8s.V1EmptyDirVolumeSource(
            medium="Memory", size_limit=format_memory(spec.resources.shm_size or 0))))
        mounts.append(k8s.V1VolumeMount(name=shm, mount_path="/dev/shm"))
    return k8s.V1Container(
        name=name or spec.name,
        image=profile.rewrite_image(spec.image),
        command=list(spec.entrypoint) if spec.entrypoint is not None else None,
        args=list(spec.command) if spec.command is not None else None,
        working_dir=spec.working_dir,
        env=env or None,
        env_from=env_from or None,
        volume_mounts=mounts or None,
        resources=resources(spec),
        security_context=security_context(spec),
        image_pull_policy=spec.image_pull_policy,
        liveness_probe=probe(spec.liveness_probe),
        readiness_probe=probe(spec.readiness_probe),
        startup_probe=probe(spec.startup_probe),
    )


def probe(spec: Probe | None) -> Any:
    """A ``V1Probe`` with the spec's check and thresholds, or None."""
    if spec is None:
        return None
    return k8s.V1Probe(
        _exec=k8s.V1ExecAction(command=list(spec.exec)) if spec.exec else None,
        http_get=k8s.V1HTTPGetAction(path=spec.http_get, port=spec.port) if spec.http_get else None,
        tcp_socket=k8s.V1TCPSocketAction(port=spec.port) if spec.tcp_socket else None,
        initial_delay_seconds=spec.initial_delay_seconds,
        period_seconds=spec.period_seconds,
        timeout_seconds=spec.timeout_seconds,
        failure_threshold=spec.failure_threshold,
        success_threshold=spec.success_threshold,
    )


def resources(spec: ContainerSpec) -> Any:
    """``V1ResourceRequirements`` for the spec's requests and limits, or None when it sets none."""
    r = spec.resources
    requests: dict[str, str] = {}
    limits: dict[str, str] = {}
    if r.cpu_request is not None:
        requests["cpu"] = format_cpu(r.cpu_request)
    if r.cpu_limit is not None:
        limits["cpu"] = format_cpu(r.cpu_limit)
    for key, request, limit in (
        ("memory", r.memory_request, r.memory_limit),
        ("ephemeral-storage", r.ephemeral_storage_request, r.ephemeral_storage_limit),
    ):
        if request is not None:
            requests[key] = format_memory(request)
        if limit is not None:
            limits[key] = format_memory(limit)
    if r.gpus:
        limits["nvidia.com/gpu"] = str(r.gpus)
    if not requests and not limits:
        return None
    return k8s.V1ResourceRequirements(requests=requests or None, limits=limits or None)


def security_context(spec: ContainerSpec) -> Any:
    """The container's ``V1SecurityContext``."""
    s = spec.security
    caps = None
    if s.capabilities_add or s.capabilities_drop:
        caps = k8s.V1Capabilities(add=list(s.capabilities_add) or None, drop=list(s.capabilities_drop) or None)
    return k8s.V1SecurityContext(
        run_as_user=s.uid,
        run_as_group=s.gid,
        run_as_non_root=s.run_as_non_root,
        read_only_root_filesystem=s.read_only_root_filesystem,
        allow_privilege_escalation=s.allow_privilege_escalation,
        privileged=s.privileged or None,
        capabilities=caps,
    )


def _mount(volume: Volume, profile: Profile, parts: PodParts) -> Any:
    read_only = volume.read_only or None
    if volume.kind == "named":
        claim = volume.claim_name
        name = parts.volume(("claim", claim), lambda n: k8s.V1Volume(
            name=n, persistent_volume_claim=k8s.V1PersistentVolumeClaimVolumeSource(claim_name=claim)))
        return k8s.V1VolumeMount(name=name, mount_path=volume.target, read_only=read_only)
    if volume.kind == "bind":
        _check_host_path(volume, profile)
        name = parts.volume(("host", volume.source or ""), lambda n: k8s.V1Volume(
            name=n, host_path=k8s.V1HostPathVolumeSource(path=volume.source)))
        return k8s.V1VolumeMount(name=name, mount_path=volume.target, read_only=read_only)
    if volume.kind in ("tmpfs", "empty_dir"):
        medium = "Memory" if volume.kind == "tmpfs" else None
        size = format_memory(volume.size) if volume.size else None
        name = parts.volume(("scratch", volume.target), lambda n: k8s.V1Volume(
            name=n, empty_dir=k8s.V1EmptyDirVolumeSource(medium=medium, size_limit=size)))
        return k8s.V1VolumeMount(name=name, mount_path=volume.target)
    # config
    items = [k8s.V1KeyToPath(key=volume.key, path=volume.key)] if volume.key else None
    name = parts.volume(("config", volume.source or "", volume.key or ""), lambda n: k8s.V1Volume(
        name=n, config_map=k8s.V1ConfigMapVolumeSource(name=volume.source, items=items)))
    return k8s.V1VolumeMount(name=name, mount_path=volume.target, read_only=True, sub_path=volume.key)


def _secret_mount(secret: Secret, parts: PodParts) -> Any:
    items = [k8s.V1KeyToPath(key=secret.key, path=secret.key)] if secret.key else None
    name = parts.volume(("secret", secret.name, secret.key or ""), lambda n: k8s.V1Volume(
        name=n, secret=k8s.V1SecretVolumeSource(secret_name=secret.name, items=items)))
    return k8s.V1VolumeMount(name=name, mount_path=secret.path, read_only=True, sub_path=secret.key)


def _check_host_path(volume: Volume, profile: Profile) -> None:
    if profile.host_path == "allow":
        return
    message = (
        f"bind mount {volume.source}:{volume.target} becomes a hostPath volume in the {profile.name} "
        "profile: it reads the node's disk, not your laptop's"
    )
    if profile.host_path == "reject":
        raise TranslationError(f"volumes {volume.docker_notation()}", "kubernetes", message,
                               fix="Use a named volume (a PersistentVolumeClaim) or a ConfigMap instead.")
    warnings.warn(f"dockpod: {message}.", UserWarning, stacklevel=4)
