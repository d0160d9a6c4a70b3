"""The production operator: KubernetesPodOperator plus what dockpod's contract adds to the pod."""

from __future__ import annotations

from typing import Any

from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator

from dockpod.profiles import Profile
from dockpod.spec import ContainerSpec

XCOM_SIDECAR = "airflow-xcom-sidecar"


class DockpodKubernetesPodOperator(KubernetesPodOperator):
    """A KubernetesPodOperator built from a :class:`ContainerSpec` and a profile.

    Everything KubernetesPodOperator has an argument for goes through that argument; the pod
    builder is only extended for what it lacks: the main container's working directory and the
    XCom sidecar image of air-gapped clusters (the provider's default comes from Docker Hub).
    """

    def __init__(self, *, spec: ContainerSpec, profile: Profile, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.spec = spec
        self.profile = profile

    def build_pod_request_obj(self, context: Any = None, *, dry_run: bool = False) -> Any:
        """The provider's pod, with dockpod's additions."""
        pod = super().build_pod_request_obj(context, dry_run=dry_run)
        for container in pod.spec.containers:
            if container.name == self.base_container_name and self.spec.working_dir:
                container.working_dir = self.spec.working_dir
            if container.name == XCOM_SIDECAR and self.profile.xcom_sidecar_image:
                container.image = self.profile.rewrite_image(self.profile.xcom_sidecar_image)
        return pod
