"""88_02_02_container_secrets: secrets reach Airflow (compose, _CMD/_SECRET) and the task (Secret references),
and their random values appear in no log line, no XCom and no rendered output."""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import logging
import secrets
import subprocess
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from airflow_harness import place_example
from dockpod.render import dump, render_paths
from dockpod.runtime.airflow_run import load_dag, run_dag

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "section_88" / "88_02_02_container_secrets.py"
DAG_ID = "88_02_02_container_secrets"

pytestmark = pytest.mark.integration


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


@pytest.fixture
def values(monkeypatch) -> dict[str, str]:
    chosen = {
        "DOCKPOD_SECRET_WAREHOUSE_DB_PASSWORD": f"pw-{secrets.token_hex(16)}",
        "DOCKPOD_SECRET_WAREHOUSE_DB_API_TOKEN": f"tok-{secrets.token_hex(16)}",
        "DOCKPOD_SECRET_AIRFLOW_DB_CONN": f"sqlite:////tmp/airflow-{secrets.token_hex(16)}.db",
        "DOCKPOD_SECRET_AIRFLOW_FERNET_KEY": Fernet.generate_key().decode(),
        "DOCKPOD_SECRET_AIRFLOW_API_SECRET_KEY": secrets.token_urlsafe(32),
        "DOCKPOD_SECRET_AIRFLOW_JWT_SECRET": secrets.token_urlsafe(32),
    }
    for name, value in chosen.items():
        monkeypatch.setenv(name, value)
    return chosen


def _run_logged() -> tuple[object, str]:
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        with contextlib.redirect_stdout(buffer), contextlib.redirect_stderr(buffer):
            result = run_dag(load_dag(place_example(EXAMPLE, DAG_ID), DAG_ID))
    finally:
        root.removeHandler(handler)
    return result, buffer.getvalue()


def _compose_projects() -> set[str]:
    out = subprocess.run(["docker", "ps", "-a", "--format", "{{.Label \"com.docker.compose.project\"}}"],
                         capture_output=True, text=True, check=True).stdout
    return {line for line in out.splitlines() if line.startswith("dp880202-")}


def test_secrets_reach_airflow_and_the_task_and_leak_nowhere(values):
    before = _compose_projects()
    result, log = _run_logged()
    assert result.state == "success", result.failures

    stack = result.xcoms["docker_secrets"]
    assert stack["reached_airflow"] == {"database.sql_alchemy_conn": True, "core.fernet_key": True,
                                        "api.secret_key": True, "api_auth.jwt_secret": True}
    assert stack["fernet_probe_decrypts"] is True
    assert stack["healthy"] == "healthy"
    assert stack["references_in_environment"] == ["AIRFLOW__API_AUTH__JWT_SECRET_SECRET",
                                                  "AIRFLOW__API__SECRET_KEY_SECRET",
                                                  "AIRFLOW__CORE__FERNET_KEY_CMD",
                                                  "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_CMD"]
    assert stack["values_in_environment"] == 0 and stack["values_in_logs"] == 0
    assert stack["secret_mounts"] == [["/run/secrets/airflow-config.json", False],
                                      ["/run/secrets/airflow_db_conn", False],
                                      ["/run/secrets/airflow_fernet_key", False]]
    assert stack["write_refused"] is True
    assert _compose_projects() == before, "the compose project was not taken down"

    used = result.xcoms["use_secrets"]
    password = values["DOCKPOD_SECRET_WAREHOUSE_DB_PASSWORD"]
    token = values["DOCKPOD_SECRET_WAREHOUSE_DB_API_TOKEN"]
    assert used["password_sha256"] == _digest(password) and used["password_length"] == len(password)
    assert used["token_sha256"] == _digest(token) and used["token_length"] == len(token)
    assert used["token_write_refused"] in ("EROFS", "EACCES"), used
    assert used["token_mount_read_only"] is True and used["token_file_mode"] == "0o444", used
    assert used["uid"] == 1000

    rendered = result.xcoms["render_for_production"]
    assert rendered["env"] == {"WAREHOUSE_PASSWORD": {"name": "warehouse-db", "key": "password"}}
    assert "WAREHOUSE_PASSWORD" not in rendered["env_with_value"]
    assert rendered["secret_volumes"] == [{"secretName": "warehouse-db",
                                           "items": [{"key": "api-token", "path": "api-token"}]}]
    assert ["/run/secrets/warehouse/api-token", True] in rendered["mounts"]
    assert rendered["worker_secret_values_in_render"] == 0

    production = render_paths([EXAMPLE], "production")
    local = render_paths([EXAMPLE], "local")
    assert production.ok and local.ok, production.errors + local.errors
    texts = [dump(r, fmt) for r in (production, local) for fmt in ("yaml", "json")]
    xcom_text = json.dumps(result.xcoms)
    assert "used the warehouse password and API token" in log, "the task's own line reached the log"
    for name, value in values.items():
        assert value not in log, f"{name}'s value leaked into the task log"
        assert value not in xcom_text, f"{name}'s value leaked into XCom"
        assert all(value not in text for text in texts), f"{name}'s value leaked into a render"
