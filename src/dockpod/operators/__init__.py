"""``container_task()``: one description, a DockerOperator locally, a KubernetesPodOperator in production.

The backend is chosen by the profile (``AIRFLOW_ENVIRONMENT``, default ``local``). The provider
operators are imported only for the backend in use, so the local profile never imports the
Kubernetes client.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dockpod.backends.table import BASE_OPERATOR_PASSTHROUGH, DOCKER_ARGUMENTS
from dockpod.errors import DockpodError, SpecError
from dockpod.profiles import Profile, get_profile
from dockpod.spec import ContainerSpec

if TYPE_CHECKING:
    from airflow.models import BaseOperator

_SPEC_FIELDS = frozenset(ContainerSpec.model_fields)
#: Provider argument names people reach for, and the container_task field that replaces each.
_PROVIDER_NAMES = {
    **{name: rule.spec_field for name, rule in DOCKER_ARGUMENTS.items() if name not in _SPEC_FIELDS},
    "cmds": "entrypoint",
    "arguments": "command",
    "env_vars": "env",
    "container_resources": "resources",
    "container_security_context": "security",
    "volume_mounts": "volumes",
    "do_xcom_push": "xcom",
    "is_delete_operator_pod": "the profile's on_finish_action",
    "namespace": "the profile's namespace",
}


def container_task(
    *,
    task_id: str,
    image: str | None = None,
    spec: ContainerSpec | None = None,
    environment: str | None = None,
    **kwargs: Any,
) -> BaseOperator:
    """Build the operator that runs one container task in the current environment.

    Container fields (``image``, ``entrypoint``, ``command``, ``env``, ``secrets``, ``volumes``,
    ``resources``, ``security``, ...; see :class:`ContainerSpec`) describe the container; every
    other keyword argument goes to the operator (``retries``, ``pool``, ``execution_timeout``...).
    ``environment`` names the profile instead of ``AIRFLOW_ENVIRONMENT``; ``spec`` passes a ready
    description (then no container fields may be given).

    Returns a real DockerOperator (docker profiles) or KubernetesPodOperator (kubernetes profiles).
    Raises a :class:`DockpodError` subclass, naming the task, for anything invalid or untranslatable.
    """
    container_fields = {k: kwargs.pop(k) for k in list(kwargs) if k in _SPEC_FIELDS}
    try:
        _refuse_provider_names(kwargs)
        if spec is None:
            if image is None:
                raise SpecError("image", None, "an image reference", reason="is missing",
                                fix="Pass image='registry/name:tag' (or spec=ContainerSpec(...)).")
            spec = ContainerSpec(image=image, **container_fields)
        elif image is not None or container_fields:
            raise SpecError("spec", "ContainerSpec", "either spec= or container fields",
                            reason="is given together with container fields",
                            fix="Put every container field into the ContainerSpec.")
        profile = get_profile(environment)
        return build_operator(spec, profile, task_id=task_id, **kwargs)
    except DockpodError as exc:
        exc.message = f"Task {task_id!r}: {exc.message}"
        exc.args = (str(exc),)
        raise


def build_operator(spec: ContainerSpec, profile: Profile, **operator_kwargs: Any) -> BaseOperator:
    """The provider operator for ``spec`` in ``profile``; ``operator_kwargs`` are BaseOperator's."""
    spec = spec.with_defaults(profile.default_resources, profile.default_security)
    if profile.backend == "docker":
        from dockpod.backends import docker
        from dockpod.operators._docker import DockpodDockerOperator

        declared = spec
        template = spec.pod_template_file or profile.pod_template_file
        if template:  # what the template would add to the pod runs locally too
            from dockpod.backends.pod_template import merge_template, template_parts

            spec = merge_template(spec, template_parts(template))
        operator = DockpodDockerOperator(spec=spec, profile=profile, **docker.operator_kwargs(spec, profile),
                                         **operator_kwargs)
        operator.declared_spec = declared  # as written: what another profile builds from
        return operator
    from dockpod.backends import kubernetes
    from dockpod.operators._kubernetes import DockpodKubernetesPodOperator

    operator = DockpodKubernetesPodOperator(spec=spec, profile=profile,
                                            **kubernetes.operator_kwargs(spec, profile), **operator_kwargs)
    operator.declared_spec = spec  # the provider merges the pod template itself
    return operator


def _refuse_provider_names(kwargs: dict[str, Any]) -> None:
    for name in kwargs:
        if name in _PROVIDER_NAMES and name not in BASE_OPERATOR_PASSTHROUGH:
            raise SpecError(name, kwargs[name], f"container_task's {_PROVIDER_NAMES[name]}",
                            reason="is a provider argument, not a container_task field",
                            fix=f"Use {_PROVIDER_NAMES[name]} instead (see docs/translation.md).")
