"""``dockpod migrate --verify``: the container each migrated call creates, before and after, compared.

For every migrated call whose arguments are literal, two operators are built without a Docker engine:

* before: the plain ``DockerOperator`` of the original call. Its own ``_run_image`` runs against a
  recording ``docker.APIClient`` (the SDK's real ``create_container`` and ``create_host_config``) whose
  ``create_container_from_config`` keeps the body and stops the run.
* after: the migrated ``container_task(...)`` call in the ``local`` profile, through
  :func:`dockpod.backends.docker.create_body` with :func:`~dockpod.backends.docker.placeholder_run`,
  the body dockpod's local runtime sends.

Both operators' templated fields are rendered first with one stand-in for every template, so that a
command string DockerOperator splits after rendering compares with the list dockpod splits before.
Every difference is one :class:`Difference`, except those :data:`ALLOWED` explains. BaseOperator
arguments (``dag=``, ``retries=``...) do not shape the container and are left out of both calls.
"""

from __future__ import annotations

import ast
import contextlib
import io
import json
import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from dockpod.migrate._codemod import DEVICE_REQUEST, MOUNT, CallReport

if TYPE_CHECKING:
    from dockpod.migrate.rewrite import MigrateResult

__all__ = ["ALLOWED", "Allowance", "Difference", "Verification", "compare", "verify_calls", "verify_result"]


@dataclass(frozen=True)
class Difference:
    """One field of the create body that differs: ``before`` (DockerOperator) and ``after`` (dockpod)."""

    field: str
    before: object
    after: object

    def __str__(self) -> str:
        return f"{self.field}: before {json.dumps(self.before)}, after {json.dumps(self.after)}"


@dataclass(frozen=True)
class Allowance:
    """A difference dockpod makes on purpose: which fields, on which side, and why."""

    matches: Callable[[Difference], bool]
    why: str


def _added(prefix: str) -> Callable[[Difference], bool]:
    return lambda d: d.before is None and (d.field == prefix or d.field.startswith(prefix))


def _per_run_mount(d: Difference) -> bool:
    return d.before is None and d.field.startswith("HostConfig.Mounts[") and \
        str((d.after or {}).get("Source", "")).startswith("<per-run")  # type: ignore[union-attr]


#: The differences dockpod makes on purpose (docs/migrating.md, section 4, lists them).
ALLOWED: tuple[Allowance, ...] = (
    Allowance(_added("Labels.io.dockpod."), "labels dockpod adds to find its containers (run, dag, task, try)"),
    Allowance(_per_run_mount, "per-run mounts dockpod makes (XCom directory, scratch volumes, secret files)"),
    Allowance(_added("HostConfig.CapDrop"), "capabilities dropped by the spec"),
    Allowance(_added("HostConfig.SecurityOpt"), "no-new-privileges, dockpod's default"),
    Allowance(_added("HostConfig.NanoCpus"), "a CPU limit, which DockerOperator cannot express"),
    Allowance(_added("HostConfig.MemoryReservation"), "a memory request, which DockerOperator cannot express"),
    Allowance(_added("HostConfig.Init"), "an init as PID 1, so that SIGTERM reaches the workload"),
    Allowance(_added("StopTimeout"), "the stop grace period, the pod's terminationGracePeriodSeconds (30 s)"),
    Allowance(lambda d: d.field == "Tty" and d.after is None,
              "tty: dockpod allocates no terminal and streams the logs line by line (a review comment says so)"),
    Allowance(lambda d: d.field == "Env.AIRFLOW_TMP_DIR" and d.after is None,
              "DockerOperator's mount_tmp_dir variable; dockpod mounts no host temporary directory"),
    Allowance(lambda d: d.field == "HostConfig.Mounts[/tmp/airflow]" and d.after is None,
              "DockerOperator's mount_tmp_dir directory; dockpod mounts no host temporary directory"),
)


@dataclass(frozen=True)
class Verification:
    """The outcome for one migrated call: ``differences`` (unexplained), or why it was ``skipped``."""

    line: int
    task_id: str | None
    differences: tuple[Difference, ...] = ()
    allowed: tuple[Difference, ...] = ()
    skipped: str | None = None

    @property
    def ok(self) -> bool:
        """True when the call was compared and nothing unexplained differs."""
        return self.skipped is None and not self.differences


def verify_result(result: MigrateResult) -> list[Verification]:
    """:func:`verify_calls` for one file migrated to ``container_task`` (its imports read from the original)."""
    import libcst as cst

    from dockpod.migrate._codemod import import_table

    if not any(call.action == "migrated" for call in result.calls):
        return []
    return verify_calls(result.calls, import_table(cst.parse_module(result.original)))


def verify_calls(calls: Iterable[CallReport], imports: dict[str, str]) -> list[Verification]:
    """Compare every migrated call of one file; ``imports`` is the file's local name -> qualified name."""
    out = []
    for call in calls:
        if call.action != "migrated":
            continue
        try:
            before = _build_before(call, imports)
        except _NotLiteral as exc:
            out.append(Verification(call.line, call.task_id, skipped=f"not literal: {exc}"))
            continue
        except Exception as exc:  # any failure to build is reported, never raised
            out.append(Verification(call.line, call.task_id,
                                    skipped=f"the original cannot be built: {type(exc).__name__}: {exc}"))
            continue
        try:
            after = _build_after(call)
        except Exception as exc:  # the original builds and the rewrite does not: a broken rewrite
            broken = Difference("(the call)", "builds", f"cannot be built: {type(exc).__name__}: {exc}")
            out.append(Verification(call.line, call.task_id, (broken,)))
            continue
        found = compare(before, after)
        allowed = tuple(d for d in found if any(a.matches(d) for a in ALLOWED))
        out.append(Verification(call.line, call.task_id, tuple(d for d in found if d not in allowed), allowed))
    return out


def compare(before: dict[str, Any], after: dict[str, Any]) -> list[Difference]:
    """Every field that differs between two create bodies (absent, null, false and empty are alike)."""
    flat_before, flat_after = _flatten(before), _flatten(after)
    return [Difference(key, flat_before.get(key), flat_after.get(key))
            for key in sorted({*flat_before, *flat_after}) if flat_before.get(key) != flat_after.get(key)]


def _flatten(body: dict[str, Any]) -> dict[str, Any]:
    """Field path -> value; Env, Labels and Mounts by key, so that their order does not matter."""
    flat: dict[str, Any] = {}
    for key, value in body.items():
        if key == "HostConfig":
            for host_key, host_value in (value or {}).items():
                if host_key == "Mounts":
                    for mount in host_value or []:
                        flat[f"HostConfig.Mounts[{mount.get('Target')}]"] = _clean(mount)
                elif host_key == "LogConfig" and not (host_value or {}).get("Type") and not (host_value or {}).get(
                        "Config"):
                    continue  # the engine's default log driver either way
                elif host_key == "NetworkMode" and host_value == "bridge":
                    flat["HostConfig.NetworkMode"] = "default"  # the engine's default network is the bridge
                else:
                    flat[f"HostConfig.{host_key}"] = _clean(host_value)
        elif key == "Env":
            for item in value or []:
                name, _, val = str(item).partition("=")
                flat[f"Env.{name}"] = val
        elif key == "Labels":
            for name, val in (value or {}).items():
                flat[f"Labels.{name}"] = val
        else:
            flat[key] = _clean(value)
    return {k: v for k, v in flat.items() if v not in (None, False, "", [], {})}


def _clean(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items() if v not in (None, False, "", [], {})}
    return value


# --- building the two operators -----------------------------------------------------------------


class _NotLiteral(Exception):
    """A call whose arguments need names of its file."""


class _Recorded(Exception):
    """Stops DockerOperator's run once the create body is known."""


def _build_before(call: CallReport, imports: dict[str, str]) -> dict[str, Any]:
    from airflow.providers.docker.operators.docker import DockerOperator

    namespace: dict[str, Any] = {"__operator__": DockerOperator, **_sdk_names(imports)}
    return _record_docker_operator(_evaluate(call.before, namespace, {}))


def _build_after(call: CallReport) -> dict[str, Any]:
    from dockpod import Secret, Volume, container_task
    from dockpod.spec import ContainerSpec

    namespace = {"__operator__": container_task, "Volume": Volume, "Secret": Secret}
    keep = frozenset(ContainerSpec.model_fields)  # resources= is the spec's here, not BaseOperator's
    return _dockpod_body(_evaluate(call.after, namespace, {"environment": "local"}, keep=keep))


def _evaluate(source: str, namespace: dict[str, Any], extra: dict[str, Any], keep: frozenset[str] = frozenset()) -> Any:
    """Build the operator of one call: the callee replaced, BaseOperator arguments (but ``keep``) left out."""
    from dockpod.backends.table import BASE_OPERATOR_PASSTHROUGH

    tree = ast.parse(source.strip(), mode="eval")
    call = tree.body
    if not isinstance(call, ast.Call):
        raise _NotLiteral("not a call")
    if call.args or any(k.arg is None for k in call.keywords):
        raise _NotLiteral("positional or ** arguments")
    call.func = ast.Name("__operator__", ast.Load())
    call.keywords = [k for k in call.keywords if k.arg in keep or k.arg not in BASE_OPERATOR_PASSTHROUGH]
    call.keywords.append(ast.keyword("task_id", ast.Constant("dockpod_verify")))
    call.keywords += [ast.keyword(key, ast.Constant(value)) for key, value in extra.items()]
    ast.fix_missing_locations(tree)
    try:
        return eval(compile(tree, "<dockpod migrate --verify>", "eval"), {"__builtins__": {}, **namespace})
    except NameError as exc:
        raise _NotLiteral(str(exc)) from None


def _sdk_names(imports: dict[str, str]) -> dict[str, Any]:
    """The file's names for the docker SDK's Mount and DeviceRequest (and the modules that hold them)."""
    import importlib

    import docker.types

    names: dict[str, Any] = {}
    for local, qualified in imports.items():
        if qualified in MOUNT:
            names[local] = docker.types.Mount
        elif qualified in DEVICE_REQUEST:
            names[local] = docker.types.DeviceRequest
        elif any(path.startswith(f"{qualified}.") for path in (*MOUNT, *DEVICE_REQUEST)):
            names[local] = importlib.import_module(qualified)
    return names


def _render(op: Any) -> None:
    """Render the templated fields with one stand-in value per template (no run context needed)."""
    import jinja2

    class StandIn(jinja2.Undefined):
        def __str__(self) -> str:
            return "TEMPLATED"

        def __getattr__(self, name: str) -> StandIn:
            if name.startswith("__"):
                raise AttributeError(name)
            return self

        def __call__(self, *args: Any, **kwargs: Any) -> StandIn:
            return self

    op.render_template_fields({}, jinja_env=jinja2.Environment(undefined=StandIn))


def _record_docker_operator(op: Any) -> dict[str, Any]:
    """The create body DockerOperator's own ``_run_image`` sends, recorded instead of sent."""
    import docker

    from dockpod.backends.docker import API_VERSION

    class RecordingClient(docker.APIClient):
        body: dict[str, Any] = {}

        def create_container_from_config(self, config: Any, name: Any = None, platform: Any = None) -> Any:
            RecordingClient.body = json.loads(json.dumps(config))
            raise _Recorded

    client = RecordingClient(base_url="unix:///dockpod-verify-no-engine.sock", version=API_VERSION)
    _render(op)
    op.__class__ = type("RecordingDockerOperator", (type(op),), {"cli": property(lambda self: client)})
    try:
        with _quiet():
            op._run_image()
    except _Recorded:
        return RecordingClient.body
    raise RuntimeError("DockerOperator did not create a container")


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """DockerOperator logs "Starting docker container"; nothing starts here."""
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        previous = logging.root.manager.disable
        logging.disable(logging.INFO)
        try:
            yield
        finally:
            logging.disable(previous)


def _dockpod_body(op: Any) -> dict[str, Any]:
    from dockpod.backends.docker import create_body, host_config_extras, placeholder_run

    _render(op)
    mounts, private_env, labels = placeholder_run(op.spec, op)
    return create_body(op, host_config_extras(op.spec), run_mounts=mounts, private_env=private_env,
                       run_labels=labels)
