"""dockpod doctor without an engine: task log files, Kubernetes pod statuses, target parsing, findings.

The log fixtures in tests/doctor/logs/ are the output of real failing tasks (``airflow dags test``
against the Docker engine), re-made with tests/doctor/capture_logs.py; the ``kpo_*`` ones ran the real
KubernetesPodOperator failure path with a pod status built in the task (no cluster exists here).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from kubernetes.client import models as k8s

from dockpod.doctor import CAUSES, Finding, doctor, doctor_log, doctor_log_text, doctor_pod_object
from dockpod.errors import DockpodError
from dockpod.operators._diagnosis import PathAccess, diagnose_permission, elf_architecture

LOGS = Path(__file__).resolve().parents[1] / "doctor" / "logs"

# (fixture, cause, words the one-sentence message must contain)
LOG_CASES = [
    ("dockpod_oom", "oom_killed", ["OOM-killed", "limit of 64Mi", "peak usage not known"]),
    ("dockpod_image_not_found", "image_not_found", ["localhost:5000/dockpod/etl:9.9", "not found"]),
    ("dockpod_registry_unreachable", "registry_unreachable", ["localhost:5999", "unreachable"]),
    ("dockpod_command_not_found", "command_not_found", ["command was not found", "127"]),
    ("dockpod_permission_denied", "permission_denied", ["denied access", "/data/"]),
    # dockpod runs containers under tini, whose execvp falls back to /bin/sh on ENOEXEC: the log only
    # says "No such file or directory" (exit 127). Doctor on the container tells exec format apart.
    ("dockpod_exec_format", "command_not_found", ["127"]),
    ("dockpod_exit_code", "unknown", ["exit code 3"]),
    ("docker_operator_oom", "signal", ["SIGKILL", "137", "memory limit"]),
    ("docker_operator_command_not_found", "command_not_found", ['"etl-run"', "executable file not found"]),
    ("docker_operator_image_not_found", "image_not_found", ["localhost:5000/dockpod/etl:9.9"]),
    ("docker_operator_exec_format", "exec_format", ["exec format error", "architecture"]),
    ("docker_operator_permission_denied", "permission_denied", ["Permission denied", "/data/"]),
    ("kpo_oom", "oom_killed", ["Pod etl-7f3k2", "OOM-killed", "256Mi"]),
    ("kpo_image_pull", "image_not_found", ["registry.example.com/dockpod/etl:9.9", "not found"]),
    ("kpo_crash_loop", "crash_loop", ["restarted 3 times", "CrashLoopBackOff", "exited with code 1"]),
    ("kpo_exit_code", "exit_code", ["Pod etl-7f3k2", "exited with code 3"]),
]


@pytest.mark.parametrize(("name", "cause", "words"), LOG_CASES, ids=[c[0] for c in LOG_CASES])
def test_task_log_is_explained(name, cause, words):
    finding = doctor_log(LOGS / f"{name}.log")
    assert finding.kind == "log"
    assert finding.cause == cause, finding
    assert finding.cause in CAUSES
    for word in words:
        assert word in finding.message, finding.message
    assert "\n" not in finding.message and finding.message.endswith(".")
    assert finding.evidence, "a finding shows what it rests on"
    assert finding.fix


def test_dockpod_sentence_is_kept_verbatim():
    finding = doctor_log(LOGS / "dockpod_oom.log")
    text = (LOGS / "dockpod_oom.log").read_text()
    assert f"ContainerFailed: {finding.message}" in text


def test_unknown_quotes_the_last_error_lines():
    finding = doctor_log(LOGS / "dockpod_exit_code.log")
    assert any("etl: exiting with code 3" in line for line in finding.evidence)


def test_generic_lines_without_airflow_decoration():
    text = "\n".join([
        "2024-05-01T10:00:00.000000Z [info     ] Starting docker container [airflow.task] loc=docker.py:1",
        "2024-05-01T10:00:01.000000Z [info     ] touch: cannot touch '/out/x': Permission denied [airflow.task]",
        "airflow.providers.docker.exceptions.DockerContainerFailedException: Docker container failed: "
        "{'Error': None, 'StatusCode': 1}",
    ])
    finding = doctor_log_text(text, subject="t.log")
    assert finding.cause == "permission_denied"
    assert "touch: cannot touch '/out/x': Permission denied" in finding.message
    assert "[airflow.task]" not in finding.message


@pytest.mark.parametrize(("line", "cause"), [
    ("Warning  Failed  kubelet  Failed to pull image \"reg.example.com/etl:2\": rpc error: code = Unknown desc = "
     "failed to pull and unpack image: unexpected status code 401 Unauthorized", "auth_required"),
    ("Back-off pulling image \"reg.example.com/etl:2\" ImagePullBackOff: dial tcp 10.0.0.1:443: i/o timeout",
     "registry_unreachable"),
    ("Container 'base': state='TERMINATED', reason='OOMKilled', exit_code=137, message='None'", "oom_killed"),
    ("Error: init container 96249ae5c48f exited with code 4", "init_failed"),
    ("Warning BackOff kubelet Back-off restarting failed container base in pod etl_airflow", "crash_loop"),
    ("standard_init_linux.go:228: exec user process caused: exec format error", "exec_format"),
    ("/bin/sh: 1: fetch-data: not found ... Pod returned exit code 127", "command_not_found"),
])
def test_one_line_logs(line, cause):
    assert doctor_log_text(line).cause == cause


def test_unknown_and_empty_logs():
    assert doctor_log_text("").cause == "unknown"
    finding = doctor_log_text("all fine\nsomething odd happened\nERROR: the task failed somehow")
    assert finding.cause == "unknown"
    assert "ERROR: the task failed somehow" in finding.evidence


def test_init_container_line_names_the_container():
    finding = doctor_log_text("Error: init container wait-db exited with code 4")
    assert finding.cause == "init_failed"
    assert "'wait-db'" in finding.message and "code 4" in finding.message


# --- Kubernetes pods as the API returns them (no cluster here: pure data) ------------------------------


def _pod(statuses, init=None, limit="256Mi"):
    return k8s.V1Pod(
        metadata=k8s.V1ObjectMeta(name="etl-abc12", namespace="airflow"),
        spec=k8s.V1PodSpec(containers=[k8s.V1Container(
            name="base", image="reg/etl:1", resources=k8s.V1ResourceRequirements(limits={"memory": limit}))]),
        status=k8s.V1PodStatus(phase="Failed" if statuses else "Pending", container_statuses=statuses,
                               init_container_statuses=init))


def _status(name, state, restarts=0, last=None):
    return k8s.V1ContainerStatus(name=name, image="reg/etl:1", image_id="", ready=False, restart_count=restarts,
                                 state=state, last_state=last)


def _term(code, reason="Error"):
    return k8s.V1ContainerState(terminated=k8s.V1ContainerStateTerminated(exit_code=code, reason=reason))


def _wait(reason, message=""):
    return k8s.V1ContainerState(waiting=k8s.V1ContainerStateWaiting(reason=reason, message=message))


POD_CASES = [
    ("oom", _pod([_status("base", _term(137, "OOMKilled"))]), "oom_killed", ["OOM-killed", "256Mi"]),
    ("crash-loop", _pod([_status("base", _wait("CrashLoopBackOff", "back-off 5m"), 7, _term(2))]), "crash_loop",
     ["restarted 7 times", "CrashLoopBackOff", "code 2"]),
    ("crash-loop-oom", _pod([_status("base", _wait("CrashLoopBackOff"), 2, _term(137, "OOMKilled"))]),
     "crash_loop", ["OOM-killed", "256Mi"]),
    ("pull-auth", _pod([_status("base", _wait("ErrImagePull", "pull access denied, authorization failed: "
                                              "401 Unauthorized"))]), "auth_required", ["reg/etl:1"]),
    ("pull-unreachable", _pod([_status("base", _wait("ImagePullBackOff", "dial tcp: lookup reg: no such host"))]),
     "registry_unreachable", ["unreachable"]),
    ("init", _pod([_status("base", _wait("PodInitializing"))], init=[_status("wait-db", _term(4))]),
     "init_failed", ["'wait-db'", "code 4"]),
    ("start-error", _pod([_status("base", k8s.V1ContainerState(terminated=k8s.V1ContainerStateTerminated(
        exit_code=128, reason="StartError", message='exec: "etl": executable file not found in $PATH')))]),
     "command_not_found", ["not found"]),
]


@pytest.mark.parametrize(("pod", "cause", "words"), [c[1:] for c in POD_CASES], ids=[c[0] for c in POD_CASES])
def test_kubernetes_pod_status_is_explained(pod, cause, words):
    finding = doctor_pod_object(pod)
    assert (finding.kind, finding.subject, finding.cause) == ("kubernetes", "airflow/etl-abc12", cause), finding
    assert finding.message.startswith("Pod airflow/etl-abc12: ")
    for word in words:
        assert word in finding.message, finding.message


def test_kubernetes_pod_without_failure():
    finding = doctor_pod_object(_pod([]))
    assert finding.cause == "no_failure" and not finding.failed


def test_operator_and_doctor_share_the_pod_diagnosis():
    from dockpod import container_task

    op = container_task(task_id="t", image="registry.localhost/etl:1.0", resources={"memory_limit": "256Mi"},
                        environment="production")
    pod = _pod([_status("base", _wait("CrashLoopBackOff"), 3, _term(137, "OOMKilled"))])
    failure = op.explain_failure(pod)
    assert failure.cause == "crash_loop"
    operator_sentence = failure.message.split(": ", 1)[1]
    assert doctor_pod_object(pod).message.split(": ", 1)[1].lower() == operator_sentence.lower()


def test_kubernetes_target_without_kubeconfig(monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("KUBECONFIG", raising=False)
    with pytest.raises(DockpodError, match=r"No kubeconfig was found .* airflow/etl-abc12 cannot be read") as info:
        doctor("k8s:airflow/etl-abc12")
    assert "KUBECONFIG" in str(info.value)


def test_bad_targets_get_one_sentence(tmp_path):
    with pytest.raises(DockpodError, match="does not exist"):
        doctor(str(tmp_path / "missing" / "attempt=1.log"))
    with pytest.raises(DockpodError, match="is a folder"):
        doctor(str(tmp_path))
    with pytest.raises(DockpodError, match="NAMESPACE/NAME"):
        doctor("k8s:justaname")
    with pytest.raises(DockpodError, match="No target"):
        doctor("  ")
    unreadable = tmp_path / "secret.log"
    unreadable.write_text("x")
    unreadable.chmod(0)
    import os

    if os.geteuid() != 0:  # root reads anything
        with pytest.raises(DockpodError, match="cannot be read"):
            doctor(str(unreadable))


# --- the pure pieces ---------------------------------------------------------------------------------------


def test_permission_names_owner_mode_and_uid():
    access = PathAccess(target="/data", source="/srv/in", kind="bind", owner_uid=0, owner_gid=0, mode=0o700,
                        uid=1000, gid=1000)
    diagnosis = diagnose_permission(access, 1)
    assert diagnosis.cause == "permission_denied"
    for word in ["uid 1000", "/data", "/srv/in", "owned by uid 0", "mode 0700", "no write access"]:
        assert word in diagnosis.message
    assert "chown -R 1000:1000 /srv/in" in diagnosis.fix
    assert access.allows("w") is False
    assert PathAccess("/d", "/s", "volume", 1000, 1000, 0o755, 1000).allows("w") is True
    assert PathAccess("/d", "/s", "volume", 0, 0, 0o1777, 1000).allows("w") is True


def test_elf_architecture():
    import sys

    sys.path.insert(0, str(LOGS.parents[0].parent))
    from doctor.foreign_arch import aarch64_elf_header

    assert elf_architecture(aarch64_elf_header()) == "arm64"
    assert elf_architecture(b"#!/bin/sh\n" + bytes(20)) is None
    assert elf_architecture(Path("/bin/true").read_bytes()[:20]) == "amd64"


def test_finding_prints_and_serializes():
    finding = Finding("log", "x.log", "oom_killed", "It broke.", "Fix it.", ("a", "b"))
    assert str(finding) == "It broke.\nFix: Fix it.\nEvidence:\n  | a\n  | b"
    assert finding.to_dict() == {"kind": "log", "subject": "x.log", "cause": "oom_killed", "message": "It broke.",
                                 "fix": "Fix it.", "evidence": ["a", "b"]}
