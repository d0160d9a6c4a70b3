"""Production failures explained from the pod status the Kubernetes API returns.

No cluster runs here, so the pod statuses are built as the API would return them (the shapes are
those of kubelet's reports: terminated.reason OOMKilled, StartError, waiting ErrImagePull...).
"""

import pytest
from kubernetes.client import models as k8s

from dockpod import container_task
from dockpod.errors import ContainerFailed


def pod(state, name="etl-abc123"):
    return k8s.V1Pod(metadata=k8s.V1ObjectMeta(name=name), status=k8s.V1PodStatus(
        phase="Failed", container_statuses=[k8s.V1ContainerStatus(
            name="base", image="registry.example.com/etl:1.0", image_id="", ready=False, restart_count=0,
            state=state)]))


def terminated(code, reason=None, message=None):
    return k8s.V1ContainerState(terminated=k8s.V1ContainerStateTerminated(exit_code=code, reason=reason,
                                                                         message=message))


def waiting(reason, message):
    return k8s.V1ContainerState(waiting=k8s.V1ContainerStateWaiting(reason=reason, message=message))


@pytest.fixture
def op():
    return container_task(task_id="t", image="registry.localhost/etl:1.0", resources={"memory_limit": "256Mi"},
                          environment="production")


CASES = [
    ("oom", terminated(137, "OOMKilled"), ["OOM-killed", "256Mi"]),
    ("command-not-found", terminated(128, "StartError",
                                     'exec: "etl": executable file not found in $PATH: unknown'), ["not found"]),
    ("exit-code", terminated(3, "Error"), ["exited with code 3"]),
    ("image-pull", waiting("ErrImagePull", "manifest unknown: registry.example.com/etl:1.0 not found"),
     ["not found"]),
    ("missing-secret", waiting("CreateContainerConfigError", 'secret "etl-api" not found'),
     ["Secret", "etl-api"]),
]


@pytest.mark.parametrize(("state", "words"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_pod_failure_is_explained(op, state, words):
    failure = op.explain_failure(pod(state))
    assert isinstance(failure, ContainerFailed)
    assert str(failure).startswith("Pod etl-abc123: ")
    for word in words:
        assert word in str(failure), str(failure)


def test_nothing_to_add_keeps_the_provider_message(op):
    assert op.explain_failure(pod(k8s.V1ContainerState())) is None
    assert op.explain_failure(None) is None


def test_cleanup_replaces_the_generic_failure_and_keeps_skips(op, monkeypatch):
    from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator
    from airflow.providers.common.compat.sdk import AirflowException, AirflowSkipException

    def generic(*_args, **_kwargs):
        raise AirflowException("Pod etl-abc123 returned a failure.")

    monkeypatch.setattr(KubernetesPodOperator, "cleanup", generic)
    with pytest.raises(ContainerFailed, match="OOM-killed.*256Mi") as info:
        op.cleanup(None, pod(terminated(137, "OOMKilled")))
    assert info.value.exit_code == 137

    def skip(*_args, **_kwargs):
        raise AirflowSkipException("Pod returned exit code 99. Skipping.")

    monkeypatch.setattr(KubernetesPodOperator, "cleanup", skip)
    with pytest.raises(AirflowSkipException):
        op.cleanup(None, pod(terminated(99, "Error")))
