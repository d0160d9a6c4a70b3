"""88_02_01_env_configuration: every value set through the environment reads back the same inside a container
of the Airflow image; _CMD works for sensitive options only; the environment wins over airflow.cfg."""

from __future__ import annotations

import contextlib
import io
import json
import logging
import random
import subprocess
import uuid
from pathlib import Path

import pytest

from airflow_harness import place_example
from dockpod.runtime.airflow_run import load_dag, run_dag

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "section_88" / "88_02_01_env_configuration.py"
DAG_ID = "88_02_01_env_configuration"
LABEL = "io.dockpod.example=88_02_01_env_configuration"

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def result():
    password = f"pw-{uuid.uuid4().hex}"
    params = {"parallelism": random.randint(40, 99), "max_active_tasks_per_dag": random.randint(2, 30),
              "logging_level": random.choice(["WARNING", "ERROR", "DEBUG"]),
              "warehouse_host": f"wh-{uuid.uuid4().hex[:8]}.internal", "reporting_port": random.randint(1025, 65000)}
    monkeypatch = pytest.MonkeyPatch()
    monkeypatch.setenv("DOCKPOD_SECRET_WAREHOUSE_DB_PASSWORD", password)
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    logging.getLogger().addHandler(handler)
    try:
        with contextlib.redirect_stdout(buffer), contextlib.redirect_stderr(buffer):
            run = run_dag(load_dag(place_example(EXAMPLE, DAG_ID), DAG_ID), run_conf=params)
    finally:
        logging.getLogger().removeHandler(handler)
        monkeypatch.undo()
        leftovers = subprocess.run(["docker", "ps", "-aq", "--filter", f"label={LABEL}"], capture_output=True,
                                   text=True, check=True).stdout.split()
        if leftovers:
            subprocess.run(["docker", "rm", "--force", *leftovers], capture_output=True, check=False)
    assert leftovers == [], "a container of the example was left behind"
    assert run.state == "success", run.failures
    return {**params, "password": password}, run.xcoms, buffer.getvalue()


def test_airflow_section_key_variables_read_back(result):
    params, xcoms, _log = result
    section = xcoms["section_key_variables"]
    assert section["read"] == section["set"] == {
        "AIRFLOW__CORE__PARALLELISM": str(params["parallelism"]),
        "AIRFLOW__CORE__MAX_ACTIVE_TASKS_PER_DAG": str(params["max_active_tasks_per_dag"]),
        "AIRFLOW__LOGGING__LOGGING_LEVEL": params["logging_level"]}


def test_connections_as_uri_and_as_json_read_back(result):
    params, xcoms, _log = result
    conns = xcoms["connections"]
    warehouse = conns["warehouse"]
    assert (warehouse["conn_type"], warehouse["host"], warehouse["port"], warehouse["schema"], warehouse["login"]) == (
        "postgres", params["warehouse_host"], "5432", "analytics", "etl")
    assert warehouse["extra_dejson"] == {"sslmode": "require", "connect_timeout": "10"}
    assert conns["warehouse_password_matches"] is True
    assert "password" not in warehouse and "get_uri" not in warehouse
    api, wanted = conns["reporting_api"], conns["set_json"]
    assert (api["conn_type"], api["host"], api["port"], api["schema"], api["login"]) == (
        wanted["conn_type"], wanted["host"], str(params["reporting_port"]), wanted["schema"], wanted["login"])
    assert api["extra_dejson"] == {"timeout": "30", "verify": "True"}  # the CLI prints extra values as text


def test_executor_choice_is_the_one_airflow_loads(result):
    _params, xcoms, _log = result
    celery = "airflow.providers.celery.executors.celery_executor.CeleryExecutor"
    assert xcoms["executor"] == {
        "LocalExecutor": {"configured": "LocalExecutor", "executors": "LocalExecutor",
                          "default_class": "airflow.executors.local_executor.LocalExecutor"},
        celery: {"configured": celery, "executors": "CeleryExecutor", "default_class": celery},
        "LocalExecutor,CeleryExecutor": {"configured": "LocalExecutor,CeleryExecutor",
                                         "executors": "LocalExecutor,CeleryExecutor",
                                         "default_class": "airflow.executors.local_executor.LocalExecutor"},
    }


def test_feature_flags_read_back_and_override_the_image_env(result):
    _params, xcoms, _log = result
    flags = xcoms["feature_flags"]
    assert flags["read"] == flags["set"]
    assert "AIRFLOW__CORE__LOAD_EXAMPLES=False" in flags["image_env"]
    assert flags["read"]["AIRFLOW__CORE__LOAD_EXAMPLES"] == "True"


def test_cmd_variants_work_for_sensitive_options_only(result):
    _params, xcoms, _log = result
    cmd = xcoms["cmd_variants"]
    assert cmd["sql_alchemy_conn"] == cmd["sql_alchemy_conn_expected"] == "sqlite:////data/from_cmd.db"
    assert cmd["sql_alchemy_conn_source"] == "Source: cmd"
    assert cmd["db_check"] == "ok"
    assert cmd["fernet_key_matches"] is True
    assert cmd["parallelism_with_ignored_cmd"] == "32"  # PARALLELISM_CMD=echo 77 is not read
    assert cmd["sqlite_file_from_a_value_with_newline"] == "newline.db\\n"  # Airflow keeps the newline


def test_environment_wins_over_airflow_cfg(result):
    params, xcoms, _log = result
    prec = xcoms["precedence"]
    assert prec["file_only"]["parallelism"] == "8" and prec["file_only"]["parallelism_source"] == "Source: airflow.cfg"
    assert prec["file_and_env"]["parallelism"] == str(params["parallelism"])
    assert prec["file_and_env"]["parallelism_source"] == "Source: env var"
    assert prec["file_only"]["max_active_runs_per_dag"] == prec["file_and_env"]["max_active_runs_per_dag"] == "3"
    assert prec["file_only"]["env_over_cmd"] == "sqlite:////data/env.db"


def test_the_password_reaches_airflow_and_appears_in_no_log_or_xcom(result):
    params, xcoms, log = result
    assert xcoms["connections"]["warehouse_password_matches"] is True
    assert "[DAG TEST] end task task_id=connections" in log, "the task log was not captured"
    assert params["password"] not in log
    assert params["password"] not in json.dumps(xcoms)
