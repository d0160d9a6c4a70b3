import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dockpod.cli import app, reference_markdown

REPO = Path(__file__).resolve().parents[2]


def test_cli_reference_matches_the_code():
    assert (REPO / "docs" / "cli.md").read_text() == reference_markdown(), "run `dockpod docs cli`"


@pytest.mark.parametrize("command", [[], ["render"], ["profiles"], ["docs"], ["docs", "translation"], ["docs", "cli"],
                                     ["version"]])
def test_every_command_has_help(command):
    out = CliRunner().invoke(app, [*command, "--help"])
    assert out.exit_code == 0, out.output
    assert "Usage" in out.output


def test_version_names_the_providers():
    out = CliRunner().invoke(app, ["version"])
    data = json.loads(out.stdout)
    assert data["apache-airflow"].startswith("3.3")
    assert data["apache-airflow-providers-docker"].startswith("4.6")


def test_docs_check_passes_on_a_fresh_tree():
    for command in (["docs", "translation", "--check"], ["docs", "cli", "--check"], ["docs", "lint", "--check"]):
        out = CliRunner().invoke(app, [*command, "--out", str(REPO / "docs" / f"{command[1]}.md")])
        assert out.exit_code == 0, out.output


def test_render_format_is_checked():
    out = CliRunner().invoke(app, ["render", str(REPO / "examples" / "dags"), "--format", "xml"])
    assert out.exit_code == 2
    assert "use yaml or json" in out.stderr


def test_messages_on_stderr_are_never_broken_across_lines(tmp_path):
    deep = tmp_path / ("a-very-long-folder-name-" * 4) / "dags"
    deep.mkdir(parents=True)
    source = "from airflow.providers.docker.operators.docker import DockerOperator\ndef oops(:\n"
    (deep / "broken.py").write_text(source)
    out = CliRunner().invoke(app, ["audit", str(deep)])
    line = next(line for line in out.stderr.splitlines() if line.startswith("skipped:"))
    assert str(deep / "broken.py") in line and "syntax error" in line


@pytest.mark.parametrize(("text", "seconds"), [("90s", 90), ("30m", 1800), ("2h", 7200), ("1d", 86400), ("45", 45),
                                               ("0s", 0)])
def test_reap_ages(text, seconds):
    from dockpod.runtime.reap import parse_age

    assert parse_age(text) == seconds


@pytest.mark.parametrize("text", ["2x", "-5m", "soon", "nanh"])
def test_reap_refuses_a_bad_age_in_one_sentence(text):
    out = CliRunner().invoke(app, ["reap", "--older-than", text, "--dry-run"])
    assert out.exit_code == 2
    assert "is not an age; use a number with s, m, h or d" in out.output
    assert "Traceback" not in out.output


def test_doctor_explains_a_task_log_and_exits_1():
    log = Path(__file__).resolve().parents[1] / "doctor" / "logs" / "dockpod_oom.log"
    out = CliRunner().invoke(app, ["doctor", str(log), "--format", "json"])
    assert out.exit_code == 1, out.output
    finding = json.loads(out.stdout)
    assert finding["kind"] == "log" and finding["cause"] == "oom_killed"


def test_doctor_names_a_missing_log_in_one_sentence(tmp_path):
    out = CliRunner().invoke(app, ["doctor", str(tmp_path / "task.log")])
    assert out.exit_code == 2
    assert "does not exist" in out.output and "Traceback" not in out.output
