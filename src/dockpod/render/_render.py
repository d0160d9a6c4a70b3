"""Render every container task of a DAG file: production pods or local container configurations.

Production pods are built by the cncf.kubernetes provider's own ``build_pod_request_obj`` (no
cluster needed). Local configurations are the exact ``POST /containers/create`` body dockpod's
runtime sends, with per-run names and secret values shown as placeholders. No output ever holds a
secret value: pods reference Secrets by name, and local secrets appear as ``<secret NAME/KEY>``.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from dockpod.errors import DockpodError
from dockpod.profiles import ENV_VAR, get_profile

Format = Literal["yaml", "json"]


@dataclass(frozen=True)
class RenderedTask:
    """One task's manifest (``kind`` is ``pod`` or ``container``)."""

    dag_id: str
    task_id: str
    kind: str
    manifest: dict[str, Any]


@dataclass
class RenderResult:
    """Everything rendered from some DAG files, and what could not be."""

    environment: str
    tasks: list[RenderedTask] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when every file imported and every task rendered."""
        return not self.errors


def render_paths(paths: list[Path], environment: str) -> RenderResult:
    """Import the DAG files under ``paths`` in ``environment`` and render their container tasks."""
    profile = get_profile(environment)  # fail early, with the list of known environments
    result = RenderResult(environment=profile.name)
    with _environment(profile.name), _stdout_to_stderr():
        from airflow.dag_processing.dagbag import DagBag

        for path in paths:
            if not path.exists():
                result.errors.append(f"{path}: no such file or directory.")
                continue
            bag = DagBag(dag_folder=str(path), safe_mode=False, load_op_links=False)
            for file, trace in sorted(bag.import_errors.items()):
                result.errors.append(f"{file}: the DAG file failed to import: {_last_line(trace)}")
            for dag_id in sorted(bag.dags):
                for task in bag.dags[dag_id].tasks:
                    try:
                        rendered = render_task(task)
                    except DockpodError as exc:
                        result.errors.append(f"{bag.dags[dag_id].fileloc}: task {task.task_id}: {exc}")
                        continue
                    if rendered is not None:
                        result.tasks.append(RenderedTask(dag_id, task.task_id, *rendered))
    return result


def render_task(task: Any) -> tuple[str, dict[str, Any]] | None:
    """``("pod", manifest)``, ``("container", body)`` or None for a task that runs no container."""
    from dockpod.operators._kubernetes import DockpodKubernetesPodOperator

    if isinstance(task, DockpodKubernetesPodOperator) or _is_plain_kpo(task):
        from kubernetes.client import ApiClient

        pod = task.build_pod_request_obj(dry_run=True)
        return "pod", ApiClient().sanitize_for_serialization(pod)
    spec = getattr(task, "spec", None)
    if spec is not None and _is_docker(task):
        from dockpod.backends.docker import create_body, healthcheck, host_config_extras, placeholder_run

        mounts, private_env, labels = placeholder_run(spec, task)
        multi = bool(spec.init_containers or spec.sidecars or spec.liveness_probe)
        body = create_body(task, host_config_extras(spec), run_mounts=mounts, private_env=private_env,
                           run_labels=labels, healthcheck=healthcheck(spec), pod=HOLDER if multi else None)
        if not multi:
            return "container", body
        return "containers", _local_pod(task, spec, body, labels)
    return None


#: Stands for the id of the container holding a multi-container task's network namespace.
HOLDER = "<per-run pod holder>"


def _local_pod(task: Any, spec: Any, main: dict[str, Any], labels: dict[str, str]) -> dict[str, Any]:
    """Every container a multi-container task starts locally, in order: holder, init containers, sidecars, main."""
    from dockpod.backends.docker import (
        ContainerArgs,
        create_body,
        healthcheck,
        host_config_extras,
        placeholder_run,
        pod_holder_body,
    )

    pause = task.profile.pause_image
    image = task.profile.rewrite_image(pause) if pause else task.image
    containers: dict[str, Any] = {"pod": pod_holder_body(task, image, labels)}
    for role, members in (("init", spec.init_containers), ("sidecar", spec.sidecars)):
        for member in members:
            args = ContainerArgs(member, task.profile)
            mounts, private_env, _labels = placeholder_run(member, args)
            containers[f"{role}:{member.name}"] = create_body(
                args, host_config_extras(member), run_mounts=mounts, private_env=private_env, run_labels=labels,
                healthcheck=healthcheck(member), pod=HOLDER)
    containers["base"] = main
    return containers


def _is_plain_kpo(task: Any) -> bool:
    module = sys.modules.get("airflow.providers.cncf.kubernetes.operators.pod")
    return module is not None and isinstance(task, module.KubernetesPodOperator)


def _is_docker(task: Any) -> bool:
    module = sys.modules.get("airflow.providers.docker.operators.docker")
    return module is not None and isinstance(task, module.DockerOperator)


def dump(result: RenderResult, fmt: Format) -> str:
    """All rendered tasks as text: YAML documents (one per task) or one JSON object keyed by task."""
    keys = _keys(result.tasks)
    if fmt == "json":
        return json.dumps({keys[i]: t.manifest for i, t in enumerate(result.tasks)}, indent=2, sort_keys=False) + "\n"
    return "".join(_yaml_document(keys[i], t) for i, t in enumerate(result.tasks))


def write(result: RenderResult, fmt: Format, out: Path) -> list[Path]:
    """One file per task in ``out``: ``DAG.TASK.yaml`` or ``DAG.TASK.json``."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for task in result.tasks:
        path = out / f"{task.dag_id}.{task.task_id}.{fmt}"
        text = json.dumps(task.manifest, indent=2) + "\n" if fmt == "json" else _yaml_document(None, task)
        path.write_text(text)
        written.append(path)
    return written


def _keys(tasks: list[RenderedTask]) -> list[str]:
    several_dags = len({t.dag_id for t in tasks}) > 1
    return [f"{t.dag_id}.{t.task_id}" if several_dags else t.task_id for t in tasks]


def _yaml_document(key: str | None, task: RenderedTask) -> str:
    from ruamel.yaml import YAML

    yaml = YAML()
    yaml.default_flow_style = False
    stream = io.StringIO()
    stream.write(f"---\n# {task.dag_id}.{task.task_id} ({task.kind})\n")
    yaml.dump(task.manifest, stream)
    return stream.getvalue()


def _last_line(trace: str) -> str:
    lines = [line.strip() for line in trace.strip().splitlines() if line.strip()]
    return lines[-1] if lines else "unknown error"


@contextlib.contextmanager
def _environment(name: str) -> Iterator[None]:
    previous = os.environ.get(ENV_VAR)
    os.environ[ENV_VAR] = name
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop(ENV_VAR, None)
        else:
            os.environ[ENV_VAR] = previous


@contextlib.contextmanager
def _stdout_to_stderr() -> Iterator[None]:
    """Airflow logs to stdout; keep stdout for the manifests scripts read."""
    with contextlib.redirect_stdout(sys.stderr):
        yield
