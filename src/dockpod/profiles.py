"""Environment profiles: where and how a container task runs in ``local``, ``staging`` and ``production``.

``AIRFLOW_ENVIRONMENT`` picks the profile (default ``local``). A ``dockpod.toml`` adds or overrides
profiles; it is found through ``DOCKPOD_CONFIG``, else in the DAG folder or one of its parents, else
in the working directory::

    [profiles.production]
    namespace = "data"
    registry_rewrites = { "registry.localhost" = "registry.mycompany.com" }
    xcom_sidecar_image = "registry.mycompany.com/mirror/alpine:3.20"
    image_pull_secrets = ["regcred"]

    [profiles.production.default_resources]
    memory_request = "256Mi"

String values may name environment variables the way compose files do: ``${NAME}``, ``${NAME:-default}``
(the default when NAME is unset or empty) and ``$$`` for a literal ``$``. A compose stack and its
dockpod.toml can so share one setting, e.g. ``network = "${EDGE_NETWORK:-dockpod-dev-edge}"``.

Loading is cached on the file's path, its modification time and the variables it names: DAG files call
it on every parse.
"""

from __future__ import annotations

import os
import re
import tomllib
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator

from dockpod.errors import ProfileError, SpecError
from dockpod.spec import Resources, Security, SpecModel

ENV_VAR = "AIRFLOW_ENVIRONMENT"
CONFIG_VAR = "DOCKPOD_CONFIG"
CONFIG_NAME = "dockpod.toml"

Backend = Literal["docker", "kubernetes"]


class SecretSource(SpecModel):
    """Where secret values come from on the Docker backend (Kubernetes reads them in the cluster).

    * ``env``: the variable ``{prefix}{SECRET}_{KEY}`` of the worker (names upper-cased, ``-`` and ``.``
      as ``_``), e.g. ``DOCKPOD_SECRET_DB_CREDS_PASSWORD``.
    * ``directory``: the file ``{path}/{secret}/{key}``, the layout of a mounted Kubernetes Secret.
    * ``variable``: the Airflow Variable ``{prefix}{secret}``, a JSON object of keys to values.
    * ``connection``: the Airflow Connection ``{secret}``; keys are its fields (``password``, ``login``,
      ``host``, ``port``, ``schema``) or keys of its extra.
    """

    kind: Literal["env", "directory", "variable", "connection"] = "env"
    path: str | None = None
    prefix: str | None = None

    @field_validator("path")
    @classmethod
    def _path(cls, value: str | None) -> str | None:
        return None if value is None else os.path.expanduser(value)


class Profile(SpecModel):
    """One environment: which backend runs the task and with what settings."""

    name: str
    backend: Backend
    # Docker
    docker_url: str | None = None
    docker_conn_id: str | None = None
    network: str | None = None
    config_dir: str = "config"
    # Both
    registry_rewrites: dict[str, str] = Field(default_factory=dict)
    default_resources: Resources = Field(default_factory=Resources)
    default_security: Security = Field(default_factory=Security)
    labels: dict[str, str] = Field(default_factory=dict)
    secrets: SecretSource = Field(default_factory=SecretSource)
    host_path: Literal["allow", "warn", "reject"] = "allow"
    # Kubernetes
    namespace: str = "default"
    in_cluster: bool | None = None
    config_file: str | None = None
    cluster_context: str | None = None
    kubernetes_conn_id: str | None = None
    service_account: str | None = None
    pod_template_file: str | None = None
    node_selector: dict[str, str] = Field(default_factory=dict)
    tolerations: tuple[dict[str, Any], ...] = ()
    affinity: dict[str, Any] = Field(default_factory=dict)
    priority_class: str | None = None
    image_pull_secrets: tuple[str, ...] = ()
    xcom_sidecar_image: str | None = None
    pause_image: str | None = None
    startup_timeout: int = 120
    on_finish_action: Literal["delete_pod", "delete_succeeded_pod", "keep_pod"] = "delete_pod"

    def rewrite_image(self, image: str) -> str:
        """Apply the registry rewrites: the longest matching prefix wins."""
        for prefix in sorted(self.registry_rewrites, key=len, reverse=True):
            if image == prefix or image.startswith(prefix.rstrip("/") + "/"):
                return self.registry_rewrites[prefix] + image[len(prefix) :]
        return image


_BUILTIN: dict[str, dict[str, Any]] = {
    "local": {
        "backend": "docker",
        "registry_rewrites": {"registry.localhost": "localhost:5000"},
        "secrets": {"kind": "env"},
    },
    "staging": {"backend": "kubernetes", "namespace": "airflow", "host_path": "warn"},
    "production": {"backend": "kubernetes", "namespace": "airflow", "host_path": "warn"},
}


def current_environment() -> str:
    """The environment named by ``AIRFLOW_ENVIRONMENT``, ``local`` when unset."""
    return os.environ.get(ENV_VAR, "").strip() or "local"


def find_config() -> Path | None:
    """The dockpod.toml to read: ``DOCKPOD_CONFIG``, else the DAG folder and its parents, else cwd."""
    explicit = os.environ.get(CONFIG_VAR)
    if explicit:
        path = Path(explicit).expanduser()
        if not path.is_file():
            raise ProfileError(f"{CONFIG_VAR} points at {path}, which is not a file.",
                               fix=f"Fix the path or unset {CONFIG_VAR}.")
        return path
    return _search(os.environ.get("AIRFLOW__CORE__DAGS_FOLDER"), os.getcwd())


@lru_cache(maxsize=16)
def _search(dags_folder: str | None, cwd: str) -> Path | None:
    """The first dockpod.toml in the DAG folder or its parents, else in cwd or its parents.

    Cached: every container_task() of every parse asks, and the answer changes only when a file
    appears or goes, which a new DAG processor process picks up.
    """
    for start in filter(None, (dags_folder, cwd)):
        folder = Path(start).resolve()
        for candidate in (folder, *folder.parents):
            if (candidate / CONFIG_NAME).is_file():
                return candidate / CONFIG_NAME
    return None


def load_profiles(config: Path | None = None) -> dict[str, Profile]:
    """Every known profile: the built-in three, overridden and extended by ``config``."""
    path = config if config is not None else find_config()
    if path is not None and config is None and not path.is_file():  # removed since it was found
        _search.cache_clear()
        path = find_config()
    key, stamp = (str(path), path.stat().st_mtime_ns) if path else (None, 0)
    _, names = _read(key, stamp)
    return _build(key, stamp, tuple((name, os.environ.get(name)) for name in names))


#: ``$$``, ``$NAME``, ``${NAME}`` or ``${NAME:-default}``; any other ``$`` is an error, as in compose files.
_VARIABLE = re.compile(
    r"\$(?:(?P<escaped>\$)|\{(?P<braced>[A-Za-z_]\w*)(?::-(?P<default>[^}]*))?\}|(?P<bare>[A-Za-z_]\w*)|)"
)


def _variables(value: Any) -> set[str]:
    """The environment variables the strings in ``value`` name."""
    if isinstance(value, str):
        return {name for match in _VARIABLE.finditer(value) if (name := match["braced"] or match["bare"])}
    if isinstance(value, dict):
        return set().union(*map(_variables, value.values()))
    if isinstance(value, list):
        return set().union(*map(_variables, value))
    return set()


def _interpolate(value: Any, environment: dict[str, str | None], where: str) -> Any:
    """``value`` with ``${NAME}``, ``${NAME:-default}`` and ``$$`` replaced in every string it holds."""
    if isinstance(value, dict):
        return {key: _interpolate(item, environment, f"{where}.{key}") for key, item in value.items()}
    if isinstance(value, list):
        return [_interpolate(item, environment, where) for item in value]
    if not isinstance(value, str):
        return value

    def replace(match: re.Match[str]) -> str:
        if match["escaped"]:
            return "$"
        name = match["braced"] or match["bare"]
        if name is None:
            raise ProfileError(f"{where} = {value!r} has a '$' that names no variable.",
                               fix="Write ${NAME} or ${NAME:-default} for a variable, $$ for a literal $.")
        current = environment.get(name)
        if current:
            return current
        if match["default"] is not None:
            return match["default"]
        raise ProfileError(f"{where} uses ${{{name}}}, which is not set in the environment.",
                           fix=f"Set {name}, or give a default: ${{{name}:-VALUE}}.")

    return _VARIABLE.sub(replace, value)


@lru_cache(maxsize=8)
def _read(path: str | None, _stamp: int) -> tuple[dict[str, dict[str, Any]], tuple[str, ...]]:
    """The ``[profiles]`` tables of ``path`` as written, and the environment variables they name (sorted)."""
    if not path:
        return {}, ()
    try:
        with open(path, "rb") as handle:
            data = tomllib.load(handle)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ProfileError(f"{path} cannot be read: {exc}.", fix="Fix the TOML syntax.") from None
    extra = data.get("profiles", {})
    if not isinstance(extra, dict):
        raise ProfileError(f"{path}: [profiles] must be a table of profiles.", fix="Write [profiles.NAME] sections.")
    for name, values in extra.items():
        if not isinstance(values, dict):
            raise ProfileError(f"{path}: profiles.{name} must be a table.", fix=f"Write [profiles.{name}].")
    return extra, tuple(sorted(_variables(extra)))


@lru_cache(maxsize=8)
def _build(path: str | None, stamp: int, environment: tuple[tuple[str, str | None], ...]) -> dict[str, Profile]:
    """The built-in profiles with the file's over them, its variables replaced by ``environment``'s values."""
    raw: dict[str, dict[str, Any]] = {name: dict(values) for name, values in _BUILTIN.items()}
    extra, _ = _read(path, stamp)
    values_of = dict(environment)
    for name, values in extra.items():
        raw[name] = {**raw.get(name, {}), **_interpolate(values, values_of, f"{path}: profiles.{name}")}
    profiles = {}
    for name, values in raw.items():
        try:
            profiles[name] = Profile(name=name, **values)
        except SpecError as exc:
            where = f" in {path}" if path else ""
            raise ProfileError(f"Profile {name!r}{where}: {exc}") from None
    return profiles


def get_profile(name: str | None = None, config: Path | None = None) -> Profile:
    """The profile ``name`` (default: the current environment); unknown names list the known ones."""
    name = name or current_environment()
    profiles = load_profiles(config)
    if name not in profiles:
        known = ", ".join(sorted(profiles))
        raise ProfileError(
            f"Unknown environment {name!r} (from {ENV_VAR} or --env); known environments: {known}.",
            fix=f"Set {ENV_VAR} to one of them, or add [profiles.{name}] to {CONFIG_NAME}.",
        )
    return profiles[name]
