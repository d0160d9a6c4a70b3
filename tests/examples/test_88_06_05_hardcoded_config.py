"""88_06_05_hardcoded_config: each broken file is flagged by its rule; the fixed task gets its settings at
run time and its password from the profile's secret source, which appears in no log line and no XCom."""

from __future__ import annotations

import contextlib
import io
import json
import logging
import secrets
import uuid
from pathlib import Path

import pytest

from airflow_harness import place_example
from dockpod.lint import lint_paths
from dockpod.runtime.airflow_run import load_dag, run_dag

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "section_88" / "88_06_05_hardcoded_config.py"
ASSETS = EXAMPLE.parent / "assets" / EXAMPLE.stem
DAG_ID = "88_06_05_hardcoded_config"

pytestmark = pytest.mark.integration


def _run_logged(params: dict) -> tuple[object, str]:
    """Run the DAG; return the result and everything it logged (the task log, as dag.test() prints it)."""
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        with contextlib.redirect_stdout(buffer), contextlib.redirect_stderr(buffer):
            result = run_dag(load_dag(place_example(EXAMPLE, DAG_ID), DAG_ID), run_conf=params)
    finally:
        root.removeHandler(handler)
    return result, buffer.getvalue()


def test_each_broken_file_is_flagged_by_its_rule_and_the_fixed_ones_are_clean():
    broken = sorted((Path(f.path).name, f.line, f.rule) for f in lint_paths([ASSETS / "broken"]).failing())
    assert broken == [("Dockerfile", 4, "DL3064"), ("Dockerfile", 4, "DP106"), ("compose.yaml", 7, "DP205"),
                      ("deployment.yaml", 25, "DP309"), ("tasks.py", 11, "DP503")]
    assert lint_paths([ASSETS / "fixed"]).failing() == []


@pytest.fixture
def password(monkeypatch):
    value = f"pw-{secrets.token_hex(12)}"
    monkeypatch.setenv("DOCKPOD_SECRET_WAREHOUSE_DB_PASSWORD", value)
    return value


def test_config_changes_without_rebuild_and_the_secret_never_shows(password):
    seen = []
    for host in ("warehouse-a.internal", "warehouse-b.internal"):
        result, log = _run_logged({"warehouse_host": host, "image_tag": f"t{uuid.uuid4().hex[:8]}"})
        assert result.state == "success", result.failures
        connect = result.xcoms["connect"]
        seen.append(connect["host"])
        assert connect["password_length"] == len(password)
        assert "debug: connecting with" in log, "the task's own line reached the log"
        assert password not in log, "the Secret's value leaked into the task log"
        assert password not in json.dumps(result.xcoms), "the Secret's value leaked into XCom"
        assert connect["dsn"] == f"postgresql://etl:***@{host}:5432/warehouse"
    assert seen == ["warehouse-a.internal", "warehouse-b.internal"]
    assert result.xcoms["baked_image"] == {"readable_in_image": ["WAREHOUSE_HOST", "WAREHOUSE_PASSWORD"]}
    assert result.xcoms["lint_config"]["broken"] == {"Dockerfile": ["DL3064", "DP106"], "compose.yaml": ["DP205"],
                                                     "deployment.yaml": ["DP309"], "tasks.py": ["DP503"]}
    assert all(rules == [] for rules in result.xcoms["lint_config"]["fixed"].values())


def test_without_the_secret_the_task_fails_naming_what_is_missing(monkeypatch):
    monkeypatch.delenv("DOCKPOD_SECRET_WAREHOUSE_DB_PASSWORD", raising=False)
    result, _log = _run_logged({"warehouse_host": "warehouse-a.internal", "image_tag": f"t{uuid.uuid4().hex[:8]}"})
    assert result.task_states["connect"] == "failed"
    assert "DOCKPOD_SECRET_WAREHOUSE_DB_PASSWORD" in result.failures["connect"], result.failures["connect"]
