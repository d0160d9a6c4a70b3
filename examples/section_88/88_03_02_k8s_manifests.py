"""88.3.2 Kubernetes manifests: Airflow 3.3 without Helm, every object valid and every pod spec run.

What it teaches
    Teams that do not use Helm deploy Airflow from plain manifests, and then nothing checks them but
    the API server at apply time. ``deploy/k8s/`` holds a complete set: namespace (restricted Pod
    Security), service accounts and the KubernetesPodOperator Role, ConfigMap and Secret (placeholders
    only), claims, Deployments for the scheduler, API server, DAG processor and triggerer, a StatefulSet
    of Celery workers, Services, an Ingress with TLS and NetworkPolicies. This example checks them the
    three ways that work without a cluster: the Kubernetes schema (strict), dockpod lint, and running
    each component's pod spec for real under podman.

Checklist items covered
    * Deployment definitions: ``run_pod_specs`` turns each Deployment's and StatefulSet's pod template
      into a Pod and runs it under podman: the security context (uid 50000, gid 0), the ConfigMap
      (envFrom), the Secret references and the claims all work. The Airflow image is not in the local
      registry, so the ETL image (localhost:5000/dockpod/etl:1.0) stands in with a short command that
      prints what the Airflow process would see; the probes (``airflow jobs check``, the API server's
      /api/v2/monitor/health) need Airflow itself and are dropped for the run.
    * Service configurations: ``check_wiring`` checks that every Service selects the pods of a
      workload and targets a port those pods name.
    * ConfigMaps and Secrets: configuration only as AIRFLOW__SECTION__KEY variables; the Secret holds
      REPLACE_ME placeholders, and ``check_wiring`` verifies every secretKeyRef names a key it has.
    * Ingress setup: ``check_wiring`` follows the Ingress to its Service and reports its TLS secret.
    ``validate`` (strict schema, newest Kubernetes version kubernetes-validate ships) and ``lint``
    (dockpod lint, every level) cover all files.

Where the files are
    The DAG reads the repository's ``deploy/k8s/``. Examples are copied into a DAGs folder to run, so
    the repository is found from the environment variable ``DOCKPOD_REPO`` and, when it is not set, as
    the folder two levels above this file (examples/section_88/ in a checkout).

Run it
    DOCKPOD_REPO=$PWD AIRFLOW_ENVIRONMENT=local airflow dags test 88_03_02_k8s_manifests
    (tests/examples/test_88_03_02_k8s_manifests.py runs it under podman and removes the claims' volumes.)
"""

from __future__ import annotations

import copy
import os
from datetime import datetime
from pathlib import Path
from typing import Any

from airflow.sdk import DAG, task

REPO = Path(os.environ.get("DOCKPOD_REPO") or Path(__file__).resolve().parents[2])
K8S = REPO / "deploy" / "k8s"
STAND_IN_IMAGE = "localhost:5000/dockpod/etl:1.0"
#: What each pod prints: who it runs as, the executor from the ConfigMap, that the Secret reached it.
SHOW = 'echo "$(id -u):$(id -g) $AIRFLOW__CORE__EXECUTOR ${AIRFLOW__DATABASE__SQL_ALCHEMY_CONN:+conn-set}"'


def _objects() -> list[dict[str, Any]]:
    from ruamel.yaml import YAML

    return [d for path in sorted(K8S.glob("*.yaml")) for d in YAML(typ="safe").load_all(path) if d]


def _find(kind: str) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for d in _objects() if d["kind"] == kind}


with DAG(
    dag_id="88_03_02_k8s_manifests",
    schedule=None,
    start_date=datetime(2024, 1, 1),
    catchup=False,
    tags=["reference", "core", "intermediate", "success"],
    doc_md=__doc__,
):

    @task
    def validate() -> dict[str, object]:
        """Every object against the newest Kubernetes schema (strict): the problems found, and objects by kind."""
        from dockpod.render.validate import DEFAULT_K8S_VERSION, validate_manifest

        kinds: dict[str, int] = {}
        problems = []
        for doc in _objects():
            kinds[doc["kind"]] = kinds.get(doc["kind"], 0) + 1
            problems += [f"{doc['kind']}/{doc['metadata']['name']}: {p}" for p in validate_manifest(doc)]
        return {"k8s_version": DEFAULT_K8S_VERSION, "kinds": kinds, "problems": problems}

    @task
    def lint() -> list[str]:
        """dockpod lint on deploy/k8s at every level (resources, probes, security, RBAC): nothing expected."""
        from dockpod.lint import Severity, lint_paths

        report = lint_paths([K8S], severity=Severity.INFO)
        return [f"{f.path}:{f.line}: {f.rule} {f.message}" for f in report.findings]

    @task
    def check_wiring() -> dict[str, object]:
        """Services select pods and name their ports; the Ingress reaches a Service; secret keys exist."""
        workloads = {**_find("Deployment"), **_find("StatefulSet")}
        secret_keys = {n: set(s.get("stringData", {})) | set(s.get("data", {})) for n, s in _find("Secret").items()}
        services = {}
        for name, service in _find("Service").items():
            selector = service["spec"]["selector"]
            targets = [w for w, obj in workloads.items()
                       if selector.items() <= obj["spec"]["template"]["metadata"]["labels"].items()]
            named = {p.get("name") for w in targets for c in workloads[w]["spec"]["template"]["spec"]["containers"]
                     for p in c.get("ports", [])}
            services[name] = {"workloads": targets,
                              "ports_found": all(p["targetPort"] in named for p in service["spec"]["ports"])}
        missing_keys = sorted(
            f"{w}: {ref['name']}/{ref['key']}" for w, obj in workloads.items()
            for c in obj["spec"]["template"]["spec"]["containers"] + obj["spec"]["template"]["spec"].get(
                "initContainers", [])
            for env in c.get("env", []) if (ref := env.get("valueFrom", {}).get("secretKeyRef"))
            and ref["key"] not in secret_keys.get(ref["name"], set()))
        ingress = _find("Ingress")["airflow"]["spec"]
        backend = ingress["rules"][0]["http"]["paths"][0]["backend"]["service"]
        return {"services": services, "missing_secret_keys": missing_keys,
                "ingress": {"service": backend["name"], "service_exists": backend["name"] in services,
                            "tls_secret": ingress["tls"][0]["secretName"]}}

    @task
    def run_pod_specs() -> dict[str, dict[str, object]]:
        """Each workload's pod template as a Pod under podman (stand-in image, short command): exit code, output."""
        from dockpod.runtime.podman import run_pod

        config_map, secret = _find("ConfigMap")["airflow-config"], _find("Secret")["airflow-secrets"]
        results = {}
        for name, obj in sorted({**_find("Deployment"), **_find("StatefulSet")}.items()):
            spec = copy.deepcopy(obj["spec"]["template"]["spec"])
            spec.pop("initContainers", None)
            spec["restartPolicy"] = "Never"
            container = spec["containers"][0]
            for key in ("args", "livenessProbe", "readinessProbe", "startupProbe", "ports"):
                container.pop(key, None)
            container.update(name="base", image=STAND_IN_IMAGE, command=["sh", "-c", SHOW])
            run = run_pod({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": f"{name}-play"}, "spec": spec},
                          config_maps={"airflow-config": config_map["data"]},
                          secrets={"airflow-secrets": {k: "not-a-real-value" for k in secret["stringData"]}},
                          timeout=180)
            results[name] = {"exit_code": run.exit_code, "logs": list(run.logs)}
        return results

    [validate(), lint(), check_wiring()] >> run_pod_specs()
