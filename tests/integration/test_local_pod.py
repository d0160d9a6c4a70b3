"""Init containers, sidecars and probes on the real Docker engine, with a pod's semantics, through dag.test().

Each test also checks that no container or volume of the run is left behind (the fixture of
test_docker_operator, imported here).
"""

from __future__ import annotations

import time

import pytest
from test_docker_operator import ETL, LABEL, _dag, _docker, _engine, _nothing_left_behind, _unique  # noqa: F401

from airflow_harness import run_dag

pytestmark = pytest.mark.integration

SERVE = '["python3", "-m", "http.server", "8080", "-d", "/work"]'
READY = '{"exec": ["python3", "-c", "import urllib.request as u; u.urlopen(\'http://localhost:8080/\')"], ' \
        '"period_seconds": 1}'
RESULT = "json.dump({k: v for k, v in result.items()}, open('/airflow/xcom/return.json', 'w'))"


def _python(code: str) -> str:
    return repr(["python3", "-c", f"import json, os, urllib.request as u\n{code}"])


def test_init_writes_shared_scratch_and_the_sidecar_answers_on_localhost(capfd):
    dag_id = _unique("pod")
    main = _python("result = {'file': open('/work/config.txt').read().strip(), "
                   "'via_sidecar': u.urlopen('http://localhost:8080/config.txt').read().decode().strip()}\n"
                   + RESULT)
    result = run_dag(_dag(dag_id, f"""
        DockpodDockerOperator(task_id="main", profile=LOCAL, spec=ContainerSpec(
            image=ETL, xcom=True, entrypoint={main}, volumes=[Volume.empty_dir("/work")],
            init_containers=[ContainerSpec(name="setup", image=ETL, volumes=[Volume.empty_dir("/work")],
                entrypoint=["sh", "-c", "echo configured > /work/config.txt; echo setup done"])],
            sidecars=[ContainerSpec(name="web", image=ETL, entrypoint={SERVE},
                volumes=[Volume.empty_dir("/work")], readiness_probe={READY})]))
    """), dag_id, text=True)
    assert result.task_states == {"main": "success"}
    assert result.xcoms["main"] == {"file": "configured", "via_sidecar": "configured"}
    out = capfd.readouterr().out
    assert "[setup] setup done" in out
    assert '[web] 127.0.0.1 - - ' in out and "GET /config.txt" in out  # the sidecar's own lines, prefixed
    assert out.index("[setup] setup done") < out.index("Sidecar web is ready") < out.index("GET /config.txt")


def test_init_containers_run_in_order_and_a_failing_one_is_named():
    dag_id = _unique("initfail")
    result = run_dag(_dag(dag_id, """
        DockpodDockerOperator(task_id="main", profile=LOCAL, spec=ContainerSpec(
            image=ETL, command=["exit", "0"], volumes=[Volume.empty_dir("/work")],
            init_containers=[
                ContainerSpec(name="first", image=ETL, volumes=[Volume.empty_dir("/work")],
                              entrypoint=["sh", "-c", "echo 1 > /work/order"]),
                ContainerSpec(name="wait-for-db", image=ETL, volumes=[Volume.empty_dir("/work")],
                              entrypoint=["sh", "-c", "test -s /work/order && echo db unreachable && exit 3"]),
                ContainerSpec(name="never", image=ETL, entrypoint=["sh", "-c", "exit 0"]),
            ]))
    """), dag_id, text=True)
    assert result.task_states == {"main": "failed"}
    message = str(result.failures["main"])
    assert "The init container wait-for-db failed: the container exited with code 3." in message
    assert "db unreachable" in message  # its last lines are quoted
    assert "were not started" in message


def test_sidecar_that_never_gets_ready_fails_before_the_main_container_starts():
    dag_id = _unique("notready")
    result = run_dag(_dag(dag_id, """
        DockpodDockerOperator(task_id="main", profile=LOCAL, spec=ContainerSpec(
            image=ETL, entrypoint=["sh", "-c", "echo MAIN RAN"],
            sidecars=[ContainerSpec(name="proxy", image=ETL, entrypoint=["sleep", "60"],
                readiness_probe={"exec": ["test", "-f", "/tmp/ready"], "period_seconds": 1,
                                 "failure_threshold": 2})]))
    """), dag_id, text=True)
    assert result.task_states == {"main": "failed"}
    message = str(result.failures["main"])
    assert "Sidecar proxy never became ready: its probe ['test', '-f', '/tmp/ready'] failed 2 time(s)" in message
    assert "last check: exit code 1" in message


def test_sidecars_are_stopped_and_removed_when_the_main_container_exits():
    dag_id = _unique("sidecarstop")
    started = time.monotonic()
    result = run_dag(_dag(dag_id, """
        DockpodDockerOperator(task_id="main", profile=LOCAL, spec=ContainerSpec(
            image=ETL, command=["exit", "0"],
            sidecars=[ContainerSpec(name="shipper", image=ETL, entrypoint=["sleep", "300"])]))
    """), dag_id, text=True)
    assert result.task_states == {"main": "success"}
    assert time.monotonic() - started < 30  # sleep got SIGTERM through the init, no grace period waited out
    assert _docker("ps", "-aq", "--filter", f"label=io.dockpod.dag_id={dag_id}").stdout.split() == []


def test_a_tmpfs_two_containers_mount_is_one_shared_memory_volume():
    dag_id = _unique("tmpfs")
    main = _python("result = {'seen': open('/cache/token').read().strip(), "
                   "'fs': [l.split()[2] for l in open('/proc/mounts') if l.split()[1] == '/cache'][0]}\n" + RESULT)
    result = run_dag(_dag(dag_id, f"""
        DockpodDockerOperator(task_id="main", profile=LOCAL, spec=ContainerSpec(
            image=ETL, xcom=True, entrypoint={main}, volumes=[Volume.tmpfs("/cache")],
            init_containers=[ContainerSpec(name="warm", image=ETL, volumes=[Volume.tmpfs("/cache")],
                entrypoint=["sh", "-c", "echo warm > /cache/token"])]))
    """), dag_id, text=True)
    assert result.task_states == {"main": "success"}
    assert result.xcoms["main"] == {"seen": "warm", "fs": "tmpfs"}


def test_main_container_failing_its_liveness_probe_is_stopped_and_fails_the_task():
    dag_id = _unique("liveness")
    started = time.monotonic()
    result = run_dag(_dag(dag_id, """
        DockpodDockerOperator(task_id="main", profile=LOCAL, spec=ContainerSpec(
            image=ETL, command=["sleep", "120"],
            liveness_probe={"exec": ["test", "-f", "/tmp/alive"], "period_seconds": 1, "failure_threshold": 2}))
    """), dag_id, text=True)
    assert result.task_states == {"main": "failed"}
    assert "failed its liveness probe" in str(result.failures["main"])
    assert time.monotonic() - started < 60


def test_an_unhealthy_sidecar_is_reported(capfd):
    dag_id = _unique("sickcar")
    result = run_dag(_dag(dag_id, """
        DockpodDockerOperator(task_id="main", profile=LOCAL, spec=ContainerSpec(
            image=ETL, command=["sleep", "6"],
            sidecars=[ContainerSpec(name="proxy", image=ETL, entrypoint=["sleep", "60"],
                liveness_probe={"exec": ["false"], "period_seconds": 1, "failure_threshold": 1})]))
    """), dag_id, text=True)
    assert result.task_states == {"main": "success"}
    assert "Sidecar proxy failed its liveness probe (last check: exit code 1" in capfd.readouterr().out
