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
    assert summary["files_parsed"] == summary["files"] - 2  # no_operator.py and team/__init__.py are never parsed
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

    def boom(source, external=None, path=None):
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
        "corpus/dags/uses_plugin.py", "SparkSubmitDockerOperator", "manual")  # migrate leaves it: see test_migrate
    assert any(reason.startswith("subclass SparkSubmitDockerOperator of DockerOperator "
                                 "(defined in corpus/plugins/company_operators.py): move its behaviour into the image")
               for reason in aggregate.reasons)


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
        # SparkOp's body is a bare pass: its calls are judged, and migrated, as DockerOperator's
        assert all(call.operator == "SparkOp" and call.verdict == "auto" for call in tasks.values())
        # a subclass of an imported subclass is itself a subclass
        assert any(c.kind == "subclass" and c.operator == "PrivilegedSpark" for c in report.calls)


def test_module_names_are_every_tail_of_the_path():
    from dockpod.migrate._finder import module_names

    assert module_names("corpus/plugins/company_operators.py") == [
        "company_operators", "plugins.company_operators", "corpus.plugins.company_operators"]
    assert module_names("./a/pkg/__init__.py") == ["pkg", "a.pkg"]
    assert module_names("my-repo/dags/x.py") == ["x", "dags.x"]


def test_shadowed_names_are_not_the_operator(corpus):
    """A parameter, a local variable or a local def named DockerOperator is not the import."""
    calls = audit_paths([corpus + "/dags/scoped_names.py"]).calls
    assert [(call.task_id, call.kind) for call in calls] == [("real_one", "call")]


@pytest.mark.parametrize("source", [
    "def f(DockerOperator):\n    DockerOperator(task_id='a', image='x')\n",
    "def f():\n    DockerOperator = g()\n    DockerOperator(task_id='a', image='x')\n",
    "def f():\n    for DockerOperator in ops:\n        DockerOperator(task_id='a', image='x')\n",
    "def f():\n    def DockerOperator(**kw):\n        return kw\n    DockerOperator(task_id='a', image='x')\n",
    "def f():\n    def g():\n        DockerOperator(task_id='a', image='x')\n    DockerOperator = h\n",
    "def DockerOperator(**kw):\n    return kw\n\n\nDockerOperator(task_id='a', image='x')\n",
    "def f(docker):\n    docker.DockerOperator(task_id='a', image='x')\n",
])
def test_each_kind_of_shadowing(source):
    from dockpod.migrate._finder import find

    head = ("from airflow.providers.docker.operators import docker\n"
            "from airflow.providers.docker.operators.docker import DockerOperator\n")
    assert find(head + source).found == ()


@pytest.mark.parametrize("source", [
    "def f(image):\n    DockerOperator(task_id='a', image=image)\n",
    "def f():\n    global DockerOperator\n    DockerOperator = g()\n    DockerOperator(task_id='a', image='x')\n",
    "def f():\n    def g(DockerOperator):\n        pass\n    DockerOperator(task_id='a', image='x')\n",
    "def f():\n    return [DockerOperator(task_id=t, image='x') for t in ts]\n",
])
def test_names_that_stay_the_import(source):
    from dockpod.migrate._finder import find

    head = "from airflow.providers.docker.operators.docker import DockerOperator\n"
    assert [found.kind for found in find(head + source).found] == ["call"]


def test_subclass_calls_agree_with_migrate(corpus):
    """A subclass call is manual in the audit exactly when migrate leaves it; trivial subclasses migrate."""
    from dockpod.migrate.rewrite import migrate_paths

    audited = {(call.file, call.line): call for call in audit_paths([corpus], workers=1).calls
               if call.kind == "call" and call.operator != "KubernetesPodOperator"}
    migrated = {(Path(result.path).as_posix(), report.line): report
                for result in migrate_paths([corpus]) for report in result.calls}
    subclass_calls = [key for key, call in audited.items() if call.operator != "DockerOperator"]
    assert len(subclass_calls) == 6
    for key in subclass_calls:
        call, report = audited[key], migrated[key]
        assert (call.verdict == "manual") == (report.action == "left"), key
        assert call.reasons == report.reasons or call.verdict != "manual", key
    for key, call in audited.items():  # and every call: what the audit calls manual, migrate leaves
        if call.verdict == "manual":
            assert migrated[key].action == "left", key
    by_task = {call.task_id: call for call in audited.values()}
    assert by_task["trivial"].verdict == "auto" and by_task["plain"].verdict == "auto"
    assert by_task["checked"].verdict == by_task["nightly"].verdict == "manual"
    assert by_task["nightly"].reasons[0].startswith(
        "subclass NightlyOperator of DockerOperator (defined in corpus/dags/team/nightly.py)")


HEAD = "from airflow.providers.docker.operators.docker import DockerOperator\n"


@pytest.mark.parametrize(("body", "trivial"), [
    ("class A(DockerOperator):\n    pass\n", True),
    ('class A(DockerOperator):\n    """Doc."""\n\n    ui_color = "#fff"\n    template_fields = ("image",)\n', True),
    ("class A(DockerOperator):\n    ...\n\n\nclass B(A):\n    ui_fgcolor = '#000'\n", True),
    ("class A(DockerOperator):\n    def execute(self, context):\n        return 1\n", False),
    ("class A(DockerOperator):\n    def __init__(self, **kw):\n        super().__init__(**kw)\n", False),
    ("class A(DockerOperator):\n    retries = 3\n", False),
    ("class A(DockerOperator, Mixin):\n    pass\n", False),
    ("@register\nclass A(DockerOperator):\n    pass\n", False),
    ("class A(DockerOperator, metaclass=M):\n    pass\n", False),
])
def test_trivial_means_only_harmless_class_attributes(body, trivial):
    from dockpod.migrate._finder import subclasses

    assert subclasses(HEAD + body)["A"][1] is trivial


def test_a_pass_subclass_of_a_subclass_with_code_is_not_trivial():
    from dockpod.migrate._finder import subclasses

    found = subclasses(HEAD + "class A(DockerOperator):\n    def execute(self, c):\n        pass\n\n\n"
                       "class B(A):\n    pass\n")
    assert found == {"A": (2, False), "B": (7, False)}


def _chain(root: Path) -> None:
    """Three files, relative imports, no Docker operator named in the middle one or the last one."""
    package = root / "dags" / "team"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "base.py").write_text(HEAD + "\n\nclass Base(DockerOperator):\n    ui_color = '#fff'\n")
    (package / "mid.py").write_text("from .base import Base\n\n\nclass Mid(Base):\n    pass\n")
    (root / "dags" / "top.py").write_text("from .team.mid import Mid\n\n\nclass Top(Mid):\n"
                                          "    def execute(self, context):\n        return None\n")
    (package / "use.py").write_text("from ..top import Top\nfrom . import mid\nfrom .mid import Mid as M\n\n"
                                    "Top(task_id='top', image='i:1')\nM(task_id='mid', image='i:1')\n"
                                    "mid.Mid(task_id='dotted', image='i:1')\n")
    (root / "dags" / "other.py").write_text("from elsewhere import Mid\n\nMid(task_id='unrelated', image='i:1')\n")


def test_subclass_chains_across_three_files_with_relative_imports(tmp_path, monkeypatch):
    _chain(tmp_path)
    monkeypatch.setattr(audit_module, "POOL_THRESHOLD", 1)
    for workers in (1, 2):
        report = audit_paths([tmp_path], workers=workers)
        tasks = {call.task_id: call for call in report.calls if call.kind == "call"}
        assert sorted(tasks) == ["dotted", "mid", "top"], workers  # other.py's Mid is another class
        assert (tasks["mid"].verdict, tasks["dotted"].verdict, tasks["top"].verdict) == ("auto", "auto", "manual")
        assert tasks["top"].reasons[-1].startswith(
            f"subclass Top of DockerOperator (defined in {(tmp_path / 'dags' / 'top.py').as_posix()})")
        classes = {call.operator: call.verdict for call in report.calls if call.kind == "subclass"}
        assert classes == {"Base": "review", "Mid": "review", "Top": "manual"}


def test_relative_imports_resolve_against_the_file():
    from dockpod.migrate._finder import absolute_module

    assert absolute_module("repo/dags/team/use.py", 1, "mid") == "repo.dags.team.mid"
    assert absolute_module("repo/dags/team/use.py", 2, "top") == "repo.dags.top"
    assert absolute_module("repo/dags/team/__init__.py", 1, None) == "repo.dags.team"
    assert absolute_module("/tmp/my-repo/dags/x.py", 1, "common") == "dags.common"  # a tail of identifiers
    assert absolute_module("dags/x.py", 3, "common") is None  # above the walked tree
