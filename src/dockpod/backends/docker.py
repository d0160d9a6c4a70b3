"""Spec <-> Docker: DockerOperator keyword arguments, the Engine API create body, and the way back.

Two things come out of a spec here:

* :func:`operator_kwargs`: the arguments of the provider's ``DockerOperator`` (4.6), so that the
  operator dockpod returns is a real one, with its templated fields and its UI.
* :func:`create_body`: the exact body of ``POST /containers/create`` that dockpod's local runtime
  sends, built with the docker SDK's own ``ContainerConfig``/``HostConfig``. DockerOperator cannot
  express a CPU limit, a memory reservation, dropped capabilities, a read-only root file system or
  no-new-privileges; this body can. ``dockpod render --env local`` prints it.

:func:`spec_from_operator_kwargs` reads DockerOperator arguments back into a spec for the migration
tool, following :data:`dockpod.backends.table.DOCKER_ARGUMENTS`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any

from dockpod.errors import TranslationError
from dockpod.profiles import Profile
from dockpod.spec import ContainerSpec, Probe, Volume

#: The Engine API version dockpod speaks; 1.41 is Docker 20.10, the oldest engine it supports.
API_VERSION = "1.41"
#: Where a container writes its result, as KubernetesPodOperator expects it.
XCOM_DIR = "/airflow/xcom"
XCOM_FILE = f"{XCOM_DIR}/return.json"
#: Labels that mark every container and volume dockpod creates.
LABEL_PREFIX = "io.dockpod"


def operator_kwargs(spec: ContainerSpec, profile: Profile) -> dict[str, Any]:
    """DockerOperator keyword arguments for ``spec`` in ``profile`` (mounts known at parse time only).

    Per-run mounts (scratch volumes, secret files, the XCom directory) are added by the runtime,
    because their names are made for each run.
    """
    from docker.types import DeviceRequest, Mount

    check_translatable(spec)
    resources, security = spec.resources, spec.security
    mounts = [_static_mount(Mount, volume, profile) for volume in spec.volumes]
    return {
        "image": profile.rewrite_image(spec.image),
        "entrypoint": list(spec.entrypoint) if spec.entrypoint is not None else None,
        "command": list(spec.command) if spec.command is not None else None,
        "environment": dict(spec.env),
        "working_dir": spec.working_dir,
        "user": security.user,
        "mounts": [m for m in mounts if m is not None],
        "mem_limit": resources.memory_limit,
        "cpus": (resources.cpu_request or 1000) / 1000,
        "shm_size": resources.shm_size,
        "privileged": security.privileged,
        "cap_add": list(security.capabilities_add) or None,
        "extra_hosts": dict(spec.extra_hosts) or None,
        "dns": list(spec.dns) or None,
        "dns_search": list(spec.dns_search) or None,
        "hostname": spec.hostname,
        "labels": labels_for(spec, profile),
        "docker_url": profile.docker_url,
        "docker_conn_id": profile.docker_conn_id,
        "network_mode": profile.network,
        "force_pull": spec.image_pull_policy == "Always",
        "skip_on_exit_code": list(spec.skip_on_exit_code) or None,
        "device_requests": [DeviceRequest(count=resources.gpus, capabilities=[["gpu"]])]
        if resources.gpus
        else None,
        "auto_remove": "force",
        "mount_tmp_dir": False,
        "do_xcom_push": spec.xcom,
    }


def check_translatable(spec: ContainerSpec) -> None:
    """Raise :class:`TranslationError` for what the Docker backend cannot run."""
    for container in (spec, *spec.init_containers, *spec.sidecars):
        healthcheck(container)


def local_probe(spec: ContainerSpec) -> Probe | None:
    """The one probe a local container runs as its Docker healthcheck, or None.

    Docker runs one healthcheck per container. A sidecar's startup or readiness probe is what the
    main container waits for, a liveness probe what fails it: they may all be given, but locally
    they must check the same thing; the first of startup, readiness, liveness sets the thresholds.
    """
    probes = [(kind, p) for kind, p in (("startup_probe", spec.startup_probe),
                                        ("readiness_probe", spec.readiness_probe),
                                        ("liveness_probe", spec.liveness_probe)) if p is not None]
    if not probes:
        return None
    where = f"{spec.name or 'the main container'}"
    for kind, probe in probes:
        if probe.kind != "exec":
            raise TranslationError(
                f"{kind} of {where}", "docker",
                f"a {probe.kind} probe cannot run locally: a Docker healthcheck runs inside the container, "
                "which needs a client for that port",
                fix="Use an exec probe, e.g. exec=['python3', '-c', 'import urllib.request as u; "
                "u.urlopen(\"http://localhost:8080/healthz\")'], which both modes run.",
            )
    first_kind, first = probes[0]
    for kind, probe in probes[1:]:
        if probe.check() != first.check():
            raise TranslationError(
                f"{kind} of {where}", "docker",
                f"it checks something other than its {first_kind}, and Docker runs one healthcheck per "
                "container",
                fix="Give the probes of one container the same exec command (thresholds may differ in "
                "Kubernetes; locally the first one's apply).",
            )
    return first


def healthcheck(spec: ContainerSpec) -> dict[str, Any] | None:
    """The Engine API ``Healthcheck`` of a container (durations in nanoseconds), or None."""
    probe = local_probe(spec)
    if probe is None:
        return None
    second = 1_000_000_000
    return {
        "Test": ["CMD", *(probe.exec or ())],
        "Interval": probe.period_seconds * second,
        "Timeout": probe.timeout_seconds * second,
        "Retries": probe.failure_threshold,
        "StartPeriod": probe.initial_delay_seconds * second,
    }


def labels_for(spec: ContainerSpec, profile: Profile) -> dict[str, str]:
    """Container labels: the profile's, the spec's, and the spec's annotations (Docker has no others)."""
    labels = {**profile.labels, **spec.labels}
    labels.update({f"{LABEL_PREFIX}.annotation/{k}": v for k, v in spec.annotations.items()})
    return labels


def _static_mount(mount_type: Any, volume: Volume, profile: Profile) -> Any:
    if volume.kind == "named":
        return mount_type(volume.target, volume.source, type="volume", read_only=volume.read_only)
    if volume.kind == "bind":
        source = os.path.abspath(os.path.expanduser(volume.source or ""))
        return mount_type(volume.target, source, type="bind", read_only=volume.read_only)
    if volume.kind == "tmpfs":
        return mount_type(volume.target, None, type="tmpfs", tmpfs_size=volume.size)
    if volume.kind == "config":
        return mount_type(volume.target, config_source(volume, profile), type="bind", read_only=True)
    return None  # empty_dir and secret files are made for each run


def config_source(volume: Volume, profile: Profile) -> str:
    """Local folder (or file, with ``key``) standing for a ConfigMap: ``{config_dir}/{name}[/{key}]``."""
    base = os.path.abspath(os.path.expanduser(os.path.join(profile.config_dir, volume.source or "")))
    return os.path.join(base, volume.key) if volume.key else base


def host_config_extras(spec: ContainerSpec) -> dict[str, Any]:
    """HostConfig settings DockerOperator has no argument for, but the spec's semantics need."""
    resources, security = spec.resources, spec.security
    extras: dict[str, Any] = {
        "init": True,  # a tiny init as PID 1 (docker run --init) passes SIGTERM on to the workload
        "cap_drop": list(security.capabilities_drop) or None,
        "read_only": security.read_only_root_filesystem or None,
        "security_opt": None if security.allow_privilege_escalation else ["no-new-privileges"],
    }
    if resources.cpu_limit is not None:
        extras["nano_cpus"] = resources.cpu_limit * 1_000_000
    if resources.memory_request is not None:
        extras["mem_reservation"] = resources.memory_request
    return extras


def create_body(
    op: Any,
    extras: Mapping[str, Any],
    *,
    run_mounts: list[dict[str, Any]],
    private_env: Mapping[str, str],
    run_labels: Mapping[str, str],
    healthcheck: Mapping[str, Any] | None = None,
    pod: str | None = None,
) -> dict[str, Any]:
    """The body of ``POST /containers/create`` for a DockerOperator-like ``op`` after templating.

    ``op`` provides DockerOperator's attributes (image, command, environment, mounts, ...);
    ``extras`` is :func:`host_config_extras`; ``run_mounts`` the per-run mounts in API form;
    ``private_env`` the secret environment (real values at run time, placeholders in a render);
    ``healthcheck`` the Engine API healthcheck (:func:`healthcheck`). With ``pod`` (the id of a
    task's network holder, see :func:`pod_holder_body`) the container joins that network namespace, as
    the containers of a pod do; the holder then carries the network, hostname, DNS and hosts settings.
    """
    from docker.types import ContainerConfig, HostConfig

    mounts = [_api_mount(m) for m in op.mounts] + list(run_mounts)
    joined = pod is not None
    host_config = HostConfig(
        API_VERSION,
        mounts=mounts or None,
        network_mode=f"container:{pod}" if joined else op.network_mode,
        shm_size=op.shm_size,
        dns=None if joined else op.dns,
        dns_search=None if joined else op.dns_search,
        cpu_shares=round(op.cpus * 1024),
        mem_limit=op.mem_limit,
        cap_add=list(op.cap_add) if op.cap_add else None,
        extra_hosts=None if joined else op.extra_hosts,
        privileged=op.privileged,
        device_requests=op.device_requests,
        **{k: v for k, v in extras.items() if v is not None},
    )
    environment = {**op.environment, **private_env}
    config = ContainerConfig(
        API_VERSION,
        op.image,
        _command(op.command),
        hostname=None if joined else op.hostname,
        user=str(op.user) if op.user is not None else None,
        environment=environment or None,
        entrypoint=_command(op.entrypoint),
        working_dir=op.working_dir,
        labels={**(op.labels or {}), **run_labels} or None,
        host_config=host_config,
        healthcheck=dict(healthcheck) if healthcheck else None,
        stop_timeout=op.spec.grace_seconds if getattr(op, "spec", None) is not None else None,
    )
    return json.loads(json.dumps(config))  # plain dicts and lists, not the SDK's dict subclasses


class ContainerArgs:
    """DockerOperator-like attributes of a container that is not the task's own (init container, sidecar).

    :func:`create_body` reads the main container from the operator (templated by Airflow); the pod's
    other containers come from the spec through the same :func:`operator_kwargs`, untemplated.
    """

    def __init__(self, spec: ContainerSpec, profile: Profile) -> None:
        self.__dict__.update(operator_kwargs(spec, profile))
        self.spec = spec


def pod_holder_body(op: Any, image: str, run_labels: Mapping[str, str], keep: list[str] = ()) -> dict[str, Any]:
    """The container that holds a multi-container task's network namespace, as a pod's sandbox does.

    It gets the task's network, hostname, DNS and hosts entries; every container of the task joins its
    namespace (``localhost`` reaches the sidecars) and it runs ``sleep`` from ``image`` (the task's own
    image, or the profile's ``pause_image``) under an init that stops it at once. It also mounts the
    volumes named in ``keep`` (in-memory volumes, whose contents live only while a container mounts them),
    so that they last as long as the pod, as an emptyDir does.
    """
    from docker.types import ContainerConfig, HostConfig

    host_config = HostConfig(
        API_VERSION, network_mode=op.network_mode, dns=op.dns, dns_search=op.dns_search,
        extra_hosts=op.extra_hosts, init=True, cap_drop=["ALL"], read_only=True,
        security_opt=["no-new-privileges"], mem_limit=16 * 1024 * 1024,
        mounts=[{"Target": f"/run/dockpod/keep/{index}", "Source": name, "Type": "volume", "ReadOnly": True}
                for index, name in enumerate(keep)] or None,
    )
    config = ContainerConfig(
        API_VERSION, image, ["infinity"], hostname=op.hostname, entrypoint=["sleep"], user="65534:65534",
        labels={**(op.labels or {}), **run_labels}, host_config=host_config,
    )
    return json.loads(json.dumps(config))


def _command(value: Any) -> list[str] | None:
    if value is None:
        return None
    return [str(part) for part in value] if isinstance(value, list | tuple) else [str(value)]


def _api_mount(mount: Any) -> dict[str, Any]:
    """A Mount as the Engine API receives it, whether a docker.types.Mount or a rendered dict."""
    return dict(mount)


# --- the way back: DockerOperator arguments -> spec ---------------------------------------------


def spec_from_operator_kwargs(kwargs: Mapping[str, Any]) -> tuple[ContainerSpec, list[str]]:
    """Read DockerOperator keyword arguments into a spec; return it with the losses to review.

    Raises :class:`TranslationError` for an argument with no counterpart (see
    :data:`dockpod.backends.table.DOCKER_ARGUMENTS`, which also names what passes through to
    BaseOperator untouched).
    """
    from dockpod.backends.table import BASE_OPERATOR_PASSTHROUGH, DOCKER_ARGUMENTS

    spec: dict[str, Any] = {"security": {"run_as_non_root": False, "capabilities_drop": ()}}
    notes: list[str] = []
    for name, value in kwargs.items():
        rule = DOCKER_ARGUMENTS.get(name)
        if rule is None:
            if name in BASE_OPERATOR_PASSTHROUGH:
                continue
            raise TranslationError(name, "dockpod", "it is not a DockerOperator argument dockpod knows",
                                   fix="Remove it or report it as a dockpod issue.")
        if rule.verdict == "rejected" and not rule.accepts(value):
            raise TranslationError(name, "kubernetes", rule.note, fix=rule.fix)
        if rule.reader is not None:
            note = rule.reader(spec, value)
            if note:
                notes.append(note)
        elif rule.verdict in ("profile", "runtime") and not rule.accepts(value):
            notes.append(f"{name}: {rule.note}")
    return ContainerSpec(**spec), notes


# --- per-run volumes ----------------------------------------------------------------------------


def run_volumes(spec: ContainerSpec, *, xcom: bool) -> list[tuple[str, str, bool]]:
    """The volumes made for each run, as ``(role, container path, read_only)``.

    ``xcom``: where the result file is written (a host directory when the engine is local, see
    :func:`placeholder_run`); ``scratch``: one per empty_dir volume; ``secrets``: one per folder that
    holds secret files (filled before start, mounted read-only).
    """
    plan = [("xcom", XCOM_DIR, False)] if xcom else []
    plan += [("scratch", v.target, False) for v in spec.volumes if v.kind == "empty_dir"]
    folders: list[str] = []
    for secret in spec.secret_files():
        folder = secret.path if secret.key is None else os.path.dirname(secret.path or "/")
        if folder and folder not in folders:
            folders.append(folder)
    plan += [("secrets", folder, True) for folder in folders]
    return plan


def placeholder_run(spec: ContainerSpec, op: Any) -> tuple[list[dict[str, Any]], dict[str, str], dict[str, str]]:
    """Per-run mounts, secret environment and labels with placeholders, for ``dockpod render``.

    The local runtime follows these mounts (it reads each one's ``Type``): the XCom folder is a private
    host directory bind-mounted into the container when the engine is reached through a unix socket
    and SELinux does not confine containers (no archive call to prepare or to read it); otherwise, and
    when the engine turns out not to see the worker's file system (a worker in a container using the
    host's socket), it is a per-run volume like the others.
    """
    docker_url = getattr(op, "docker_url", None) or os.environ.get("DOCKER_HOST") or "unix://var/run/docker.sock"
    urls = [docker_url] if isinstance(docker_url, str) else list(docker_url)
    on_host = all(str(url).startswith("unix://") for url in urls)
    try:  # SELinux confines containers to their own files: a host folder would not be writable for them
        with open("/sys/fs/selinux/enforce", "rb") as handle:
            on_host = on_host and handle.read(1) != b"1"
    except OSError:
        pass
    mounts = []
    for role, target, read_only in run_volumes(spec, xcom=bool(op.do_xcom_push)):
        if role == "xcom" and on_host:
            mounts.append({"Target": target, "Source": f"<per-run {role} directory>", "Type": "bind",
                           "ReadOnly": read_only})
        else:
            mounts.append({"Target": target, "Source": f"<per-run {role} volume>", "Type": "volume",
                           "ReadOnly": read_only, "VolumeOptions": {"NoCopy": True}})
    private_env = {
        (s.env or s.key) if s.key else f"<each key of {s.name}>": f"<secret {s.name}/{s.key or '*'}>"
        for s in spec.secrets
        if s.as_env
    }
    keys = ("run", "dag_id", "task_id", "run_id", "try_number", "map_index")
    labels = {f"{LABEL_PREFIX}.{key}": f"<{key}>" for key in keys}
    return mounts, private_env, labels

