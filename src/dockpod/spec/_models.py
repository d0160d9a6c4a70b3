"""The task description: what a containerized task is, independent of where it runs.

Fields carry Docker's meaning where the two worlds differ (``entrypoint`` replaces the image's
ENTRYPOINT, ``command`` its CMD); the backends translate each to its true counterpart. Every model
is frozen, and every invalid value raises :class:`dockpod.errors.SpecError` naming the field.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from dockpod.errors import SpecError
from dockpod.spec import _notation as n

_M = TypeVar("_M", bound="SpecModel")
#: A pod's terminationGracePeriodSeconds when it sets none; the local runtime waits as long.
DEFAULT_GRACE_SECONDS = 30
PullPolicy = Literal["Always", "IfNotPresent", "Never"]
VolumeKind = Literal["named", "bind", "tmpfs", "empty_dir", "config", "secret"]

# Linux capabilities as Kubernetes and Docker spell them (without the CAP_ prefix).
CAPABILITIES = frozenset(
    """ALL AUDIT_CONTROL AUDIT_READ AUDIT_WRITE BLOCK_SUSPEND BPF CHECKPOINT_RESTORE CHOWN DAC_OVERRIDE
    DAC_READ_SEARCH FOWNER FSETID IPC_LOCK IPC_OWNER KILL LEASE LINUX_IMMUTABLE MAC_ADMIN MAC_OVERRIDE
    MKNOD NET_ADMIN NET_BIND_SERVICE NET_BROADCAST NET_RAW PERFMON SETFCAP SETGID SETPCAP SETUID
    SYSLOG SYS_ADMIN SYS_BOOT SYS_CHROOT SYS_MODULE SYS_NICE SYS_PACCT SYS_PTRACE SYS_RAWIO
    SYS_RESOURCE SYS_TIME SYS_TTY_CONFIG WAKE_ALARM""".split()
)
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")
_IMAGE = re.compile(
    r"^(?:[a-zA-Z0-9.-]+(?::[0-9]+)?/)?[a-z0-9]+(?:[._-][a-z0-9]+)*(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*"
    r"(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(?:@sha256:[a-f0-9]{64})?$"
)


def _templated(value: str) -> bool:
    return "{{" in value or "{%" in value


class SpecModel(BaseModel):
    """Base of the description models: frozen, no unknown fields, errors as :class:`SpecError`."""

    model_config = ConfigDict(frozen=True, extra="forbid", validate_default=False)

    def __init__(self, /, **data: Any) -> None:
        try:
            super().__init__(**data)
        except ValidationError as exc:
            raise _spec_error(exc, type(self).__name__) from None


def _spec_error(exc: ValidationError, model: str) -> SpecError:
    """Turn pydantic's first error into one SpecError that names the field path."""
    first = exc.errors(include_url=False)[0]
    loc = ".".join(str(part) for part in first["loc"] if not isinstance(part, int))
    cause = (first.get("ctx") or {}).get("error")
    if isinstance(cause, SpecError):
        prefix = loc.removesuffix(cause.field).rstrip(".") if loc.endswith(cause.field) else loc
        return cause.at(prefix) if prefix and not cause.field.startswith(prefix) else cause
    if first["type"] == "extra_forbidden":
        return SpecError(
            loc or model,
            first.get("input"),
            f"one of the fields of {model}",
            reason=f"is not a field of {model}",
            fix="Check the spelling; `dockpod render` and docs/translation.md list every field.",
        )
    return SpecError(loc or model, first.get("input"), first["msg"].removeprefix("Value error, "),
                     reason=first["msg"].removeprefix("Value error, ").lower())


class Secret(SpecModel):
    """A reference to one key (or all keys) of a Kubernetes Secret, never its value.

    * ``Secret("db", "password", env="DB_PASSWORD")``: one key as an environment variable.
    * ``Secret("db", "password", path="/run/secrets/db_password")``: one key as a read-only file.
    * ``Secret("db", path="/etc/db")``: every key as a file in that directory.
    * ``Secret("db")``: every key as an environment variable of the same name.

    Locally the value comes from the profile's secret source; in production from the cluster.
    """

    name: str
    key: str | None = None
    env: str | None = None
    path: str | None = None

    def __init__(self, name: str | None = None, key: str | None = None, /, **data: Any) -> None:
        if name is not None:
            data["name"] = name
        if key is not None:
            data["key"] = key
        super().__init__(**data)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not n.DNS_SUBDOMAIN.match(value) or len(value) > 253:
            raise SpecError("name", value, "a Kubernetes Secret name: lower case letters, digits, '-' and '.'")
        return value

    @field_validator("env")
    @classmethod
    def _env(cls, value: str | None) -> str | None:
        if value is not None and not _ENV_NAME.match(value):
            raise SpecError("env", value, "an environment variable name such as DB_PASSWORD")
        return value

    @field_validator("path")
    @classmethod
    def _path(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith("/"):
            raise SpecError("path", value, "an absolute path inside the container")
        return value

    @model_validator(mode="after")
    def _shape(self) -> Secret:
        if self.env and self.path:
            raise SpecError("env", self.env, "either env or path", reason="is set together with path",
                            fix="A secret reference goes either to an environment variable or to a file: "
                            "make two references.")
        if self.env and not self.key:
            raise SpecError("key", None, "the key of the Secret whose value goes into env",
                            reason=f"is missing, but env={self.env!r} needs one key",
                            fix=f"Write Secret({self.name!r}, 'KEY', env={self.env!r}).")
        return self

    @property
    def as_env(self) -> bool:
        """True when this reference puts values into environment variables."""
        return self.path is None

    def describe(self) -> str:
        """Human-readable reference, safe to print: it never holds a value."""
        where = f"env {self.env}" if self.env else (f"file {self.path}" if self.path else "env (all keys)")
        return f"secret {self.name}/{self.key or '*'} -> {where}"


class Volume(SpecModel):
    """A mount: named volume, bind mount, tmpfs, scratch directory, ConfigMap or Secret files.

    Docker's notation is accepted: ``Volume("shared_data:/data:ro")``. Each kind has a constructor:
    :meth:`named`, :meth:`bind`, :meth:`tmpfs`, :meth:`empty_dir`, :meth:`config`, :meth:`secret`.
    """

    kind: VolumeKind
    target: str
    source: str | None = None
    read_only: bool = False
    size: int | None = None
    claim: str | None = None
    key: str | None = None

    def __init__(self, notation: str | None = None, /, **data: Any) -> None:
        if notation is not None:
            data = {**_parse_volume(notation), **data}
        super().__init__(**data)

    @classmethod
    def named(cls, name: str, target: str, *, read_only: bool = False, claim: str | None = None) -> Volume:
        """A Docker named volume; a PersistentVolumeClaim (``claim``, default from ``name``) in Kubernetes."""
        return cls(kind="named", source=name, target=target, read_only=read_only, claim=claim)

    @classmethod
    def bind(cls, host_path: str, target: str, *, read_only: bool = False) -> Volume:
        """A bind mount of a host path; a hostPath volume in Kubernetes (warned about in production)."""
        return cls(kind="bind", source=host_path, target=target, read_only=read_only)

    @classmethod
    def tmpfs(cls, target: str, *, size: int | str | None = None) -> Volume:
        """Memory-backed scratch space: Docker tmpfs, Kubernetes emptyDir with medium Memory."""
        return cls(kind="tmpfs", target=target, size=size)

    @classmethod
    def empty_dir(cls, target: str, *, size: int | str | None = None) -> Volume:
        """Disk-backed scratch space for one run: a per-run Docker volume, a Kubernetes emptyDir."""
        return cls(kind="empty_dir", target=target, size=size)

    @classmethod
    def config(cls, name: str, target: str, *, key: str | None = None) -> Volume:
        """Files of a ConfigMap (one ``key`` as the file ``target``, or all keys in that directory)."""
        return cls(kind="config", source=name, target=target, read_only=True, key=key)

    @classmethod
    def secret(cls, name: str, target: str, *, key: str | None = None) -> Volume:
        """Files of a Secret, read-only; the same as ``Secret(name, key, path=target)``."""
        return cls(kind="secret", source=name, target=target, read_only=True, key=key)

    @field_validator("target")
    @classmethod
    def _target(cls, value: str) -> str:
        if not value.startswith("/"):
            raise SpecError("target", value, "an absolute path inside the container")
        return value.rstrip("/") or "/"

    @field_validator("size", mode="before")
    @classmethod
    def _size(cls, value: object) -> int | None:
        return None if value is None else n.parse_memory(value, "size")

    @model_validator(mode="after")
    def _shape(self) -> Volume:
        needs_source = self.kind in ("named", "bind", "config", "secret")
        if needs_source and not self.source:
            raise SpecError("source", self.source, f"the {self.kind} volume's source name or path",
                            reason=f"is required for a {self.kind} volume")
        if not needs_source and self.source:
            raise SpecError("source", self.source, "no source", reason=f"makes no sense for a {self.kind} volume")
        if self.size is not None and self.kind not in ("tmpfs", "empty_dir"):
            raise SpecError("size", self.size, "a size on tmpfs or empty_dir volumes only",
                            reason=f"cannot be set on a {self.kind} volume")
        if self.kind in ("config", "secret") and not self.read_only:
            raise SpecError("read_only", False, "True", reason=f"must be True: {self.kind} files are read-only")
        if self.kind == "bind" and self.source and not n.is_host_path(self.source):
            raise SpecError("source", self.source, "an absolute host path", reason="is not a host path")
        if self.claim is not None and (self.kind != "named" or not n.DNS_LABEL.match(self.claim)):
            raise SpecError("claim", self.claim, "a PersistentVolumeClaim name (lower case, digits, '-') "
                            "on a named volume")
        return self

    @property
    def claim_name(self) -> str:
        """The PersistentVolumeClaim that stands for this named volume in Kubernetes."""
        return self.claim or n.to_dns_name(self.source or "")

    def docker_notation(self) -> str:
        """Docker's ``-v`` spelling of this volume, where Docker has one."""
        mode = ":ro" if self.read_only else ""
        return f"{self.source}:{self.target}{mode}" if self.source else self.target


def _parse_volume(notation: object) -> dict[str, Any]:
    if not isinstance(notation, str):
        raise SpecError("volumes", notation, n.VOLUME_FORMS)
    source, target, read_only = n.split_volume(notation)
    if source is None:
        return {"kind": "empty_dir", "target": target}
    kind = "bind" if n.is_host_path(source) else "named"
    return {"kind": kind, "source": source, "target": target, "read_only": read_only}


class Resources(SpecModel):
    """CPU, memory and storage requests and limits, normalized to millicores and bytes.

    Inputs take Docker's and Kubernetes' spellings (``"2g"``, ``"512Mi"``, ``2.5``, ``"500m"``).
    A request is what the task is guaranteed (Docker: CPU shares and the memory reservation); a limit
    is the hard ceiling (Docker: the CPU quota and the memory limit; exceeding memory is an OOM kill).
    """

    cpu_request: int | None = None
    cpu_limit: int | None = None
    memory_request: int | None = None
    memory_limit: int | None = None
    ephemeral_storage_request: int | None = None
    ephemeral_storage_limit: int | None = None
    shm_size: int | None = None
    gpus: int = Field(default=0, ge=0)

    @field_validator("cpu_request", "cpu_limit", mode="before")
    @classmethod
    def _cpu(cls, value: object, info: Any) -> int | None:
        return None if value is None else n.parse_cpu(value, info.field_name)

    @field_validator(
        "memory_request", "memory_limit", "ephemeral_storage_request", "ephemeral_storage_limit", "shm_size",
        mode="before",
    )
    @classmethod
    def _bytes(cls, value: object, info: Any) -> int | None:
        return None if value is None else n.parse_memory(value, info.field_name)

    @model_validator(mode="after")
    def _order(self) -> Resources:
        for what in ("cpu", "memory", "ephemeral_storage"):
            request, limit = getattr(self, f"{what}_request"), getattr(self, f"{what}_limit")
            if request is not None and limit is not None and request > limit:
                raise SpecError(f"{what}_request", request, f"at most {what}_limit ({limit})",
                                reason=f"is more than {what}_limit ({limit})",
                                fix="Kubernetes rejects a request above its limit; raise the limit or "
                                "lower the request.")
        return self

    def merged_over(self, defaults: Resources) -> Resources:
        """These resources, with every field not set here taken from ``defaults``."""
        return _merge(self, defaults)


class Security(SpecModel):
    """Who the process runs as and what it may do. The defaults are the safe ones.

    ``user`` takes Docker's ``"uid[:gid]"`` notation; names are refused because Kubernetes needs
    numbers. By default the task must not run as root, drops every capability and cannot gain
    privileges.
    """

    user: str | None = None
    run_as_non_root: bool = True
    read_only_root_filesystem: bool = False
    capabilities_add: tuple[str, ...] = ()
    capabilities_drop: tuple[str, ...] = ("ALL",)
    privileged: bool = False
    allow_privilege_escalation: bool = False
    fs_group: int | None = None

    @field_validator("user", mode="before")
    @classmethod
    def _user(cls, value: object) -> str | None:
        if value is None:
            return None
        uid, gid = n.parse_user(value, "user")
        return f"{uid}:{gid}" if gid is not None else str(uid)

    @field_validator("capabilities_add", "capabilities_drop", mode="before")
    @classmethod
    def _caps(cls, value: object, info: Any) -> tuple[str, ...]:
        items = [value] if isinstance(value, str) else list(value or ())  # type: ignore[call-overload]
        caps = []
        for item in items:
            cap = str(item).upper().removeprefix("CAP_")
            if cap not in CAPABILITIES:
                raise SpecError(info.field_name, item, "Linux capability names such as NET_BIND_SERVICE or ALL")
            caps.append(cap)
        return tuple(caps)

    @model_validator(mode="after")
    def _consistent(self) -> Security:
        if self.run_as_non_root and self.uid == 0:
            raise SpecError("user", self.user, "a non-zero uid while run_as_non_root is True",
                            reason="is root, but run_as_non_root is True",
                            fix="Use a non-root uid, or set run_as_non_root=False if the task truly needs root.")
        if self.privileged and not self.allow_privilege_escalation:
            raise SpecError("privileged", True, "privileged only with allow_privilege_escalation=True",
                            reason="is True while allow_privilege_escalation is False",
                            fix="Kubernetes refuses that pair: set allow_privilege_escalation=True as well, "
                            "or better, add the one capability the task needs instead of privileged.")
        return self

    @property
    def uid(self) -> int | None:
        """The numeric uid of ``user``, if set."""
        return None if self.user is None else n.parse_user(self.user)[0]

    @property
    def gid(self) -> int | None:
        """The numeric gid of ``user``, if it names one."""
        return None if self.user is None else n.parse_user(self.user)[1]

    def merged_over(self, defaults: Security) -> Security:
        """This security, with every field not set here taken from ``defaults``."""
        return _merge(self, defaults)


class Probe(SpecModel):
    """A health check: Kubernetes probe in production, Docker healthcheck locally, same thresholds.

    Exactly one of ``exec`` (a command run inside the container, exit 0 = healthy), ``http_get``
    (a path answered with 2xx/3xx on ``port``) or ``tcp_socket`` (``port`` accepts connections).
    The local runtime runs ``exec`` probes only: Docker healthchecks run inside the container and
    cannot reach a port without a client in the image, so an HTTP or TCP probe is refused there at
    DAG parse time.
    """

    exec: tuple[str, ...] | None = None
    http_get: str | None = None
    tcp_socket: bool = False
    port: int | None = None
    initial_delay_seconds: int = 0
    period_seconds: int = 10
    timeout_seconds: int = 1
    failure_threshold: int = 3
    success_threshold: int = 1

    @field_validator("exec", mode="before")
    @classmethod
    def _exec(cls, value: object) -> tuple[str, ...] | None:
        return _command(value, "exec")

    @field_validator("http_get")
    @classmethod
    def _path(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith("/"):
            raise SpecError("http_get", value, "a URL path such as '/healthz'")
        return value

    @field_validator("port")
    @classmethod
    def _port(cls, value: int | None) -> int | None:
        if value is not None and not 0 < value < 65536:
            raise SpecError("port", value, "a port number from 1 to 65535")
        return value

    @field_validator("period_seconds", "timeout_seconds", "failure_threshold", "success_threshold")
    @classmethod
    def _positive(cls, value: int, info: Any) -> int:
        if value < 1:
            raise SpecError(info.field_name, value, "a whole number of at least 1")
        return value

    @field_validator("initial_delay_seconds")
    @classmethod
    def _delay(cls, value: int) -> int:
        if value < 0:
            raise SpecError("initial_delay_seconds", value, "a whole number of seconds, 0 or more")
        return value

    @model_validator(mode="after")
    def _one_check(self) -> Probe:
        kinds = [k for k, on in (("exec", self.exec), ("http_get", self.http_get), ("tcp_socket", self.tcp_socket))
                 if on]
        if len(kinds) != 1:
            raise SpecError("probe", kinds or None, "exactly one of exec=[...], http_get='/path' or tcp_socket=True",
                            reason="needs exactly one kind of check" if not kinds else "mixes kinds of check")
        if (self.http_get or self.tcp_socket) and self.port is None:
            raise SpecError("port", None, "the port to check", reason=f"is required by {kinds[0]}")
        if self.exec is not None and self.port is not None:
            raise SpecError("port", self.port, "no port on an exec probe", reason="makes no sense with exec")
        return self

    @property
    def kind(self) -> str:
        """``exec``, ``http_get`` or ``tcp_socket``."""
        return "exec" if self.exec else "http_get" if self.http_get else "tcp_socket"

    def check(self) -> tuple[str, ...]:
        """What is checked, for comparing two probes: the kind and its command, path or port."""
        return (self.kind, *(self.exec or ()), str(self.http_get or ""), str(self.port or ""))


def _merge(own: _M, defaults: _M) -> _M:
    """``own`` over ``defaults``, field by field, without parsing normalized values again.

    The values are already normalized (millicores, bytes), so they are copied, not re-read; the
    model's cross-field check runs once more on the result.
    """
    merged = defaults.model_copy(update={name: getattr(own, name) for name in own.model_fields_set})
    for check in type(own).__pydantic_decorators__.model_validators.values():
        check.func(merged)
    return merged


def _command(value: object, field: str) -> tuple[str, ...] | None:
    if value is None:
        return None
    if isinstance(value, str):
        return tuple(n.split_command(value))
    if isinstance(value, list | tuple) and all(isinstance(v, str | int | float) for v in value):
        return tuple(str(v) for v in value)
    raise SpecError(field, value, "a list of strings (preferred) or one command line string")


class ContainerSpec(SpecModel):
    """One container of a task: the main one, an init container or a sidecar.

    ``entrypoint`` and ``command`` have Docker's meaning: ``entrypoint`` replaces the image's
    ENTRYPOINT (Kubernetes ``command``), ``command`` replaces its CMD (Kubernetes ``args``).
    """

    image: str
    name: str | None = None
    entrypoint: tuple[str, ...] | None = None
    command: tuple[str, ...] | None = None
    working_dir: str | None = None
    env: dict[str, str] = Field(default_factory=dict)
    secrets: tuple[Secret, ...] = ()
    volumes: tuple[Volume, ...] = ()
    resources: Resources = Field(default_factory=Resources)
    security: Security = Field(default_factory=Security)
    hostname: str | None = None
    extra_hosts: dict[str, str] = Field(default_factory=dict)
    dns: tuple[str, ...] = ()
    dns_search: tuple[str, ...] = ()
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)
    image_pull_policy: PullPolicy | None = None
    liveness_probe: Probe | None = None
    readiness_probe: Probe | None = None
    startup_probe: Probe | None = None
    init_containers: tuple[ContainerSpec, ...] = ()
    sidecars: tuple[ContainerSpec, ...] = ()
    xcom: bool = False
    timeout: int | None = None
    termination_grace_period: int | None = None
    pod_template_file: str | None = None
    skip_on_exit_code: tuple[int, ...] = ()

    @field_validator("image")
    @classmethod
    def _image(cls, value: str) -> str:
        if not _templated(value) and not _IMAGE.match(value):
            raise SpecError("image", value, "an image reference such as 'registry.example.com/team/etl:1.4.2'")
        return value

    @field_validator("name")
    @classmethod
    def _name(cls, value: str | None) -> str | None:
        if value is not None and not n.DNS_LABEL.match(value):
            raise SpecError("name", value, "a container name: lower case letters, digits and '-'")
        return value

    @field_validator("entrypoint", "command", mode="before")
    @classmethod
    def _cmd(cls, value: object, info: Any) -> tuple[str, ...] | None:
        return _command(value, info.field_name)

    @field_validator("working_dir")
    @classmethod
    def _workdir(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith("/") and not _templated(value):
            raise SpecError("working_dir", value, "an absolute path inside the container")
        return value

    @field_validator("env", mode="before")
    @classmethod
    def _envs(cls, value: object) -> dict[str, str]:
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise SpecError("env", value, "a mapping of variable names to values")
        out = {}
        for key, val in value.items():
            if not isinstance(key, str) or not _ENV_NAME.match(key):
                raise SpecError("env", key, "variable names made of letters, digits and '_'")
            if val is None or isinstance(val, dict | list | tuple):
                raise SpecError(f"env.{key}", val, "a string, number or boolean value")
            out[key] = str(val).lower() if isinstance(val, bool) else str(val)
        return out

    @field_validator("volumes", mode="before")
    @classmethod
    def _volumes(cls, value: object) -> object:
        if isinstance(value, str):
            value = [value]
        if isinstance(value, list | tuple):
            return tuple(_parse_volume(v) if isinstance(v, str) else v for v in value)
        return value

    @field_validator("secrets", "init_containers", "sidecars", "dns", "dns_search", mode="before")
    @classmethod
    def _tuple(cls, value: object) -> object:
        return (value,) if isinstance(value, str | Secret | ContainerSpec) else value

    @field_validator("skip_on_exit_code", mode="before")
    @classmethod
    def _codes(cls, value: object) -> object:
        return (value,) if isinstance(value, int) else value

    @field_validator("timeout", mode="before")
    @classmethod
    def _timeout(cls, value: object) -> object:
        if isinstance(value, timedelta):
            value = int(value.total_seconds())
        if value is not None and (not isinstance(value, int) or value <= 0):
            raise SpecError("timeout", value, "a positive number of seconds or a timedelta")
        return value

    @field_validator("termination_grace_period")
    @classmethod
    def _grace(cls, value: int | None) -> int | None:
        if value is not None and value < 0:
            raise SpecError("termination_grace_period", value, "a whole number of seconds, 0 or more")
        return value

    @field_validator("extra_hosts")
    @classmethod
    def _hosts(cls, value: dict[str, str]) -> dict[str, str]:
        ip = re.compile(r"^[0-9a-fA-F:.]+$")
        for host, address in value.items():
            if not ip.match(address):
                raise SpecError(f"extra_hosts.{host}", address, "an IP address, e.g. {'db.local': '10.0.0.5'}")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> ContainerSpec:
        targets: dict[str, str] = {}
        mounts = [(v.target, f"volume {v.docker_notation()}") for v in self.volumes]
        mounts += [(s.path, s.describe()) for s in self.secrets if s.path]
        for target, what in mounts:
            if target in targets:
                raise SpecError("volumes", target, "one mount per container path",
                                reason=f"is mounted twice ({targets[target]} and {what})")
            targets[target] = what
        for secret in self.secrets:
            if secret.env and secret.env in self.env:
                raise SpecError("env", secret.env, "names not also given by a secret",
                                reason=f"is set both as a plain value and from {secret.describe()}",
                                fix="Drop the plain value: the secret provides it.")
        for kind in ("liveness_probe", "startup_probe"):
            probe = getattr(self, kind)
            if probe is not None and probe.success_threshold != 1:
                raise SpecError(f"{kind}.success_threshold", probe.success_threshold, "1",
                                reason="must be 1 (Kubernetes allows more for readiness probes only)")
        for container in self.init_containers:
            if container.liveness_probe or container.readiness_probe or container.startup_probe:
                raise SpecError(f"init container {container.name}", "a probe", "no probes on init containers",
                                reason="cannot have probes: it runs to completion before the others start",
                                fix="Make it a sidecar if it must keep running, or drop the probe.")
        names = [c.name for c in (*self.init_containers, *self.sidecars)]
        for container in (*self.init_containers, *self.sidecars):
            if container.name is None:
                raise SpecError("init_containers/sidecars", container.image, "containers with a name",
                                reason="has no name", fix="Give every init container and sidecar a name=.")
            if container.init_containers or container.sidecars:
                raise SpecError(container.name, container.image, "a plain container",
                                reason="cannot have init containers or sidecars of its own")
        duplicates = {x for x in names if names.count(x) > 1} | ({"base"} & set(names))
        if duplicates:
            raise SpecError("init_containers/sidecars", sorted(duplicates), "unique names other than 'base'",
                            reason="repeat a container name")
        return self

    @property
    def grace_seconds(self) -> int:
        """Seconds between SIGTERM and SIGKILL when the task is stopped: Kubernetes' default is 30."""
        return DEFAULT_GRACE_SECONDS if self.termination_grace_period is None else self.termination_grace_period

    def secret_files(self) -> list[Secret]:
        """Every secret that becomes files, from ``secrets`` and from secret volumes alike."""
        files = [s for s in self.secrets if s.path]
        files += [Secret(v.source, v.key, path=v.target) for v in self.volumes if v.kind == "secret"]
        return files

    def with_defaults(self, resources: Resources, security: Security) -> ContainerSpec:
        """This spec with the profile's default resources and security under its own settings."""
        if not resources.model_fields_set and not security.model_fields_set:
            return self
        return self.model_copy(
            update={
                "resources": self.resources.merged_over(resources),
                "security": self.security.merged_over(security),
            }
        )
