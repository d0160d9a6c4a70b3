"""Run a DAG's production pods for real, in task order, under podman.

Each task's operator (built for a kubernetes profile) has its templates rendered with a context
whose ``ti.xcom_pull`` returns the values the earlier *pods* pushed, so the pod leg never borrows a
value from the local run. The pod is built by the provider's own ``build_pod_request_obj``, checked
against the Kubernetes schema, then played with podman; a task whose upstream failed is skipped.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any


@dataclass(frozen=True)
class PodOutcome:
    """What one task's pod did."""

    task_id: str
    state: str
    exit_code: int | None
    xcom: Any
    reason: str
    schema_problems: tuple[str, ...] = ()
    duration_s: float = 0.0


class _XComSource:
    """The part of a TaskInstance that templates use: ``xcom_pull`` over this leg's results."""

    def __init__(self, values: Mapping[str, Any]) -> None:
        self._values = values

    def xcom_pull(self, task_ids: str | list[str] | None = None, key: str = "return_value", **_: Any) -> Any:
        if key != "return_value":
            return None
        if isinstance(task_ids, list):
            return [self._values.get(t) for t in task_ids]
        return self._values.get(task_ids or "")


def template_context(dag: Any, task: Any, run_id: str, xcoms: Mapping[str, Any]) -> dict[str, Any]:
    """A minimal Airflow template context: params, run ids and dates, and ``ti.xcom_pull``."""
    now = datetime.now(UTC)
    ti = _XComSource(xcoms)
    return {
        "dag": dag,
        "task": task,
        "params": dag.params.dump() if hasattr(dag.params, "dump") else dict(dag.params),
        "run_id": run_id,
        "ti": ti,
        "task_instance": ti,
        "logical_date": now,
        "ds": now.strftime("%Y-%m-%d"),
        "ds_nodash": now.strftime("%Y%m%d"),
        "ts": now.isoformat(),
        "var": {"value": {}, "json": {}},
    }


def task_order(dag: Any) -> list[Any]:
    """The DAG's tasks, every task after its upstream tasks."""
    return list(dag.topological_sort())


def run_dag_pods(
    dag: Any,
    *,
    image_rewrites: Mapping[str, str] | None = None,
    secrets: Mapping[str, Mapping[str, str]] | None = None,
    run_id: str = "dockpod_pod_leg",
    log: Callable[[str], None] | None = None,
) -> dict[str, PodOutcome]:
    """Play each task of ``dag`` (built for a kubernetes profile) as a pod under podman, in order."""
    from kubernetes.client import ApiClient

    from dockpod.render.validate import validate_manifest
    from dockpod.runtime.podman import run_pod

    outcomes: dict[str, PodOutcome] = {}
    xcoms: dict[str, Any] = {}
    for task in task_order(dag):
        if not hasattr(task, "build_pod_request_obj"):
            continue
        failed_upstream = [t for t in task.upstream_task_ids if outcomes.get(t) and outcomes[t].state != "success"]
        if failed_upstream:
            outcomes[task.task_id] = PodOutcome(task.task_id, "upstream_failed", None, None,
                                                f"upstream {', '.join(sorted(failed_upstream))} failed")
            continue
        op = copy.deepcopy(task)
        op.render_template_fields(template_context(dag, op, run_id, xcoms))
        manifest = ApiClient().sanitize_for_serialization(op.build_pod_request_obj(dry_run=True))
        problems = tuple(validate_manifest(manifest))
        if log:
            log(f"{task.task_id}: playing pod {manifest['metadata']['name']}")
        run = run_pod(manifest, image_rewrites=dict(image_rewrites or {}),
                      secrets={k: dict(v) for k, v in (secrets or {}).items()}, log=log)
        skip_codes = set(getattr(op, "skip_on_exit_code", None) or ())
        state = "success" if run.succeeded else ("skipped" if run.exit_code in skip_codes else "failed")
        if state == "success" and op.do_xcom_push:
            xcoms[task.task_id] = run.xcom
        outcomes[task.task_id] = PodOutcome(task.task_id, state, run.exit_code,
                                            run.xcom if op.do_xcom_push else None, run.reason, problems,
                                            run.duration_s)
    return outcomes
