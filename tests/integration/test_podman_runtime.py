"""Production pods, built by the cncf.kubernetes provider's own code, run for real under podman.

Every pod comes from ``build_pod_request_obj(dry_run=True)`` of the operator dockpod builds for the
production profile (a KubernetesPodOperator subclass that also sets the profile's XCom sidecar image),
serialized with ``ApiClient().sanitize_for_serialization``, then played by ``dockpod.runtime.podman``.
Images are named ``registry.localhost/...`` and rewritten to the local registry. Every test checks that
the run left no pod, container, volume or secret behind.
"""

from __future__ import annotations

import json
import subprocess
import time
import uuid

import pytest

from dockpod.operators import build_operator
from dockpod.profiles import get_profile
from dockpod.runtime.podman import PodRun, podman_available, remove_volumes, run_pod
from dockpod.spec import ContainerSpec, Secret, Volume

pytestmark = pytest.mark.integration

ETL = "registry.localhost/dockpod/etl:1.0"
DEBIAN = "registry.localhost/dockpod/debian:bookworm"
REWRITES = {"registry.localhost": "localhost:5000"}
USER = {"user": "1000:1000"}
PROFILE = get_profile("production").model_copy(
    update={"xcom_sidecar_image": "registry.localhost/dockpod/xcom-sidecar:bookworm"})


def build_pod(spec: ContainerSpec, task_id: str = "podman-test") -> dict:
    """The production pod of ``spec``, as the provider builds it."""
    from kubernetes.client import ApiClient

    operator = build_operator(spec, PROFILE, task_id=task_id)
    return ApiClient().sanitize_for_serialization(operator.build_pod_request_obj(dry_run=True))


def play(pod: ContainerSpec | dict, **kwargs) -> PodRun:
    """Build (from a spec) and run a pod; assert that nothing of the run is left behind."""
    return play_logged(pod, **kwargs)[0]


def play_logged(pod: ContainerSpec | dict, **kwargs) -> tuple[PodRun, list[str]]:
    """Like :func:`play`, also returning the lines the runner logged."""
    manifest = pod if isinstance(pod, dict) else build_pod(pod)
    lines: list[str] = []
    run = run_pod(manifest, image_rewrites=REWRITES, log=lines.append, **kwargs)
    assert run.pod_name == manifest["metadata"]["name"]
    assert_nothing_left(run)
    return run, lines


def podman_names(*args: str) -> list[str]:
    out = subprocess.run(["podman", *args], capture_output=True, text=True, check=True).stdout
    return [line.strip() for line in out.splitlines() if line.strip()]


def assert_nothing_left(run: PodRun) -> None:
    assert run.leftovers == ()
    markers = (run.pod_name, f"dockpod-{run.run_id}-")
    found = {
        "pods": podman_names("pod", "ls", "--format", "{{.Name}}"),
        "containers": podman_names("ps", "-a", "--format", "{{.Names}}"),
        "volumes": podman_names("volume", "ls", "--format", "{{.Name}}"),
        "secrets": podman_names("secret", "ls", "--format", "{{.Name}}"),
    }
    left = {kind: [n for n in names if any(m in n for m in markers)] for kind, names in found.items()}
    assert left == {"pods": [], "containers": [], "volumes": [], "secrets": []}


def test_podman_is_usable():
    assert podman_available()


def test_xcom_value_reads_back_equal_to_what_the_container_wrote():
    value = {"rows": [1, 2, 3], "name": "naïve ✓", "nested": {"ok": True, "none": None}, "pi": 3.14}
    script = f"cat > /airflow/xcom/return.json <<'EOF'\n{json.dumps(value)}\nEOF\necho written"
    run, progress = play_logged(ContainerSpec(image=ETL, entrypoint=["sh", "-c", script], xcom=True,
                                              security=USER))
    assert run.exit_code == 0, run.reason
    assert run.succeeded and run.reason == "completed"
    assert run.xcom == value
    assert run.logs == ("written",)
    assert "[base] written" in progress


def test_etl_result_is_the_xcom_value():
    run = play(ContainerSpec(image=ETL, command=["extract", "--rows", "3"], xcom=True, security=USER))
    assert run.exit_code == 0, run.reason
    assert run.xcom == {"rows": 3, "path": "/data/raw.json"}
    assert "etl: result written to /airflow/xcom/return.json" in run.logs


def test_no_xcom_without_the_sidecar():
    run = play(ContainerSpec(image=ETL, command=["extract", "--rows", "1", "--no-result"], security=USER))
    assert run.exit_code == 0 and run.xcom is None and run.xcom_error is None
    assert set(run.container_logs) == {"base"}


def test_exit_code_of_a_failing_command():
    run = play(ContainerSpec(image=ETL, entrypoint=["sh", "-c", "echo about to fail; exit 3"], xcom=True,
                             security=USER))
    assert run.exit_code == 3
    assert not run.succeeded and not run.oom_killed
    assert "exited with code 3" in run.reason
    assert run.logs == ("about to fail",)
    assert run.xcom is None and run.xcom_error is None


def test_command_not_found_is_named():
    run = play(ContainerSpec(image=ETL, entrypoint=["no-such-program"], security=USER))
    assert run.exit_code == 127
    assert "command was not found" in run.reason and "no-such-program" in run.reason


def test_oom_kill_at_the_memory_limit():
    run = play(ContainerSpec(image=ETL, command=["alloc", "300"], xcom=True, security=USER,
                             resources={"memory_limit": "64Mi"}))
    assert run.exit_code == 137
    assert run.oom_killed
    assert "OOM-killed" in run.reason and "64Mi" in run.reason
    assert run.fix and "memory_limit" in run.fix


def test_claim_shared_by_consecutive_pods():
    claim = f"dockpod-test-{uuid.uuid4().hex[:8]}"
    volume = Volume.named(claim, "/data")
    try:
        first = play(ContainerSpec(image=ETL, command=["extract", "--rows", "7"], volumes=[volume], xcom=True,
                                   security=USER))
        assert first.exit_code == 0, first.reason
        assert claim in podman_names("volume", "ls", "--format", "{{.Name}}")
        second = play(ContainerSpec(image=ETL, command=["transform", "--expect-rows", "7"], volumes=[volume],
                                    xcom=True, security=USER))
        assert second.exit_code == 0, second.reason + "\n" + "\n".join(second.logs)
        assert second.xcom["rows_in"] == 7
    finally:
        assert remove_volumes([claim]) == []


def test_scratch_volumes_are_not_shared_between_runs():
    scratch = Volume.empty_dir("/scratch")
    script = "ls /scratch; touch /scratch/mark-$$"
    first = play(ContainerSpec(image=ETL, entrypoint=["sh", "-c", script], volumes=[scratch], security=USER))
    second = play(ContainerSpec(image=ETL, entrypoint=["sh", "-c", script], volumes=[scratch], security=USER))
    assert first.exit_code == 0 and second.exit_code == 0, (first.reason, second.reason)
    assert first.logs == () and second.logs == ()  # each run starts with an empty scratch folder


def test_env_and_secret_env_reach_the_container():
    secret_value = f"s3cret-{uuid.uuid4().hex}"
    spec = ContainerSpec(image=ETL, command=["env", "--var", "GREETING", "--var", "DB_PASSWORD"], xcom=True,
                         env={"GREETING": "hello pod"}, secrets=[Secret("db-creds", "password", env="DB_PASSWORD")],
                         security=USER)
    run, progress = play_logged(spec, secrets={"db-creds": {"password": secret_value}})
    assert run.exit_code == 0, run.reason
    assert run.xcom["env"] == {"GREETING": "hello pod", "DB_PASSWORD": secret_value}
    assert run.xcom["uid"] == 1000
    # The runner's own messages never carry the value (the container may print it: etl env does).
    runner_lines = [line for line in progress if not line.startswith("[base]")]
    assert runner_lines and not any(secret_value in line for line in runner_lines)
    assert secret_value not in run.reason + " ".join(run.adapted)


def test_secret_and_config_files_reach_the_container():
    script = ('printf \'{"secret": "%s", "config": "%s", "all": "%s"}\' "$(cat /run/secrets/pw)" '
              '"$(cat /etc/app/app.ini)" "$(ls /etc/creds | tr "\\n" " ")" > /airflow/xcom/return.json')
    spec = ContainerSpec(
        image=ETL, xcom=True, security=USER, entrypoint=["sh", "-c", script],
        secrets=[Secret("db-creds", "password", path="/run/secrets/pw"), Secret("api", path="/etc/creds")],
        volumes=[Volume.config("app-config", "/etc/app/app.ini", key="app.ini")],
    )
    run = play(spec, secrets={"db-creds": {"password": "pw-1"}, "api": {"token": "t", "user": "u"}},
               config_maps={"app-config": {"app.ini": "mode=prod"}})
    assert run.exit_code == 0, run.reason + "\n" + "\n".join(run.logs)
    assert run.xcom == {"secret": "pw-1", "config": "mode=prod", "all": "token user "}
    assert any("Secret volume" in note for note in run.adapted)
    assert any("subPath" in note for note in run.adapted)


def test_missing_secret_stops_the_pod_like_kubernetes():
    spec = ContainerSpec(image=ETL, command=["env"], secrets=[Secret("db-creds", "password", env="DB_PASSWORD")],
                         security=USER)
    run = play(spec, secrets={})
    assert run.exit_code is None
    assert 'secret "db-creds" not found' in run.reason and "CreateContainerConfigError" in run.reason
    missing_key = play(spec, secrets={"db-creds": {"user": "x"}})
    assert "couldn't find key password in Secret" in missing_key.reason


def test_native_sidecar_runs_next_to_the_main_container():
    shared = Volume.empty_dir("/shared")
    sidecar = ContainerSpec(name="heartbeat", image=DEBIAN, security=USER, volumes=[shared],
                            entrypoint=["sh", "-c", "echo sidecar-up; echo alive > /shared/beat; exec sleep 3600"])
    main = ("for i in $(seq 100); do [ -s /shared/beat ] && break; sleep 0.1; done; "
            'printf \'{"beat": "%s"}\' "$(cat /shared/beat)" > /airflow/xcom/return.json')
    spec = ContainerSpec(image=ETL, entrypoint=["sh", "-c", main], volumes=[shared], sidecars=[sidecar],
                         xcom=True, security=USER)
    manifest = build_pod(spec)
    assert manifest["spec"]["initContainers"][0]["restartPolicy"] == "Always"
    started = time.monotonic()
    run = play(manifest, timeout=120)
    assert run.exit_code == 0, run.reason
    assert run.xcom == {"beat": "alive"}
    assert time.monotonic() - started < 60  # completed when base exited, not when the sidecar would
    assert any("native sidecar 'heartbeat'" in note for note in run.adapted)
    assert run.container_logs["heartbeat"] == ("sidecar-up",)


def test_init_container_runs_first_and_its_logs_are_kept():
    shared = Volume.empty_dir("/shared")
    init = ContainerSpec(name="prepare", image=DEBIAN, security=USER, volumes=[shared],
                         entrypoint=["sh", "-c", "echo preparing; echo ready > /shared/state"])
    spec = ContainerSpec(image=ETL, entrypoint=["sh", "-c", "cat /shared/state"], volumes=[shared],
                         init_containers=[init], security=USER)
    run = play(spec)
    assert run.exit_code == 0, run.reason
    assert run.logs == ("ready",)
    assert run.container_logs["prepare"] == ("preparing",)


def test_scratch_volume_is_world_writable_like_an_empty_dir():
    shared = Volume.empty_dir("/shared")
    init = ContainerSpec(name="other-user", image=DEBIAN, security={"user": "2000:2000"}, volumes=[shared],
                         entrypoint=["sh", "-c", "touch /shared/from-init"])
    spec = ContainerSpec(image=ETL, entrypoint=["sh", "-c", "touch /shared/from-main && ls /shared"],
                         volumes=[shared], init_containers=[init], security=USER)
    run = play(spec)
    assert run.exit_code == 0, run.reason + "\n" + "\n".join(run.logs)
    assert run.logs == ("from-init", "from-main")


def test_failing_init_container_means_the_main_container_never_runs():
    init = ContainerSpec(name="prepare", image=DEBIAN, security=USER,
                         entrypoint=["sh", "-c", "echo cannot prepare; exit 4"])
    run = play(ContainerSpec(image=ETL, command=["env"], init_containers=[init], security=USER))
    assert run.exit_code is None
    assert "Init container 'prepare' failed" in run.reason and "code 4" in run.reason
    assert run.container_logs["prepare"] == ("cannot prepare",)


def test_image_missing_from_the_registry():
    run = play(ContainerSpec(image="registry.localhost/dockpod/not-there:9.9", command=["x"], security=USER))
    assert run.exit_code is None
    assert "not found" in run.reason and "localhost:5000/dockpod/not-there:9.9" in run.reason


def test_run_as_non_root_is_enforced_like_the_kubelet():
    run = play(ContainerSpec(image=DEBIAN, entrypoint=["id"]))  # the image runs as root, no user given
    assert run.exit_code is None
    assert "runAsNonRoot" in run.reason


def test_timeout_stops_the_pod():
    run = play(ContainerSpec(image=ETL, command=["sleep", "120"], security=USER), timeout=4)
    assert run.timed_out and run.exit_code is None
    assert "timed out" in run.reason
    assert run.duration_s < 30


def test_active_deadline_seconds_is_enforced():
    run = play(ContainerSpec(image=ETL, command=["sleep", "120"], security=USER, timeout=2), timeout=60)
    assert run.timed_out and run.exit_code is None
    assert "activeDeadlineSeconds (2 s)" in run.reason
    assert run.duration_s < 30


def test_long_pod_name_gets_a_kubernetes_hostname():
    manifest = build_pod(ContainerSpec(image=ETL, entrypoint=["hostname"], security=USER))
    manifest["metadata"]["name"] = "a-pod-name-that-is-longer-than-a-hostname-may-be-" + "x" * 30
    run = play(manifest)
    assert run.exit_code == 0, run.reason
    assert run.logs == (manifest["metadata"]["name"][:63],)
    assert any("hostname" in note for note in run.adapted)


def test_an_empty_dir_where_the_image_has_a_root_folder_is_writable_by_any_user():
    """podman copies the image folder's root 0755 onto a new volume; Kubernetes gives an empty 0777 folder."""
    manifest = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "dockpod-test-srv"}, "spec": {
        "restartPolicy": "Never",
        "containers": [{"name": "base", "image": "localhost:5000/dockpod/debian:bookworm",
                        "command": ["sh", "-c", "echo hi > /srv/x && stat -c %a /srv"],
                        "securityContext": {"runAsUser": 1000}, "volumeMounts": [{"name": "s", "mountPath": "/srv"}]}],
        "volumes": [{"name": "s", "emptyDir": {}}]}}
    run = run_pod(manifest)
    assert run.exit_code == 0, run.reason
    assert run.logs == ("777",)
    assert run.leftovers == ()
