"""Secret values for a local run, read from the profile's :class:`~dockpod.profiles.SecretSource`.

Resolution happens at execute time only: values never pass through the operator's constructor, its
templated fields, the DAG file or XCom. Every error names the secret, the key and where it looked,
never a value.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from dockpod.errors import DockpodError
from dockpod.profiles import SecretSource
from dockpod.spec import ContainerSpec, Secret

__all__ = [
    "CONNECTION_FIELDS",
    "DEFAULT_ENV_PREFIX",
    "MIN_REDACTED_LENGTH",
    "ResolvedSecrets",
    "SecretNotFound",
    "resolve_secrets",
    "secret_env_var",
]

#: Prefix of the worker's environment variables when the source is ``env`` and no prefix is set.
DEFAULT_ENV_PREFIX = "DOCKPOD_SECRET_"
#: Shorter values (and lines of values) are not redacted: Airflow's masker has the same floor
#: (``[logging] min_length_masked_secret``), because replacing "1" or "no" everywhere garbles logs.
MIN_REDACTED_LENGTH = 5
#: The Connection fields a ``connection`` source offers as keys (besides the keys of its extra).
CONNECTION_FIELDS = ("login", "password", "host", "port", "schema", "conn_type")
_FIX = "Provide it, or change the profile's secret source ([profiles.NAME.secrets] in dockpod.toml)."

Lookup = Callable[[str], Any]


class SecretNotFound(DockpodError):
    """A secret (or one of its keys) is missing from the profile's local secret source."""

    def __init__(self, secret: Secret, message: str, *, fix: str = _FIX) -> None:
        self.secret = secret
        super().__init__(f"{secret.describe()}: {message}.", fix=fix)


@dataclass(frozen=True)
class ResolvedSecrets:
    """The values of a spec's secrets: private environment variables and files (container path -> bytes)."""

    env: dict[str, str] = field(default_factory=dict)
    files: dict[str, bytes] = field(default_factory=dict)

    def values(self) -> list[str]:
        """Every value as text (for masking), longest first; undecodable file contents are skipped."""
        found = set(self.env.values())
        for content in self.files.values():
            try:
                found.add(content.decode())
            except UnicodeDecodeError:
                continue
        return sorted((v for v in found if v), key=len, reverse=True)

    @cached_property
    def patterns(self) -> tuple[str, ...]:
        """What :meth:`redact` replaces: each value, stripped, and each line of a multi-line value.

        Parts shorter than :data:`MIN_REDACTED_LENGTH` are left out, as Airflow's masker does.
        """
        parts = {p.strip() for value in self.values() for p in (value, *value.splitlines())}
        return tuple(sorted((p for p in parts if len(p) >= MIN_REDACTED_LENGTH), key=len, reverse=True))

    def redact(self, text: str, replacement: str = "***") -> str:
        """Return ``text`` with every secret value (and every line of a multi-line value) replaced."""
        for part in self.patterns:
            if part in text:
                text = text.replace(part, replacement)
        return text


def secret_env_var(secret: str, key: str, prefix: str | None = None) -> str:
    """Name the worker variable holding ``secret``'s ``key`` for an ``env`` source: PREFIX + SECRET_KEY."""
    return (DEFAULT_ENV_PREFIX if prefix is None else prefix) + _env_name(f"{secret}_{key}")


def resolve_secrets(
    spec: ContainerSpec,
    source: SecretSource,
    *,
    environ: Mapping[str, str] | None = None,
    get_variable: Lookup | None = None,
    get_connection: Lookup | None = None,
) -> ResolvedSecrets:
    """Read every secret of ``spec`` (environment and file secrets) from ``source``.

    ``environ`` defaults to ``os.environ``; ``get_variable``/``get_connection`` default to Airflow's
    ``Variable.get``/``Connection.get`` (returning None when missing) and are imported only when the
    source needs them. Raises :class:`SecretNotFound` naming the secret, the key and where it looked.
    """
    reader = _Reader(source, os.environ if environ is None else environ, get_variable, get_connection)
    env: dict[str, str] = {}
    for secret in spec.secrets:
        if not secret.as_env:
            continue
        if secret.key:
            env[secret.env or secret.key] = _text(secret, secret.key, reader.one(secret, secret.key))
        else:
            for key, value in reader.all(secret).items():
                env[key] = _text(secret, key, value)
    files: dict[str, bytes] = {}
    for secret in spec.secret_files():
        path = secret.path or ""
        if secret.key:
            files[path] = _bytes(reader.one(secret, secret.key))
        else:
            for key, value in reader.all(secret).items():
                if "/" in key or key in (".", ".."):
                    raise SecretNotFound(
                        secret, f"key {key!r} cannot be a file name in {path}",
                        fix="Rename the key, or mount single keys with Secret(name, key, path=...).")
                files[f"{path.rstrip('/')}/{key}"] = _bytes(value)
    return ResolvedSecrets(env=env, files=files)



def secret_values(specs: Iterable[ContainerSpec], source: SecretSource) -> dict[str, dict[str, str]]:
    """Every secret the specs name, as ``{secret name: {key: value}}``, read from ``source``.

    What a cluster would hold as Secrets, for playing the production pods with podman
    (``dockpod parity``); raises :class:`SecretNotFound` like :func:`resolve_secrets`.
    """
    reader = _Reader(source, os.environ, None, None)
    values: dict[str, dict[str, str]] = {}
    for spec in specs:
        for container in (spec, *spec.init_containers, *spec.sidecars):
            for secret in (*container.secrets, *container.secret_files()):
                found = values.setdefault(secret.name, {})
                if secret.key:
                    found[secret.key] = _text(secret, secret.key, reader.one(secret, secret.key))
                else:
                    found.update({k: _text(secret, k, v) for k, v in reader.all(secret).items()})
    return values

class _Reader:
    """Reads one key or all keys of a secret from one kind of source."""

    def __init__(self, source: SecretSource, environ: Mapping[str, str], get_variable: Lookup | None,
                 get_connection: Lookup | None) -> None:
        self.source = source
        self.environ = environ
        self._get_variable = get_variable
        self._get_connection = get_connection

    def one(self, secret: Secret, key: str) -> str | bytes:
        kind = self.source.kind
        if kind == "env":
            name = secret_env_var(secret.name, key, self.source.prefix)
            if name not in self.environ:
                raise SecretNotFound(
                    secret, f"key {key!r} not found: the worker has no environment variable {name}",
                    fix=f"Export {name} for the worker, or change the profile's secret source.")
            return self.environ[name]
        if kind == "directory":
            path = self._folder(secret) / key
            if not path.is_file():
                raise SecretNotFound(secret, f"key {key!r} not found: there is no file {path}",
                                     fix=f"Write the value to {path}, or change the profile's secret source.")
            return path.read_bytes()
        values = self._mapping(secret)
        if key not in values or values[key] is None:
            where = self._where(secret)
            known = ", ".join(sorted(values)) or "none"
            raise SecretNotFound(secret, f"key {key!r} not found in {where} (its keys: {known})")
        return values[key]

    def all(self, secret: Secret) -> dict[str, str | bytes]:
        kind = self.source.kind
        if kind == "env":
            prefix = secret_env_var(secret.name, "", self.source.prefix)
            found = {name[len(prefix):]: value for name, value in self.environ.items()
                     if name.startswith(prefix) and len(name) > len(prefix)}
            if not found:
                raise SecretNotFound(secret, f"no keys found: no environment variable of the worker starts "
                                     f"with {prefix}", fix=f"Export {prefix}KEY=... for each key.")
            return dict(sorted(found.items()))
        if kind == "directory":
            folder = self._folder(secret)
            if not folder.is_dir():
                raise SecretNotFound(secret, f"no keys found: {folder} is not a directory",
                                     fix=f"Create {folder} with one file per key.")
            return {p.name: p.read_bytes() for p in sorted(folder.iterdir())
                    if p.is_file() and not p.name.startswith(".")}
        return {k: v for k, v in self._mapping(secret).items() if v is not None and v != ""}

    def _folder(self, secret: Secret) -> Path:
        if not self.source.path:
            raise SecretNotFound(secret, "the profile's secret source is a directory but has no path",
                                 fix="Set path in [profiles.NAME.secrets] of dockpod.toml.")
        return Path(self.source.path) / secret.name

    def _where(self, secret: Secret) -> str:
        if self.source.kind == "variable":
            return f"the Airflow Variable {self._variable_name(secret)!r}"
        return f"the Airflow Connection {secret.name!r}"

    def _variable_name(self, secret: Secret) -> str:
        return (self.source.prefix or "") + secret.name

    def _mapping(self, secret: Secret) -> dict[str, Any]:
        if self.source.kind == "variable":
            return self._variable(secret)
        return self._connection(secret)

    def _variable(self, secret: Secret) -> dict[str, Any]:
        name = self._variable_name(secret)
        raw = (self._get_variable or _airflow_variable)(name)
        if raw is None:
            raise SecretNotFound(secret, f"the Airflow Variable {name!r} does not exist",
                                 fix=f"Create it as a JSON object of keys to values, e.g. "
                                 f"airflow variables set {name} '{{\"KEY\": \"...\"}}'.")
        if isinstance(raw, str):
            try:
                raw = json.loads(raw)
            except ValueError:
                raw = None
        if not isinstance(raw, dict):
            raise SecretNotFound(
                secret, f"the Airflow Variable {name!r} is not a JSON object of keys to values",
                fix=f"Store it as JSON, e.g. {{\"{secret.key or 'KEY'}\": \"...\"}}.")
        return raw

    def _connection(self, secret: Secret) -> dict[str, Any]:
        conn = (self._get_connection or _airflow_connection)(secret.name)
        if conn is None:
            raise SecretNotFound(secret, f"the Airflow Connection {secret.name!r} does not exist",
                                 fix=f"Create it (airflow connections add {secret.name} ...) or set "
                                 f"AIRFLOW_CONN_{_env_name(secret.name)}.")
        values: dict[str, Any] = {}
        extra = getattr(conn, "extra_dejson", None) or {}
        values.update({str(k): v for k, v in extra.items()})
        for name in CONNECTION_FIELDS:
            value = getattr(conn, name, None)
            if value is not None and value != "":
                values[name] = value
        return values


def _airflow_variable(name: str) -> Any:
    from airflow.sdk import Variable

    return Variable.get(name, default=None, deserialize_json=False)


def _airflow_connection(conn_id: str) -> Any:
    from airflow.sdk import Connection
    from airflow.sdk.exceptions import AirflowNotFoundException

    try:
        return Connection.get(conn_id)
    except AirflowNotFoundException:
        return None


def _env_name(text: str) -> str:
    return re.sub(r"[^A-Z0-9_]", "_", text.upper())


def _text(secret: Secret, key: str, value: str | bytes) -> str:
    if isinstance(value, bytes):
        try:
            return value.decode()
        except UnicodeDecodeError:
            raise SecretNotFound(secret, f"key {key!r} is not UTF-8 text, so it cannot be an environment "
                                 "variable", fix="Mount it as a file (path=...) instead.") from None
    return value if isinstance(value, str) else _json_text(value)


def _bytes(value: str | bytes) -> bytes:
    if isinstance(value, bytes):
        return value
    return (value if isinstance(value, str) else _json_text(value)).encode()


def _json_text(value: Any) -> str:
    return json.dumps(value) if isinstance(value, dict | list) else str(value)
