"""The failure explanations shared by the local runners and the doctor: one table per kind of failure."""

from __future__ import annotations

import pytest

from dockpod.operators._diagnosis import (
    LAST_LINES,
    Diagnosis,
    diagnose_exit,
    diagnose_missing_image,
    diagnose_non_root,
    diagnose_pull,
    diagnose_timeout,
    explain_exit,
    image_runs_as_root,
)

MiB = 1024**2
# State.Error texts exactly as Docker 20.10 (runc) reports them on this machine.
RUNC_NOT_FOUND = ('failed to create shim task: OCI runtime create failed: runc create failed: unable to start '
                  'container process: exec: "nosuchcmd": executable file not found in $PATH: unknown')
RUNC_DENIED = ('failed to create shim task: OCI runtime create failed: runc create failed: unable to start '
               'container process: exec: "/etc/passwd": permission denied: unknown')

EXITS = [
    # (exit code, keyword arguments, cause, words the text must contain)
    (137, {"oom_killed": True, "memory_limit": 512 * MiB}, "oom", ["OOM-killed", "limit of 512Mi", "137"]),
    (137, {"oom_killed": True, "memory_limit": 64 * MiB, "memory_peak": 64 * MiB}, "oom",
     ["limit of 64Mi", "peak usage 64Mi"]),
    (137, {"oom_killed": True}, "oom", ["OOM-killed", "without a memory limit", "memory_limit"]),
    (127, {"error": RUNC_NOT_FOUND}, "command_not_found",
     ["command was not found", "exit code 127", 'exec: "nosuchcmd": executable file not found in $PATH',
      "ENTRYPOINT"]),
    (127, {"last_lines": ["sh: 1: fetch-data: not found"]}, "command_not_found",
     ["command was not found", "sh: 1: fetch-data: not found"]),
    (126, {"error": RUNC_DENIED}, "permission_denied",
     ["permission denied", "exit code 126", 'exec: "/etc/passwd": permission denied', "chmod +x"]),
    (126, {"last_lines": ["sh: 1: ./run.sh: Permission denied"]}, "permission_denied", ["126", "./run.sh"]),
    (1, {"last_lines": ["exec /app/run: exec format error"]}, "exec_format",
     ["exec format error", "architecture", "--platform"]),
    (137, {}, "signal", ["SIGKILL", "137", "without an out-of-memory kill"]),
    (143, {"last_lines": ["etl: received signal 15, exiting"]}, "signal", ["SIGTERM", "received signal 15"]),
    (3, {"last_lines": ["etl: exiting with code 3"]}, "exit_code",
     ["exited with code 3", "Last log lines", "etl: exiting with code 3"]),
    (3, {}, "exit_code", ["exited with code 3", "printed nothing"]),
    (128, {"error": "No such image: localhost:5000/team/etl:2.0"}, "image_not_found",
     ["image was not found", "localhost:5000/team/etl:2.0"]),
    (128, {"error": 'error while mounting volume "/data": permission denied'}, "start_failed",
     ["could not be started", "error while mounting volume"]),
]


@pytest.mark.parametrize(("code", "kwargs", "cause", "words"), EXITS)
def test_exit_diagnosis(code, kwargs, cause, words):
    diagnosis = diagnose_exit(code, **kwargs)
    assert diagnosis.cause == cause
    text = explain_exit(code, **kwargs)
    assert text == str(diagnosis)
    for word in words:
        assert word in text
    assert diagnosis.message.endswith(".")
    assert "\n" not in diagnosis.message  # the cause is one sentence; log lines come after it


@pytest.mark.parametrize("code", [0, 1, 2, 3, 42, 255])
def test_oom_wins_over_every_exit_code(code):
    assert diagnose_exit(code, oom_killed=True, memory_limit=MiB).cause == "oom"


def test_only_the_last_lines_are_quoted_and_long_lines_are_clipped():
    lines = [f"line {i}" for i in range(20)] + ["x" * 1000]
    text = explain_exit(1, last_lines=lines)
    assert "line 19" in text and "line 15" not in text
    quoted = [line for line in text.splitlines() if line.startswith("  | ")]
    assert len(quoted) == LAST_LINES
    assert max(len(line) for line in quoted) <= 4 + 200


def test_blank_lines_are_not_quoted():
    assert "  | " not in explain_exit(2, last_lines=["", "   "])


PULLS = [
    # (engine message, cause, words)
    ('manifest for localhost:5000/dockpod/etl:nope not found: manifest unknown: manifest unknown',
     "image_not_found", ["not found in localhost:5000", "tag"]),
    ('Get "http://127.0.0.1:5999/v2/": dial tcp 127.0.0.1:5999: connect: connection refused',
     "registry_unreachable", ["unreachable", "127.0.0.1:5999"]),
    ('Get "https://registry.invalid.example/v2/": dial tcp: lookup registry.invalid.example on '
     '10.255.255.53:53: no such host', "registry_unreachable", ["unreachable", "registry.invalid.example"]),
    ('Get "https://localhost:5000/v2/": http: server gave HTTP response to HTTPS client',
     "registry_unreachable", ["insecure registry"]),
    ('Head "http://127.0.0.1:5001/v2/team/etl/manifests/1.0": no basic auth credentials', "auth_required",
     ["requires authentication", "docker_conn_id", "docker login"]),
    ("unauthorized: authentication required", "auth_required", ["requires authentication"]),
    ("pull access denied for team/etl, repository does not exist or may require 'docker login': denied: "
     "requested access to the resource is denied", "auth_required",
     ["requires authentication (or the repository does not exist)"]),
    ("unexpected EOF", "pull_failed", ["unexpected EOF"]),
]


@pytest.mark.parametrize(("error", "cause", "words"), PULLS)
def test_pull_diagnosis(error, cause, words):
    image = "127.0.0.1:5999/team/etl:1.0" if "5999" in error else "localhost:5000/dockpod/etl:nope"
    diagnosis = diagnose_pull(image, error)
    assert diagnosis.cause == cause
    assert image in diagnosis.message
    for word in words:
        assert word in str(diagnosis)


@pytest.mark.parametrize(
    ("image", "registry"),
    [("team/etl:1.0", "docker.io"), ("etl", "docker.io"), ("localhost/etl", "localhost"),
     ("registry.example.com/team/etl:1", "registry.example.com"), ("localhost:5000/a/b", "localhost:5000")],
)
def test_pull_diagnosis_names_the_registry(image, registry):
    assert f"registry {registry} " in diagnose_pull(image, "connection refused").message


@pytest.mark.parametrize(
    ("user", "verdict"),
    [("", True), (None, True), ("root", True), ("0", True), ("0:0", True), ("root:root", True),
     ("1000", False), ("1000:1000", False), ("65534", False), ("etl", None), ("etl:etl", None)],
)
def test_image_runs_as_root(user, verdict):
    assert image_runs_as_root(user) is verdict


@pytest.mark.parametrize(
    ("user", "words"),
    [("", ["container has runAsNonRoot and image will run as root", "no USER"]),
     ("root", ["image will run as root", "USER root"]),
     ("etl", ["image has non-numeric user (etl), cannot verify user is non-root"])],
)
def test_non_root_refusal_has_kubernetes_words_and_the_fix(user, words):
    diagnosis = diagnose_non_root("dockpod/debian:bookworm", user)
    assert diagnosis is not None and diagnosis.cause == "runs_as_root"
    for word in [*words, "dockpod/debian:bookworm", "user='1000:1000'", "run_as_non_root=False"]:
        assert word in str(diagnosis)


def test_non_root_image_passes():
    assert diagnose_non_root("localhost:5000/dockpod/etl:1.0", "1000:1000") is None


def test_timeout_and_missing_image():
    timeout = diagnose_timeout(30, ["etl: sleeping 60 s"])
    assert timeout.cause == "timeout"
    assert timeout.message == "The container timed out after 30 s and was stopped."
    assert "etl: sleeping 60 s" in str(timeout)
    missing = diagnose_missing_image("localhost:5000/team/etl:2.0")
    assert missing.cause == "image_not_found"
    assert "image_pull_policy is Never" in missing.message


def test_advice_joins_the_fix_and_the_lines():
    assert Diagnosis("x", "Broke.").advice is None
    assert Diagnosis("x", "Broke.", "Fix it.").advice == "Fix it."
    assert Diagnosis("x", "Broke.", "Fix it.", ("a",)).advice == "Fix it.\nLast log lines:\n  | a"
    assert str(Diagnosis("x", "Broke.", None, ("a",))) == "Broke.\nLast log lines:\n  | a"
