"""dockpod audit over the corpus of DAG files (tests/migrate/corpus; read here, never run as DAGs).

The expected result is tests/migrate/golden/audit.json. After a deliberate change, regenerate it with

    cd tests/migrate && ../../.venv/bin/dockpod audit corpus --format json > golden/audit.json

and read the diff before committing it.
"""

import csv
import io
import json
from pathlib import Path

import jsonschema
import pytest

from dockpod.errors import DockpodError
from dockpod.migrate import audit as audit_module
from dockpod.migrate.audit import Audited, Failed, Skipped, audit_file, audit_paths, to_csv, to_json, to_sarif

HERE = Path(__file__).resolve().parent
GOLDEN = HERE / "golden" / "audit.json"


@pytest.fixture
def corpus(monkeypatch):
    monkeypatch.chdir(HERE)
    return "corpus"


def test_corpus_matches_the_golden_report(corpus):
    assert to_json(audit_paths([corpus], workers=1)) == GOLDEN.read_text(), "see this module's docstring"


def test_the_process_pool_gives_the_same_report(corpus, monkeypatch):
    monkeypatch.setattr(audit_module, "POOL_THRESHOLD", 1)
    assert to_json(audit_paths([corpus], workers=2)) == GOLDEN.read_text()


def test_corpus_covers_every_pattern(corpus):
    report = audit_paths([corpus], workers=1)
    files = list((HERE / "corpus").rglob("*.py"))
    assert len(files) >= 15
    kinds = {call.kind for call in report.calls}
    assert kinds == {"call", "partial", "decorator", "subclass", "default_args"}
    operators = {call.operator for call in report.calls}
    assert {"DockerOperator", "KubernetesPodOperator", "@task.docker", "SparkSubmitDockerOperator"} <= operators
    assert {call.verdict for call in report.calls} == {"auto", "review", "manual", None}
    summary = report.summary()
    assert summary["kubernetes_pod_operator"] == 4
    assert summary["calls"] == summary["auto"] + summary["review"] + summary["manual"]
    assert summary["files_parsed"] == summary["files"] - 1  # no_operator.py is never parsed
    assert [path for path, _ in report.skipped] == ["corpus/dags/syntax_error.py"]
    assert "syntax error at line 3" in report.skipped[0][1]


def test_dynamic_task_ids_and_images_show_their_source(corpus):
    calls = {call.task_id: call for call in audit_paths([corpus], workers=1).calls}
    assert calls['f"load_{table}"'].image == "IMAGES[table]"
    assert calls['f"load_{table}"'].verdict == "auto"


def test_default_args_reach_the_operators_of_their_dag(corpus):
    calls = {call.task_id: call for call in audit_paths([corpus + "/dags/default_args_remote.py"]).calls}
    assert calls["pull_feed"].verdict == "manual"
    assert calls["parse_feed"].verdict == "auto"  # its own arguments win over default_args
    assert calls[None].kind == "default_args" and calls[None].line == 6


def test_a_missing_path_is_an_error():
    with pytest.raises(DockpodError, match="does not exist"):
        audit_paths(["/no/such/dags"])


def test_file_results_are_frozen_values(tmp_path, monkeypatch):
    good = tmp_path / "dag.py"
    good.write_text("from airflow.providers.docker.operators.docker import DockerOperator\n"
                    "DockerOperator(task_id='t', image='alpine')\n")
    binary = tmp_path / "binary.py"
    binary.write_bytes(b"DockerOperator \xff\xfe")
    assert isinstance(audit_file(str(good)), Audited)
    assert audit_file(str(binary)) == Skipped(str(binary), "not UTF-8 text")
    with pytest.raises(AttributeError):
        audit_file(str(good)).path = "x"  # type: ignore[misc]

    def boom(source, external=None):
        raise RuntimeError("bug")

    monkeypatch.setattr(audit_module, "find", boom)
    failed = audit_file(str(good))
    assert failed == Failed(str(good), "RuntimeError: bug")
    report = audit_paths([tmp_path], workers=1)
    assert ("internal error: RuntimeError: bug") in dict(report.skipped)[str(good)]


def test_progress_is_reported_per_candidate_file(corpus):
    seen = []
    report = audit_paths([corpus], workers=1, progress=lambda done, total: seen.append((done, total)))
    assert seen[-1] == (report.files_parsed, report.files_parsed)
    assert len(seen) == report.files_parsed


def test_hidden_and_cache_folders_are_not_walked(tmp_path):
    for folder in (".venv/lib", "__pycache__", "dags"):
        (tmp_path / folder).mkdir(parents=True)
        (tmp_path / folder / "x.py").write_text(
            "from airflow.providers.docker.operators.docker import DockerOperator\nDockerOperator(image='a')\n")
    report = audit_paths([tmp_path])
    assert [call.file for call in report.calls] == [(tmp_path / "dags" / "x.py").as_posix()]


def test_csv_has_one_row_per_use(corpus):
    report = audit_paths([corpus], workers=1)
    rows = list(csv.DictReader(io.StringIO(to_csv(report))))
    assert len(rows) == len(report.calls)
    assert rows[0].keys() == set(audit_module.CSV_COLUMNS)
    assert all(row["verdict"] in ("auto", "review", "manual", "") for row in rows)


def test_sarif_is_valid_sarif_2_1_0(corpus):
    report = audit_paths([corpus], workers=1)
    log = json.loads(to_sarif(report))
    schema = json.loads((HERE / "schemas" / "sarif-schema-2.1.0.json").read_text())
    jsonschema.Draft4Validator(schema).validate(log)
    run = log["runs"][0]
    assert [rule["id"] for rule in run["tool"]["driver"]["rules"]] == ["dockpod.migrate.review",
                                                                       "dockpod.migrate.manual"]
    flagged = [c for c in report.calls if c.verdict in ("review", "manual")]
    assert len(run["results"]) == len(flagged)
    first = run["results"][0]
    assert first["ruleId"] == f"dockpod.migrate.{flagged[0].verdict}"
    assert first["locations"][0]["physicalLocation"]["region"]["startLine"] == flagged[0].line
    assert first["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == flagged[0].file
    assert len(run["invocations"][0]["toolExecutionNotifications"]) == len(report.skipped)


def test_a_subclass_from_another_module_of_the_tree_is_followed(corpus):
    calls = {call.task_id: call for call in audit_paths([corpus], workers=1).calls}
    aggregate = calls["aggregate"]
    assert (aggregate.file, aggregate.operator, aggregate.verdict) == (
        "corpus/dags/uses_plugin.py", "SparkSubmitDockerOperator", "review")
    assert any("(corpus/plugins/company_operators.py, line 5)" in reason for reason in aggregate.reasons)


def test_cross_module_subclasses_by_any_import_spelling(tmp_path, monkeypatch):
    monkeypatch.setattr(audit_module, "POOL_THRESHOLD", 1)
    (tmp_path / "plugins" / "ops").mkdir(parents=True)
    (tmp_path / "plugins" / "ops" / "__init__.py").write_text("")
    (tmp_path / "plugins" / "ops" / "spark.py").write_text(
        "from airflow.providers.docker.operators.docker import DockerOperator\n\n\n"
        "class SparkOp(\n    DockerOperator,\n):\n    pass\n")
    (tmp_path / "plugins" / "ops" / "more.py").write_text(
        "from ops.spark import SparkOp\n\n\nclass PrivilegedSpark(SparkOp):\n    pass\n")
    dags = tmp_path / "dags"
    dags.mkdir()
    (dags / "qualified.py").write_text("import ops.spark as s\n\ns.SparkOp(task_id='q', image='i:1')\n")
    (dags / "plain.py").write_text("from ops.spark import SparkOp\n\nSparkOp(task_id='p', image='i:1')\n")
    (dags / "unrelated.py").write_text("from elsewhere import SparkOp\n\nSparkOp(task_id='u', image='i:1')\n")
    for workers in (1, 2):
        report = audit_paths([tmp_path], workers=workers)
        tasks = {call.task_id: call for call in report.calls if call.kind == "call"}
        assert sorted(tasks) == ["p", "q"]  # neither file mentions an operator, both are found
        assert all(call.operator == "SparkOp" and call.verdict == "review" for call in tasks.values())
        # a subclass of an imported subclass is itself a subclass
        assert any(c.kind == "subclass" and c.operator == "PrivilegedSpark" for c in report.calls)


def test_module_names_are_every_tail_of_the_path():
    from dockpod.migrate._finder import module_names

    assert module_names("corpus/plugins/company_operators.py") == [
        "company_operators", "plugins.company_operators", "corpus.plugins.company_operators"]
    assert module_names("./a/pkg/__init__.py") == ["pkg", "a.pkg"]
    assert module_names("my-repo/dags/x.py") == ["x", "dags.x"]
