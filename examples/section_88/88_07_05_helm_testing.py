"""88.7.5 Helm testing: check the values a team hands to the official Airflow chart before any install.

What it teaches
    Most Helm mistakes of an Airflow team are in its values files, not in the chart: a misspelled key
    the templates never read, keys left for the chart to generate (and regenerate on upgrade), worker
    settings that do not match the executor, pods without resources, an image that moves. All of this
    can be tested without a cluster and without the chart: ``dockpod lint`` reads values files as
    values of the official chart (the chart's top-level keys are data in dockpod, taken from the
    chart's own values.yaml). The two good files, ``values/values-dev.yaml`` and
    ``values/values-prod.yaml``, pass; their broken copies under ``broken/`` fail with the rule and
    the message that names the mistake.

    ``helm template`` is the second layer: it renders the chart with the values and the rendered
    objects are checked against the Kubernetes schema (strict). These machines cannot download the
    chart, so that task runs only when a ``helm`` binary and a chart folder (``AIRFLOW_CHART``, the
    unpacked apache-airflow chart) are both present, and otherwise returns the reason it did not run.

Checklist items covered
    * helm lint: ``lint_values`` applies dockpod's chart-aware rules (DP401 unknown key with the
      closest known key suggested, DP402 API secret key, DP403 Fernet key, DP404 executor vs workers,
      DP405 resources, DP406 image and airflowVersion pinning); with the chart present
      ``render_chart`` also runs ``helm lint``.
    * helm template: ``render_chart`` renders both good files and validates every object.
    * Chart testing framework: the test file is the suite a CI job runs (``ct`` from the chart-testing
      project needs a cluster for ``ct install``; its ``ct lint`` is helm lint plus the values checks
      done here).
    * Values validation: ``check_values`` reads each file's top-level keys and the executor, the way
      a reviewer would, and shows the broken dev file sets ``exector`` (lost) next to ``executor``.

Run it
    AIRFLOW_ENVIRONMENT=local airflow dags test 88_07_05_helm_testing
    dockpod lint examples/section_88/assets/88_07_05_helm_testing/values
    dockpod lint examples/section_88/assets/88_07_05_helm_testing/broken   (fails: it is meant to)
    (tests/examples/test_88_07_05_helm_testing.py runs the DAG and the same checks; the helm template
    part is skipped there, with its reason, when helm or the chart is missing.)
"""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

from airflow.sdk import DAG, task

ASSETS = Path(__file__).parent / "assets" / "88_07_05_helm_testing"
GOOD = ("values/values-dev.yaml", "values/values-prod.yaml")
BROKEN = ("broken/values-dev.yaml", "broken/values-prod.yaml")
K8S_VERSION = "1.30"


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
    dag_id="88_07_05_helm_testing",
    schedule=None,
    start_date=datetime(2024, 1, 1),
    catchup=False,
    tags=["reference", "testing", "intermediate", "success"],
    doc_md=__doc__,
):

    @task
    def lint_values() -> dict[str, list[list[object]]]:
        """Each values file linted on its own: [line, rule, message] of every warning or error."""
        from dockpod.lint import Severity, lint_paths

        found: dict[str, list[list[object]]] = {}
        for name in GOOD + BROKEN:
            report = lint_paths([ASSETS / name], severity=Severity.WARNING)
            found[name] = [[f.line, f.rule, f.message] for f in report.failing()]
        return found

    @task
    def check_values() -> dict[str, dict[str, object]]:
        """What a reviewer reads first: the executor each file picks and the keys it sets."""
        from ruamel.yaml import YAML

        summary = {}
        for name in GOOD + BROKEN:
            values = YAML(typ="safe").load(ASSETS / name) or {}
            summary[name] = {"executor": values.get("executor"), "keys": sorted(values)}
        return summary

    @task
    def render_chart() -> dict[str, object]:
        """helm lint + helm template of the good files, every object schema-checked; skipped with a reason."""
        import subprocess

        from ruamel.yaml import YAML

        from dockpod.render.validate import validate_manifest

        problem = chart_problem()
        if problem is not None:
            return {"skipped": problem}
        chart = os.environ["AIRFLOW_CHART"]
        result: dict[str, object] = {}
        for name in GOOD:
            values = str(ASSETS / name)
            subprocess.run(["helm", "lint", chart, "-f", values], check=True, capture_output=True, text=True)
            rendered = subprocess.run(["helm", "template", "airflow", chart, "-f", values], check=True,
                                      capture_output=True, text=True).stdout
            objects = [d for d in YAML(typ="safe").load_all(rendered) if d]
            problems = [f"{d['kind']}/{d['metadata']['name']}: {p}" for d in objects
                        for p in validate_manifest(d, k8s_version=K8S_VERSION)]
            result[name] = {"objects": len(objects), "problems": problems}
        return result

    lint_values() >> check_values() >> render_chart()
