"""The pre-commit hooks other repositories use must name real dockpod commands and options."""

import shlex
from pathlib import Path

import yaml
from typer.testing import CliRunner

from dockpod.cli import app

HOOKS = Path(__file__).resolve().parents[2] / ".pre-commit-hooks.yaml"


def test_hooks_run_real_commands(tmp_path):
    hooks = yaml.safe_load(HOOKS.read_text())
    assert {h["id"] for h in hooks} == {"dockpod-audit", "dockpod-migrate-check"}
    clean = tmp_path / "clean.py"
    clean.write_text("print('no operators here')\n")
    for hook in hooks:
        program, *args = shlex.split(hook["entry"])
        assert program == "dockpod"
        result = CliRunner().invoke(app, [*args, str(clean)])
        assert result.exit_code == 0, (hook["id"], result.output)
