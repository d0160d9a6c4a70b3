"""dockpod scaffold: options, the table, writing without loss, and that what it writes is valid and lint clean."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from ruamel.yaml import YAML
from typer.testing import CliRunner

from dockpod.cli import app
from dockpod.errors import DockpodError
from dockpod.lint import Severity, lint_paths
from dockpod.render.validate import validate_manifest
from dockpod.scaffold import (
    ASSETS,
    DEFAULT_BASE_IMAGE,
    DEFAULT_REGISTRY,
    EXECUTORS,
    GROUPS,
    VARIABLES,
    ScaffoldOptions,
    render_assets,
    scaffold,
    template_path,
)
from dockpod.scaffold._options import REPOSITORY_OPTIONS
from dockpod.scaffold.resync import resync_text

REPO = Path(__file__).resolve().parents[2]
TEMPLATES = REPO / "src" / "dockpod" / "scaffold" / "templates"
SCRIPTS = {"deploy/images/airflow/entrypoint.sh", "deploy/images/airflow/healthcheck.py",
           "deploy/images/postgres/entrypoint.sh", "deploy/images/redis/entrypoint.sh",
           "deploy/images/redis/healthcheck.sh", "deploy/compose/prod/secrets.sh"}


def _yaml(text: str) -> list:
    return [doc for doc in YAML(typ="safe").load_all(text) if doc is not None]


def _options(**changes) -> ScaffoldOptions:
    return ScaffoldOptions(**{"project": "acme", **changes})


def _run(*args: str):
    return CliRunner().invoke(app, ["scaffold", *args])


# --- the table and the templates -------------------------------------------------------------------------------------

def test_every_template_has_a_row_and_every_row_a_template():
    on_disk = {str(p.relative_to(TEMPLATES)) for p in TEMPLATES.rglob("*") if p.is_file()}
    assert on_disk == {asset.template for asset in ASSETS}
    assert all(Path(template_path(asset)).is_file() for asset in ASSETS)
    assert {asset.group for asset in ASSETS} <= set(GROUPS)
    names = {variable.name for variable in VARIABLES}
    assert all(asset.when in names for asset in ASSETS if asset.when)


def test_the_scripts_are_the_executable_rows():
    assert {asset.path for asset in ASSETS if asset.executable} == SCRIPTS


def test_importing_the_scaffold_leaves_jinja2_for_the_first_render():
    code = "import sys, dockpod.cli, dockpod.scaffold; print('jinja2' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_the_cli_defaults_are_the_library_defaults():
    params = {p.name: p.default for p in typer.main.get_command(app).commands["scaffold"].params}
    assert params["executor"] == ScaffoldOptions().executor
    assert params["base_image"] == DEFAULT_BASE_IMAGE and params["registry"] == DEFAULT_REGISTRY


def test_the_docs_name_every_group_option_and_executor():
    text = (REPO / "docs" / "scaffold.md").read_text()
    for word in [*GROUPS, *EXECUTORS, "--executor", "--workers", "--base-image", "--registry", "--project", "--with",
                 "--force", "--dry-run", "python -m dockpod.scaffold.resync"]:
        assert f"`{word}" in text or f" {word}" in text, word
    for asset in ASSETS:
        assert asset.path.rsplit("/", 1)[-1] in text, asset.path


# --- options ---------------------------------------------------------------------------------------------------------

def test_the_image_group_is_always_written_and_groups_select_files():
    only_image = render_assets(_options(groups=()))
    assert set(only_image) == {a.path for a in ASSETS if a.group == "image"}
    helm = render_assets(_options(groups=("helm",)))
    assert {p for p in helm if p.startswith("deploy/helm/")} == {
        "deploy/helm/values-dev.yaml", "deploy/helm/values-prod.yaml", "deploy/helm/values-enterprise.yaml"}
    assert not any(p.startswith("deploy/k8s/") for p in helm)
    assert render_assets(_options(groups=("helm,k8s", "compose-dev", "compose-prod"))) == render_assets(_options())
    prod = render_assets(_options(groups=("compose-prod",)))
    assert "deploy/images/redis/Dockerfile" in prod and "deploy/compose/dev/compose.yaml" not in prod


@pytest.mark.parametrize(("executor", "helm", "core"), [
    ("local", "LocalExecutor", "LocalExecutor"),
    ("celery", "CeleryExecutor,KubernetesExecutor", "CeleryExecutor"),
    ("kubernetes", "KubernetesExecutor", "KubernetesExecutor"),
])
def test_the_executor_sets_prod_enterprise_and_manifests_and_dev_stays_local(executor, helm, core):
    files = render_assets(_options(executor=executor))
    for name in ("prod", "enterprise"):
        values = _yaml(files[f"deploy/helm/values-{name}.yaml"])[0]
        assert values["executor"] == helm
        assert values["redis"]["enabled"] is (executor == "celery")
        assert ("replicas" in values["workers"]) is (executor == "celery")
    dev = _yaml(files["deploy/helm/values-dev.yaml"])[0]
    assert dev["executor"] == "LocalExecutor" and dev["postgresql"] == {"enabled": True}
    config = _yaml(files["deploy/k8s/config.yaml"])[0]
    assert config["data"]["AIRFLOW__CORE__EXECUTOR"] == core
    assert ("deploy/k8s/worker.yaml" in files) is (executor == "celery")
    services = {doc["metadata"]["name"] for doc in _yaml(files["deploy/k8s/services.yaml"])}
    assert services == ({"airflow-api-server", "airflow-worker"} if executor == "celery" else {"airflow-api-server"})
    assert EXECUTORS[executor].helm_comment in files["deploy/helm/values-prod.yaml"]


def test_workers_set_the_celery_replicas_of_helm_and_the_statefulset():
    files = render_assets(_options(workers=7))
    for name in ("prod", "enterprise"):
        assert _yaml(files[f"deploy/helm/values-{name}.yaml"])[0]["workers"]["replicas"] == 7
    assert _yaml(files["deploy/k8s/worker.yaml"])[0]["spec"]["replicas"] == 7
    defaults = render_assets(_options())
    assert _yaml(defaults["deploy/helm/values-prod.yaml"])[0]["workers"]["replicas"] == 3
    assert _yaml(defaults["deploy/k8s/worker.yaml"])[0]["spec"]["replicas"] == 2


def test_base_image_registry_and_project_set_the_dockerfile_and_every_image_reference():
    files = render_assets(_options(base_image="python:3.11-slim", registry="harbor.acme.io:8443", project="etl"))
    assert "\nARG BASE_IMAGE=python:3.11-slim\n" in files["deploy/images/airflow/Dockerfile"]
    for name in ("dev", "prod", "enterprise"):
        assert _yaml(files[f"deploy/helm/values-{name}.yaml"])[0]["defaultAirflowRepository"] == \
            "harbor.acme.io:8443/etl/airflow"
    images = {c["image"] for path, text in files.items() if path.startswith("deploy/k8s/") for doc in _yaml(text)
              if doc["kind"] in ("Deployment", "StatefulSet", "Job")
              for c in doc["spec"]["template"]["spec"]["containers"] + doc["spec"]["template"]["spec"].get(
                  "initContainers", [])}
    assert images == {"harbor.acme.io:8443/etl/airflow:3.3.2"}
    assert not any("registry.example.com/dockpod" in text for text in files.values())


def test_the_project_defaults_to_a_slug_of_the_folder_name(tmp_path):
    folder = tmp_path / "My Data_Platform"
    folder.mkdir()
    result = scaffold(folder, ScaffoldOptions(groups=("k8s",)), dry_run=True)
    assert result.options.project == "my-data-platform"
    assert result.options.image == "registry.example.com/my-data-platform/airflow:3.3.2"


@pytest.mark.parametrize(("args", "message"), [
    (["--executor", "sequential"], "--executor 'sequential' is not known; use local, celery or kubernetes."),
    (["--workers", "0"], "--workers 0 is too small; give at least 1 Celery worker."),
    (["--executor", "local", "--workers", "2"], "--workers sets Celery workers, which --executor local does not run"),
    (["--registry", "https://registry.acme.io"], "--registry 'https://registry.acme.io' is not a registry host; give "
     "a lower-case host name with an optional port, e.g. registry.example.com or localhost:5000."),
    (["--registry", "Registry_1"], "is not a registry host"),
    (["--with", "helm,compose-staging"], "--with compose-staging is not a group; use one or more of image, helm, "
     "compose-dev, compose-prod, k8s, comma-separated."),
    (["--project", "Bad Name"], "--project 'Bad Name' cannot be part of an image name"),
    (["--base-image", "has space"], "--base-image 'has space' is not an image reference"),
])
def test_bad_input_is_one_sentence_with_the_fix_and_writes_nothing(tmp_path, args, message):
    out = _run(str(tmp_path), *args)
    assert out.exit_code == 2, out.output
    assert message in out.stderr
    assert out.stderr.startswith("error: ") and out.stderr.count("\n") == 1 and "Traceback" not in out.output
    assert list(tmp_path.iterdir()) == []


def test_a_missing_project_folder_is_named(tmp_path):
    out = _run(str(tmp_path / "nope"))
    assert out.exit_code == 2 and "is not a folder; create it first" in out.stderr


def test_the_library_raises_its_error_for_bad_options():
    with pytest.raises(DockpodError, match="--with nope is not a group"):
        ScaffoldOptions(groups=("nope",))


# --- writing ---------------------------------------------------------------------------------------------------------

def test_a_first_run_writes_every_file_with_the_scripts_executable(tmp_path):
    out = _run(str(tmp_path), "--project", "acme")
    assert out.exit_code == 0, out.output
    expected = render_assets(_options())
    for path, text in expected.items():
        target = tmp_path / path
        assert target.read_text() == text
        executable = bool(target.stat().st_mode & stat.S_IXUSR)
        assert executable is (path in SCRIPTS), path
    assert "registry.example.com/acme/airflow:3.3.2" in out.stdout
    assert "34 file(s) written, 0 unchanged." in out.stderr
    assert "helm upgrade --install airflow" in out.stderr and "dockpod lint deploy/" in out.stderr


def test_a_second_run_changes_nothing_and_says_so(tmp_path):
    first = scaffold(tmp_path, _options())
    assert {f.status for f in first.files} == {"new"} and first.written
    before = {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*") if p.is_file()}
    second = scaffold(tmp_path, _options())
    assert {f.status for f in second.files} == {"unchanged"} and not second.written
    assert {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*") if p.is_file()} == before
    out = _run(str(tmp_path), "--project", "acme")
    assert out.exit_code == 0 and "0 file(s) written, 34 unchanged." in out.stderr


def test_a_script_that_lost_its_executable_bit_gets_it_back_without_a_rewrite(tmp_path):
    scaffold(tmp_path, _options())
    script = tmp_path / "deploy/images/airflow/entrypoint.sh"
    script.chmod(0o644)
    result = scaffold(tmp_path, _options())
    assert [(f.path, f.status) for f in result.files if f.status != "unchanged"] == [(
        "deploy/images/airflow/entrypoint.sh", "mode")]
    assert os.access(script, os.X_OK) and stat.S_IMODE(script.stat().st_mode) == 0o755


def test_a_changed_file_is_a_conflict_and_nothing_is_written(tmp_path):
    scaffold(tmp_path, _options(groups=("helm",)))
    mine = tmp_path / "deploy/helm/values-prod.yaml"
    mine.write_text("# my own values\nexecutor: LocalExecutor\n")
    out = _run(str(tmp_path), "--project", "acme", "--workers", "5")  # would also change values-enterprise.yaml
    assert out.exit_code == 1, out.output
    assert ("2 file(s) exist with other content (deploy/helm/values-prod.yaml, deploy/helm/values-enterprise.yaml); "
            "nothing was written.") in out.stderr
    assert "--force" in out.stderr
    assert mine.read_text() == "# my own values\nexecutor: LocalExecutor\n"
    assert not (tmp_path / "deploy/k8s").exists()  # the new files were not written either
    assert "workers:\n  replicas: 3\n" in (tmp_path / "deploy/helm/values-enterprise.yaml").read_text()
    assert "conflict" in out.stdout and "would create" in out.stdout


def test_force_overwrites_the_conflicts(tmp_path):
    scaffold(tmp_path, _options())
    mine = tmp_path / "deploy/k8s/config.yaml"
    mine.write_text("mine\n")
    out = _run(str(tmp_path), "--project", "acme", "--force")
    assert out.exit_code == 0, out.output
    assert mine.read_text() == render_assets(_options())["deploy/k8s/config.yaml"]
    assert "overwritten" in out.stdout


def test_a_folder_in_place_of_a_file_is_refused(tmp_path):
    (tmp_path / "deploy/k8s/rbac.yaml").mkdir(parents=True)
    out = _run(str(tmp_path), "--force")
    assert out.exit_code == 2 and "is a folder where the scaffold writes a file; move it away" in out.stderr


def test_dry_run_lists_and_writes_nothing(tmp_path):
    scaffold(tmp_path, _options(groups=("helm",)))
    (tmp_path / "deploy/helm/values-dev.yaml").write_text("mine\n")
    before = sorted(p for p in tmp_path.rglob("*"))
    out = _run(str(tmp_path), "--project", "acme", "--dry-run", "--force")
    assert out.exit_code == 0, out.output
    assert sorted(p for p in tmp_path.rglob("*")) == before
    assert (tmp_path / "deploy/helm/values-dev.yaml").read_text() == "mine\n"
    assert "dry run: nothing written" in out.stdout and "would overwrite" in out.stdout
    assert "would create" in out.stdout and "deploy/k8s/worker.yaml" in out.stdout
    result = scaffold(tmp_path, _options(), dry_run=True)
    assert not result.written and {f.status for f in result.files} == {"new", "unchanged", "conflict"}


# --- what is written is valid ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("executor", list(EXECUTORS))
def test_every_yaml_parses_the_manifests_are_strictly_valid_and_lint_finds_no_error(tmp_path, executor):
    workers = 4 if EXECUTORS[executor].celery else None
    scaffold(tmp_path, _options(executor=executor, workers=workers))
    manifests = sorted((tmp_path / "deploy/k8s").glob("*.yaml"))
    for path in [*manifests, *(tmp_path / "deploy/helm").glob("*.yaml")]:
        assert _yaml(path.read_text()), path
    for path in manifests:
        for doc in _yaml(path.read_text()):
            assert validate_manifest(doc, k8s_version="1.37", strict=True) == [], (path.name, doc["kind"])
    report = lint_paths([tmp_path / "deploy"], severity=Severity.INFO)
    assert report.summary()["error"] == 0, report.findings
    assert report.findings == []  # not even a warning
    assert report.files["kubernetes"] == len(manifests) and report.files["helm_values"] == 3


# --- re-syncing a template from an edited file -----------------------------------------------------------------------

def _template(path: str) -> str:
    return (TEMPLATES / f"{path}.jinja").read_text()


def test_resync_carries_added_changed_and_removed_lines_into_the_template():
    from dockpod.scaffold import template_context

    context = template_context(REPOSITORY_OPTIONS)
    template = _template("deploy/helm/values-prod.yaml")
    rendered = render_assets(REPOSITORY_OPTIONS)["deploy/helm/values-prod.yaml"]
    edited = (rendered.replace("uid: 50000\n", "uid: 50001\n")
              .replace("  resultBackendSecretName: airflow-result-backend\n",
                       "  resultBackendSecretName: airflow-result-backend\n  brokerUrlSecretName: airflow-broker\n")
              .replace("statsd:\n  enabled: true\n", "statsd:\n"))
    result = resync_text(template, edited, context)
    assert result.changed and result.problems == ()
    added = "<% if celery %>\n  resultBackendSecretName: airflow-result-backend\n  brokerUrlSecretName: airflow-broker"
    assert added in result.template
    assert "uid: 50001\n" in result.template and "statsd:\n  resources:" in result.template
    # the variables and the branch the repository does not take are kept
    assert "executor: <%= helm_executor %>" in result.template and "redis:\n  enabled: false\n" in result.template
    from dockpod.scaffold._render import _environment

    assert _environment().from_string(result.template).render(context) == edited


def test_resync_leaves_a_changed_variable_line_to_a_person():
    from dockpod.scaffold import template_context

    template = _template("deploy/k8s/config.yaml")
    rendered = render_assets(REPOSITORY_OPTIONS)["deploy/k8s/config.yaml"]
    result = resync_text(template, rendered.replace("EXECUTOR: CeleryExecutor", "EXECUTOR: LocalExecutor"),
                         template_context(REPOSITORY_OPTIONS), "config.yaml.jinja")
    assert not result.changed
    assert result.problems == ("config.yaml.jinja:12 holds a variable and changed in deploy/; edit it by hand to give "
                               "'AIRFLOW__CORE__EXECUTOR: LocalExecutor'",)


def test_resync_of_an_unchanged_file_changes_nothing():
    from dockpod.scaffold import template_context

    for asset in ASSETS:
        if asset.path in render_assets(REPOSITORY_OPTIONS):
            text = render_assets(REPOSITORY_OPTIONS)[asset.path]
            assert not resync_text(_template(asset.path), text, template_context(REPOSITORY_OPTIONS)).changed
