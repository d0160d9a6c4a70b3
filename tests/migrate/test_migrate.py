"""dockpod migrate: golden outputs over the shared corpus, idempotency, DagBag imports, the CLI.

Regenerate the golden files after an intended change of the rewrite:

    DOCKPOD_REGEN_GOLDEN=1 .venv/bin/python -m pytest -q -p no:cacheprovider tests/migrate/test_migrate.py -k golden
"""

from __future__ import annotations

import ast
import os
import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from dockpod.cli import app
from dockpod.migrate.rewrite import TARGETS, migrate_paths, migrate_source, subclasses_of_tree, write_atomic

HERE = Path(__file__).resolve().parent
CORPUS = HERE / "corpus"
GOLDEN = {"dockpod": HERE / "golden" / "migrated", "kpo": HERE / "golden" / "migrated_kpo"}
FILES = sorted(p for p in CORPUS.rglob("*.py"))


def golden_path(source: Path, target: str) -> Path:
    return GOLDEN[target] / "__".join(source.relative_to(CORPUS).parts)


@pytest.fixture(scope="module")
def corpus_subclasses() -> object:
    """The DockerOperator subclasses of the corpus, by paths relative to tests/migrate (as the audit's golden)."""
    here = Path.cwd()
    os.chdir(HERE)
    try:
        return subclasses_of_tree(sorted(p.relative_to(HERE) for p in FILES))
    finally:
        os.chdir(here)


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("source", FILES, ids=lambda p: str(p.relative_to(CORPUS)))
def test_golden(source: Path, target: str, corpus_subclasses: object) -> None:
    result = migrate_source(source.read_text(), target=target,  # type: ignore[arg-type]
                            path=str(source.relative_to(HERE)), external=corpus_subclasses)  # type: ignore[arg-type]
    expected = golden_path(source, target)
    if os.environ.get("DOCKPOD_REGEN_GOLDEN"):
        expected.parent.mkdir(exist_ok=True)
        expected.write_text(result.migrated)
    assert expected.exists(), f"no golden file {expected.name}; regenerate (see the module docstring)"
    assert result.migrated == expected.read_text()


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("source", FILES, ids=lambda p: str(p.relative_to(CORPUS)))
def test_second_run_changes_nothing(source: Path, target: str) -> None:
    once = migrate_source(source.read_text(), target=target)  # type: ignore[arg-type]
    twice = migrate_source(once.migrated, target=target)  # type: ignore[arg-type]
    assert twice.migrated == once.migrated
    if once.status != "failed":
        ast.parse(once.migrated)


def test_corpus_is_migrated_at_all() -> None:
    results = list(migrate_paths([CORPUS]))
    assert sum(r.changed for r in results) >= 5
    assert any(c.action == "left" for r in results for c in r.calls)
    assert [r.path for r in results if r.status == "failed"] == [str(CORPUS / "dags" / "syntax_error.py")]


@pytest.mark.parametrize("target", TARGETS)
def test_migrated_corpus_imports_in_dagbag(tmp_path: Path, target: str) -> None:
    """No file gains an import error by being migrated (a file broken before may stay broken)."""
    from airflow.dag_processing.dagbag import DagBag

    before, after = tmp_path / "before", tmp_path / "after"
    for folder in (before, after):
        shutil.copytree(CORPUS, folder)
    for result in migrate_paths([after], target=target):  # type: ignore[arg-type]
        if result.changed:
            write_atomic(result.path, result.migrated)
    broken_before = {Path(p).relative_to(before) for p in DagBag(dag_folder=str(before / "dags")).import_errors}
    bag = DagBag(dag_folder=str(after / "dags"))
    broken_after = {Path(p).relative_to(after): e for p, e in bag.import_errors.items()}
    assert {p: e for p, e in broken_after.items() if p not in broken_before} == {}
    assert bag.dags


def _migrated_bag(tmp_path: Path, target: str) -> object:
    from airflow.dag_processing.dagbag import DagBag

    shutil.copytree(CORPUS, tmp_path / "after")
    for result in migrate_paths([tmp_path / "after"], target=target):  # type: ignore[arg-type]
        if result.changed:
            write_atomic(result.path, result.migrated)
    return DagBag(dag_folder=str(tmp_path / "after" / "dags"))


def test_migrated_kpo_pods_pass_the_strict_kubernetes_schema(tmp_path: Path) -> None:
    """Every migrated KubernetesPodOperator, built for real, makes a pod the Kubernetes schema accepts."""
    from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator
    from kubernetes.client import ApiClient

    from dockpod.render.validate import validate_manifest

    migrated = sum(c.action == "migrated" for r in migrate_paths([CORPUS], target="kpo") for c in r.calls)
    bag = _migrated_bag(tmp_path, "kpo")
    problems: dict[str, list[str]] = {}
    built = 0
    for dag in bag.dags.values():  # type: ignore[attr-defined]
        for task in dag.tasks:
            if not isinstance(task, KubernetesPodOperator) or "already_pods" in dag.dag_id:
                continue
            pod = ApiClient().sanitize_for_serialization(task.build_pod_request_obj(dry_run=True))
            built += 1
            if found := validate_manifest(pod):
                problems[f"{dag.dag_id}.{task.task_id}"] = found
            base = next(c for c in pod["spec"]["containers"] if c["name"] == "base")
            assert base.get("command") == (task.cmds or []), "a Docker command must never become the pod command"
    assert problems == {}
    assert built >= migrated  # a call in a loop or comprehension makes several tasks


@pytest.mark.parametrize(
    ("call", "expected", "absent"),
    [
        pytest.param('image="etl:1", command="run --date {{ ds }}"', 'arguments=["run", "--date", "{{ ds }}"]',
                     "cmds=", id="string-command-split-keeping-templates"),
        pytest.param('image="etl:1", entrypoint=["/bin/sh", "-c"], command=["echo hi"]',
                     'cmds=["/bin/sh", "-c"], arguments=["echo hi"]', None, id="entrypoint-cmds-command-arguments"),
        pytest.param("image=IMAGE, command=CMD", None, "KubernetesPodOperator(", id="name-command-is-manual"),
        pytest.param('image=IMAGE, command=["run", IMAGE]', 'image=IMAGE, arguments=["run", IMAGE]', None,
                     id="expressions-carried"),
        pytest.param('image="etl:1", environment={"A": 1}', 'env_vars={"A": "1"}', "environment", id="env"),
        pytest.param('image="etl:1", user="1000:2000", cap_add=["NET_ADMIN"]',
                     "security_context=k8s.V1PodSecurityContext(fs_group=2000)", None, id="user-fs-group"),
        pytest.param('image="etl:1", working_dir="/work"', 'k8s.V1Container(name="base", working_dir="/work")',
                     None, id="working-dir"),
        pytest.param('image="etl:1", force_pull=True, do_xcom_push=True',
                     'image_pull_policy="Always", do_xcom_push=True', None, id="pull-xcom"),
        pytest.param('image="etl:1", mem_limit=IMAGE', None, "KubernetesPodOperator(", id="dynamic-memory-manual"),
        pytest.param('image="etl:1", namespace="jobs"', None, "KubernetesPodOperator(", id="namespace-unknown"),
    ],
)
def test_kpo_single_calls(call: str, expected: str | None, absent: str | None) -> None:
    head = HEAD + "IMAGE, CMD = 'etl:1', ['run']\n"
    out = migrate_source(head + f'a = DockerOperator(task_id="a", {call})\n', target="kpo",
                         line_length=1000).migrated  # the arguments, not the layout
    if expected is not None:
        assert expected in out
        assert 'on_finish_action="delete_pod"' in out and "namespace=..." in out
    if absent is not None:
        assert absent not in out


def test_kpo_pods_of_single_calls_validate() -> None:
    """Working directory, user, capabilities and GPUs: built by the provider, accepted by the schema."""
    from kubernetes.client import ApiClient

    from dockpod.render.validate import validate_manifest

    out = migrate_source(HEAD + 'a = DockerOperator(task_id="a", image="etl:1", working_dir="/work", '
                         'user="1000:2000", cap_add=["NET_ADMIN"], mem_limit="1g", shm_size="64m", '
                         'dns=["10.0.0.2"], extra_hosts={"db": "10.0.0.5"}, hostname="box", '
                         'mounts=[Mount("/in", "/srv/in", type="bind", read_only=True)])\n', target="kpo").migrated
    namespace: dict[str, object] = {}
    exec(compile(out, "<migrated>", "exec"), namespace)  # the migrated source of this test
    pod = ApiClient().sanitize_for_serialization(namespace["a"].build_pod_request_obj(dry_run=True))  # type: ignore[attr-defined]
    assert validate_manifest(pod) == []
    base = pod["spec"]["containers"][0]
    assert base["workingDir"] == "/work" and base["securityContext"]["capabilities"] == {"add": ["NET_ADMIN"]}
    assert pod["spec"]["securityContext"] == {"fsGroup": 2000} and pod["spec"]["dnsPolicy"] == "None"


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("spelling", [
    "import airflow.providers.docker.operators.docker as dock\n",
    "from airflow.providers.docker.operators import docker as dock\n",
])
def test_unused_module_import_is_removed(spelling: str, target: str) -> None:
    out = migrate_source(spelling + 'a = dock.DockerOperator(task_id="a", image="etl:1")\n',
                         target=target).migrated  # type: ignore[arg-type]
    assert "dock" not in out.replace("dockpod", "")
    kept = migrate_source(spelling + 'a = dock.DockerOperator(task_id="a", image="etl:1")\n'
                          'b = dock.DockerOperator(task_id="b", image="etl:1", privileged=True)\n',
                          target=target).migrated  # type: ignore[arg-type]
    assert spelling in kept


# --- generated calls --------------------------------------------------------------------------

_names = st.sampled_from(["IMAGE", "CMD", "ENV", "size"])
_values = {
    "image": st.sampled_from(['"etl:1.0"', '"registry.example.com/a/b:2"', "IMAGE", '"{{ var.value.img }}"']),
    "command": st.sampled_from(['["run", "--fast"]', '"echo hi"', "CMD", '["a", "{{ ds }}"]']),
    "entrypoint": st.sampled_from(['["/bin/sh", "-c"]', '"/entry.sh"']),
    "environment": st.sampled_from(['{"A": "1"}', "ENV", '{"DS": "{{ ds }}", "B": size}']),
    "mem_limit": st.sampled_from(['"512m"', '"2g"', "size", "1073741824"]),
    "cpus": st.sampled_from(["0.5", "1.0", "2", "1"]),
    "user": st.sampled_from(['"1000"', '"1000:1000"', '"0"', '"root"', "0"]),
    "mounts": st.sampled_from(['[Mount(target="/data", source="data", type="volume")]',
                               '[Mount("/scratch", None, type="tmpfs")]', "MOUNTS",
                               '[Mount(target="/in", source="/srv/in", type="bind", read_only=True)]']),
    "auto_remove": st.sampled_from(['"success"', '"force"', '"never"']),
    "network_mode": st.sampled_from(['"bridge"', '"host"', '"etl_net"']),
    "do_xcom_push": st.sampled_from(["True", "False"]),
    "force_pull": st.sampled_from(["True", "False", "PULL"]),
    "privileged": st.sampled_from(["False", "True"]),
    "retries": st.sampled_from(["2", "0"]),
    "shm_size": st.sampled_from(['"1g"', "268435456"]),
    "cap_add": st.sampled_from(['["NET_ADMIN"]', '["SYS_PTRACE", "NET_RAW"]']),
    "labels": st.sampled_from(['{"team": "data"}', '["a", "b"]']),
}


@st.composite
def dag_files(draw: st.DrawFn) -> str:
    calls = []
    for i in range(draw(st.integers(1, 3))):
        names = draw(st.lists(st.sampled_from(sorted(_values)), unique=True, max_size=7))
        args = [f'task_id="t{i}"'] + [f"{n}={draw(_values[n])}" for n in names if n != "image"]
        args.insert(draw(st.integers(1, len(args))), f"image={draw(_values['image'])}")
        multiline = draw(st.booleans())
        joined = (",\n        ".join(args) + ",\n    ") if multiline else ", ".join(args)
        lead = "\n        " if multiline else ""
        calls.append(f"    t{i} = DockerOperator({lead}{joined})")
    return ("from airflow.providers.docker.operators.docker import DockerOperator\n"
            "from docker.types import Mount\n\n"
            "IMAGE, CMD, ENV, size, MOUNTS, PULL = 'etl:1', ['x'], {}, '1g', [], True\n\n"
            "with DAG('d'):\n" + "\n".join(calls) + "\n")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(dag_files(), st.sampled_from(TARGETS))
def test_generated_calls_are_idempotent_and_parse(source: str, target: str) -> None:
    once = migrate_source(source, target=target)  # type: ignore[arg-type]
    assert once.status != "failed", once.error
    ast.parse(once.migrated)
    assert migrate_source(once.migrated, target=target).migrated == once.migrated  # type: ignore[arg-type]
    for call in once.calls:
        assert call.action == ("left" if call.verdict == "manual" else "migrated")


@settings(max_examples=20, deadline=None)
@given(st.sampled_from(FILES))
def test_corpus_files_idempotent_property(source: Path) -> None:
    once = migrate_source(source.read_text())
    assert migrate_source(once.migrated).migrated == once.migrated


# --- examples of single rules -----------------------------------------------------------------

HEAD = "from airflow.providers.docker.operators.docker import DockerOperator\nfrom docker.types import Mount\n\n"


def test_security_defaults_keep_docker_behaviour_unless_non_root_user() -> None:
    root = migrate_source(HEAD + 'a = DockerOperator(task_id="a", image="etl:1")\n').migrated
    assert 'security={"run_as_non_root": False, "capabilities_drop": []}' in root
    user = migrate_source(HEAD + 'a = DockerOperator(task_id="a", image="etl:1", user="1000:1000")\n').migrated
    assert 'security={"user": "1000:1000"}' in user


def test_xcom_is_set_when_given_and_imports_are_fixed() -> None:
    out = migrate_source(HEAD + 'a = DockerOperator(task_id="a", image="etl:1", do_xcom_push=False,\n'
                         '    mounts=[Mount("/t", None, type="tmpfs", tmpfs_size=1024)])\n').migrated
    assert "xcom=False" in out and 'Volume.tmpfs("/t", size=1024)' in out
    assert "from dockpod import Volume, container_task" in out
    assert "DockerOperator" not in out and "Mount" not in out.replace("Volume", "")


def test_docker_operator_import_kept_while_a_manual_call_uses_it() -> None:
    out = migrate_source(HEAD + 'a = DockerOperator(task_id="a", image="etl:1")\n'
                         'b = DockerOperator(task_id="b", image="etl:1", privileged=True)\n').migrated
    assert "import DockerOperator" in out and "# dockpod: privileged=True" in out
    assert out.count("container_task(") == 1


def test_never_maps_client_timeout_to_task_timeout() -> None:
    out = migrate_source(HEAD + 'a = DockerOperator(task_id="a", image="etl:1", timeout=30)\n').migrated
    assert "timeout=30" not in out and "# dockpod: timeout dropped" in out


DAG_HEAD = "from airflow import DAG\nfrom airflow.sdk import dag\n" + HEAD


@pytest.mark.parametrize("target", TARGETS)
def test_default_args_are_judged_with_each_call(target: str) -> None:
    source = (DAG_HEAD + 'with DAG("d", default_args={"retries": 2, "network_mode": "host"}) as d:\n'
              '    a = DockerOperator(task_id="a", image="etl:1")\n'
              '    b = DockerOperator(task_id="b", image="etl:1", network_mode="bridge")\n')
    result = migrate_source(source, target=target)  # type: ignore[arg-type]
    by_task = {call.task_id: call for call in result.calls}
    assert (by_task["a"].verdict, by_task["a"].action) == ("manual", "left")  # host networking from default_args
    assert by_task["b"].action == "migrated"  # its own network_mode wins
    lines = result.migrated.splitlines()
    with_line = next(i for i, line in enumerate(lines) if line.startswith("with DAG("))
    comment = next(i for i, line in enumerate(lines) if line.startswith("# dockpod: default_args network_mode:"))
    assert comment < with_line and all(line.startswith("#   ") for line in lines[comment + 1:with_line])
    assert migrate_source(result.migrated, target=target).migrated == result.migrated  # type: ignore[arg-type]


def test_default_args_are_carried_into_each_rewritten_task() -> None:
    source = (DAG_HEAD + 'DEFAULTS = {"owner": "x", "mem_limit": "2g", "auto_remove": True}\n\n\n'
              '@dag(default_args={"retries": 2, "docker_url": "unix://var/run/docker.sock",\n'
              '                   "environment": {"A": "1"}})\n'
              'def pipeline():\n'
              '    DockerOperator(task_id="a", image="etl:1", environment={"B": "2"})\n\n\n'
              'with DAG("d", default_args=DEFAULTS):\n'
              '    DockerOperator(task_id="b", image="etl:1")\n')
    result = migrate_source(source, line_length=1000)
    assert [call.action for call in result.calls] == ["migrated", "migrated"]
    out = result.migrated
    # a shared dict: its values are written into the task, its keys stay, and the note says why
    assert 'container_task(task_id="b", image="etl:1", resources={"memory_limit": "2g"}' in out
    assert 'DEFAULTS = {"owner": "x", "mem_limit": "2g", "auto_remove": True}' in out
    assert "# dockpod: default_args mem_limit, auto_remove: DockerOperator arguments, which dockpod" in out
    assert "They stay here because the dict is not written in a with DAG(...) or @dag(...) line" in \
        " ".join(line.lstrip("# ") for line in out.splitlines())
    # the DAG's own dict, every task rewritten: the Docker keys leave it, BaseOperator's stay
    assert '@dag(default_args={"retries": 2})' in out
    assert "# dockpod: default_args docker_url, environment: moved into the tasks of this DAG" in out
    assert out.index("default_args docker_url, environment: moved") < out.index("@dag(default_args")
    assert 'container_task(task_id="a", image="etl:1", env={"B": "2"}, security=' in out  # its own env wins
    assert "docker_url='unix://var/run/docker.sock' dropped" in out  # dropped from the task, with its note
    assert migrate_source(out, line_length=1000).migrated == out
    assert "default_args" not in migrate_source(HEAD + 'DockerOperator(task_id="a", image="etl:1")\n').migrated


@pytest.mark.parametrize("target", TARGETS)
def test_default_args_stay_while_a_task_that_reads_them_is_left(target: str) -> None:
    source = (DAG_HEAD + 'with DAG("d", default_args={"owner": "x", "mem_limit": "2g"}):\n'
              '    a = DockerOperator(task_id="a", image="etl:1")\n'
              '    b = DockerOperator(task_id="b", image="etl:1", privileged=True)\n')
    result = migrate_source(source, target=target, line_length=1000)  # type: ignore[arg-type]
    assert [(c.task_id, c.action) for c in result.calls] == [("a", "migrated"), ("b", "left")]
    out = result.migrated
    assert 'default_args={"owner": "x", "mem_limit": "2g"}' in out
    assert "not every DockerOperator task that reads them is rewritten" in " ".join(
        line.lstrip("# ") for line in out.splitlines())
    carried = 'resources={"memory_limit": "2g"}' if target == "dockpod" else 'limits={"memory": "2Gi"}'
    assert carried in next(line for line in out.splitlines() if 'task_id="a"' in line)  # written into a
    assert migrate_source(out, target=target).migrated == out  # type: ignore[arg-type]


def test_run_time_default_args_are_not_carried_and_the_task_is_review() -> None:
    source = (DAG_HEAD + "from airflow.models import Variable\n\n"
              'with DAG("d", default_args={"mem_limit": Variable.get("mem"), "cpus": 2.0}):\n'
              '    a = DockerOperator(task_id="a", image="etl:1")\n')
    result = migrate_source(source)
    call = result.calls[0]
    kept = "default_args mem_limit: known only at run time, so the rewrite does not carry them into this task"
    assert (call.verdict, call.action) == ("review", "migrated") and any(r.startswith(kept) for r in call.reasons)
    assert 'resources={"cpu_request": 2.0}' in result.migrated and "memory_limit" not in result.migrated
    assert '"mem_limit": Variable.get("mem")' in result.migrated  # not every value moved: the keys stay
    from dockpod.migrate._finder import find
    from dockpod.migrate.audit import _judge

    module = find(source)
    audited = _judge("dag.py", next(f for f in module.found if f.kind == "call"), module)
    assert audited.verdict == "review" and audited.reasons == call.reasons  # the audit says the same


def test_xcom_review_only_on_the_tasks_whose_xcom_is_read() -> None:
    source = (HEAD + 'a = DockerOperator(task_id="a", image="etl:1")\n'
              'b = DockerOperator(task_id="b", image="etl:1")\n'
              'c = DockerOperator(task_id="c", image="etl:1")\n'
              'd = DockerOperator(task_id="d", image="etl:1", command="{{ ti.xcom_pull(task_ids=\'a\') }}")\n'
              'e = DockerOperator(task_id="e", image="etl:1", environment={"X": c.output})\n')
    result = migrate_source(source)
    reads = {call.task_id: any("reads this task's XCom" in r for r in call.reasons) for call in result.calls}
    assert reads == {"a": True, "b": False, "c": True, "d": False, "e": False}
    assert result.migrated.count("reads this task's XCom") == 2


# --- the command line -------------------------------------------------------------------------


def test_cli_check_diff_write(tmp_path: Path) -> None:
    runner = CliRunner()
    (tmp_path / "ruff.toml").write_text("line-length = 200\n")  # the rewritten call stays on one line
    dag = tmp_path / "dag.py"
    dag.write_text(HEAD + 'a = DockerOperator(task_id="a", image="etl:1", environment={"A": "1"})\n')
    original = dag.read_text()
    result = runner.invoke(app, ["migrate", str(tmp_path), "--check"])
    assert result.exit_code == 1 and dag.read_text() == original
    result = runner.invoke(app, ["migrate", str(dag), "--diff"])
    assert result.exit_code == 0 and '+a = container_task(task_id="a", image="etl:1", env={"A": "1"}' in result.stdout
    assert dag.read_text() == original
    result = runner.invoke(app, ["migrate", str(dag), "--write"])
    assert result.exit_code == 0 and "container_task(" in dag.read_text()
    assert not [p for p in tmp_path.iterdir() if p.name not in ("dag.py", "ruff.toml")]  # no temporary file left
    result = runner.invoke(app, ["migrate", str(dag), "--check"])
    assert result.exit_code == 0


def test_cli_target_kpo(tmp_path: Path) -> None:
    (tmp_path / "ruff.toml").write_text("line-length = 400\n")  # the rewritten call stays on one line
    dag = tmp_path / "dag.py"
    dag.write_text(HEAD + 'a = DockerOperator(task_id="a", image="etl:1", command="run")\n')
    result = CliRunner().invoke(app, ["migrate", str(dag), "--target", "kpo", "--write"])
    assert result.exit_code == 0, result.output
    assert 'KubernetesPodOperator(task_id="a", image="etl:1", arguments=["run"]' in dag.read_text()
    result = CliRunner().invoke(app, ["migrate", str(dag), "--target", "nope"])
    assert result.exit_code == 2


def test_cli_reports_unparsable_files_and_keeps_them(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("DockerOperator(\n")
    result = CliRunner().invoke(app, ["migrate", str(bad), "--write"])
    assert result.exit_code == 2 and bad.read_text() == "DockerOperator(\n"


def test_write_atomic_keeps_the_file_on_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "dag.py"
    target.write_text("old")
    target.chmod(0o640)

    def broken(src: str, dst: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken)
    with pytest.raises(OSError):
        write_atomic(target, "new")
    assert target.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["dag.py"]
    monkeypatch.undo()
    write_atomic(target, "new")
    assert target.read_text() == "new" and target.stat().st_mode & 0o777 == 0o640


# --- subclasses, scopes and relative imports (the finder decides, as for the audit) -------------


def test_subclass_calls_across_files_migrate_only_when_trivial(tmp_path: Path) -> None:
    (tmp_path / "ruff.toml").write_text("line-length = 200\n")
    (tmp_path / "team").mkdir()
    (tmp_path / "team" / "__init__.py").write_text("")
    (tmp_path / "team" / "base.py").write_text(
        HEAD + '\n\nclass Base(DockerOperator):\n    """Doc."""\n\n    template_fields = ("image", "command")\n')
    (tmp_path / "team" / "mid.py").write_text("from .base import Base\n\n\nclass Mid(Base):\n"
                                              "    def execute(self, context):\n        return 1\n")
    (tmp_path / "team" / "dag.py").write_text("from .base import Base\nfrom .mid import Mid\n\n"
                                              'a = Base(task_id="a", image="etl:1")\n'
                                              'b = Mid(task_id="b", image="etl:1")\n')
    results = {Path(r.path).name: r for r in migrate_paths([tmp_path])}
    dag = results["dag.py"]
    assert [(c.task_id, c.verdict, c.action) for c in dag.calls] == [("a", "auto", "migrated"),
                                                                    ("b", "manual", "left")]
    assert 'a = container_task(task_id="a", image="etl:1"' in dag.migrated
    assert "# dockpod: subclass Mid of DockerOperator (defined in " in dag.migrated
    assert 'b = Mid(task_id="b", image="etl:1")' in dag.migrated
    assert not results["base.py"].changed and not results["mid.py"].changed
    alone = migrate_source(results["dag.py"].original)  # without the tree, nothing is known of Base or Mid
    assert alone.migrated == alone.original


def test_shadowed_names_are_never_rewritten() -> None:
    source = (HEAD + "def build(DockerOperator):\n    return DockerOperator(task_id='p', image='x')\n\n\n"
              "def local():\n    DockerOperator = dict\n    return DockerOperator(task_id='l', image='x')\n\n\n"
              "real = DockerOperator(task_id='r', image='x')\n")
    result = migrate_source(source)
    assert [(c.task_id, c.action) for c in result.calls] == [("r", "migrated")]
    assert result.migrated.count("DockerOperator(task_id=") == 2 and "real = container_task(" in result.migrated


# --- rewritten calls and the file's line length -----------------------------------------------


@pytest.mark.parametrize(("name", "text", "expected"), [
    ("ruff.toml", "line-length = 100\n", 100),
    (".ruff.toml", "line-length = 60\n", 60),
    ("pyproject.toml", "[tool.ruff]\nline-length = 79\n", 79),
    ("pyproject.toml", "[tool.ruff.lint]\nselect = ['E']\n", 88),  # ruff's configuration, its default length
    ("pyproject.toml", "[project]\nname = 'x'\n", 120),  # no ruff table: the folder above decides
    ("setup.cfg", "[flake8]\nmax-line-length = 99\n", 99),
])
def test_line_length_comes_from_the_nearest_configuration(tmp_path: Path, name: str, text: str,
                                                         expected: int) -> None:
    from dockpod.migrate._wrap import line_length

    (tmp_path / "ruff.toml").write_text("line-length = 120\n")
    (tmp_path / "repo" / "dags").mkdir(parents=True)
    (tmp_path / "repo" / name).write_text(text)
    assert line_length(str(tmp_path / "repo" / "dags" / "dag.py")) == expected
    assert line_length(None) == 88


def test_a_rewritten_call_too_long_for_the_line_is_wrapped_one_argument_per_line(tmp_path: Path) -> None:
    (tmp_path / "ruff.toml").write_text("line-length = 100\n")
    dag = tmp_path / "dag.py"
    dag.write_text(HEAD + 'with DAG("d"):\n'
                   '    a = DockerOperator(task_id="a", image="etl:1", environment={"A": "1"})  # the loader\n'
                   '    b = DockerOperator(task_id="b", image="etl:1", user="1000")\n')
    out = next(iter(migrate_paths([dag]))).migrated
    assert out.endswith('with DAG("d"):\n'
                        "    a = container_task(\n"
                        '        task_id="a",\n'
                        '        image="etl:1",\n'
                        '        env={"A": "1"},\n'
                        '        security={"run_as_non_root": False, "capabilities_drop": []},\n'
                        "    )  # the loader\n"
                        '    b = container_task(task_id="b", image="etl:1", security={"user": "1000"})\n')
    assert max(len(line) for line in out.splitlines() if not line.startswith("#")) <= 100
    ast.parse(out)
    assert migrate_source(out).migrated == out
    (tmp_path / "ruff.toml").write_text("line-length = 200\n")
    from dockpod.migrate._wrap import _folder_line_length

    _folder_line_length.cache_clear()
    assert "    a = container_task(task_id=" in next(iter(migrate_paths([dag]))).migrated  # it fits now
