"""`dockpod audit` on the command line: formats, exit codes, errors."""

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dockpod.cli import app

CORPUS = Path(__file__).resolve().parent / "corpus"
CLEAN = str(CORPUS / "dags" / "etl" / "orders_with_dag.py")  # every use is auto
REVIEW = str(CORPUS / "dags" / "aliases.py")  # auto and review, nothing manual


def run(*args):
    return CliRunner().invoke(app, ["audit", *args])


def test_help():
    out = run("--help")
    assert out.exit_code == 0 and "auto, review or manual" in " ".join(out.output.replace("│", " ").split())


def test_table_goes_to_stdout_and_the_summary_to_stderr():
    out = run(str(CORPUS))
    assert out.exit_code == 0, out.output
    assert "build_report" in out.stdout and "manual" in out.stdout
    assert "KubernetesPodOperator; 1 skipped." in out.stderr
    assert "syntax error" in out.stderr and "syntax error" not in out.stdout


@pytest.mark.parametrize("fmt", ["json", "csv", "sarif"])
def test_machine_formats_go_to_stdout_alone(fmt):
    out = run(CLEAN, "--format", fmt)
    assert out.exit_code == 0, out.output
    if fmt != "csv":
        json.loads(out.stdout)
    assert "file(s)" not in out.stdout and "file(s)" in out.stderr


@pytest.mark.parametrize(("path", "fail_on", "code"), [
    (str(CORPUS), "manual", 1), (str(CORPUS), "review", 1), (str(CORPUS), "none", 0),
    (REVIEW, "manual", 0), (REVIEW, "review", 1), (CLEAN, "review", 0),
])
def test_fail_on(path, fail_on, code):
    assert run(path, "--fail-on", fail_on, "--format", "json").exit_code == code


def test_a_missing_path_is_one_sentence_and_exit_2():
    out = run("/no/such/dags")
    assert out.exit_code == 2
    assert "/no/such/dags does not exist." in out.stderr
    assert "Traceback" not in out.output


@pytest.mark.parametrize("option", [["--format", "xml"], ["--fail-on", "auto"]])
def test_bad_options_exit_2(option):
    out = run(CLEAN, *option)
    assert out.exit_code == 2 and "is not known" in out.stderr
