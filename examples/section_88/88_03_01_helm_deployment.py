"""88.3.1 Helm deployment: values files for the official Airflow chart, checked before any install.

What it teaches
    With the official chart a team deploys Airflow by writing values, not templates: one file per
    environment, layered on the chart's defaults. ``deploy/helm/values-dev.yaml`` (LocalExecutor, the
    chart's PostgreSQL) and ``values-prod.yaml`` (Celery and Kubernetes executors, external database,
    git-sync, persistent logs, resources and probes everywhere, restricted security contexts) are
    that customization. Since the chart cannot be downloaded on these machines, the example checks
    the values the way the chart would read them: every key must be one the chart knows (a typo is
    silently ignored by Helm), and dockpod lint applies the chart-aware rules. ``helm template``
    renders them when a helm binary and the chart are present, and otherwise says why it did not.

Checklist items covered
    * Helm chart installation: ``install_commands`` gives the exact ``helm upgrade --install`` lines,
      pinned to a chart version; ``render_chart`` runs ``helm template`` with the same arguments.
    * values.yaml customization: ``check_keys`` compares each file's top-level keys with the chart's
      (dockpod's list from the chart's values.yaml) and returns what each file changes;
      ``lint_values`` runs dockpod lint on them (nothing expected).
    * Upgrade procedures: ``install_commands`` uses ``helm upgrade --install --atomic --wait`` (one
      command for install and upgrade; a failed upgrade rolls back by itself) and pins the image tag and
      ``airflowVersion`` together, so an upgrade is one reviewed change of both; the database migration
      runs as the chart's migrateDatabaseJob.
    * Chart versioning: the chart version is pinned (CHART_VERSION) and ``check_keys`` reports
      airflowVersion and the image tag of each file, which lint (DP406) requires to be full versions.

Where the files are
    The DAG reads the repository's ``deploy/helm/``. Examples are copied into a DAGs folder to run, so
    the repository is found from the environment variable ``DOCKPOD_REPO`` and, when it is not set, as
    the folder two levels above this file (examples/section_88/ in a checkout).

Run it
    DOCKPOD_REPO=$PWD AIRFLOW_ENVIRONMENT=local airflow dags test 88_03_01_helm_deployment
    (tests/examples/test_88_03_01_helm_deployment.py runs it; the helm template part is skipped there,
    with its reason, when helm or the chart is missing.)
"""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

from airflow.sdk import DAG, task

REPO = Path(os.environ.get("DOCKPOD_REPO") or Path(__file__).resolve().parents[2])
HELM = REPO / "deploy" / "helm"
FILES = ("values-dev.yaml", "values-prod.yaml")
CHART_VERSION = "1.18.0"


def chart_problem() -> str | None:
    """Why ``helm template`` cannot run here (None when it can): the binary or the chart is missing."""
    import shutil

    if shutil.which("helm") is None:
        return "no helm binary on PATH (these machines cannot download it)"
    chart = os.environ.get("AIRFLOW_CHART", "")
    if not chart or not (Path(chart) / "Chart.yaml").is_file():
        return "AIRFLOW_CHART does not name an unpacked apache-airflow chart (it cannot be downloaded here)"
    return None


with DAG(
    dag_id="88_03_01_helm_deployment",
    schedule=None,
    start_date=datetime(2024, 1, 1),
    catchup=False,
    tags=["reference", "core", "intermediate", "success"],
    doc_md=__doc__,
):

    @task
    def check_keys() -> dict[str, dict[str, object]]:
        """Each file: keys the chart does not know (none expected), the keys it sets, executor and versions."""
        from ruamel.yaml import YAML

        from dockpod.lint import lint_paths

        summary = {}
        for name in FILES:
            values = YAML(typ="safe").load(HELM / name) or {}
            unknown = [f.message for f in lint_paths([HELM / name], select=["DP401"]).findings]
            summary[name] = {"unknown": unknown, "keys": sorted(values), "executor": values.get("executor"),
                             "airflowVersion": values.get("airflowVersion"), "tag": values.get("defaultAirflowTag")}
        return summary

    @task
    def lint_values() -> dict[str, list[str]]:
        """dockpod lint on each values file, every level: findings as 'line: rule message', none expected."""
        from dockpod.lint import Severity, lint_paths

        return {name: [f"{f.line}: {f.rule} {f.message}" for f in
                       lint_paths([HELM / name], severity=Severity.INFO).findings] for name in FILES}

    @task
    def install_commands() -> dict[str, str]:
        """The commands that install or upgrade each environment, chart version pinned, rolled back on failure."""
        return {name: (f"helm upgrade --install airflow apache-airflow/airflow --version {CHART_VERSION} "
                       f"--namespace airflow --create-namespace --atomic --wait --timeout 15m "
                       f"-f deploy/helm/{name}") for name in FILES}

    @task
    def render_chart() -> dict[str, object]:
        """helm template of each file, every object schema-checked; or the reason it cannot run here."""
        import subprocess

        from ruamel.yaml import YAML

        from dockpod.render.validate import validate_manifest

        problem = chart_problem()
        if problem is not None:
            return {"skipped": problem}
        result: dict[str, object] = {}
        for name in FILES:
            rendered = subprocess.run(["helm", "template", "airflow", os.environ["AIRFLOW_CHART"], "-n", "airflow",
                                       "-f", str(HELM / name)], check=True, capture_output=True, text=True).stdout
            objects = [d for d in YAML(typ="safe").load_all(rendered) if d]
            result[name] = {"objects": len(objects),
                            "problems": [f"{d['kind']}/{d['metadata']['name']}: {p}"
                                         for d in objects for p in validate_manifest(d)]}
        return result

    [check_keys(), lint_values()] >> install_commands() >> render_chart()
