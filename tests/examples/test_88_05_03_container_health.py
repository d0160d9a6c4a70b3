"""88_05_03_container_health: readiness awaited, a sick sidecar reported, a hung main fails; same probes in the pod."""

from __future__ import annotations

import contextlib
import importlib.util
import io
import logging
import time
from pathlib import Path

import pytest

from airflow_harness import run_dag
from dockpod.render import render_paths
from dockpod.render.validate import validate_manifest

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "section_88" / "88_05_03_container_health.py"
DAG_ID = "88_05_03_container_health"

pytestmark = pytest.mark.integration


def _module():
    spec = importlib.util.spec_from_file_location("example_88_05_03", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _run(params: dict | None = None):
    """Run the DAG and return its result with everything the task logged."""
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    root = logging.getLogger()
    root.addHandler(handler)
    started = time.monotonic()
    try:
        with contextlib.redirect_stdout(buffer), contextlib.redirect_stderr(buffer):
            result = run_dag(EXAMPLE, DAG_ID, params=params)
    finally:
        root.removeHandler(handler)
    return result, buffer.getvalue(), time.monotonic() - started


def _in_order(text: str, needles: list[str]) -> None:
    positions = [text.index(needle) for needle in needles]
    assert positions == sorted(positions), needles


def test_readiness_is_awaited_and_the_unhealthy_sidecar_is_reported():
    result, log, _seconds = _run()
    assert result.task_states == {"query_api": "success"}, result.failures
    # The api's endpoint appears after 2 s: the main container starts only once it answers, and asks once.
    _in_order(log, ["Waiting for sidecar api to be ready", "Sidecar api is ready", "[base] api says: ok",
                    "[base] working 6", "[base] done"])
    # The cache hangs while the main container works: its liveness probe catches it, the task goes on.
    _in_order(log, ["[cache] cache up", "[cache] cache stuck", "Sidecar cache failed its liveness probe"])
    assert "Sidecar cache failed its liveness probe (last check: exit code 1" in log
    assert "Sidecar api failed" not in log and "The main container failed its liveness probe" not in log


def test_a_hung_main_container_fails_its_liveness_probe_and_the_task():
    result, log, seconds = _run({"main": "hangs"})
    assert result.task_states == {"query_api": "failed"}
    assert "failed its liveness probe" in result.failures["query_api"], result.failures
    assert "[base] waiting for a lock that never comes" in log
    assert "The main container failed its liveness probe" in log
    assert seconds < 60  # stopped by its probe, not by the 120 s sleep ending


def _k8s_probe(probe: dict) -> dict:
    """The Kubernetes probe a dockpod probe should become (defaults as dockpod's Probe has them)."""
    return {
        "exec": {"command": list(probe["exec"])},
        "periodSeconds": probe["period_seconds"],
        "failureThreshold": probe["failure_threshold"],
        "timeoutSeconds": probe.get("timeout_seconds", 1),
        "initialDelaySeconds": probe.get("initial_delay_seconds", 0),
        "successThreshold": 1,
    }


def test_the_production_pod_has_the_same_probes():
    probes = _module().PROBES
    rendered = render_paths([EXAMPLE], "production")
    assert rendered.ok, rendered.errors
    (task,) = rendered.tasks
    spec = task.manifest["spec"]
    assert validate_manifest(task.manifest) == []
    containers = {c["name"]: c for c in [*spec.get("initContainers", []), *spec["containers"]]}
    # Sidecars are native sidecars: init containers that keep running, started before the main one.
    for name in ("api", "cache"):
        assert containers[name]["restartPolicy"] == "Always"
    kinds = {"startup_probe": "startupProbe", "readiness_probe": "readinessProbe", "liveness_probe": "livenessProbe"}
    for name, container_probes in probes.items():
        container = containers[name]
        for kind, k8s_kind in kinds.items():
            if kind in container_probes:
                assert container[k8s_kind] == _k8s_probe(container_probes[kind]), (name, kind)
            else:
                assert container.get(k8s_kind) is None, (name, kind)


def test_the_production_pod_awaits_the_api_startup_probe_under_podman():
    from dockpod.runtime.podman import run_pod

    rendered = render_paths([EXAMPLE], "production")
    assert rendered.ok, rendered.errors
    manifest = rendered.tasks[0].manifest
    base = next(c for c in manifest["spec"]["containers"] if c["name"] == "base")
    base["args"] = ["healthy"]  # what Airflow renders {{ params.main }} to by default
    said: list[str] = []
    run = run_pod(manifest, image_rewrites={"registry.localhost": "localhost:5000"}, log=said.append)
    assert run.succeeded, (run.reason, run.container_logs)
    assert run.leftovers == ()
    log = "\n".join(said)
    _in_order(log, ["sidecar api started", "sidecar api passed its startup probe", "[base] api says: ok",
                    "[base] done"])
