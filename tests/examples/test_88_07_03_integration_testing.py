"""88_07_03_integration_testing: the suite (services, database, broker, inter-container, end to end) passes against the
prod stack, and the broker check given a wrong password fails with Redis's own answer. One stack run: the DAG runs
with show_broken_check on, so the run fails on that task alone.
Brings up a stack of its own (project and edge network named for the run)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from compose_harness import project_objects, stack_example_run
from stack_harness import report

REPO = Path(__file__).resolve().parents[2]
PROD = REPO / "deploy" / "compose" / "prod"
EXAMPLE = REPO / "examples" / "section_88" / "88_07_03_integration_testing.py"
DAG_ID = "88_07_03_integration_testing"
SUITE = ["services", "database", "broker", "inter_container", "end_to_end"]

pytestmark = pytest.mark.integration


def test_the_suite_passes_against_the_stack_and_a_wrong_credential_fails_clearly():
    with stack_example_run(EXAMPLE, DAG_ID, run_conf={"show_broken_check": True}) as (result, project):
        states = result.task_states
        assert {task: states[task] for task in ["prepare", "up", *SUITE, "teardown"]} == dict.fromkeys(
            ["prepare", "up", *SUITE, "teardown"], "success"), result.failures

        assert result.xcoms["services"]["all_ready"]
        assert set(result.xcoms["services"]["components"].values()) == {"healthy"}
        database = result.xcoms["database"]
        assert database["server_version"].startswith("15.")
        assert database["schema_revision"] and database["tables"] > 0 and database["network_sessions"] >= 1
        assert result.xcoms["broker"] == {"ping": "PONG", "ping_without_password": "NOAUTH Authentication required."}
        reached = result.xcoms["inter_container"]
        assert all(reached[name]["port_open"] for name in ("airflow-api-server", "postgres", "redis"))
        assert reached["api_health"]["status"] == 200
        assert reached["task_network_resolves_postgres"] is False
        e2e = result.xcoms["end_to_end"]
        assert set(e2e["checks"].values()) == {True}, e2e["checks"]
        assert e2e["xcom"]["extract_rows"] == 250 and 0 < e2e["xcom"]["load_rows"] <= 250

        # The deliberately broken check: failed, naming the check, the wrong password's source and Redis's answer.
        assert states["wrong_credential"] == "failed"
        message = result.failures["wrong_credential"]
        assert "broker check failed" in message and "/etc/hostname" in message, message
        assert "NOAUTH" in message and "WRONGPASS" in message, message
        assert result.state == "failed"

        # The secret's value is in no XCom; nothing of the stack is left.
        password = (PROD / "secrets" / "redis_password").read_text().strip()
        leaked = password in json.dumps(result.xcoms) or password in message
        assert not leaked, "the Redis password is in an XCom value or the failure message"
        assert result.xcoms["teardown"]["left"] == {"containers": [], "networks": [], "volumes": []}
        assert project_objects(project) == []
        healthy = result.xcoms["up"]["seconds_to_healthy"]
        sessions = database["network_sessions"]
        report("88_07_03_integration_testing", [f"time from up to all healthy: {healthy} s",
                                                f"database sessions from other containers: {sessions}"])
