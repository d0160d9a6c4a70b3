"""Pod templates read into the spec's terms, merged the way KubernetesPodOperator merges them."""

import json

import pytest

from dockpod.backends.pod_template import merge_template, template_parts
from dockpod.errors import TranslationError
from dockpod.operators import build_operator
from dockpod.profiles import get_profile
from dockpod.spec import ContainerSpec

IMAGE = "registry.localhost/dockpod/etl:1.0"
TEMPLATE = {
    "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "template"},
    "spec": {
        "securityContext": {"runAsUser": 1000, "runAsGroup": 1000, "fsGroup": 1000},
        "nodeSelector": {"pool": "batch"},
        "initContainers": [
            {"name": "wait", "image": IMAGE, "command": ["sh", "-c", "true"],
             "volumeMounts": [{"name": "team", "mountPath": "/etc/team"}]},
            {"name": "proxy", "image": IMAGE, "restartPolicy": "Always", "args": ["serve"],
             "readinessProbe": {"exec": {"command": ["true"]}, "periodSeconds": 2}},
        ],
        "containers": [
            {"name": "base", "env": [{"name": "TEAM", "value": "data"}, {"name": "STAGE", "value": "template"},
                                     {"name": "TOKEN", "valueFrom": {"secretKeyRef": {"name": "api", "key": "t"}}}],
             "volumeMounts": [{"name": "team", "mountPath": "/etc/team"},
                              {"name": "cache", "mountPath": "/cache"}]},
            {"name": "shipper", "image": IMAGE, "args": ["sleep", "60"]},
        ],
        "volumes": [{"name": "team", "emptyDir": {}}, {"name": "cache", "emptyDir": {"medium": "Memory"}}],
    },
}


@pytest.fixture
def template(tmp_path):
    path = tmp_path / "template.json"  # JSON is YAML too
    path.write_text(json.dumps(TEMPLATE))
    return str(path)


def test_template_parts_in_the_spec_terms(template):
    parts = template_parts(template)
    assert [c.name for c in parts.init_containers] == ["wait"]
    assert [c.name for c in parts.sidecars] == ["proxy", "shipper"]  # native sidecar first, then extra containers
    assert parts.sidecars[0].command == ("serve",) and parts.sidecars[0].readiness_probe.period_seconds == 2
    assert dict(parts.env) == {"TEAM": "data", "STAGE": "template"}
    assert [(s.name, s.key, s.env) for s in parts.secrets] == [("api", "t", "TOKEN")]
    assert [(v.kind, v.target) for v in parts.volumes] == [("empty_dir", "/etc/team"), ("tmpfs", "/cache")]
    assert parts.user == "1000:1000" and parts.fs_group == 1000


def test_the_task_wins_and_lists_extend(template):
    spec = ContainerSpec(image=IMAGE, env={"STAGE": "task"}, security={"user": "2000:2000"},
                         resources={"cpu_limit": "250m", "memory_limit": "64Mi"},
                         init_containers=[{"name": "mine", "image": IMAGE}])
    merged = merge_template(spec, template_parts(template))
    assert merged.resources == spec.resources  # units survive the merge (250 millicores, not 250 cores)
    assert merged.env == {"TEAM": "data", "STAGE": "task"}
    assert merged.security.user == "2000:2000"
    assert [c.name for c in merged.init_containers] == ["wait", "mine"]  # the template's run first


def test_local_and_production_get_the_same_additions(template, monkeypatch):
    spec = ContainerSpec(image=IMAGE, pod_template_file=template, env={"STAGE": "task"})
    local = build_operator(spec, get_profile("local"), task_id="t")
    assert [c.name for c in local.spec.init_containers] == ["wait"]
    assert local.environment == {"TEAM": "data", "STAGE": "task"}
    from kubernetes.client import ApiClient

    prod = build_operator(spec, get_profile("production"), task_id="t")
    pod = ApiClient().sanitize_for_serialization(prod.build_pod_request_obj(dry_run=True))
    assert [c["name"] for c in pod["spec"]["initContainers"]] == ["wait", "proxy"]
    base = next(c for c in pod["spec"]["containers"] if c["name"] == "base")
    env = {}
    for var in base["env"]:  # Kubernetes keeps the last of a repeated name
        env[var["name"]] = var.get("value", "<from secret>")
    assert env == {"TEAM": "data", "STAGE": "task", "TOKEN": "<from secret>"}
    assert pod["spec"]["nodeSelector"] == {"pool": "batch"}


@pytest.mark.parametrize(("change", "words"), [
    (lambda t: t["spec"].update(hostNetwork=True), "sets hostNetwork"),
    (lambda t: t["spec"]["containers"][0].update(ports=[{"containerPort": 80}]), "sets ports"),
    (lambda t: t["spec"]["volumes"].append({"name": "x", "nfs": {"server": "s", "path": "/"}}) or
     t["spec"]["containers"][0]["volumeMounts"].append({"name": "x", "mountPath": "/x"}), "of a kind"),
    (lambda t: t.update(kind="Deployment"), "is not a Pod manifest"),
])
def test_what_cannot_run_locally_is_a_parse_time_error(tmp_path, change, words):
    document = json.loads(json.dumps(TEMPLATE))
    change(document)
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(document))
    with pytest.raises(TranslationError, match=words):
        build_operator(ContainerSpec(image=IMAGE, pod_template_file=str(path)), get_profile("local"), task_id="t")


def test_a_missing_template_says_so(tmp_path):
    with pytest.raises(TranslationError, match="does not exist"):
        template_parts(str(tmp_path / "nope.yaml"))
