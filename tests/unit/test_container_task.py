import subprocess
import sys

import pytest

from dockpod import container_task
from dockpod.errors import SpecError, TranslationError

IMAGE = "registry.localhost/dockpod/etl:1.0"


def test_production_returns_a_kubernetes_pod_operator():
    from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator

    op = container_task(task_id="t", image=IMAGE, command=["extract"], retries=3, environment="production")
    assert isinstance(op, KubernetesPodOperator)
    assert op.arguments == ["extract"] and op.cmds == []
    assert op.retries == 3


def test_local_returns_a_docker_operator():
    from airflow.providers.docker.operators.docker import DockerOperator

    op = container_task(task_id="t", image=IMAGE, command=["extract"], environment="local")
    assert isinstance(op, DockerOperator)
    assert op.image == "localhost:5000/dockpod/etl:1.0" and op.command == ["extract"]


@pytest.mark.parametrize(("kwargs", "words"), [
    ({"cmds": ["x"]}, "entrypoint"),
    ({"environment_vars": 1}, "Invalid arguments"),
    ({"mem_limit": "1g"}, "resources.memory_limit"),
    ({"env_vars": {"A": "1"}}, "Use env"),
])
def test_provider_argument_names_are_refused_with_the_field_to_use(kwargs, words):
    with pytest.raises(Exception, match=words):
        container_task(task_id="t", image=IMAGE, environment="production", **kwargs)


def test_errors_name_the_task():
    with pytest.raises(SpecError, match="Task 'load'.*memory_limit"):
        container_task(task_id="load", image=IMAGE, resources={"memory_limit": "big"})


def test_untranslatable_is_a_parse_time_error():
    with pytest.raises(TranslationError, match="Task 'x'.*liveness_probe.*tcp_socket"):
        container_task(task_id="x", image=IMAGE, liveness_probe={"tcp_socket": True, "port": 5432},
                       environment="local")


def test_import_is_cheap_and_local_profile_never_imports_kubernetes():
    code = (
        "import sys, time; t = time.perf_counter(); import dockpod; from dockpod import container_task, Secret, Volume;"
        "cost = time.perf_counter() - t;"
        "heavy = [m for m in sys.modules if m.split('.')[0] in ('airflow', 'docker', 'kubernetes')];"
        "assert not heavy, heavy;"
        "op = container_task(task_id='t', image='etl:1', environment='local');"
        "assert not [m for m in sys.modules if m.split('.')[0] == 'kubernetes'], 'kubernetes imported';"
        "print(cost)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-2000:]
    assert float(out.stdout.strip().splitlines()[-1]) < 0.5


def test_profile_cluster_settings_and_pod_template_reach_the_pod(tmp_path, monkeypatch):
    from kubernetes.client import ApiClient

    template = tmp_path / "pod_template.yaml"
    template.write_text(
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: placeholder\n  labels: {team: data}\n"
        "spec:\n  containers:\n  - name: base\n    image: placeholder\n"
        "  tolerations:\n  - {key: dedicated, operator: Equal, value: etl, effect: NoSchedule}\n")
    config = tmp_path / "dockpod.toml"
    config.write_text(
        "[profiles.production]\n"
        f'pod_template_file = "{template}"\n'
        'namespace = "etl"\nin_cluster = false\nconfig_file = "/etc/kube/config"\ncluster_context = "prod-eu"\n'
        'node_selector = { pool = "batch" }\npriority_class = "etl-high"\n')
    monkeypatch.setenv("DOCKPOD_CONFIG", str(config))
    op = container_task(task_id="t", image=IMAGE, command=["extract"], environment="production")
    assert (op.in_cluster, op.config_file, op.cluster_context) == (False, "/etc/kube/config", "prod-eu")
    pod = ApiClient().sanitize_for_serialization(op.build_pod_request_obj(dry_run=True))
    assert pod["metadata"]["labels"]["team"] == "data"
    assert pod["metadata"]["namespace"] == "etl"
    toleration = {"key": "dedicated", "operator": "Equal", "value": "etl", "effect": "NoSchedule"}
    assert toleration in pod["spec"]["tolerations"]
    assert pod["spec"]["nodeSelector"] == {"pool": "batch"}
    assert pod["spec"]["priorityClassName"] == "etl-high"
    assert pod["spec"]["containers"][0]["args"] == ["extract"]
