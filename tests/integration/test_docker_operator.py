"""DockpodDockerOperator against the real Docker engine, through real DAG runs (``dag.test()``).

Every test checks afterwards that no container or volume labelled ``io.dockpod.run`` is left behind,
nor a per-run host directory (``dockpod-run-*`` in the temporary folder).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
import uuid
from pathlib import Path

import pytest

import registry_harness
from airflow_harness import run_dag

pytestmark = pytest.mark.integration

ETL = "localhost:5000/dockpod/etl:1.0"
ROOT_IMAGE = "dockpod/debian:bookworm"
LABEL = "io.dockpod.run"

HEADER = f'''
import pendulum
from airflow.sdk import DAG
from dockpod.operators._docker import DockpodDockerOperator
from dockpod.profiles import get_profile
from dockpod.spec import ContainerSpec, Secret, Volume

ETL = {ETL!r}
LOCAL = get_profile("local")
START = pendulum.datetime(2024, 1, 1, tz="UTC")
'''


# --- fixtures ---------------------------------------------------------------------------------------


def _docker(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["docker", *args], capture_output=True, text=True, timeout=60)


def _leftovers() -> tuple[list[str], list[str]]:
    containers = _docker("ps", "-aq", "--filter", f"label={LABEL}").stdout.split()
    volumes = _docker("volume", "ls", "-q", "--filter", f"label={LABEL}").stdout.split()
    return containers, volumes


@pytest.fixture(scope="module", autouse=True)
def _engine() -> None:
    if shutil.which("docker") is None or _docker("info").returncode != 0:
        pytest.fail("the Docker engine is not running (start it with `make setup`)")
    if _docker("image", "inspect", ETL).returncode != 0:
        pytest.fail(f"{ETL} is missing (build it with `make image`)")


def _host_dirs() -> set[Path]:
    return set(Path(tempfile.gettempdir()).glob("dockpod-run-*"))


@pytest.fixture(autouse=True)
def _nothing_left_behind():
    """Fail a test that leaves per-run objects behind; objects that existed before it are not its own."""
    before = _host_dirs()
    old_containers, old_volumes = _leftovers()
    yield
    containers, volumes = _leftovers()
    containers = [c for c in containers if c not in old_containers]
    volumes = [v for v in volumes if v not in old_volumes]
    if containers or volumes:  # clean up for the next test, then fail this one
        if containers:
            _docker("rm", "-f", *containers)
        if volumes:
            _docker("volume", "rm", "-f", *volumes)
    assert (containers, volumes) == ([], []), "dockpod left containers or volumes behind"
    assert _host_dirs() - before == set(), "dockpod left per-run host directories behind"


def _dag(dag_id: str, body: str, *, params: str = "{}") -> str:
    tasks = textwrap.indent(textwrap.dedent(body).strip(), "    ")
    return f"{HEADER}\nwith DAG({dag_id!r}, start_date=START, schedule=None, params={params}) as dag:\n{tasks}\n"


def _unique(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:6]}"


def _operator(**spec_fields):
    from dockpod.operators._docker import DockpodDockerOperator
    from dockpod.profiles import get_profile
    from dockpod.spec import ContainerSpec

    task_id = spec_fields.pop("task_id", "direct")
    return DockpodDockerOperator(spec=ContainerSpec(**spec_fields), profile=get_profile("local"), task_id=task_id)


def _rendered_fields(dag_id: str) -> list[dict]:
    from airflow.models.renderedtifields import RenderedTaskInstanceFields
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        rows = session.scalars(select(RenderedTaskInstanceFields).where(
            RenderedTaskInstanceFields.dag_id == dag_id)).all()
        return [dict(row.rendered_fields) for row in rows]


# --- what reaches the container -----------------------------------------------------------------------


def test_env_and_templated_env_reach_the_container():
    dag_id = _unique("env")
    result = run_dag(_dag(dag_id, """
        DockpodDockerOperator(task_id="report", profile=LOCAL, spec=ContainerSpec(
            image=ETL, command=["env", "--var", "PLAIN", "--var", "DAY", "--var", "PARAM"], xcom=True,
            env={"PLAIN": "as is", "DAY": "{{ ds }}", "PARAM": "{{ params.x }}"}))
    """, params='{"x": "from-params"}'), dag_id, text=True)
    assert result.task_states == {"report": "success"}
    env = result.xcoms["report"]["env"]
    assert env["PLAIN"] == "as is"
    assert env["PARAM"] == "from-params"
    assert len(env["DAY"]) == 10 and env["DAY"][4] == "-"


def test_command_keeps_the_entrypoint_and_entrypoint_replaces_it():
    dag_id = _unique("cmd")
    result = run_dag(_dag(dag_id, """
        DockpodDockerOperator(task_id="command_only", profile=LOCAL, spec=ContainerSpec(
            image=ETL, command=["env"], xcom=True))
        DockpodDockerOperator(task_id="entrypoint", profile=LOCAL, spec=ContainerSpec(
            image=ETL, xcom=True, command=["by-entrypoint"], entrypoint=[
                "python3", "-c", "import json, sys; "
                "json.dump({'replaced': sys.argv[1]}, open('/airflow/xcom/return.json', 'w'))"]))
    """), dag_id, text=True)
    assert result.task_states == {"command_only": "success", "entrypoint": "success"}
    assert result.xcoms["command_only"]["uid"] == 1000  # etl.py ran: the image's ENTRYPOINT stayed
    assert result.xcoms["entrypoint"] == {"replaced": "by-entrypoint"}


def test_user_and_group_and_writable_xcom_for_any_uid():
    dag_id = _unique("user")
    result = run_dag(_dag(dag_id, """
        DockpodDockerOperator(task_id="image_user", profile=LOCAL, spec=ContainerSpec(
            image=ETL, command=["env"], xcom=True))
        DockpodDockerOperator(task_id="other_user", profile=LOCAL, spec=ContainerSpec(
            image=ETL, command=["env", "--writable", "/airflow/xcom", "--writable", "/scratch"], xcom=True,
            volumes=[Volume.empty_dir("/scratch")], security={"user": "4321:8765"}))
    """), dag_id, text=True)
    assert result.task_states == {"image_user": "success", "other_user": "success"}
    assert (result.xcoms["image_user"]["uid"], result.xcoms["image_user"]["gid"]) == (1000, 1000)
    other = result.xcoms["other_user"]
    assert (other["uid"], other["gid"]) == (4321, 8765)
    assert other["writable"] == {"/airflow/xcom": True, "/scratch": True}


def test_read_only_root_filesystem_keeps_xcom_and_scratch_writable():
    op = _operator(image=ETL, command=["env", "--writable", "/scratch", "--writable", "/etc"], xcom=True,
                   volumes=["/scratch"], security={"read_only_root_filesystem": True})
    value = op.execute({})
    assert value["writable"] == {"/scratch": True, "/etc": False}


# --- resources, volumes ---------------------------------------------------------------------------------


def test_memory_limit_exceeded_names_oom_and_the_limit():
    from dockpod.errors import ContainerFailed

    op = _operator(image=ETL, command=["alloc", "300"], resources={"memory_limit": "64m"})
    with pytest.raises(ContainerFailed) as failure:
        op.execute({})
    assert failure.value.cause == "oom"
    assert failure.value.exit_code == 137
    assert "OOM-killed" in str(failure.value)
    assert "64Mi" in str(failure.value)


def test_memory_limit_exceeded_fails_the_task_in_a_dag_run():
    dag_id = _unique("oom")
    result = run_dag(_dag(dag_id, """
        DockpodDockerOperator(task_id="hog", profile=LOCAL, spec=ContainerSpec(
            image=ETL, command=["alloc", "300"], resources={"memory_limit": "64m"}))
    """), dag_id, text=True)
    assert result.task_states == {"hog": "failed"}


def test_named_volume_is_shared_between_tasks():
    volume = f"dockpod-test-shared-{uuid.uuid4().hex[:8]}"
    dag_id = _unique("shared")
    try:
        result = run_dag(_dag(dag_id, f"""
            data = [Volume.named({volume!r}, "/data")]
            extract = DockpodDockerOperator(task_id="extract", profile=LOCAL, spec=ContainerSpec(
                image=ETL, command=["extract", "--rows", "20"], volumes=data, xcom=True))
            transform = DockpodDockerOperator(task_id="transform", profile=LOCAL, spec=ContainerSpec(
                image=ETL, command=["transform", "--expect-rows", "20"], volumes=data, xcom=True))
            load = DockpodDockerOperator(task_id="load", profile=LOCAL, spec=ContainerSpec(
                image=ETL, command=["load"], volumes=data, xcom=True))
            extract >> transform >> load
        """), dag_id, text=True)
    finally:
        _docker("volume", "rm", "-f", volume)
    assert result.task_states == {"extract": "success", "transform": "success", "load": "success"}
    assert result.xcoms["transform"]["rows_in"] == 20
    assert result.xcoms["load"]["rows"] == result.xcoms["transform"]["rows_out"]


def test_tmpfs_is_a_writable_memory_file_system():
    from dockpod.spec import Volume

    script = textwrap.dedent("""
        import json, pathlib
        fs = [line.split()[2] for line in open("/proc/mounts") if line.split()[1] == "/scratch"]
        pathlib.Path("/scratch/f").write_text("hi")
        result = {"fs": fs, "read": pathlib.Path("/scratch/f").read_text()}
        pathlib.Path("/airflow/xcom/return.json").write_text(json.dumps(result))
    """)
    op = _operator(image=ETL, entrypoint=["python3", "-c", script], xcom=True,
                   volumes=[Volume.tmpfs("/scratch", size="16m")])
    assert op.execute({}) == {"fs": ["tmpfs"], "read": "hi"}


def test_read_only_bind_mount_refuses_writes(tmp_path: Path):
    folder = tmp_path / "input"
    folder.mkdir()
    (folder / "hello.txt").write_text("hello from the host\n")
    for path in (tmp_path, folder):
        path.chmod(0o755)
    (folder / "hello.txt").chmod(0o644)
    script = textwrap.dedent("""
        import json, pathlib
        read = pathlib.Path("/in/hello.txt").read_text().strip()
        try:
            pathlib.Path("/in/new.txt").write_text("x")
            error = None
        except OSError as exc:
            error = exc.strerror
        pathlib.Path("/airflow/xcom/return.json").write_text(json.dumps({"read": read, "error": error}))
    """)
    op = _operator(image=ETL, entrypoint=["python3", "-c", script], xcom=True,
                   volumes=[f"{folder}:/in:ro"])
    assert op.execute({}) == {"read": "hello from the host", "error": "Read-only file system"}
    assert not (folder / "new.txt").exists()


# --- secrets ----------------------------------------------------------------------------------------------


def test_secrets_reach_the_container_but_not_the_log_the_rendered_fields_or_xcom(monkeypatch, capfd):
    secret = f"s3cret-{uuid.uuid4().hex}"
    monkeypatch.setenv("DOCKPOD_SECRET_DB_CREDS_PASSWORD", secret)
    dag_id = _unique("secret")
    script = (
        'echo "leak attempt: $DB_PASSWORD"; echo "file attempt: $(cat /run/secrets/db_password)"; '
        'env_sum=$(printf %s "$DB_PASSWORD" | sha256sum | cut -c1-64); '
        'file_sum=$(sha256sum < /run/secrets/db_password | cut -c1-64); '
        'mode=$(stat -c %a /run/secrets/db_password); '
        'if echo x > /run/secrets/db_password 2>/dev/null; then ro=false; else ro=true; fi; '
        'echo "{\\"env\\": \\"$env_sum\\", \\"file\\": \\"$file_sum\\", \\"mode\\": \\"$mode\\", '
        '\\"read_only\\": $ro}" > /airflow/xcom/return.json'
    )
    result = run_dag(_dag(dag_id, f"""
        DockpodDockerOperator(task_id="uses_secret", profile=LOCAL, spec=ContainerSpec(
            image=ETL, entrypoint=["sh", "-c", {script!r}], xcom=True, env={{"PLAIN": "visible"}},
            secrets=[Secret("db-creds", "password", env="DB_PASSWORD"),
                     Secret("db-creds", "password", path="/run/secrets/db_password")]))
    """), dag_id, text=True)
    log = capfd.readouterr().out
    assert result.task_states == {"uses_secret": "success"}
    digest = hashlib.sha256(secret.encode()).hexdigest()
    assert result.xcoms["uses_secret"] == {"env": digest, "file": digest, "mode": "444", "read_only": True}
    # The container printed the secret twice: the task log shows *** instead.
    assert "leak attempt: ***" in log and "file attempt: ***" in log
    assert secret not in log
    assert secret not in repr(result.xcoms)
    rendered = _rendered_fields(dag_id)
    assert rendered and "visible" in repr(rendered)
    assert secret not in repr(rendered)


def test_missing_secret_names_the_secret_and_where_it_looked(monkeypatch):
    from dockpod.operators._secrets import SecretNotFound
    from dockpod.spec import Secret

    monkeypatch.delenv("DOCKPOD_SECRET_API_TOKEN", raising=False)
    op = _operator(image=ETL, command=["env"], secrets=[Secret("api", "token", env="API_TOKEN")])
    with pytest.raises(SecretNotFound, match="DOCKPOD_SECRET_API_TOKEN"):
        op.execute({})


# --- exit codes and XCom -------------------------------------------------------------------------------


def test_skip_on_exit_code_skips_the_task():
    dag_id = _unique("skip")
    result = run_dag(_dag(dag_id, """
        DockpodDockerOperator(task_id="maybe", profile=LOCAL, spec=ContainerSpec(
            image=ETL, command=["exit", "42"], skip_on_exit_code=[42]))
        DockpodDockerOperator(task_id="fails", profile=LOCAL, spec=ContainerSpec(
            image=ETL, command=["exit", "43"], skip_on_exit_code=[42]))
    """), dag_id, text=True)
    assert result.task_states == {"maybe": "skipped", "fails": "failed"}


def test_xcom_is_parsed_json_and_pulled_downstream():
    dag_id = _unique("xcom")
    result = run_dag(_dag(dag_id, """
        extract = DockpodDockerOperator(task_id="extract", profile=LOCAL, spec=ContainerSpec(
            image=ETL, command=["extract", "--rows", "7", "--out", "/tmp/raw.json"], xcom=True))
        report = DockpodDockerOperator(task_id="report", profile=LOCAL, spec=ContainerSpec(
            image=ETL, command=["env", "--var", "ROWS"], xcom=True,
            env={"ROWS": "{{ ti.xcom_pull(task_ids='extract')['rows'] }}"}))
        quiet = DockpodDockerOperator(task_id="quiet", profile=LOCAL, spec=ContainerSpec(
            image=ETL, command=["env", "--no-result"], xcom=True))
        extract >> report
    """), dag_id, text=True)
    assert result.task_states == {"extract": "success", "report": "success", "quiet": "success"}
    assert result.xcoms["extract"] == {"rows": 7, "path": "/tmp/raw.json"}
    assert result.xcoms["report"]["env"] == {"ROWS": "7"}
    assert "quiet" not in result.xcoms  # no return.json: the value is None, nothing is pushed


@pytest.mark.parametrize(
    "make",
    [
        pytest.param("ln -s {host_file} /airflow/xcom/return.json", id="symlink-to-a-host-file"),
        pytest.param("mkfifo /airflow/xcom/return.json", id="fifo"),
        pytest.param("mkdir /airflow/xcom/return.json", id="folder"),
    ],
)
def test_a_result_that_is_not_a_regular_file_is_refused(make, tmp_path: Path):
    """A link in the XCom folder is never followed on the worker, where it would read the host's files."""
    from dockpod.errors import ContainerFailed

    host_file = tmp_path / "host-secret.json"
    host_file.write_text('{"host": "secret"}')
    op = _operator(image=ETL, entrypoint=["sh", "-c", make.format(host_file=host_file)], xcom=True)
    started = time.monotonic()
    with pytest.raises(ContainerFailed, match=r"/airflow/xcom/return\.json is not a regular file") as failure:
        op.execute({})
    assert failure.value.cause == "invalid_result"
    assert "secret" not in str(failure.value)
    assert time.monotonic() - started < 15  # a FIFO is not opened for a blocking read


def test_a_result_the_worker_may_not_read_is_read_through_the_engine(monkeypatch):
    """A result written 0600 by another uid than the worker's (a non-root worker) comes from the engine."""
    from dockpod.operators import _docker

    asked: list[str] = []

    def unreadable(path: str):
        asked.append(path)
        return _docker._ASK_ENGINE

    monkeypatch.setattr(_docker, "_read_host_file", unreadable)
    op = _operator(image=ETL, command=["env", "--var", "HOME"], xcom=True)
    assert op.execute({})["uid"] == 1000
    assert asked and asked[0].endswith("/xcom/return.json")


UNSEEN_WORKER = textwrap.dedent("""
    import json, os, sys
    from dockpod.operators._docker import DockpodDockerOperator
    from dockpod.profiles import get_profile
    from dockpod.spec import ContainerSpec

    results = []
    for task_id in ("first", "second"):
        op = DockpodDockerOperator(spec=ContainerSpec(image=sys.argv[1], command=["env"], xcom=True,
                                                      volumes=["/scratch"]),
                                   profile=get_profile("local"), task_id=task_id)
        results.append(op.execute({}))
    print("RESULTS " + json.dumps(results))
""")


def test_an_engine_that_cannot_see_the_worker_files_gets_an_xcom_volume(tmp_path: Path):
    """A worker in a container using the host's engine: its temporary folder is not the engine's.

    Simulated for real: the worker runs in a mount namespace of its own where its temporary folder is a
    tmpfs that the engine (in the host's namespace) cannot see.
    """
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        pytest.fail("needs root and unshare to give the worker a file system the engine cannot see")
    private_tmp = tmp_path / "worker-tmp"
    private_tmp.mkdir()
    script = tmp_path / "worker.py"
    script.write_text(UNSEEN_WORKER)
    command = f'mount -t tmpfs worker-tmp "{private_tmp}" && exec "{sys.executable}" "{script}" "{ETL}"'
    done = subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c", command],
                          capture_output=True, text=True, timeout=120,
                          env={**os.environ, "TMPDIR": str(private_tmp)})
    if done.returncode != 0 and "unshare failed" in done.stderr:
        pytest.fail(f"no mount namespace here: {done.stderr.strip()}")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    line = next(line for line in done.stdout.splitlines() if line.startswith("RESULTS "))
    first, second = json.loads(line.removeprefix("RESULTS "))
    assert first["uid"] == second["uid"] == 1000
    log = done.stdout + done.stderr
    assert log.count("cannot use a host directory") == 1  # the second run did not try again
    assert list(private_tmp.iterdir()) == []


def test_invalid_json_result_fails_naming_the_file():
    from dockpod.errors import ContainerFailed

    op = _operator(image=ETL, entrypoint=["sh", "-c", "echo 'not json' > /airflow/xcom/return.json"], xcom=True)
    with pytest.raises(ContainerFailed, match=r"/airflow/xcom/return\.json is not valid JSON"):
        op.execute({})


@pytest.mark.parametrize(
    ("fields", "cause", "words"),
    [
        ({"entrypoint": ["no-such-program"]}, "command_not_found", ["not found", "127", "no-such-program"]),
        ({"entrypoint": ["/etc/passwd"]}, "permission_denied", ["permission denied", "126"]),
        ({"command": ["exit", "3"]}, "exit_code", ["exited with code 3", "etl: exiting with code 3"]),
    ],
)
def test_failures_are_explained(fields, cause, words):
    from dockpod.errors import ContainerFailed

    op = _operator(image=ETL, **fields)
    with pytest.raises(ContainerFailed) as failure:
        op.execute({})
    assert failure.value.cause == cause
    for word in words:
        assert word in str(failure.value)


def test_timeout_stops_the_container():
    from dockpod.errors import ContainerFailed

    op = _operator(image=ETL, command=["sleep", "60"], timeout=2)
    started = time.monotonic()
    with pytest.raises(ContainerFailed, match="timed out after 2 s"):
        op.execute({})
    assert time.monotonic() - started < 15


# --- images and security -------------------------------------------------------------------------------


def test_run_as_non_root_refuses_a_root_image_before_starting():
    from dockpod.errors import ContainerFailed

    if _docker("image", "inspect", ROOT_IMAGE).returncode != 0:
        pytest.fail(f"{ROOT_IMAGE} is missing (make setup builds it)")
    def containers_of_the_image() -> set[str]:  # other tests on a shared engine may run this image too
        return set(_docker("ps", "-aq", "--filter", f"ancestor={ROOT_IMAGE}").stdout.split())

    before = containers_of_the_image()
    op = _operator(image=ROOT_IMAGE, command=["true"])
    with pytest.raises(ContainerFailed) as failure:
        op.execute({})
    message = str(failure.value)
    assert "container has runAsNonRoot and image will run as root" in message
    assert "user=" in message and "run_as_non_root=False" in message
    assert containers_of_the_image() <= before  # refused before any container was created
    allowed = _operator(image=ROOT_IMAGE, entrypoint=["id", "-u"], security={"run_as_non_root": False})
    assert allowed.execute({}) is None
    as_user = _operator(image=ROOT_IMAGE, entrypoint=["id", "-u"], security={"user": "1000"})
    assert as_user.execute({}) is None


@pytest.mark.parametrize(
    ("image", "policy", "cause"),
    [
        ("localhost:5000/dockpod/etl:no-such-tag", None, "image_not_found"),
        ("127.0.0.1:5999/dockpod/etl:1.0", None, "registry_unreachable"),
        ("localhost:5000/dockpod/etl:no-such-tag", "Never", "image_not_found"),
    ],
)
def test_image_problems_are_explained(image, policy, cause):
    from dockpod.errors import ContainerFailed

    op = _operator(image=image, command=["env"], image_pull_policy=policy)
    with pytest.raises(ContainerFailed) as failure:
        op.execute({})
    assert failure.value.cause == cause
    assert image in str(failure.value)


def test_pull_policy_always_pulls_an_image_that_is_present(capfd):
    op = _operator(image=ETL, command=["env", "--no-result"], image_pull_policy="Always")
    op.execute({})
    assert "Pulling image " + ETL in capfd.readouterr().out


# --- clean-up --------------------------------------------------------------------------------------------


def test_on_kill_stops_and_removes_everything():
    op = _operator(image=ETL, command=["sleep", "120"], xcom=True, volumes=["/scratch"])
    outcome: dict[str, BaseException | None] = {}

    def run() -> None:
        try:
            op.execute({})
            outcome["error"] = None
        except BaseException as exc:
            outcome["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    deadline, running = time.monotonic() + 30, []
    while time.monotonic() < deadline:  # until etl.py runs (and so handles SIGTERM)
        running = _docker("ps", "-q", "--filter", f"label={LABEL}").stdout.split()
        if running and "sleeping" in _docker("logs", running[0]).stdout:
            break
        time.sleep(0.1)
    assert running, "the container never started"
    started = time.monotonic()
    op.on_kill()
    thread.join(timeout=30)
    assert not thread.is_alive()
    assert time.monotonic() - started < 10
    from dockpod.errors import ContainerFailed

    assert isinstance(outcome["error"], ContainerFailed)  # a failure that says it was killed, not a result
    assert outcome["error"].cause in ("killed", "signal")
    assert _leftovers() == ([], [])


def test_per_run_resources_carry_the_run_labels():
    dag_id = _unique("labels")
    seen: dict[str, list] = {}

    def watch() -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not seen.get("containers"):
            found = _docker("ps", "-q", "--filter", f"label=io.dockpod.dag_id={dag_id}").stdout.split()
            if found:
                info = json.loads(_docker("inspect", *found).stdout)[0]
                seen["containers"] = [info["Config"]["Labels"]]
                seen["mounts"] = info["Mounts"]
                volumes = _docker("volume", "ls", "-q", "--filter", f"label=io.dockpod.dag_id={dag_id}").stdout
                seen["volumes"] = volumes.split()
                seen["xcom_modes"] = [(os.stat(m["Source"]).st_mode & 0o7777,
                                       os.stat(os.path.dirname(m["Source"])).st_mode & 0o7777)
                                      for m in info["Mounts"] if m["Destination"] == "/airflow/xcom"]
            time.sleep(0.1)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    result = run_dag(_dag(dag_id, """
        DockpodDockerOperator(task_id="slow", profile=LOCAL, spec=ContainerSpec(
            image=ETL, command=["sleep", "3"], xcom=True, volumes=["/scratch"]))
    """), dag_id, text=True)
    watcher.join(timeout=10)
    assert result.task_states == {"slow": "success"}
    labels = seen["containers"][0]
    assert labels["io.dockpod.dag_id"] == dag_id
    assert labels["io.dockpod.task_id"] == "slow"
    assert labels["io.dockpod.run_id"].startswith("manual__")
    assert labels["io.dockpod.try_number"] == "1"
    assert labels["io.dockpod.map_index"] == "-1"
    assert labels["io.dockpod.role"] == "main" and labels["io.dockpod.container"] == "base"
    assert len(labels[LABEL]) == 12
    assert len(seen["volumes"]) == 1  # the scratch volume; the XCom folder is a host directory
    assert all(labels[LABEL] in name for name in seen["volumes"])
    xcom = next(m for m in seen["mounts"] if m["Destination"] == "/airflow/xcom")
    assert xcom["Type"] == "bind" and xcom["RW"]
    assert f"dockpod-run-{labels[LABEL]}-" in xcom["Source"]
    assert seen["xcom_modes"] == [(0o1777, 0o700)]  # writable by any uid, inside a private folder
    assert not os.path.exists(xcom["Source"])


@pytest.mark.parametrize("path", ["/etc/db_password", "/app/token", "/db_password"])
def test_a_secret_file_that_would_hide_a_system_directory_is_refused_at_parse_time(path):
    from dockpod.errors import TranslationError
    from dockpod.spec import Secret

    with pytest.raises(TranslationError, match="directory of their own"):
        _operator(image=ETL, secrets=[Secret("db", "password", path=path)])


# --- a registry that requires a login ------------------------------------------------------------------


@pytest.fixture(scope="module")
def auth_registry(tmp_path_factory):
    """A registry on a free loopback port with htpasswd auth, holding the ETL image; yields its address."""
    import docker

    with registry_harness.auth_registry(tmp_path_factory.mktemp("registry")) as address:
        image = f"{address}/dockpod/etl:auth-test"
        try:
            client = docker.APIClient(version="1.41")
            client.tag(ETL, f"{address}/dockpod/etl", "auth-test")
            for line in client.push(f"{address}/dockpod/etl", "auth-test", stream=True, decode=True,
                                    auth_config={"username": registry_harness.USER,
                                                 "password": registry_harness.PASSWORD}):
                assert "error" not in line, line
            _docker("rmi", image)
            yield address, image
        finally:
            _docker("rmi", image)


def test_pull_that_needs_a_login_says_so_and_docker_conn_id_logs_in(auth_registry, monkeypatch):
    from dockpod.errors import ContainerFailed
    from dockpod.operators._docker import DockpodDockerOperator
    from dockpod.profiles import get_profile
    from dockpod.spec import ContainerSpec

    address, image = auth_registry
    spec = ContainerSpec(image=image, command=["env"], xcom=True, image_pull_policy="Always")
    anonymous = DockpodDockerOperator(spec=spec, profile=get_profile("local"), task_id="anonymous")
    with pytest.raises(ContainerFailed) as failure:
        anonymous.execute({})
    assert failure.value.cause == "auth_required"
    assert f"the registry {address} requires authentication" in str(failure.value)
    assert "docker_conn_id" in str(failure.value)

    host, port = address.split(":")
    monkeypatch.setenv("AIRFLOW_CONN_DOCKPOD_TEST_REGISTRY", json.dumps(
        {"conn_type": "docker", "host": host, "port": int(port), "login": "tester", "password": "pw-123456"}))
    profile = get_profile("local").model_copy(update={"docker_conn_id": "dockpod_test_registry"})
    logged_in = DockpodDockerOperator(spec=spec, profile=profile, task_id="logged_in")
    assert logged_in.execute({})["uid"] == 1000
