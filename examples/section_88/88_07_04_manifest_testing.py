"""88.7.4 Manifest testing: the checks a team runs on its Kubernetes manifests before they reach a cluster.

What it teaches
    A manifest can be wrong in three different ways, and each needs its own check:

    1. It is not what the API server accepts (a typo, a field the cluster's version does not have).
       ``schema`` validates every object against the Kubernetes OpenAPI schema, strictly (an unknown
       field is an error, not silently dropped), for *each* Kubernetes version the team runs: here
       1.29 (production) and 1.33 (the next upgrade). The broken Deployment sets pod-level
       ``resources``, a field that exists from 1.32 on: valid for 1.33, refused by 1.29. Testing one
       version only would have missed it.
    2. It is accepted but unsafe or fragile (policy). ``policy`` runs ``dockpod lint``'s Kubernetes
       rules (DP30x: probes, resources, securityContext, pinned images, service account token, secrets
       in env, the Airflow worker's Role): the broken Deployment has no probes and a weak
       securityContext, the broken Role grants ``*`` and reads Secrets.
    3. It is valid and compliant but does not run. ``dry_run`` plays the Deployment's pod template as a
       Pod under podman, with the ConfigMap's values, and a short command instead of the long-running
       one. The broken Deployment reads a ConfigMap key that does not exist (``ROW``): no schema or
       policy can know the ConfigMap's keys, the pod cannot start, and the run says why.

    The good manifests (``manifests/``: Deployment, Service, ConfigMap, and the ServiceAccount, Role
    and RoleBinding KubernetesPodOperator needs) pass all three.

Checklist items covered
    * Kubeval validation / schema validation: ``schema`` (``dockpod.render.validate.validate_manifest``,
      the same schemas kubeconform uses, offline, strict) for two versions.
    * Conftest policies: ``policy`` (the policies are dockpod lint's rules; ``lint_paths`` with
      ``k8s_version`` also runs the schema check as DP301).
    * Dry-run testing: ``dry_run`` runs the pod for real under podman (``dockpod.runtime.podman.run_pod``);
      ``kubectl apply --dry-run=server`` needs an API server, which these machines do not have.

Run it
    AIRFLOW_ENVIRONMENT=local airflow dags test 88_07_04_manifest_testing
    dockpod lint examples/section_88/assets/88_07_04_manifest_testing/manifests --k8s-version 1.29
    (tests/examples/test_88_07_04_manifest_testing.py runs the DAG and each check on its own.)
"""

from __future__ import annotations

import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

from airflow.sdk import DAG, task

ASSETS = Path(__file__).parent / "assets" / "88_07_04_manifest_testing"
VERSIONS = ("1.29", "1.33")
#: The manifests name the company registry; the dry run pulls the same image from the local one.
IMAGE_REWRITES = {"registry.example.com": "localhost:5000"}
#: A short command for the dry run: prints the settings it got from the ConfigMap, then exits.
DRY_RUN_ARGS = ["env", "--var", "ROWS", "--var", "LOG_FORMAT", "--no-result"]


def load(folder: str) -> list[dict[str, Any]]:
    """Every object of every YAML file in ``folder`` of the assets."""
    from ruamel.yaml import YAML

    return [doc for path in sorted((ASSETS / folder).glob("*.yaml"))
            for doc in YAML(typ="safe").load_all(path) if doc]


def pod_from_deployment(deployment: dict[str, Any], args: list[str]) -> dict[str, Any]:
    """The Deployment's pod template as a Pod whose first container (``base``) runs ``args`` and exits."""
    import copy

    spec = copy.deepcopy(deployment["spec"]["template"]["spec"])
    spec["restartPolicy"] = "Never"
    main = spec["containers"][0]
    main["name"], main["args"] = "base", args
    for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
        main.pop(probe, None)  # a one-shot command: the long-running service's probes do not apply
    name = f"{deployment['metadata']['name']}-dry-run-{uuid.uuid4().hex[:6]}"
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": spec}


def dry_run_folder(folder: str) -> dict[str, Any]:
    """Run the folder's Deployment as a pod under podman with the folder's (or the good) ConfigMaps."""
    from dockpod.runtime.podman import run_pod

    objects = load(folder)
    deployment = next(o for o in objects if o["kind"] == "Deployment")
    maps = [o for o in objects + load("manifests") if o["kind"] == "ConfigMap"]
    config_maps = {m["metadata"]["name"]: m["data"] for m in maps}
    run = run_pod(pod_from_deployment(deployment, DRY_RUN_ARGS), image_rewrites=IMAGE_REWRITES,
                  config_maps=config_maps, timeout=120)
    return {"succeeded": run.succeeded, "exit_code": run.exit_code, "reason": run.reason,
            "logs": list(run.logs), "leftovers": list(run.leftovers)}


with DAG(
    dag_id="88_07_04_manifest_testing",
    schedule=None,
    start_date=datetime(2024, 1, 1),
    catchup=False,
    tags=["reference", "testing", "intermediate", "success"],
    doc_md=__doc__,
):

    @task
    def schema() -> dict[str, dict[str, list[str]]]:
        """Strict schema problems of every object, per Kubernetes version: {version: {kind/name: problems}}."""
        from dockpod.render.validate import validate_manifest

        return {version: {f"{folder}/{o['kind']}/{o['metadata']['name']}": validate_manifest(o, k8s_version=version)
                          for folder in ("manifests", "broken") for o in load(folder)}
                for version in VERSIONS}

    @task
    def policy() -> dict[str, dict[str, list[str]]]:
        """dockpod lint's rule ids for warnings and errors, per version and folder."""
        from dockpod.lint import lint_paths

        return {version: {folder: sorted({f.rule for f in lint_paths([ASSETS / folder], k8s_version=version).failing()})
                          for folder in ("manifests", "broken")}
                for version in VERSIONS}

    @task
    def dry_run() -> dict[str, dict[str, Any]]:
        """Each Deployment's pod, played under podman: the good one completes, the broken one cannot start."""
        return {folder: dry_run_folder(folder) for folder in ("manifests", "broken")}

    schema() >> policy() >> dry_run()
