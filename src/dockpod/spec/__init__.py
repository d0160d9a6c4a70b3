"""The task description and the notations it reads. Pure: no Airflow, docker or kubernetes import."""

from dockpod.spec._models import (
    CAPABILITIES,
    ContainerSpec,
    Probe,
    PullPolicy,
    Resources,
    Secret,
    Security,
    SpecModel,
    Volume,
    VolumeKind,
)
from dockpod.spec._notation import (
    format_cpu,
    format_memory,
    parse_cpu,
    parse_memory,
    parse_user,
    split_command,
    split_volume,
    to_dns_name,
)

__all__ = [
    "CAPABILITIES",
    "ContainerSpec",
    "Probe",
    "PullPolicy",
    "Resources",
    "Secret",
    "Security",
    "SpecModel",
    "Volume",
    "VolumeKind",
    "format_cpu",
    "format_memory",
    "parse_cpu",
    "parse_memory",
    "parse_user",
    "split_command",
    "split_volume",
    "to_dns_name",
]
