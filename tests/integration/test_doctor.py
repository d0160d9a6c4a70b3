"""dockpod doctor against failures produced for real on the Docker engine, the registry and podman.

Every container made here carries the label ``io.dockpod.test=doctor`` (never ``io.dockpod.run``, which
other tests count); fixtures remove what they made (containers by that label and exact name, pods,
images and temporary folders by exact name), also when a test fails.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import pytest

import registry_harness
from dockpod.doctor import doctor

pytestmark = pytest.mark.integration

ETL = "localhost:5000/dockpod/etl:1.0"
BASE = "localhost:5000/dockpod/debian:bookworm"
LABEL = "io.dockpod.test=doctor"
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def _run(*args: str, timeout: float = 120, **kwargs) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(args), capture_output=True, text=True, timeout=timeout, **kwargs)


@pytest.fixture(scope="module", autouse=True)
def _engine():
    if shutil.which("docker") is None or _run("docker", "info").returncode != 0:
        pytest.fail("the Docker engine is not running (start it with `make setup`)")
    if _run("docker", "image", "inspect", ETL).returncode != 0:
        pytest.fail(f"{ETL} is missing (build it with `make image`)")
    if shutil.which("podman") is None:
        pytest.fail("podman is not installed (make setup)")


@pytest.fixture
def containers():
    """Start labelled containers by a unique name; all are removed afterwards."""
    made: list[str] = []

    def start(*args: str, wait: bool = True, starts: bool = True) -> str:
        name = f"dockpod-doctor-{uuid.uuid4().hex[:8]}"
        made.append(name)
        result = _run("docker", "run", "-d", "--name", name, "--label", LABEL, *args)
        assert (result.returncode == 0) is starts, result.stderr
        if wait:
            _run("docker", "wait", name, timeout=120)
        return name

    yield start
    if made:
        _run("docker", "rm", "-f", *made)


@pytest.fixture
def root_only_dir():
    """A host folder owned by root with mode 0700 (this suite runs as root)."""
    path = tempfile.mkdtemp(prefix="dockpod-doctor-")
    os.chmod(path, 0o700)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


# --- Docker containers ---------------------------------------------------------------------------------


def test_oom_killed_names_the_limit_and_says_the_peak_is_not_known(containers):
    name = containers("--memory", "64m", "--memory-swap", "64m", ETL, "alloc", "300")
    finding = doctor(name)
    assert (finding.kind, finding.subject, finding.cause) == ("container", name, "oom_killed"), finding
    assert "limit of 64Mi" in finding.message and "peak usage not known" in finding.message
    assert any("OOMKilled: true" in line for line in finding.evidence)


def test_oom_of_a_live_container_reads_the_peak(containers):
    # Restarted after each OOM kill: while it lives again, cgroup v1's max_usage is readable.
    name = containers("--memory", "64m", "--memory-swap", "64m", "--restart", "always",
                      "--entrypoint", "sh", ETL, "-c",
                      "python3 /app/etl.py alloc 300 || true; sleep 1; python3 /app/etl.py alloc 300", wait=False)
    deadline = time.monotonic() + 60
    while _run("docker", "inspect", "-f", "{{.State.OOMKilled}}", name).stdout.strip() != "true":
        assert time.monotonic() < deadline, "no OOM kill within 60 s"
        time.sleep(0.2)
    finding = doctor(name)
    assert finding.cause in ("oom_killed", "crash_loop"), finding
    assert "limit of 64Mi" in finding.message
    assert "peak usage" in finding.message


def test_command_not_found(containers):
    name = containers("--entrypoint", "etl-run", ETL, starts=False)  # created; runc refused the start
    finding = doctor(f"docker:{name}")
    assert finding.cause == "command_not_found", finding
    assert '"etl-run"' in finding.message and "127" in finding.message


def test_permission_denied_names_owner_mode_and_uid(containers, root_only_dir):
    name = containers("-v", f"{root_only_dir}:/data", ETL, "extract", "--rows", "3", "--out", "/data/rows.json")
    finding = doctor(name)
    assert finding.cause == "permission_denied", finding
    for word in ["uid 1000", "/data", root_only_dir, "owned by uid 0", "mode 0700", "no write access"]:
        assert word in finding.message, finding.message
    assert f"chown -R 1000:1000 {root_only_dir}" in finding.fix


def test_permission_denied_on_a_named_volume_points_at_its_mountpoint(containers):
    volume = f"dockpod-doctor-{uuid.uuid4().hex[:8]}"
    try:
        name = containers("-v", f"{volume}:/cache", ETL, "extract", "--rows", "3", "--out", "/cache/rows.json")
        finding = doctor(name)
        assert finding.cause == "permission_denied", finding
        assert f"the volume {volume}" in finding.message and "owned by uid 0" in finding.message
        assert "uid 1000" in finding.message
    finally:
        _run("docker", "rm", "-f", *[c for c in _run("docker", "ps", "-aq", "--filter", f"volume={volume}",
                                                       "--filter", f"label={LABEL}").stdout.split()])
        _run("docker", "volume", "rm", "-f", volume)


@pytest.fixture
def arm64_image():
    from doctor.foreign_arch import build_foreign_arch_image

    name = f"dockpod-test/arm64only:{uuid.uuid4().hex[:8]}"
    build_foreign_arch_image(name)
    try:
        yield name
    finally:
        _run("docker", "rmi", "-f", name)


def test_exec_format_names_the_image_and_host_architectures(containers, arm64_image):
    name = containers(arm64_image)
    finding = doctor(name)
    assert finding.cause == "exec_format", finding
    for word in ["/app/run", "exec format error", "built for arm64", "ELF executable for arm64", "host is amd64"]:
        assert word in finding.message, finding.message


def test_exec_format_under_tini_is_told_from_command_not_found(containers, arm64_image):
    # With --init, tini's execvp falls back to /bin/sh and reports "No such file or directory" (127).
    name = containers("--init", arm64_image)
    finding = doctor(name)
    assert finding.cause == "exec_format", finding
    assert "ELF executable for arm64" in finding.message


def test_crash_loop_counts_restarts_and_explains_the_exit(containers):
    name = containers("--restart", "on-failure:3", ETL, "exit", "3", wait=False)
    deadline = time.monotonic() + 90
    while _run("docker", "inspect", "-f", "{{.RestartCount}} {{.State.Running}} {{.State.Restarting}}",
               name).stdout.split() != ["3", "false", "false"]:
        assert time.monotonic() < deadline, "the container did not stop after 3 restarts"
        time.sleep(0.3)
    finding = doctor(name)
    assert finding.cause == "crash_loop", finding
    assert "restarted 3 times by its restart policy on-failure" in finding.message
    assert "exited with code 3" in finding.message


def test_a_container_that_succeeded_has_no_failure(containers):
    finding = doctor(containers(ETL, "env", "--no-result"))
    assert finding.cause == "no_failure" and not finding.failed


def test_secret_values_never_reach_the_finding(containers):
    secret = "s3cr3t-" + uuid.uuid4().hex[:8]
    name = containers("-e", f"API_TOKEN={secret}", "--entrypoint", "sh", ETL, "-c",
                      'echo "using token $API_TOKEN"; exit 5')
    finding = doctor(name)
    assert secret not in str(finding) and secret not in json.dumps(finding.to_dict())
    assert "using token ***" in str(finding)


def test_unknown_container_is_one_sentence():
    from dockpod.errors import DockpodError

    with pytest.raises(DockpodError, match=r"No Docker container, podman pod or log file named 'no-such-"):
        doctor(f"no-such-{uuid.uuid4().hex[:6]}")
    with pytest.raises(DockpodError, match="No Docker container named"):
        doctor(f"docker:no-such-{uuid.uuid4().hex[:6]}")


# --- images and registries --------------------------------------------------------------------------------


def test_image_not_found_in_the_local_registry():
    finding = doctor("image:localhost:5000/dockpod/etl:0.0-missing")
    assert finding.cause == "image_not_found", finding
    assert "localhost:5000/dockpod/etl:0.0-missing" in finding.message


def test_registry_unreachable_on_a_closed_port():
    finding = doctor("image:localhost:5999/dockpod/etl:1.0")
    assert finding.cause == "registry_unreachable", finding
    assert "localhost:5999" in finding.message


def test_image_present_and_pullable():
    assert doctor(f"image:{ETL}").cause == "no_failure"


@pytest.fixture(scope="module")
def auth_registry(tmp_path_factory):
    """A registry with htpasswd auth on a free loopback port (tests/registry_harness.py)."""
    with registry_harness.auth_registry(tmp_path_factory.mktemp("registry")) as address:
        yield address


def test_auth_required(auth_registry):
    finding = doctor(f"image:{auth_registry}/dockpod/etl:1.0")
    assert finding.cause == "auth_required", finding
    assert f"the registry {auth_registry} requires authentication" in finding.message
    assert registry_harness.PASSWORD not in str(finding)


def test_the_operator_and_doctor_agree_on_a_pull_failure(tmp_path):
    """The dockpod operator's failure, written to a task log, reads back as the same finding."""
    from dockpod.errors import ContainerFailed
    from dockpod.operators._docker import DockpodDockerOperator
    from dockpod.profiles import get_profile
    from dockpod.spec import ContainerSpec

    op = DockpodDockerOperator(spec=ContainerSpec(image="localhost:5999/dockpod/etl:1.0", command=["env"]),
                               profile=get_profile("local"), task_id="pull")
    with pytest.raises(ContainerFailed) as failure:
        op.execute({})
    log = tmp_path / "attempt=1.log"
    log.write_text(f"dockpod.errors.ContainerFailed: {failure.value}\n")
    from_log = doctor(str(log))
    assert failure.value.cause == from_log.cause == "registry_unreachable"
    assert from_log.message == failure.value.message
    assert doctor("image:localhost:5999/dockpod/etl:1.0").message == failure.value.message


# --- podman pods ---------------------------------------------------------------------------------------------


@pytest.fixture
def pods(tmp_path):
    """Play pod manifests with podman kube play; every pod is removed afterwards."""
    made: list[str] = []

    def play(spec: dict) -> str:
        name = f"dockpod-doctor-{uuid.uuid4().hex[:8]}"
        made.append(name)
        manifest = {"apiVersion": "v1", "kind": "Pod",
                    "metadata": {"name": name, "labels": {"io.dockpod.test": "doctor"}}, "spec": spec}
        path = tmp_path / f"{name}.yaml"
        path.write_text(json.dumps(manifest))
        _run("podman", "kube", "play", "--tls-verify=false", str(path), timeout=300)
        return name

    yield play
    for name in made:
        _run("podman", "pod", "rm", "-f", "--time", "0", name)


def _wait_pod(name: str, container: str) -> None:
    deadline = time.monotonic() + 60
    while _run("podman", "inspect", "-f", "{{.State.Status}}", f"{name}-{container}").stdout.strip() != "exited":
        assert time.monotonic() < deadline, f"{name}-{container} did not exit"
        time.sleep(0.3)


def test_pod_with_a_failing_init_container(pods):
    name = pods({"restartPolicy": "Never",
                 "initContainers": [{"name": "wait-db", "image": BASE,
                                     "command": ["sh", "-c", "echo waiting for db; echo db unreachable >&2; exit 4"]}],
                 "containers": [{"name": "base", "image": BASE, "command": ["true"]}]})
    finding = doctor(name)
    assert (finding.kind, finding.cause) == ("pod", "init_failed"), finding
    assert "Init container 'wait-db' failed" in finding.message and "code 4" in finding.message
    assert any("db unreachable" in line for line in finding.evidence)
    assert doctor(f"podman:{name}").cause == "init_failed"


def test_pod_with_a_failing_container(pods):
    name = pods({"restartPolicy": "Never",
                 "containers": [{"name": "base", "image": ETL, "args": ["exit", "3"]}]})
    _wait_pod(name, "base")
    finding = doctor(f"podman:{name}")
    assert finding.cause == "exit_code", finding
    assert finding.message.startswith(f"Container 'base' of pod {name}: ")
    assert "exited with code 3" in finding.message


def test_pod_with_command_not_found(pods):
    name = pods({"restartPolicy": "Never",
                 "containers": [{"name": "base", "image": ETL, "command": ["etl-run"]}]})
    finding = doctor(f"podman:{name}")
    # podman 4.3 records nothing in the container's state (exit code 0, no error): doctor says so.
    assert finding.cause == "start_failed", finding
    assert "'base'" in finding.message and "never started" in finding.message
