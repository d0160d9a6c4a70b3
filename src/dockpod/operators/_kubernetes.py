"""The production operator: KubernetesPodOperator plus what dockpod's contract adds to the pod."""

from __future__ import annotations

from typing import Any

from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator
from airflow.providers.common.compat.sdk import AirflowException, AirflowSkipException

from dockpod.errors import ContainerFailed
from dockpod.profiles import Profile
from dockpod.spec import ContainerSpec

XCOM_SIDECAR = "airflow-xcom-sidecar"


class DockpodKubernetesPodOperator(KubernetesPodOperator):
    """A KubernetesPodOperator built from a :class:`ContainerSpec` and a profile.

    Everything KubernetesPodOperator has an argument for goes through that argument; the pod
    builder is only extended for what it lacks: the main container's working directory and probes,
    the profile's registry rewrites on the containers a pod template adds, and the XCom sidecar image of
    air-gapped clusters (the provider's default comes from Docker Hub).
    """

    def __init__(self, *, spec: ContainerSpec, profile: Profile, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.spec = spec
        self.profile = profile

    def build_pod_request_obj(self, context: Any = None, *, dry_run: bool = False) -> Any:
        """The provider's pod, with dockpod's additions."""
        pod = super().build_pod_request_obj(context, dry_run=dry_run)
        for container in (*(pod.spec.init_containers or ()), *pod.spec.containers):
            # The profile's registry rewrites, also for containers a pod template brought.
            container.image = self.profile.rewrite_image(container.image) if container.image else container.image
        for container in pod.spec.containers:
            if container.name == self.base_container_name:
                from dockpod.backends.kubernetes import probe

                if self.spec.working_dir:
                    container.working_dir = self.spec.working_dir
                container.liveness_probe = probe(self.spec.liveness_probe)
                container.readiness_probe = probe(self.spec.readiness_probe)
                container.startup_probe = probe(self.spec.startup_probe)
            if container.name == XCOM_SIDECAR and self.profile.xcom_sidecar_image:
                container.image = self.profile.rewrite_image(self.profile.xcom_sidecar_image)
        return pod

    def cleanup(self, pod: Any, remote_pod: Any, xcom_result: Any = None, context: Any = None) -> None:
        """The provider's clean-up; its generic failure is replaced by the diagnosed cause."""
        try:
            super().cleanup(pod, remote_pod, xcom_result=xcom_result, context=context)
        except AirflowSkipException:
            raise
        except AirflowException as exc:
            failure = self.explain_failure(remote_pod)
            if failure is None:
                raise
            raise failure from exc

    def explain_failure(self, remote_pod: Any) -> ContainerFailed | None:
        """A :class:`ContainerFailed` naming why the pod's main container failed, if its status says."""
        from dockpod.operators._diagnosis import diagnose_pod

        limit = self.spec.resources.memory_limit
        diagnosis = diagnose_pod(remote_pod, self.base_container_name, limit)
        if diagnosis is None:
            return None
        name = getattr(getattr(remote_pod, "metadata", None), "name", None) or "the pod"
        terminated = _terminated(remote_pod, self.base_container_name)
        return ContainerFailed(f"Pod {name}: {diagnosis.message}", cause=diagnosis.cause, fix=diagnosis.advice,
                               exit_code=getattr(terminated, "exit_code", None))


def _terminated(remote_pod: Any, container: str) -> Any:
    statuses = getattr(getattr(remote_pod, "status", None), "container_statuses", None) or ()
    status = next((s for s in statuses if s.name == container), None)
    return getattr(getattr(status, "state", None), "terminated", None)
