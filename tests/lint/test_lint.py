"""dockpod lint: rules as data. Every file under cases/ says in comments what must be flagged where.

``# expect: DP501 DP502`` on a line: exactly those rules are reported on that line;
``# expect-below: DP001`` on a line: on the next line. A file named ``clean*`` must have no finding.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema
import pytest
from typer.testing import CliRunner

from dockpod.cli import app
from dockpod.lint import all_rules, lint_paths, to_sarif
from dockpod.lint._config import load_config

HERE = Path(__file__).parent
CASES = sorted(p for p in (HERE / "cases").rglob("*") if p.is_file() and not p.name.startswith("."))
EXPECT = re.compile(r"expect(-below)?:\s*((?:D[PL]\d+|SC\d+)(?:[ ,]+(?:D[PL]\d+|SC\d+))*)")


def expected(path: Path) -> set[tuple[int, str]]:
    found = set()
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        for match in EXPECT.finditer(line):
            target = number + 1 if match.group(1) else number
            found |= {(target, rule) for rule in re.split(r"[ ,]+", match.group(2)) if rule}
    return found


@pytest.mark.parametrize("case", CASES, ids=[str(p.relative_to(HERE / "cases")) for p in CASES])
def test_case_reports_exactly_the_expected_rules_and_lines(case):
    report = lint_paths([case])
    got = {(f.line, f.rule) for f in report.findings}
    want = set() if case.name.startswith("clean") else expected(case)
    assert got == want, "\n".join(f"{f.line}: {f.rule} {f.message}" for f in report.findings)


def test_every_rule_has_a_fix_and_is_documented():
    for rule in all_rules().values():
        assert rule.summary and rule.fix, rule.id
        assert rule.id in rule.explain()


def test_every_dockpod_rule_is_exercised_by_a_case():
    flagged = set()
    for case in CASES:
        flagged |= {rule for _line, rule in expected(case)}
    missing = sorted(r for r in all_rules() if r not in flagged and r != "DP002")
    assert missing == [], f"rules without a case that must be flagged: {missing}"


def test_sarif_is_valid_sarif_2_1_0():
    report = lint_paths([HERE / "cases"])
    log = json.loads(to_sarif(report))
    schema = json.loads((HERE.parent / "migrate" / "schemas" / "sarif-schema-2.1.0.json").read_text())
    jsonschema.Draft4Validator(schema).validate(log)
    results = log["runs"][0]["results"]
    assert len(results) == len(report.findings)
    rules = [r["id"] for r in log["runs"][0]["tool"]["driver"]["rules"]]
    assert all(rules[r["ruleIndex"]] == r["ruleId"] for r in results)


def test_config_severities_ignores_and_exit_codes(tmp_path, monkeypatch):
    flagged = HERE / "cases" / "dag" / "flagged.py"
    (tmp_path / "dockpod.toml").write_text('[lint]\nseverity = "error"\nignore = ["DP504"]\n'
                                           '[lint.severities]\nDP501 = "info"\n')
    config = load_config(tmp_path / "dockpod.toml")
    report = lint_paths([flagged], config=config)
    rules = {f.rule: f.severity for f in report.findings}
    assert "DP504" not in rules and str(rules["DP501"]) == "info"
    assert {f.rule for f in report.failing()} == {"DP503", "DP506"}
    monkeypatch.setenv("DOCKPOD_CONFIG", str(tmp_path / "dockpod.toml"))
    out = CliRunner().invoke(app, ["lint", str(flagged), "--format", "json"])
    assert out.exit_code == 1
    assert json.loads(out.stdout)["summary"]["error"] == 3
    clean = CliRunner().invoke(app, ["lint", str(HERE / "cases" / "dag" / "clean.py")])
    assert clean.exit_code == 0, clean.output


@pytest.mark.parametrize(("args", "words"), [
    (["--rule", "DP999"], "unknown rule id DP999"),
    (["--severity", "loud"], "is not a severity"),
    (["--format", "xml"], "--format 'xml' is not known"),
    (["--explain", "nope"], "is not a rule id"),
])
def test_bad_input_is_one_sentence(args, words):
    out = CliRunner().invoke(app, ["lint", str(HERE / "cases"), *args])
    assert out.exit_code == 2
    assert words in out.output and "Traceback" not in out.output


def test_explain_prints_the_rule_record():
    out = CliRunner().invoke(app, ["lint", "--explain", "DP505"])
    assert out.exit_code == 0
    assert "Why it matters:" in out.stdout and "Fix:" in out.stdout
