"""dockpod: describe a containerized Airflow task once, run it the same on Docker and Kubernetes.

A DockerOperator on a laptop and a KubernetesPodOperator in production, with the same semantics.

    from dockpod import container_task, Secret, Volume

Importing this package is cheap: names load on first use, and the Docker or Kubernetes provider is
imported only when a task is built for that backend.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS = {
    "container_task": "dockpod.operators",
    "build_operator": "dockpod.operators",
    "ContainerSpec": "dockpod.spec",
    "Resources": "dockpod.spec",
    "Secret": "dockpod.spec",
    "Security": "dockpod.spec",
    "Volume": "dockpod.spec",
    "Profile": "dockpod.profiles",
    "get_profile": "dockpod.profiles",
    "DockpodError": "dockpod.errors",
    "SpecError": "dockpod.errors",
    "TranslationError": "dockpod.errors",
    "ProfileError": "dockpod.errors",
    "ContainerFailed": "dockpod.errors",
}

__all__ = [
    "ContainerFailed",
    "ContainerSpec",
    "DockpodError",
    "Profile",
    "ProfileError",
    "Resources",
    "Secret",
    "Security",
    "SpecError",
    "TranslationError",
    "Volume",
    "build_operator",
    "container_task",
    "get_profile",
]

if TYPE_CHECKING:
    from dockpod.errors import ContainerFailed, DockpodError, ProfileError, SpecError, TranslationError
    from dockpod.operators import build_operator, container_task
    from dockpod.profiles import Profile, get_profile
    from dockpod.spec import ContainerSpec, Resources, Secret, Security, Volume


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'dockpod' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])
