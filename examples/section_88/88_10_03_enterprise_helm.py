"""88.10.3 Enterprise Helm: one complete values file for the official chart on a shared, regulated cluster.

What it teaches
    ``deploy/helm/values-enterprise.yaml`` is values-prod.yaml plus what an enterprise platform asks
    for: network policies, PgBouncer in front of the database, pod disruption budgets, priority classes,
    secret references instead of values, an ingress with TLS and registry pull secrets. It stands
    alone so that a security review reads one file. The example checks it without a cluster: every key
    must be one the chart knows, dockpod lint must find nothing, each enterprise feature must be
    switched on and wired (a priority class a component names must be defined), and nothing secret may
    be written in it. ``helm template`` renders it, and every rendered object is checked against the
    Kubernetes schema (strict), when a helm binary and the chart are present; otherwise the task says
    why it did not run.

Checklist items covered
    * Complete values.yaml: ``lint_values`` (dockpod lint, every level, including DP401 unknown keys)
      and ``compare_with_prod`` (everything production sets is kept unchanged).
    * Security configuration: ``check_features`` reports the restricted security contexts, network
      policies, TLS ingress, pull secret, and that every credential is a Secret reference.
    * Resource allocation: ``check_features`` lists the resources of every component, PgBouncer
      included, and the priority class each runs with.
    * Integration settings: the external database through PgBouncer, git-sync for DAGs, StatsD metrics,
      connections from Secrets (``secret:``/``extraEnvFrom``).

Where the files are
    The DAG reads the repository's ``deploy/helm/``. Examples are copied into a DAGs folder to run, so
    the repository is found from the environment variable ``DOCKPOD_REPO`` and, when it is not set, as
    the folder two levels above this file (examples/section_88/ in a checkout).

Run it
    DOCKPOD_REPO=$PWD AIRFLOW_ENVIRONMENT=local airflow dags test 88_10_03_enterprise_helm
    (tests/examples/test_88_10_03_enterprise_helm.py runs it; the helm template part is skipped there,
    with its reason, when helm or the chart is missing.)
"""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path
from typing import Any

from airflow.sdk import DAG, task

REPO = Path(os.environ.get("DOCKPOD_REPO") or Path(__file__).resolve().parents[2])
HELM = REPO / "deploy" / "helm"
ENTERPRISE = HELM / "values-enterprise.yaml"
PROD = HELM / "values-prod.yaml"
COMPONENTS = ("scheduler", "apiServer", "dagProcessor", "triggerer", "workers", "statsd", "pgbouncer")


def chart_problem() -> str | None:
    """Why ``helm template`` cannot run here (None when it can): the binary or the chart is missing."""
    import shutil

    if shutil.which("helm") is None:
        return "no helm binary on PATH (these machines cannot download it)"
    chart = os.environ.get("AIRFLOW_CHART", "")
    if not chart or not (Path(chart) / "Chart.yaml").is_file():
        return "AIRFLOW_CHART does not name an unpacked apache-airflow chart (it cannot be downloaded here)"
    return None


def _load(path: Path) -> dict[str, Any]:
    from ruamel.yaml import YAML

    return YAML(typ="safe").load(path) or {}


with DAG(
    dag_id="88_10_03_enterprise_helm",
    schedule=None,
    start_date=datetime(2024, 1, 1),
    catchup=False,
    tags=["reference", "example", "advanced", "success"],
    doc_md=__doc__,
):

    @task
    def lint_values() -> list[str]:
        """dockpod lint on the enterprise values, every level: unknown keys, keys, executor, resources, pins."""
        from dockpod.lint import Severity, lint_paths

        return [f"{f.line}: {f.rule} {f.message}" for f in lint_paths([ENTERPRISE], severity=Severity.INFO).findings]

    @task
    def check_features() -> dict[str, object]:
        """Each enterprise feature as the chart will read it, and what every component is given."""
        values = _load(ENTERPRISE)
        classes = {pc["name"]: pc["value"] for pc in values.get("priorityClasses", [])}
        host = values["ingress"]["apiServer"]["hosts"][0]
        return {
            "network_policies": values["networkPolicies"]["enabled"],
            "pgbouncer": values["pgbouncer"]["enabled"],
            "pdb": sorted(c for c in COMPONENTS if values.get(c, {}).get("podDisruptionBudget", {}).get("enabled")),
            "priority": {c: values[c].get("priorityClassName") for c in COMPONENTS},
            "undefined_classes": sorted({values[c].get("priorityClassName") for c in COMPONENTS} - set(classes)),
            "secret_refs": sorted({ref["secretName"] for ref in values["secret"]} | {
                values[k] for k in ("apiSecretKeySecretName", "jwtSecretName", "fernetKeySecretName")} | {
                values["data"]["metadataSecretName"], values["dags"]["gitSync"]["credentialsSecret"]}),
            "literal_secrets": sorted(k for k in ("fernetKey", "apiSecretKey", "jwtSecret", "webserverSecretKey")
                                      if values.get(k)) + (["data.metadataConnection"]
                                                           if values["data"].get("metadataConnection") else []),
            "ingress_tls": host["tls"],
            "pull_secrets": values["imagePullSecrets"],
            "pod_security": values["securityContexts"],
            "memory_limits": {c: values[c]["resources"]["limits"]["memory"] for c in COMPONENTS},
        }

    @task
    def compare_with_prod() -> dict[str, list[str]]:
        """Top-level keys the enterprise file adds to prod, and prod settings it changes (none expected)."""
        prod, enterprise = _load(PROD), _load(ENTERPRISE)
        changed = []
        for key, value in prod.items():
            if not isinstance(value, dict):
                if enterprise.get(key) != value:
                    changed.append(key)
                continue
            changed += [f"{key}.{sub}" for sub, v in value.items() if enterprise.get(key, {}).get(sub) != v]
        return {"added": sorted(set(enterprise) - set(prod)), "changed": changed}

    @task
    def render_chart() -> dict[str, object]:
        """helm template of the enterprise values, every object schema-checked; or the reason it cannot run."""
        import subprocess

        from ruamel.yaml import YAML

        from dockpod.render.validate import validate_manifest

        problem = chart_problem()
        if problem is not None:
            return {"skipped": problem}
        rendered = subprocess.run(["helm", "template", "airflow", os.environ["AIRFLOW_CHART"], "-n", "airflow",
                                   "-f", str(ENTERPRISE)], check=True, capture_output=True, text=True).stdout
        objects = [d for d in YAML(typ="safe").load_all(rendered) if d]
        return {"objects": len(objects), "kinds": sorted({d["kind"] for d in objects}),
                "problems": [f"{d['kind']}/{d['metadata']['name']}: {p}" for d in objects
                             for p in validate_manifest(d)]}

    [lint_values(), check_features(), compare_with_prod()] >> render_chart()
