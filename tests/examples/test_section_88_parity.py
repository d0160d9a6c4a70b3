"""`dockpod parity` over the runtime examples (issue: multi-container tasks and proven parity).

Each example's container tasks run locally on Docker and as production pods under podman; every
compared aspect must be equal. 88_03_03 and 88_09_0x check their parity in their own tests.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from airflow_harness import place_example
from dockpod.cli import app

SECTION = Path(__file__).resolve().parents[2] / "examples" / "section_88"
EXAMPLES = ["88_05_01_container_logs", "88_05_02_container_shell", "88_05_03_container_health",
            "88_05_05_common_issues"]

pytestmark = pytest.mark.integration


@pytest.fixture(autouse=True)
def _remove_the_examples_named_volumes():
    """The examples' named volumes (PersistentVolumeClaims in the pod leg) outlive a run by design: not a test's."""
    yield
    for tool in ("docker", "podman"):
        names = subprocess.run([tool, "volume", "ls", "-q"], capture_output=True, text=True).stdout.split()
        ours = [n for n in names if n.startswith(("dockpod-88-", "dockpod_88_"))]
        if ours:
            subprocess.run([tool, "volume", "rm", "-f", *ours], capture_output=True)


@pytest.mark.parametrize("stem", EXAMPLES)
def test_example_has_parity(stem, monkeypatch):
    monkeypatch.setenv("DOCKPOD_CONFIG", str(SECTION.parent / "dockpod.toml"))
    placed = place_example(SECTION / f"{stem}.py", stem)
    result = CliRunner().invoke(app, ["parity", str(placed), "--format", "json"])
    report = json.loads(result.stdout) if result.stdout.startswith("{") else {}
    differences = [d for t in report.get("tasks", []) for d in t["differences"]] + report.get("volumes", [])
    assert result.exit_code == 0, differences or result.output
    assert report["equal"] is True
