"""88.3.4 Service accounts: the exact Kubernetes permissions KubernetesPodOperator needs, and no more.

What it teaches
    An Airflow component that launches task pods talks to the Kubernetes API with its service account's
    token, so that account's Role is what every DAG author's code can do in the namespace. The usual
    mistakes are a wildcard Role (``verbs: ["*"]``, secrets included) or a token mounted into every
    Airflow pod. ``deploy/k8s/rbac.yaml`` gives the token to the scheduler and the Celery workers only
    (service account ``airflow-worker``) and binds it to a Role with exactly the calls the
    cncf.kubernetes provider makes; the API server, DAG processor and triggerer run as
    ``airflow-component`` with ``automountServiceAccountToken: false``.

Checklist items covered
    * RBAC configuration: ``check_schema`` validates the ServiceAccounts, Role and RoleBinding against
      the newest Kubernetes schema kubernetes-validate ships (strict); ``lint_rbac`` runs dockpod lint
      (DP310 wildcards/secrets, DP311 more than KPO needs) and expects nothing.
    * Pod creation permissions: ``provider_calls`` reads the installed provider's source
      (operators/pod.py, utils/pod_manager.py) for the Kubernetes client calls it makes and maps each
      to the (resource, verb) the API server authorizes; ``compare`` shows that the Role grants every
      one of them, and that what it grants beyond them is only what calls in streaming form need
      (``watch`` on pods and events, ``create`` on pods/exec for the websocket upgrade).
    * Namespace access: a Role and RoleBinding in namespace ``airflow``, never a ClusterRole.
    * Cloud provider integration (workload identity: an annotation such as
      ``eks.amazonaws.com/role-arn`` or ``iam.gke.io/gcp-service-account`` on ``airflow-worker``) needs
      a cloud account, which these machines do not have: not shown.

Where the files are
    The DAG reads the repository's ``deploy/k8s/rbac.yaml``. Examples are copied into a DAGs folder to
    run, so the repository is found from the environment variable ``DOCKPOD_REPO`` and, when it is not
    set, as the folder two levels above this file (examples/section_88/ in a checkout).

Run it
    DOCKPOD_REPO=$PWD AIRFLOW_ENVIRONMENT=local airflow dags test 88_03_04_service_accounts
    (tests/examples/test_88_03_04_service_accounts.py runs it and checks every result.)
"""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

from airflow.sdk import DAG, task

REPO = Path(os.environ.get("DOCKPOD_REPO") or Path(__file__).resolve().parents[2])
RBAC = REPO / "deploy" / "k8s" / "rbac.yaml"

#: Kubernetes client method -> the (resource, verb) pairs the API server checks for it.
CALL_PERMISSIONS: dict[str, list[tuple[str, str]]] = {
    "create_namespaced_pod": [("pods", "create")],
    "read_namespaced_pod": [("pods", "get")],
    "list_namespaced_pod": [("pods", "list")],
    "delete_namespaced_pod": [("pods", "delete")],
    "patch_namespaced_pod": [("pods", "patch")],
    "read_namespaced_pod_log": [("pods/log", "get")],
    "connect_get_namespaced_pod_exec": [("pods/exec", "get")],
    "list_namespaced_event": [("events", "list")],
}
PROVIDER_FILES = ("operators/pod.py", "utils/pod_manager.py")

with DAG(
    dag_id="88_03_04_service_accounts",
    schedule=None,
    start_date=datetime(2024, 1, 1),
    catchup=False,
    tags=["reference", "core", "intermediate", "success"],
    doc_md=__doc__,
):

    @task
    def check_schema() -> dict[str, list[str]]:
        """Each object of rbac.yaml against the Kubernetes schema (strict): its problems, none expected."""
        from ruamel.yaml import YAML

        from dockpod.render.validate import validate_manifest

        docs = [d for d in YAML(typ="safe").load_all(RBAC) if d]
        return {f"{d['kind']}/{d['metadata']['name']}": validate_manifest(d) for d in docs}

    @task
    def lint_rbac() -> list[str]:
        """dockpod lint on rbac.yaml, every level: wildcards, secrets or extra verbs would show here."""
        from dockpod.lint import Severity, lint_paths

        return [f"{f.line}: {f.rule} {f.message}" for f in lint_paths([RBAC], severity=Severity.INFO).findings]

    @task
    def provider_calls() -> dict[str, list[str]]:
        """The Kubernetes API calls KubernetesPodOperator makes, read from the installed provider's source."""
        import re

        import airflow.providers.cncf.kubernetes as provider

        root = Path(provider.__file__).parent
        calls = set()
        for name in PROVIDER_FILES:
            # a call or a reference (the exec call is handed to kubernetes.stream.stream)
            calls |= set(re.findall(r"\.(\w+_namespaced_\w+)\b", (root / name).read_text()))
        needed: dict[str, set[str]] = {}
        for call in sorted(calls):
            for resource, verb in CALL_PERMISSIONS.get(call, [(f"unknown call {call}", "?")]):
                needed.setdefault(resource, set()).add(verb)
        return {resource: sorted(verbs) for resource, verbs in sorted(needed.items())}

    @task
    def compare(needed: dict[str, list[str]]) -> dict[str, object]:
        """What the Role grants vs what the provider calls: missing must be empty, extra only streaming forms."""
        from ruamel.yaml import YAML

        role = next(d for d in YAML(typ="safe").load_all(RBAC) if d and d["kind"] == "Role")
        granted: dict[str, set[str]] = {}
        for rule in role["rules"]:
            for resource in rule["resources"]:
                granted.setdefault(resource, set()).update(rule["verbs"])
        missing = {r: sorted(set(v) - granted.get(r, set())) for r, v in needed.items()}
        extra = {r: sorted(v - set(needed.get(r, []))) for r, v in granted.items()}
        bindings = [d for d in YAML(typ="safe").load_all(RBAC) if d and d["kind"].endswith("Binding")]
        return {
            "granted": {r: sorted(v) for r, v in sorted(granted.items())},
            "missing": {r: v for r, v in missing.items() if v},
            "extra": {r: v for r, v in extra.items() if v},
            "bound_to": [s["name"] for b in bindings for s in b["subjects"]],
            "namespaced": all(b["kind"] == "RoleBinding" for b in bindings) and role["kind"] == "Role",
        }

    [check_schema(), lint_rbac()] >> compare(provider_calls())
