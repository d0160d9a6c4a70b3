"""The scaffold's options, checked when they are made: each bad value is one sentence naming the fix."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path

from dockpod.errors import DockpodError
from dockpod.scaffold._table import EXECUTORS, GROUPS

__all__ = ["DEFAULT_BASE_IMAGE", "DEFAULT_REGISTRY", "REPOSITORY_OPTIONS", "ScaffoldOptions", "parse_groups",
           "project_slug", "repository_command"]

DEFAULT_BASE_IMAGE = "apache/airflow:3.3.2"
DEFAULT_REGISTRY = "registry.example.com"

_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_REGISTRY = re.compile(rf"^{_LABEL}(?:\.{_LABEL})*(?::[0-9]{{1,5}})?$")
_PROJECT = re.compile(r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$")  # one path component of an image name
_DAGS_DIR = re.compile(r"^[A-Za-z0-9_.-]+(?:/[A-Za-z0-9_.-]+)*$")
_BASE_IMAGE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/:@+-]*$")


def _default_groups() -> tuple[str, ...]:
    return tuple(GROUPS)


@dataclass(frozen=True)
class ScaffoldOptions:
    """What ``dockpod scaffold`` is asked for; every field is checked on creation.

    ``project`` names the image (``<registry>/<project>/airflow``); ``None`` means "the slug of the
    project folder's name", filled in by :meth:`for_folder`. ``groups`` are ``--with`` groups; the
    ``image`` group is always written.
    """

    executor: str = "celery"
    workers: int | None = None
    base_image: str = DEFAULT_BASE_IMAGE
    registry: str = DEFAULT_REGISTRY
    project: str | None = None
    groups: tuple[str, ...] = field(default_factory=_default_groups)
    dags_dir: str = "dags"

    def __post_init__(self) -> None:
        if self.executor not in EXECUTORS:
            raise DockpodError(f"--executor {self.executor!r} is not known; use {_either(EXECUTORS)}.")
        if self.workers is not None:
            if self.workers < 1:
                raise DockpodError(f"--workers {self.workers} is too small; give at least 1 Celery worker.")
            if not EXECUTORS[self.executor].celery:
                raise DockpodError(f"--workers sets Celery workers, which --executor {self.executor} does not run; "
                                   "drop --workers or use --executor celery.")
        if not _REGISTRY.match(self.registry) or len(self.registry) > 253:
            raise DockpodError(f"--registry {self.registry!r} is not a registry host; give a lower-case host name "
                               "with an optional port, e.g. registry.example.com or localhost:5000.")
        if self.project is not None and not _PROJECT.match(self.project):
            raise DockpodError(f"--project {self.project!r} cannot be part of an image name; use lower-case letters, "
                               "digits and single '.', '_' or '-' between them, e.g. data-platform.")
        if not _BASE_IMAGE.match(self.base_image):
            raise DockpodError(f"--base-image {self.base_image!r} is not an image reference; give one such as "
                               "apache/airflow:3.3.2 or localhost:5000/debian:bookworm.")
        if not _DAGS_DIR.match(self.dags_dir) or ".." in self.dags_dir.split("/"):
            raise DockpodError(f"--dags-dir {self.dags_dir!r} must be a folder inside the project, relative to it, "
                               "e.g. dags or airflow/dags.")
        object.__setattr__(self, "groups", parse_groups(self.groups))

    def for_folder(self, project_dir: Path) -> ScaffoldOptions:
        """These options with ``project`` filled in from the folder's name when it was not given."""
        if self.project is not None:
            return self
        return replace(self, project=project_slug(project_dir))

    @property
    def image(self) -> str:
        """The Airflow image reference the assets run: ``<registry>/<project>/airflow:<version>``."""
        from dockpod.scaffold._table import AIRFLOW_VERSION

        return f"{self.registry}/{self.project}/airflow:{AIRFLOW_VERSION}"


def parse_groups(values: Iterable[str]) -> tuple[str, ...]:
    """``--with`` values (each may hold several names, comma-separated) as known group names, in table order.

    The groups marked ``always`` (the image) are included whatever is given.
    """
    wanted = {name.strip() for value in values for name in value.split(",") if name.strip()}
    unknown = sorted(wanted - set(GROUPS))
    if unknown:
        raise DockpodError(f"--with {','.join(unknown)} is not a group; use one or more of "
                           f"{', '.join(GROUPS)}, comma-separated.")
    return tuple(name for name, group in GROUPS.items() if group.always or name in wanted)


def project_slug(project_dir: Path) -> str:
    """The image name component made from a folder's name: ``My Project`` -> ``my-project``."""
    name = project_dir.resolve().name
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    if not slug:
        raise DockpodError(f"cannot make an image name from the folder name {name!r}; pass --project NAME.")
    return slug


def _either(names: Iterable[str]) -> str:
    items = list(names)
    return ", ".join(items[:-1]) + f" or {items[-1]}" if len(items) > 1 else items[0]


#: The options that reproduce dockpod's own deploy/ from the templates (the drift test and the re-sync use them).
REPOSITORY_OPTIONS = ScaffoldOptions(executor="celery", registry="registry.example.com", project="dockpod",
                                     base_image="localhost:5000/dockpod/debian:bookworm",
                                     groups=("helm", "k8s", "compose-dev", "compose-prod"), dags_dir="examples/dags")


def repository_command() -> str:
    """The ``dockpod scaffold`` command that rewrites this repository's deploy/ from the templates."""
    o = REPOSITORY_OPTIONS
    groups = ",".join(g for g in o.groups if not GROUPS[g].always)
    return (f"dockpod scaffold . --force --executor {o.executor} --registry {o.registry} --project {o.project} "
            f"--base-image {o.base_image} --dags-dir {o.dags_dir} --with {groups}")
