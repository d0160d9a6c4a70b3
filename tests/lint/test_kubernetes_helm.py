"""dockpod lint's Kubernetes and Helm values families: what the case files cannot say."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dockpod.cli import app
from dockpod.errors import DockpodError
from dockpod.lint import lint_paths
from dockpod.lint.helm import is_prod_like
from dockpod.lint.kubernetes import KPO_RBAC

HERE = Path(__file__).parent
SIDECAR_POD = """\
apiVersion: v1
kind: Pod
metadata:
  name: task
spec:
  automountServiceAccountToken: false
  securityContext: {runAsNonRoot: true, seccompProfile: {type: RuntimeDefault}}
  initContainers:
    - name: proxy
      image: registry.example.com/proxy:1.0.0
      restartPolicy: Always
      resources: {requests: {cpu: 10m, memory: 16Mi}, limits: {memory: 32Mi}}
      securityContext: {allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}}
  containers:
    - name: task
      image: registry.example.com/task:1.0.0
      resources: {requests: {cpu: 10m, memory: 16Mi}, limits: {memory: 32Mi}}
      securityContext: {allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}}
"""


def _found(tmp_path: Path, name: str, text: str, **options) -> set[tuple[int, str]]:
    path = tmp_path / name
    path.write_text(text)
    return {(f.line, f.rule) for f in lint_paths([path], **options).findings}


def test_the_k8s_version_picks_the_schema(tmp_path):
    # Native sidecars (an init container with restartPolicy) exist from Kubernetes 1.28 on.
    assert _found(tmp_path, "pod.yaml", SIDECAR_POD, k8s_version="1.28") == set()
    assert _found(tmp_path, "pod.yaml", SIDECAR_POD, k8s_version="1.37") == set()
    assert _found(tmp_path, "pod.yaml", SIDECAR_POD, k8s_version="1.27") == {(11, "DP301")}


def test_the_k8s_version_comes_from_the_cli_and_the_config(tmp_path, monkeypatch):
    (tmp_path / "pod.yaml").write_text(SIDECAR_POD)
    old = CliRunner().invoke(app, ["lint", str(tmp_path / "pod.yaml"), "--k8s-version", "1.27", "--format", "json"])
    assert [f["rule"] for f in json.loads(old.stdout)["findings"]] == ["DP301"]
    assert "restartPolicy: unknown field" in old.stdout
    (tmp_path / "dockpod.toml").write_text('[lint]\nk8s_version = "1.27"\n')
    monkeypatch.setenv("DOCKPOD_CONFIG", str(tmp_path / "dockpod.toml"))
    configured = CliRunner().invoke(app, ["lint", str(tmp_path / "pod.yaml"), "--format", "json"])
    assert [f["rule"] for f in json.loads(configured.stdout)["findings"]] == ["DP301"]


def test_an_unknown_k8s_version_is_one_clear_error(tmp_path):
    (tmp_path / "pod.yaml").write_text(SIDECAR_POD)
    with pytest.raises(DockpodError, match="has no schemas"):
        lint_paths([tmp_path / "pod.yaml"], k8s_version="1.2")


def test_json_manifests_report_the_failing_key_line(tmp_path):
    pod = json.loads(json.dumps({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "t"}, "spec": {
        "automountServiceAccountToken": False,
        "securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
        "containers": [{"name": "t", "image": "registry.example.com/t:1.0", "imagePullPolicy": "Always",
                        "resources": {"requests": {"cpu": "1"}, "limits": {"memory": "1Gi"}},
                        "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}},
                        "argz": ["x"]}]}}))
    text = json.dumps(pod, indent=2)
    line = next(n for n, row in enumerate(text.splitlines(), start=1) if '"argz"' in row)
    assert _found(tmp_path, "pod.json", text) == {(line, "DP301")}


def test_a_yaml_syntax_error_is_dp002_at_its_line(tmp_path):
    text = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: [unclosed\n"
    assert _found(tmp_path, "broken.yaml", text) == {(5, "DP002")}
    assert _found(tmp_path, "values-broken.yaml", "executor: [\n") == {(2, "DP002")}


def test_helm_templates_in_a_manifest_folder_are_not_parse_errors(tmp_path):
    text = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\n  {{- with .Values.x }}\n"
    assert _found(tmp_path, "configmap.yaml", text) == set()


def test_a_kind_list_is_linted_item_by_item(tmp_path):
    text = ("apiVersion: v1\nkind: List\nitems:\n"
            "  - apiVersion: v1\n    kind: ConfigMap\n    metadata: {name: a}\n    dataa: {}\n")
    assert _found(tmp_path, "list.yaml", text) == {(7, "DP301")}


def test_the_kpo_rbac_set_covers_every_call_the_provider_makes():
    """The provider's pod API calls, read from its source, map into KPO_RBAC (a guard against drift)."""
    import airflow.providers.cncf.kubernetes as provider

    root = Path(provider.__file__).parent
    sources = [root / "utils" / "pod_manager.py", root / "operators" / "pod.py", root / "hooks" / "kubernetes.py"]
    verb_of = {"create": "create", "read": "get", "list": "list", "delete": "delete", "patch": "patch",
               "connect_get": "get"}
    resource_of = {"pod": "pods", "pod_log": "pods/log", "pod_exec": "pods/exec", "event": "events"}
    calls = set()
    for source in sources:
        for verb, resource in re.findall(r"\.(create|read|list|delete|patch|connect_get)_namespaced_"
                                         r"(pod_log|pod_exec|pod|event)\b", source.read_text()):
            calls.add((resource_of[resource], verb_of[verb]))
    assert calls, "the provider's layout changed: no pod API call found"
    assert {(r, v) for r, v in calls if v not in KPO_RBAC.get(r, ())} == set()
    assert ("pods/exec", "get") in calls and ("events", "list") in calls


@pytest.mark.parametrize(("path", "prod"), [
    ("values-prod.yaml", True), ("prod-values.yaml", True), ("values.production.yaml", True),
    ("prod/values.yaml", True), ("envs/production/eu/values.yaml", True), ("values.yaml", False),
    ("values-staging.yaml", False), ("values-product-team.yaml", False), ("values-nonprod.yaml", False),
])
def test_prod_like_files(path, prod):
    assert is_prod_like(Path("/repo/deploy") / path) is prod


def test_a_prod_like_file_must_carry_what_production_needs(tmp_path):
    text = 'airflowVersion: "3.1.3"\ndefaultAirflowTag: "3.1.3"\n'
    assert _found(tmp_path, "values-staging.yaml", text) == set()
    assert _found(tmp_path, "values-prod.yaml", text) == {(1, "DP402"), (1, "DP403"), (1, "DP405")}
    airflow2 = 'airflowVersion: "2.10.5"\ndefaultAirflowTag: "2.10.5"\nwebserverSecretKeySecretName: ws\n' \
               "fernetKeySecretName: f\nscheduler: {resources: {requests: {cpu: 1}}}\n" \
               "workers: {resources: {requests: {cpu: 1}}}\n"
    assert _found(tmp_path, "values-prod.yaml", airflow2) == set()


def test_only_celery_settings_are_flagged_under_local_executor(tmp_path):
    text = ('executor: LocalExecutor\nairflowVersion: "3.1.3"\nscheduler:\n  resources: {requests: {cpu: 1}}\n'
            "workers:\n  keda: {enabled: true}\n")
    assert _found(tmp_path, "values.yaml", text) == {(6, "DP404")}


def test_prod_in_the_middle_of_a_folder_name_is_not_prod():
    assert not is_prod_like(Path("/tmp/test_a_prod_like_file0/values.yaml"))
    assert is_prod_like(Path("/repo/production-eu/values.yaml"))
