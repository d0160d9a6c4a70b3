"""Docker and Kubernetes notations, parsed and formatted in one place.

Memory is held as a whole number of bytes and CPU as millicores. Both sides' spellings are read:

* Docker: ``"512m"``, ``"2g"``, ``"1024k"``, ``"2gb"`` (binary multiples, as ``docker run -m``), CPU
  as a float number of cores (``2.5``).
* Kubernetes: ``"512Mi"``, ``"2Gi"`` (binary), ``"1G"``, ``"500M"``, ``"1e9"`` (decimal), CPU as
  ``"500m"`` or ``"2"``.

The one clash, a lower-case ``m``, is settled by the field: for memory it is Docker's mebibyte (a
memory of 0.5 bytes means nothing), for CPU it is Kubernetes' millicore.
"""

from __future__ import annotations

import math
import re
import shlex
from decimal import Decimal, InvalidOperation

from dockpod.errors import SpecError

KI = 1024
_BINARY = {"Ki": KI, "Mi": KI**2, "Gi": KI**3, "Ti": KI**4, "Pi": KI**5, "Ei": KI**6}
_DECIMAL = {"k": 10**3, "K": 10**3, "M": 10**6, "G": 10**9, "T": 10**12, "P": 10**15, "E": 10**18}
_DOCKER = {"b": 1, "k": KI, "m": KI**2, "g": KI**3, "t": KI**4, "p": KI**5}

MEMORY_FORMS = (
    "a number of bytes, a Docker size (512m, 2g, 1024k, 2gb) or a Kubernetes quantity "
    "(512Mi, 2Gi, 500M, 1G, 1e9)"
)
CPU_FORMS = "a number of cores (2, 0.5, 2.5) or a Kubernetes quantity in millicores ('500m', '2')"

_QUANTITY = re.compile(r"^\s*([0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE]([+-]?[0-9]+))?\s*([A-Za-z]*)\s*$")


def parse_memory(value: object, field: str = "memory") -> int:
    """Return ``value`` as a whole number of bytes, reading Docker and Kubernetes spellings."""
    if isinstance(value, bool):
        raise SpecError(field, value, MEMORY_FORMS)
    if isinstance(value, int):
        if value <= 0:
            raise SpecError(field, value, MEMORY_FORMS, reason="must be more than zero bytes")
        return value
    if isinstance(value, float):
        value = repr(value)
    if not isinstance(value, str):
        raise SpecError(field, value, MEMORY_FORMS)
    match = _QUANTITY.match(value)
    if not match:
        raise SpecError(field, value, MEMORY_FORMS)
    number, exponent, suffix = match.groups()
    try:
        amount = Decimal(number) * (Decimal(10) ** int(exponent or 0))
    except InvalidOperation as exc:  # pragma: no cover - the regex admits only numbers
        raise SpecError(field, value, MEMORY_FORMS) from exc
    multiplier = _memory_multiplier(suffix)
    if multiplier is None:
        raise SpecError(field, value, MEMORY_FORMS, reason=f"has an unknown unit {suffix!r}; expected "
                        + MEMORY_FORMS)
    result = int(amount * multiplier)
    if result <= 0:
        raise SpecError(field, value, MEMORY_FORMS, reason="must be at least one byte")
    return result


def _memory_multiplier(suffix: str) -> int | None:
    if suffix == "":
        return 1
    if suffix in _BINARY:
        return _BINARY[suffix]
    # Docker's spellings: one lower-case letter, optionally followed by b/B ("512m", "2gb", "2GB").
    lowered = suffix.lower()
    if len(suffix) == 1 and suffix in _DOCKER:
        return _DOCKER[suffix]
    if len(lowered) == 2 and lowered[1] == "b" and lowered[0] in _DOCKER:
        return _DOCKER[lowered[0]]
    if lowered == "b":
        return 1
    # Kubernetes decimal suffixes (upper case, and its lower-case "k").
    return _DECIMAL.get(suffix)


def parse_cpu(value: object, field: str = "cpu") -> int:
    """Return ``value`` as whole millicores: ``2.5`` and ``"2500m"`` both give 2500."""
    if isinstance(value, bool) or (isinstance(value, float) and not math.isfinite(value)):
        raise SpecError(field, value, CPU_FORMS)  # NaN and infinity are no number of cores
    try:
        if isinstance(value, int | float):
            amount = Decimal(repr(value)) * 1000
        elif isinstance(value, str):
            match = _QUANTITY.match(value)
            if not match or match.group(3) not in ("", "m"):
                raise SpecError(field, value, CPU_FORMS)
            number, exponent, suffix = match.groups()
            amount = Decimal(number) * (Decimal(10) ** int(exponent or 0))
            if suffix == "":
                amount *= 1000
        else:
            raise SpecError(field, value, CPU_FORMS)
    except ArithmeticError as exc:  # decimal's Overflow and InvalidOperation: an exponent out of range
        raise SpecError(field, value, CPU_FORMS) from exc
    if amount <= 0:
        raise SpecError(field, value, CPU_FORMS, reason="must be more than zero")
    if amount != amount.to_integral_value():
        raise SpecError(field, value, CPU_FORMS, reason="is finer than one millicore (0.001 cores)")
    return int(amount)


def format_memory(num_bytes: int) -> str:
    """Kubernetes quantity for ``num_bytes``: the largest exact binary unit, else decimal, else bytes."""
    for suffix in ("Ei", "Pi", "Ti", "Gi", "Mi", "Ki"):
        if num_bytes % _BINARY[suffix] == 0:
            return f"{num_bytes // _BINARY[suffix]}{suffix}"
    # No "k": dockpod reads a lower-case k as Docker's 1024, so 1000 bytes stays "1000".
    for suffix in ("E", "P", "T", "G", "M"):
        if num_bytes % _DECIMAL[suffix] == 0:
            return f"{num_bytes // _DECIMAL[suffix]}{suffix}"
    return str(num_bytes)


def format_cpu(millicores: int) -> str:
    """Kubernetes quantity for ``millicores``: ``"2"`` for whole cores, else ``"500m"``."""
    return str(millicores // 1000) if millicores % 1000 == 0 else f"{millicores}m"


# --- users --------------------------------------------------------------------------------------

USER_FORMS = "a numeric uid or uid:gid, e.g. '1000' or '1000:1000'"


def parse_user(value: object, field: str = "security.user") -> tuple[int, int | None]:
    """Split Docker's ``"uid[:gid]"`` into numbers. Names are refused: Kubernetes needs numbers."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value, None
    if not isinstance(value, str):
        raise SpecError(field, value, USER_FORMS)
    uid, sep, gid = value.strip().partition(":")
    if not uid.isdigit() or (sep and not gid.isdigit()):
        raise SpecError(
            field,
            value,
            USER_FORMS,
            fix="Kubernetes runAsUser/runAsGroup take numbers only; look the ids up with "
            "`docker run --rm IMAGE id`.",
        )
    return int(uid), (int(gid) if sep else None)


# --- volumes ------------------------------------------------------------------------------------

VOLUME_FORMS = (
    "'NAME:/container/path[:ro|rw]' for a named volume, '/host/path:/container/path[:ro|rw]' for a "
    "bind mount, or '/container/path' for a scratch volume"
)
_VOLUME_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


def split_volume(value: str, field: str = "volumes") -> tuple[str | None, str, bool]:
    """Split Docker's ``-v`` notation into ``(source, target, read_only)``; source is None if absent."""
    parts = value.split(":")
    if len(parts) == 1:
        source, target, mode = None, parts[0], "rw"
    elif len(parts) == 2:
        source, target, mode = parts[0], parts[1], "rw"
    elif len(parts) == 3:
        source, target, mode = parts
    else:
        raise SpecError(field, value, VOLUME_FORMS)
    options = set(mode.split(","))
    unknown = options - {"ro", "rw"}
    if unknown:
        raise SpecError(
            field,
            value,
            VOLUME_FORMS,
            reason=f"has mount options {sorted(unknown)} that have no Kubernetes counterpart",
            fix="Keep only 'ro' or 'rw'; SELinux relabelling (z/Z) and propagation are set by the cluster.",
        )
    if {"ro", "rw"} <= options:
        raise SpecError(field, value, VOLUME_FORMS, reason="is both read-only and read-write")
    if not target.startswith("/"):
        raise SpecError(field, value, VOLUME_FORMS, reason="needs an absolute container path")
    if source is not None and not source.startswith(("/", ".", "~")) and not _VOLUME_NAME.match(source):
        raise SpecError(field, value, VOLUME_FORMS, reason=f"names an invalid volume {source!r}")
    return source, target, "ro" in options


def is_host_path(source: str) -> bool:
    """True when a Docker volume source is a host path (bind mount) rather than a volume name."""
    return source.startswith(("/", ".", "~"))


# --- commands -----------------------------------------------------------------------------------

_JINJA = re.compile(r"\{\{.*?\}\}|\{%.*?%\}", re.DOTALL)


def split_command(value: str) -> list[str]:
    """Split a shell-like command string into a list, keeping Jinja expressions whole.

    ``"run --date {{ ds }}"`` gives ``["run", "--date", "{{ ds }}"]``: a plain ``shlex.split`` would
    cut the template into pieces that Airflow could no longer render.
    """
    templates: list[str] = []

    def stash(match: re.Match[str]) -> str:
        templates.append(match.group(0))
        return f"\x00{len(templates) - 1}\x00"

    words = shlex.split(_JINJA.sub(stash, value))
    return [re.sub(r"\x00(\d+)\x00", lambda m: templates[int(m.group(1))], word) for word in words]


# --- names --------------------------------------------------------------------------------------

DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")


def to_dns_name(value: str) -> str:
    """Kubernetes name for a Docker volume name: lower case, ``_`` and ``.`` become ``-``."""
    return re.sub(r"[_.]+", "-", value.lower()).strip("-")[:63].rstrip("-")
