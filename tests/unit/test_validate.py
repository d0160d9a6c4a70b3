"""Offline validation of manifests against the Kubernetes OpenAPI schema (kubernetes-validate)."""

from __future__ import annotations

import copy

import pytest

from dockpod.errors import DockpodError
from dockpod.operators import build_operator
from dockpod.profiles import get_profile
from dockpod.render.validate import DEFAULT_K8S_VERSION, available_versions, validate_manifest
from dockpod.spec import ContainerSpec, Secret, Volume

POD = {
    "apiVersion": "v1",
    "kind": "Pod",
    "metadata": {"name": "etl", "labels": {"app.kubernetes.io/name": "etl"}},
    "spec": {
        "restartPolicy": "Never",
        "containers": [{
            "name": "base",
            "image": "registry.localhost/dockpod/etl:1.0",
            "args": ["extract", "--rows", "3"],
            "resources": {"limits": {"memory": "64Mi", "cpu": "500m"}, "requests": {"cpu": 0.1}},
            "securityContext": {"runAsUser": 1000, "runAsNonRoot": True},
            "volumeMounts": [{"name": "scratch", "mountPath": "/scratch"}],
        }],
        "volumes": [{"name": "scratch", "emptyDir": {}}],
    },
}


def kpo_pod(**fields) -> dict:
    from kubernetes.client import ApiClient

    spec = ContainerSpec(image="registry.localhost/dockpod/etl:1.0", command=["extract", "--rows", "3"], xcom=True,
                         **fields)
    operator = build_operator(spec, get_profile("production"), task_id="validate-me")
    return ApiClient().sanitize_for_serialization(operator.build_pod_request_obj(dry_run=True))


def broken(change) -> dict:
    doc = copy.deepcopy(POD)
    change(doc)
    return doc


def test_default_version_is_the_newest_available():
    versions = available_versions()
    assert versions == sorted(set(versions), key=lambda v: tuple(map(int, v.split("."))))
    assert versions[-1] == DEFAULT_K8S_VERSION
    assert all(v.count(".") == 1 for v in versions)


def test_a_valid_pod_passes():
    assert validate_manifest(POD) == []
    assert validate_manifest(POD, k8s_version=available_versions()[0]) == []
    assert validate_manifest(POD, k8s_version=f"v{DEFAULT_K8S_VERSION}.0") == []


def test_pods_built_by_the_provider_pass_strict_mode_with_their_empty_fields():
    pod = kpo_pod(
        env={"A": "1"}, secrets=[Secret("db", "password", env="DB_PASSWORD"), Secret("api", path="/etc/api")],
        volumes=[Volume.named("shared", "/data"), Volume.tmpfs("/tmp/work", size="64Mi")],
        resources={"memory_limit": "256Mi", "cpu_request": "250m"}, security={"user": "1000:1000"},
        sidecars=[ContainerSpec(name="helper", image="registry.localhost/dockpod/debian:bookworm",
                                security={"user": "1000:1000"})],
    )
    assert pod["spec"]["affinity"] == {} and pod["spec"]["nodeSelector"] == {}  # what strict mode must accept
    assert pod["spec"]["initContainers"][0]["restartPolicy"] == "Always"
    assert validate_manifest(pod) == []


def test_wrong_type_names_the_path():
    doc = broken(lambda d: d["spec"]["containers"][0]["securityContext"].update(runAsUser="root"))
    assert validate_manifest(doc) == [
        "spec.containers[0].securityContext.runAsUser: expected integer, got string 'root'"]


def test_unknown_field_fails_in_strict_mode_only():
    doc = broken(lambda d: d["spec"]["containers"][0].update(imagePullPolice="Always"))
    problems = validate_manifest(doc)
    assert len(problems) == 1
    assert problems[0].startswith("spec.containers[0].imagePullPolice: unknown field")
    assert validate_manifest(doc, strict=False) == []


def test_missing_required_field_names_the_path():
    doc = broken(lambda d: d["spec"]["containers"][0].pop("name"))
    assert validate_manifest(doc) == ["spec.containers[0].name: required field is missing"]


def test_every_problem_is_reported_not_only_the_first():
    def change(d):
        d["spec"]["containers"][0]["securityContext"]["runAsUser"] = "x"
        d["spec"]["volumes"][0]["emptyDir"]["sizeLimitt"] = "1Gi"
        d["metadata"]["labels"]["app.kubernetes.io/name"] = 3
        del d["spec"]["containers"][0]["volumeMounts"][0]["mountPath"]

    assert validate_manifest(broken(change)) == [
        'metadata.labels["app.kubernetes.io/name"]: expected string, got integer 3',
        "spec.containers[0].securityContext.runAsUser: expected integer, got string 'x'",
        "spec.containers[0].volumeMounts[0].mountPath: required field is missing",
        f"spec.volumes[0].emptyDir.sizeLimitt: unknown field (not in the Kubernetes {DEFAULT_K8S_VERSION} "
        "schema; strict mode)",
    ]


def test_quantity_of_the_wrong_type_and_of_the_wrong_syntax():
    doc = broken(lambda d: d["spec"]["containers"][0]["resources"]["limits"].update(memory={"a": 1}, cpu="2g"))
    problems = validate_manifest(doc)
    assert "spec.containers[0].resources.limits.memory: expected string or number, got object {'a': 1}" in problems
    assert any(p.startswith("spec.containers[0].resources.limits.cpu: '2g' is not a Kubernetes quantity")
               for p in problems)


def test_documents_without_kind_or_of_unknown_kind():
    assert validate_manifest({"metadata": {}}) == ["apiVersion: required field is missing",
                                                   "kind: required field is missing"]
    problems = validate_manifest({"apiVersion": "v1", "kind": "Podd", "metadata": {"name": "x"}})
    assert len(problems) == 1 and "Podd" in problems[0] and "no schema" in problems[0]
    assert validate_manifest(["not", "a", "mapping"]) == [
        "(document): expected a Kubernetes object (a mapping), got array"]


def test_unknown_kubernetes_version_is_refused_with_the_known_ones():
    with pytest.raises(DockpodError, match=r"1\.2'.*known versions: .*" + DEFAULT_K8S_VERSION.replace(".", r"\.")):
        validate_manifest(POD, k8s_version="1.2")
