"""The pure part of the podman runner: how a pod manifest is adapted for podman 4.3 (no podman needed)."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from dockpod.errors import DockpodError
from dockpod.runtime._pod_adapt import INIT_TYPE_ANNOTATION, adapt_pod, rewrite_image

WORK = Path("/tmp/dockpod-pod-test")


def pod(**spec) -> dict:
    base = {"name": "base", "image": "registry.localhost/dockpod/etl:1.0"}
    base.update(spec.pop("base", {}))
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "etl-abc", "namespace": "airflow"},
            "spec": {"containers": [base], **spec}}


def adapt(manifest: dict, **kwargs):
    return adapt_pod(manifest, run_id="r1", workdir=WORK, **kwargs)


def test_image_rewrites_take_the_longest_prefix_at_a_path_boundary():
    rewrites = {"registry.localhost": "localhost:5000", "registry.localhost/team": "localhost:5000/other"}
    assert rewrite_image("registry.localhost/dockpod/etl:1.0", rewrites) == "localhost:5000/dockpod/etl:1.0"
    assert rewrite_image("registry.localhost/team/x:1", rewrites) == "localhost:5000/other/x:1"
    assert rewrite_image("registry.localhostx/y:1", rewrites) == "registry.localhostx/y:1"
    assert rewrite_image("alpine:3", {"alpine:3": "localhost:5000/alpine:3"}) == "localhost:5000/alpine:3"


def test_the_input_is_not_modified_and_a_plain_pod_needs_no_notes():
    manifest = pod()
    original = copy.deepcopy(manifest)
    plan = adapt(manifest, image_rewrites={"registry.localhost": "localhost:5000"})
    assert manifest == original
    assert plan.manifest["spec"]["containers"][0]["image"] == "localhost:5000/dockpod/etl:1.0"
    assert plan.notes == [] and plan.problems == [] and plan.documents == [plan.manifest]


def test_native_sidecar_becomes_a_regular_container():
    manifest = pod(initContainers=[
        {"name": "sidecar", "image": "x:1", "restartPolicy": "Always"},
        {"name": "prepare", "image": "x:1"},
    ])
    plan = adapt(manifest)
    spec = plan.manifest["spec"]
    assert [c["name"] for c in spec["containers"]] == ["base", "sidecar"]
    assert "restartPolicy" not in spec["containers"][1]
    assert [c["name"] for c in spec["initContainers"]] == ["prepare"]
    assert plan.manifest["metadata"]["annotations"][INIT_TYPE_ANNOTATION] == "always"
    assert any("native sidecar 'sidecar'" in n and "kubelet's order" in n for n in plan.notes)
    assert plan.start_order == [("sidecar", True, None), ("prepare", False, None)]  # started in this order


def test_empty_dirs_get_per_run_names_and_claims_keep_theirs():
    manifest = pod(
        base={"volumeMounts": [{"name": "xcom", "mountPath": "/airflow/xcom"}, {"name": "claim-0", "mountPath": "/d"}]},
        volumes=[{"name": "xcom", "emptyDir": {}}, {"name": "claim-0", "persistentVolumeClaim": {"claimName": "data"}},
                 {"name": "mem", "emptyDir": {"medium": "Memory", "sizeLimit": "1Mi"}}],
    )
    plan = adapt(manifest)
    assert plan.volumes == ["dockpod-r1-xcom", "dockpod-r1-mem"]
    assert plan.claims == ["data"]
    mounts = plan.manifest["spec"]["containers"][0]["volumeMounts"]
    assert [m["name"] for m in mounts] == ["dockpod-r1-xcom", "claim-0"]
    assert any("medium Memory" in n for n in plan.notes) and any("sizeLimit" in n for n in plan.notes)


def test_secret_env_points_at_a_per_run_podman_secret():
    manifest = pod(base={
        "env": [{"name": "PW", "valueFrom": {"secretKeyRef": {"name": "db", "key": "password"}}}],
        "envFrom": [{"secretRef": {"name": "db"}}],
    })
    plan = adapt(manifest, secrets={"db": {"password": "p", "user": "u"}})
    base = plan.manifest["spec"]["containers"][0]
    assert base["env"][0]["valueFrom"]["secretKeyRef"] == {"name": "dockpod-r1-db", "key": "password"}
    assert base["envFrom"][0]["secretRef"]["name"] == "dockpod-r1-db"
    assert plan.secrets == {"dockpod-r1-db": {"password": "p", "user": "u"}}
    assert plan.problems == []


def test_missing_secret_or_key_is_a_problem_unless_optional():
    ref = {"name": "PW", "valueFrom": {"secretKeyRef": {"name": "db", "key": "password"}}}
    assert adapt(pod(base={"env": [ref]})).problems == ['secret "db" not found']
    assert adapt(pod(base={"env": [ref]}), secrets={"db": {"user": "u"}}).problems == [
        "couldn't find key password in Secret airflow/db"]
    optional = copy.deepcopy(ref)
    optional["valueFrom"]["secretKeyRef"]["optional"] = True
    assert adapt(pod(base={"env": [optional]})).problems == []


def test_secret_volume_becomes_a_read_only_host_folder_and_sub_path_a_file():
    manifest = pod(
        base={"volumeMounts": [{"name": "secret-0", "mountPath": "/run/secrets/pw", "subPath": "password"}]},
        volumes=[{"name": "secret-0", "secret": {"secretName": "db", "defaultMode": 0o440,
                                                 "items": [{"key": "password", "path": "password"}]}}],
    )
    plan = adapt(manifest, secrets={"db": {"password": "p", "user": "u"}})
    folder = WORK / "secret-secret-0"
    assert plan.files == {folder / "password": (b"p", 0o440)}
    volumes = {v["name"]: v for v in plan.manifest["spec"]["volumes"]}
    assert volumes["secret-0"] == {"name": "secret-0", "hostPath": {"path": str(folder), "type": "Directory"}}
    mount = plan.manifest["spec"]["containers"][0]["volumeMounts"][0]
    assert mount["readOnly"] is True and "subPath" not in mount
    assert volumes[mount["name"]]["hostPath"]["path"] == str(folder / "password")


def test_config_map_env_is_played_as_a_config_map_document():
    manifest = pod(base={"envFrom": [{"configMapRef": {"name": "settings"}}]})
    plan = adapt(manifest, config_maps={"settings": {"MODE": "prod"}})
    assert plan.documents[0] == {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings"},
                                 "data": {"MODE": "prod"}}


def test_sub_path_of_a_claim_is_refused():
    manifest = pod(base={"volumeMounts": [{"name": "c", "mountPath": "/d", "subPath": "x"}]},
                   volumes=[{"name": "c", "persistentVolumeClaim": {"claimName": "data"}}])
    with pytest.raises(DockpodError, match="ignores subPath"):
        adapt(manifest)


def test_unsupported_volume_type_is_refused():
    manifest = pod(volumes=[{"name": "p", "projected": {"sources": []}}])
    with pytest.raises(DockpodError, match="projected cannot run under podman"):
        adapt(manifest)


def test_long_pod_name_gets_a_63_character_hostname():
    manifest = pod()
    manifest["metadata"]["name"] = "n" * 62 + "-xyz"
    plan = adapt(manifest)
    assert plan.manifest["spec"]["hostname"] == "n" * 62
    assert any("hostname" in n for n in plan.notes)


def test_not_a_kpo_pod_is_refused():
    with pytest.raises(DockpodError, match="v1 Pod"):
        adapt({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "x"}})
    with pytest.raises(DockpodError, match="no container named 'base'"):
        adapt({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "x"},
               "spec": {"containers": [{"name": "main", "image": "x:1"}]}})


def test_a_command_starting_with_a_newline_is_named_not_left_to_podman():
    from dockpod.errors import DockpodError

    manifest = pod()
    manifest["spec"]["containers"][0]["args"] = ["-c", "\nimport sys\n"]
    with pytest.raises(DockpodError, match=r"Container 'base': args\[1\] starts with a newline.*strip"):
        adapt(manifest)
