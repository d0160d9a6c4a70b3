"""dockpod's Airflow image (deploy/images/airflow), checked for real with the local Docker engine.

The image is what `make image` builds (scripts/build-airflow-image.sh); a missing one is built here, which
takes about two minutes from a cold wheelhouse. Every container started here is removed.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
CONTEXT = REPO / "deploy" / "images" / "airflow"
IMAGE = "localhost:5000/dockpod/airflow:3.3.2"
SQLITE = "sqlite:////data/airflow.db"


def _docker(*args: str, check: bool = True, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout, check=False)
    if check and result.returncode != 0:
        raise AssertionError(f"docker {' '.join(args)} exited {result.returncode}:\n{result.stdout}\n{result.stderr}")
    return result


def _run(*args: str, env: dict[str, str] | None = None, check: bool = True) -> subprocess.CompletedProcess[str]:
    """docker run --rm IMAGE ARGS with a tmpfs /data the airflow user can write."""
    flags = [f"--env={k}={v}" for k, v in (env or {}).items()]
    return _docker("run", "--rm", "--tmpfs", "/data:uid=50000,gid=0,mode=0770", *flags, IMAGE, *args, check=check)


@pytest.fixture(scope="module", autouse=True)
def image() -> str:
    if shutil.which("docker") is None or _docker("info", check=False, timeout=20).returncode != 0:
        pytest.fail("no Docker engine answers (start it with `make setup`): these tests need the real engine")
    if _docker("image", "inspect", IMAGE, check=False).returncode != 0:
        build = subprocess.run(["bash", str(REPO / "scripts" / "build-airflow-image.sh")], capture_output=True,
                               text=True, timeout=1800, check=False)
        assert build.returncode == 0, f"building {IMAGE} failed:\n{build.stderr[-3000:]}"
    return IMAGE


def _inspect(template: str) -> str:
    return _docker("image", "inspect", "-f", template, IMAGE).stdout.strip()


def _pins(text: str) -> dict[str, str]:
    pins = re.findall(r"^([A-Za-z0-9_.\-]+)==([\w.]+)\s*$", text, re.M)
    return {name.lower().replace("_", "-"): version for name, version in pins}


def test_default_command_prints_the_pinned_airflow_version():
    assert _run().stdout.strip().splitlines()[-1] == "3.3.2"


def test_runs_as_uid_50000_gid_0_with_airflow_home_owned_by_it():
    out = _run("bash", "-c", "id -u; id -g; echo $AIRFLOW_HOME; stat -c %u:%g /opt/airflow/logs; "
               "touch /opt/airflow/logs/x && echo writable").stdout.split()
    assert out == ["50000", "0", "/opt/airflow", "50000:0", "writable"]
    assert _inspect("{{.Config.User}}") == "50000:0"


def test_providers_and_dockpod_are_installed_with_the_pins_of_constraints_txt():
    code = ("import importlib.metadata as m, airflow.providers.docker, airflow.providers.cncf.kubernetes, dockpod\n"
            "for d in ('apache-airflow', 'apache-airflow-providers-docker', "
            "'apache-airflow-providers-cncf-kubernetes', 'dockpod'): print(d + '==' + m.version(d))")
    installed = _pins(_run("python", "-c", code).stdout)
    wanted = _pins((REPO / "constraints.txt").read_text())
    for name in ("apache-airflow", "apache-airflow-providers-docker", "apache-airflow-providers-cncf-kubernetes"):
        assert installed[name] == wanted[name]
    assert "dockpod" in installed


def test_dockerfile_pins_agree_with_constraints_txt():
    wanted = _pins((REPO / "constraints.txt").read_text())
    dockerfile = (CONTEXT / "Dockerfile").read_text()
    pinned = dict(re.findall(r"^\s+(apache-airflow[\w-]*)==([\d.]+)", dockerfile, re.M))
    assert pinned, "no pins found in the Dockerfile"
    assert pinned == {name: wanted[name] for name in pinned}


def test_no_compiler_or_dev_package_in_the_runtime_image():
    out = _run("bash", "-c", "command -v gcc cc c++ make || true; dpkg-query -W -f '${Package}\\n'").stdout.split()
    assert not [w for w in out if w.startswith("/")], f"build tools in the image: {out}"
    # gcc-12-base (the runtime library's copyright files) is in every Debian; the compilers are not.
    assert not [p for p in out if re.fullmatch(r"(gcc|g\+\+|cpp|make|build-essential)(-\d+)?", p)
                or p.endswith("-dev")], out


def test_oci_labels_and_healthcheck_are_defined():
    labels = _docker("image", "inspect", "-f", "{{json .Config.Labels}}", IMAGE).stdout
    for key in ("title", "description", "version", "licenses", "source", "vendor", "base.name"):
        assert f'"org.opencontainers.image.{key}"' in labels
    assert '"org.opencontainers.image.version":"3.3.2"' in labels
    assert "healthcheck.py" in _inspect("{{json .Config.Healthcheck.Test}}")


def _tables(env: dict[str, str]) -> int:
    count = ("import sqlite3; db = sqlite3.connect('/data/airflow.db'); "
             "print(db.execute('select count(*) from sqlite_master').fetchone()[0])")
    out = _run("python", "-c", count, env=env).stdout.split()
    return int(out[-1])


def test_entrypoint_migrates_only_when_asked():
    env = {"AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": SQLITE}
    assert _tables(env) == 0  # waited for (and so opened) the database, created no table
    assert _tables({**env, "_AIRFLOW_DB_MIGRATE": "false"}) == 0
    assert _tables({**env, "_AIRFLOW_DB_MIGRATE": "true"}) > 20


def test_entrypoint_gives_up_on_an_unreachable_database_after_the_bounded_time():
    env = {"AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": "sqlite:////nonexistent/dir/airflow.db",
           "CONNECTION_CHECK_MAX_COUNT": "2", "CONNECTION_CHECK_SLEEP_TIME": "1"}
    start = time.monotonic()
    result = _run("version", env=env, check=False)
    assert result.returncode == 1
    assert "database not reachable after 2 attempts" in result.stderr
    assert "unable to open database file" in result.stderr
    assert "3.3.2" not in result.stdout
    assert time.monotonic() - start < 60


def test_entrypoint_rejects_a_bad_migrate_flag():
    result = _run("version", env={"_AIRFLOW_DB_MIGRATE": "yes"}, check=False)
    assert result.returncode == 2
    assert "_AIRFLOW_DB_MIGRATE must be true or false" in result.stderr


def test_healthcheck_follows_the_component_the_container_runs():
    name = f"dockpod-airflow-test-{uuid.uuid4().hex[:8]}"
    _docker("run", "-d", "--name", name, "--tmpfs", "/data:uid=50000,gid=0,mode=0770",
            "--env", f"AIRFLOW__DATABASE__SQL_ALCHEMY_CONN={SQLITE}", "--env", "_AIRFLOW_DB_MIGRATE=true",
            "--env", "AIRFLOW__API__PORT=8080", IMAGE, "api-server", "--port", "8080")
    try:
        deadline, last = time.monotonic() + 180, None
        while time.monotonic() < deadline:
            last = _docker("exec", name, "python", "/opt/dockpod/healthcheck.py", check=False, timeout=60)
            if last.returncode == 0:
                break
            assert "api-server" in last.stdout or "Error" in last.stderr, last
            time.sleep(3)
        assert last is not None and last.returncode == 0, f"{last}\n{_docker('logs', name, check=False).stderr[-2000:]}"
        assert "healthy: api-server" in last.stdout and "metadatabase healthy" in last.stdout
    finally:
        _docker("rm", "-f", name, check=False)
    shell = _docker("run", "--rm", IMAGE, "bash", "-c", "python /opt/dockpod/healthcheck.py").stdout
    assert "healthy while running" in shell


def test_dockerfile_is_lint_clean():
    dockpod = Path(sys.executable).with_name("dockpod")
    result = subprocess.run([str(dockpod), "lint", str(CONTEXT)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 error(s), 0 warning(s)" in result.stdout + result.stderr
