"""deploy/k8s and deploy/helm: strict schema, dockpod lint, the KPO Role, the chart's keys, helm template, a pod run.

The official chart cannot be downloaded here, so the values files are checked against the chart's keys:
the top-level ones are dockpod's own data (dockpod.lint._helm_chart_keys); the nested ones this project
sets are listed below (CHART_CHILD_KEYS), read from the chart's values.yaml (chart 1.18, the commit
_helm_chart_keys names). ``helm template`` runs only where a helm binary and an unpacked chart
(AIRFLOW_CHART) exist, and is skipped with that reason otherwise.
"""

from __future__ import annotations

import copy
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from dockpod.lint import Severity, lint_paths
from dockpod.lint._helm_chart_keys import CHART_TOP_LEVEL_KEYS
from dockpod.lint.kubernetes import KPO_RBAC
from dockpod.render.validate import DEFAULT_K8S_VERSION, validate_manifest

REPO = Path(__file__).resolve().parents[2]
K8S = REPO / "deploy" / "k8s"
HELM = REPO / "deploy" / "helm"
MANIFESTS = sorted(K8S.glob("*.yaml"))
VALUES = sorted(HELM.glob("values-*.yaml"))
AIRFLOW_IMAGE = "registry.example.com/dockpod/airflow:3.3.2"
ETL_IMAGE = "localhost:5000/dockpod/etl:1.0"

_PROBE = {"initialDelaySeconds", "timeoutSeconds", "failureThreshold", "periodSeconds", "command"}
_HTTP_PROBE = {"initialDelaySeconds", "timeoutSeconds", "failureThreshold", "periodSeconds", "scheme"}
_PDB = {"enabled", "config"}
_PERSISTENCE = {"enabled", "persistentVolumeClaimRetentionPolicy", "size", "storageClassName", "fixPermissions",
                "annotations"}
#: The chart's keys below a section (path -> the keys it knows), for the sections whose keys are fixed by the
#: chart. Sections that hold Kubernetes objects or Airflow config (resources, securityContexts.pod, config...)
#: are not listed: their keys are checked by the schema or by Airflow. "[]" stands for the items of a list.
CHART_CHILD_KEYS: dict[tuple[str, ...], set[str]] = {
    ("images",): {"airflow", "useDefaultImageForMigration", "migrationsWaitTimeout", "pod_template", "flower",
                  "statsd", "redis", "pgbouncer", "pgbouncerExporter", "gitSync"},
    ("securityContexts",): {"pod", "containers"},
    ("imagePullSecrets", "[]"): {"name"},
    ("priorityClasses", "[]"): {"name", "preemptionPolicy", "value"},
    ("secret", "[]"): {"envName", "secretName", "secretKey"},
    ("postgresql",): {"enabled", "image", "auth"},
    ("data",): {"metadataSecretName", "resultBackendSecretName", "brokerUrlSecretName", "metadataConnection",
                "resultBackendConnection", "resultBackendConnectionSecretAnnotations", "brokerUrl",
                "brokerUrlSecretAnnotations"},
    ("redis",): {"enabled", "terminationGracePeriodSeconds", "annotations", "serviceAccount", "service", "persistence",
                 "resources", "passwordSecretName", "password", "passwordSecretAnnotations", "safeToEvict",
                 "nodeSelector", "affinity", "tolerations", "topologySpreadConstraints", "priorityClassName", "uid",
                 "securityContext", "securityContexts", "containerLifecycleHooks", "labels", "podAnnotations"},
    ("redis", "persistence"): {"enabled", "size", "storageClassName", "annotations", "existingClaim"},
    ("scheduler",): {"enabled", "hostAliases", "livenessProbe", "startupProbe", "replicas", "revisionHistoryLimit",
                     "command", "args", "updateStrategy", "strategy", "securityContext", "securityContexts",
                     "containerLifecycleHooks", "terminationGracePeriodSeconds", "serviceAccount",
                     "podDisruptionBudget", "resources", "safeToEvict", "extraContainers", "extraInitContainers",
                     "extraVolumes", "extraVolumeMounts", "nodeSelector", "affinity", "tolerations",
                     "topologySpreadConstraints", "priorityClassName", "annotations", "podAnnotations", "labels",
                     "logGroomerSidecar", "waitForMigrations", "env"},
    ("scheduler", "livenessProbe"): _PROBE,
    ("scheduler", "startupProbe"): _PROBE,
    ("scheduler", "podDisruptionBudget"): _PDB,
    ("apiServer",): {"enabled", "replicas", "revisionHistoryLimit", "labels", "command", "args", "allowPodLogReading",
                     "env", "hpa", "serviceAccount", "service", "podDisruptionBudget", "strategy", "securityContexts",
                     "containerLifecycleHooks", "waitForMigrations", "extraContainers", "extraInitContainers",
                     "extraVolumes", "extraVolumeMounts", "nodeSelector", "affinity", "tolerations",
                     "topologySpreadConstraints", "priorityClassName", "hostAliases", "annotations", "podAnnotations",
                     "networkPolicy", "resources", "configMapAnnotations", "apiServerConfig",
                     "apiServerConfigConfigMapName", "livenessProbe", "readinessProbe", "startupProbe"},
    ("apiServer", "livenessProbe"): _HTTP_PROBE,
    ("apiServer", "readinessProbe"): _HTTP_PROBE,
    ("apiServer", "startupProbe"): _HTTP_PROBE,
    ("apiServer", "podDisruptionBudget"): _PDB,
    ("apiServer", "networkPolicy"): {"ingress"},
    ("apiServer", "networkPolicy", "ingress"): {"from", "ports"},
    ("dagProcessor",): {"enabled", "replicas", "revisionHistoryLimit", "command", "args", "strategy", "livenessProbe",
                        "serviceAccount", "securityContext", "securityContexts", "containerLifecycleHooks",
                        "resources", "terminationGracePeriodSeconds", "safeToEvict", "extraContainers",
                        "extraInitContainers", "extraVolumes", "extraVolumeMounts", "nodeSelector", "affinity",
                        "tolerations", "topologySpreadConstraints", "priorityClassName", "annotations",
                        "podAnnotations", "logGroomerSidecar", "waitForMigrations", "labels", "env"},
    ("dagProcessor", "livenessProbe"): _PROBE,
    ("triggerer",): {"enabled", "replicas", "revisionHistoryLimit", "command", "args", "updateStrategy", "strategy",
                     "livenessProbe", "serviceAccount", "securityContext", "securityContexts",
                     "containerLifecycleHooks", "persistence", "resources", "terminationGracePeriodSeconds",
                     "safeToEvict", "extraContainers", "extraInitContainers", "extraVolumes", "extraVolumeMounts",
                     "nodeSelector", "affinity", "tolerations", "topologySpreadConstraints", "hostAliases",
                     "priorityClassName", "annotations", "podAnnotations", "labels", "logGroomerSidecar",
                     "waitForMigrations", "env", "keda"},
    ("triggerer", "livenessProbe"): _PROBE,
    ("triggerer", "persistence"): _PERSISTENCE,
    ("workers",): {"replicas", "revisionHistoryLimit", "command", "args", "livenessProbe", "updateStrategy",
                   "strategy", "securityContext", "securityContexts", "containerLifecycleHooks", "serviceAccount",
                   "keda", "hpa", "persistence", "kerberosSidecar", "kerberosInitContainer", "resources",
                   "terminationGracePeriodSeconds", "safeToEvict", "extraContainers", "extraInitContainers",
                   "extraVolumes", "extraVolumeMounts", "extraPorts", "nodeSelector", "runtimeClassName",
                   "priorityClassName", "affinity", "tolerations", "topologySpreadConstraints", "hostAliases",
                   "annotations", "podAnnotations", "labels", "logGroomerSidecar", "waitForMigrations", "env",
                   "volumeClaimTemplates", "useWorkerDedicatedServiceAccounts", "celery", "kubernetes"},
    ("workers", "livenessProbe"): _PROBE | {"enabled"},
    ("workers", "persistence"): _PERSISTENCE | {"securityContexts", "containerLifecycleHooks"},
    ("statsd",): {"configMapAnnotations", "enabled", "revisionHistoryLimit", "args", "annotations",
                  "terminationGracePeriodSeconds", "serviceAccount", "uid", "securityContext", "securityContexts",
                  "containerLifecycleHooks", "extraNetworkPolicies", "resources", "service", "nodeSelector",
                  "affinity", "tolerations", "topologySpreadConstraints", "priorityClassName", "extraMappings",
                  "overrideMappings", "podAnnotations", "labels", "env"},
    ("pgbouncer",): {"enabled", "replicas", "revisionHistoryLimit", "command", "args", "auth_type", "auth_file",
                     "mountConfigSecret", "annotations", "podAnnotations", "certificatesSecretAnnotations",
                     "serviceAccount", "extraNetworkPolicies", "metadataPoolSize", "resultBackendPoolSize",
                     "maxClientConn", "configSecretName", "configSecretAnnotations", "podDisruptionBudget",
                     "resources", "service", "verbose", "logDisconnections", "logConnections", "sslmode", "ciphers",
                     "ssl", "extraIniMetadata", "extraIniResultBackend", "extraIni", "extraVolumes",
                     "extraVolumeMounts", "extraContainers", "nodeSelector", "affinity", "tolerations",
                     "topologySpreadConstraints", "priorityClassName", "uid", "securityContexts",
                     "containerLifecycleHooks", "metricsExporterSidecar", "labels", "env"},
    ("pgbouncer", "podDisruptionBudget"): _PDB,
    ("pgbouncer", "metricsExporterSidecar"): {"resources", "sslmode", "statsSecretName", "statsSecretKey",
                                              "statsSecretAnnotations", "securityContexts", "containerLifecycleHooks",
                                              "livenessProbe", "readinessProbe", "extraVolumeMounts"},
    ("networkPolicies",): {"enabled"},
    ("ingress",): {"enabled", "apiServer", "web", "flower", "statsd", "pgbouncer"},
    ("ingress", "apiServer"): {"enabled", "annotations", "path", "pathType", "host", "hosts", "ingressClassName", "tls",
                               "precedingPaths", "succeedingPaths"},
    ("ingress", "apiServer", "hosts", "[]"): {"name", "tls"},
    ("ingress", "apiServer", "hosts", "[]", "tls"): {"enabled", "secretName"},
    ("dags",): {"mountPath", "persistence", "gitSync"},
    ("dags", "persistence"): {"annotations", "enabled", "size", "storageClassName", "accessMode", "existingClaim",
                              "subPath"},
    ("dags", "gitSync"): {"enabled", "repo", "branch", "rev", "ref", "depth", "maxFailures", "subPath",
                          "credentialsSecret", "sshKeySecret", "sshKey", "knownHosts", "period", "wait", "envFrom",
                          "containerName", "uid", "securityContext", "securityContexts", "containerLifecycleHooks",
                          "readinessProbe", "livenessProbe", "extraVolumeMounts", "env", "resources"},
    ("logs",): {"persistence", "emptyDirConfig"},
    ("logs", "persistence"): {"enabled", "size", "annotations", "storageClassName", "existingClaim", "subPath"},
}


def _load_all(path: Path) -> list[Any]:
    return [doc for doc in YAML(typ="safe").load_all(path) if doc]


def _objects() -> list[tuple[str, dict[str, Any]]]:
    return [(path.name, doc) for path in MANIFESTS for doc in _load_all(path)]


def _values(name: str) -> dict[str, Any]:
    return YAML(typ="safe").load(HELM / name)


def _by_kind(kind: str) -> dict[str, dict[str, Any]]:
    return {doc["metadata"]["name"]: doc for _file, doc in _objects() if doc["kind"] == kind}


def _unknown_keys(node: Any, path: tuple[str, ...] = ()) -> list[str]:
    """Dotted paths of keys the chart does not know, where CHART_CHILD_KEYS (or the top-level list) covers them."""
    found = []
    if isinstance(node, list):
        for item in node:
            found += _unknown_keys(item, (*path, "[]"))
        return found
    if not isinstance(node, dict):
        return found
    known = CHART_TOP_LEVEL_KEYS if not path else CHART_CHILD_KEYS.get(path)
    if known is None:
        return found
    for key, value in node.items():
        if key not in known:
            found.append(".".join((*path, key)))
        else:
            found += _unknown_keys(value, (*path, key))
    return found


# --- the raw manifests ----------------------------------------------------------------------------------------------

def test_the_manifests_cover_what_the_issue_lists():
    kinds = {(doc["kind"], doc["metadata"]["name"]) for _file, doc in _objects()}
    for expected in [("Namespace", "airflow"), ("ServiceAccount", "airflow-worker"), ("Role", "airflow-pod-launcher"),
                     ("RoleBinding", "airflow-pod-launcher"), ("ConfigMap", "airflow-config"),
                     ("Secret", "airflow-secrets"), ("PersistentVolumeClaim", "airflow-logs"),
                     ("PersistentVolumeClaim", "airflow-data"), ("Deployment", "airflow-scheduler"),
                     ("Deployment", "airflow-api-server"), ("Deployment", "airflow-dag-processor"),
                     ("Deployment", "airflow-triggerer"), ("StatefulSet", "airflow-worker"),
                     ("Service", "airflow-api-server"), ("Ingress", "airflow"),
                     ("NetworkPolicy", "airflow-default-deny-ingress")]:
        assert expected in kinds


@pytest.mark.parametrize("name", [path.name for path in MANIFESTS])
def test_every_object_is_valid_for_the_newest_kubernetes_strictly(name):
    for doc in _load_all(K8S / name):
        assert validate_manifest(doc, k8s_version=DEFAULT_K8S_VERSION, strict=True) == [], \
            (name, doc["kind"], doc["metadata"]["name"])


def test_dockpod_lint_finds_nothing_at_any_level():
    # Not even info: every pod sets seccompProfile RuntimeDefault (DP314), so no reason needs stating.
    report = lint_paths([K8S, HELM], severity=Severity.INFO)
    assert report.findings == []
    assert report.files == {"kubernetes": len(MANIFESTS), "helm_values": len(VALUES)}


def test_the_role_grants_exactly_what_kubernetes_pod_operator_needs():
    role = _by_kind("Role")["airflow-pod-launcher"]
    granted: dict[str, set[str]] = {}
    for rule in role["rules"]:
        assert rule["apiGroups"] == [""]
        for resource in rule["resources"]:
            granted.setdefault(resource, set()).update(rule["verbs"])
    assert granted == {resource: set(verbs) for resource, verbs in KPO_RBAC.items()}
    binding = _by_kind("RoleBinding")["airflow-pod-launcher"]
    assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role",
                                  "name": "airflow-pod-launcher"}
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "airflow-worker", "namespace": "airflow"}]


def _pod_specs() -> dict[str, dict[str, Any]]:
    specs = {}
    for kind in ("Deployment", "StatefulSet", "Job"):
        for name, obj in _by_kind(kind).items():
            specs[name] = obj["spec"]["template"]["spec"]
    return specs


def test_only_the_pods_that_launch_pods_get_a_token():
    specs = _pod_specs()
    with_api = {name for name, spec in specs.items() if spec["serviceAccountName"] == "airflow-worker"}
    assert with_api == {"airflow-scheduler", "airflow-worker"}
    for name, spec in specs.items():
        if name not in with_api:
            assert spec["serviceAccountName"] == "airflow-component" and spec["automountServiceAccountToken"] is False


def test_every_pod_is_hardened_and_every_component_probed():
    probes = {"airflow-scheduler": "SchedulerJob", "airflow-dag-processor": "DagProcessorJob",
              "airflow-triggerer": "TriggererJob"}
    for name, spec in _pod_specs().items():
        assert spec["securityContext"] == {"runAsNonRoot": True, "runAsUser": 50000, "runAsGroup": 0, "fsGroup": 0,
                                           "seccompProfile": {"type": "RuntimeDefault"}}, name
        for container in spec.get("initContainers", []) + spec["containers"]:
            assert container["image"] == AIRFLOW_IMAGE
            assert container["securityContext"] == {"allowPrivilegeEscalation": False,
                                                    "capabilities": {"drop": ["ALL"]}}
            assert container["resources"]["requests"] and container["resources"]["limits"]["memory"]
        main = spec["containers"][0]
        if name in probes:
            command = ["airflow", "jobs", "check", "--job-type", probes[name], "--local"]
            assert main["livenessProbe"]["exec"]["command"] == command
            assert main["readinessProbe"]["exec"]["command"] == command
    api = _pod_specs()["airflow-api-server"]["containers"][0]
    assert api["livenessProbe"]["httpGet"] == {"path": "/api/v2/monitor/health", "port": "http"}
    assert api["ports"] == [{"name": "http", "containerPort": 8080}]


def test_the_secret_holds_placeholders_only_and_claims_pick_a_storage_class():
    secret = _by_kind("Secret")["airflow-secrets"]
    assert "data" not in secret and set(secret["stringData"].values()) == {"REPLACE_ME"}
    claims = _by_kind("PersistentVolumeClaim")
    assert set(claims) == {"airflow-logs", "airflow-dags", "airflow-data"}
    assert all(claim["spec"]["storageClassName"] == "airflow-rwx" for claim in claims.values())
    mounted = {v["persistentVolumeClaim"]["claimName"] for spec in _pod_specs().values()
               for v in spec.get("volumes", []) if "persistentVolumeClaim" in v}
    assert mounted == set(claims)


def test_the_ingress_terminates_tls_for_the_api_server():
    ingress = _by_kind("Ingress")["airflow"]["spec"]
    assert ingress["tls"] == [{"hosts": ["airflow.example.com"], "secretName": "airflow-tls"}]
    backend = ingress["rules"][0]["http"]["paths"][0]["backend"]["service"]
    assert backend["name"] == "airflow-api-server" and backend["name"] in _by_kind("Service")


# --- the Helm values ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", [path.name for path in VALUES])
def test_every_key_of_the_values_is_a_key_of_the_chart(name):
    assert _unknown_keys(_values(name)) == []


def test_the_key_check_catches_a_misspelled_nested_key():
    assert _unknown_keys({"dags": {"gitSync": {"enabeld": True}}, "logs": {"persistence": {"enabled": True}}}) == [
        "dags.gitSync.enabeld"]


def test_prod_values_have_what_production_needs():
    values = _values("values-prod.yaml")
    assert set(values["executor"].split(",")) <= {"CeleryExecutor", "KubernetesExecutor"}
    assert values["postgresql"]["enabled"] is False and values["data"]["metadataSecretName"]
    assert values["dags"]["gitSync"]["enabled"] is True
    assert values["logs"]["persistence"]["enabled"] is True and values["logs"]["persistence"]["storageClassName"]
    for component in ("scheduler", "apiServer", "dagProcessor", "triggerer", "workers"):
        assert values[component]["resources"]["limits"]["memory"], component
        assert values[component]["livenessProbe"], component
    assert values["securityContexts"]["pod"]["runAsNonRoot"] is True
    assert values["securityContexts"]["containers"]["capabilities"] == {"drop": ["ALL"]}
    assert values["defaultAirflowTag"] == values["airflowVersion"] == "3.3.2"


def test_enterprise_values_add_the_enterprise_features_to_prod():
    prod, enterprise = _values("values-prod.yaml"), _values("values-enterprise.yaml")
    assert enterprise["networkPolicies"] == {"enabled": True}
    assert enterprise["pgbouncer"]["enabled"] is True and enterprise["pgbouncer"]["resources"]
    for component in ("scheduler", "apiServer", "pgbouncer"):
        assert enterprise[component]["podDisruptionBudget"]["enabled"] is True, component
    classes = {pc["name"] for pc in enterprise["priorityClasses"]}
    for component in ("scheduler", "apiServer", "dagProcessor", "triggerer", "workers", "pgbouncer"):
        assert enterprise[component]["priorityClassName"] in classes, component
    assert enterprise["secret"] and all(ref["secretName"] for ref in enterprise["secret"])
    hosts = enterprise["ingress"]["apiServer"]["hosts"]
    assert enterprise["ingress"]["apiServer"]["enabled"] is True and hosts[0]["tls"] == {
        "enabled": True, "secretName": "airflow-tls"}
    assert enterprise["imagePullSecrets"] == [{"name": "registry-credentials"}]
    for key in ("executor", "dags", "logs", "data", "postgresql", "fernetKeySecretName", "apiSecretKeySecretName"):
        assert enterprise[key] == prod[key], key


def test_dev_values_are_small_and_local():
    values = _values("values-dev.yaml")
    assert values["executor"] == "LocalExecutor" and values["postgresql"]["enabled"] is True
    assert "workers" not in values


def _chart_problem() -> str | None:
    if shutil.which("helm") is None:
        return "no helm binary on PATH (it cannot be downloaded on these machines)"
    chart = os.environ.get("AIRFLOW_CHART", "")
    if not chart or not (Path(chart) / "Chart.yaml").is_file():
        return "AIRFLOW_CHART does not name an unpacked apache-airflow chart (it cannot be downloaded here)"
    return None


@pytest.mark.parametrize("name", [path.name for path in VALUES])
def test_helm_template_renders_schema_valid_objects(name):
    problem = _chart_problem()
    if problem is not None:
        pytest.skip(f"helm template not run: {problem}")
    rendered = subprocess.run(["helm", "template", "airflow", os.environ["AIRFLOW_CHART"], "-n", "airflow",
                               "-f", str(HELM / name)], check=True, capture_output=True, text=True).stdout
    objects = [doc for doc in YAML(typ="safe").load_all(rendered) if doc]
    assert objects
    problems = [f"{d['kind']}/{d['metadata']['name']}: {p}" for d in objects for p in validate_manifest(d)]
    assert problems == []


# --- a pod of the worker StatefulSet, run for real --------------------------------------------------------------------

@pytest.fixture
def claims_removed():
    claims = ["airflow-dags", "airflow-data", "airflow-logs"]
    yield claims
    subprocess.run(["podman", "volume", "rm", "--force", *claims], capture_output=True, check=False)


@pytest.mark.integration
def test_the_worker_pod_spec_runs_under_podman(claims_removed):
    """The worker's pod template as a Pod: its security context, config, secrets and claims work for real.

    The Airflow image is not in the local registry, so the ETL image stands in with a short command;
    everything else (uid/gid, fsGroup, envFrom the ConfigMap, secretKeyRefs, the three PVCs) is the manifest's.
    """
    from dockpod.runtime.podman import run_pod

    spec = copy.deepcopy(_by_kind("StatefulSet")["airflow-worker"]["spec"]["template"]["spec"])
    spec.pop("initContainers")
    spec["restartPolicy"] = "Never"
    container = spec["containers"][0]
    for key in ("args", "livenessProbe", "readinessProbe", "ports"):
        container.pop(key)
    script = ("id -u; id -g; echo written > /opt/airflow/logs/probe.txt && cat /opt/airflow/logs/probe.txt; "
              "touch /opt/airflow/dags/x 2>/dev/null || echo dags-read-only; echo $AIRFLOW__CORE__EXECUTOR; "
              "test -n \"$AIRFLOW__DATABASE__SQL_ALCHEMY_CONN\" && echo conn-set")
    container.update(name="base", image=ETL_IMAGE, command=["sh", "-c", script])
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "airflow-worker-play"}, "spec": spec}
    config_map, secret = _by_kind("ConfigMap")["airflow-config"], _by_kind("Secret")["airflow-secrets"]
    run = run_pod(pod, config_maps={"airflow-config": config_map["data"]},
                  secrets={"airflow-secrets": {key: "not-a-real-value" for key in secret["stringData"]}}, timeout=180)
    assert run.exit_code == 0, (run.reason, run.logs)
    assert list(run.logs) == ["50000", "0", "written", "dags-read-only", "CeleryExecutor", "conn-set"]
