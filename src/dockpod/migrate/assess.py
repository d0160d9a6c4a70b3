"""The migration verdict of one DockerOperator call: ``auto``, ``review`` or ``manual``, with reasons.

Shared by ``dockpod audit`` (which reads calls with :mod:`ast`) and ``dockpod migrate`` (which
rewrites them with LibCST): both hand :func:`assess` the keyword arguments of a call as plain Python
values, with :class:`Dynamic` standing for what cannot be known before run time. Nothing here parses
source code.

The per-argument knowledge comes from :data:`dockpod.backends.table.DOCKER_ARGUMENTS` (verdict,
``accepts``, note and fix of every DockerOperator argument); this module adds only what the audit
needs on top of it, as data: which arguments may stay expressions, and which always need a look.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

__all__ = [
    "ALWAYS_REVIEW",
    "CARRIED_AS_EXPRESSION",
    "KPO_WORDING",
    "PLACEHOLDER_IMAGE",
    "Assessment",
    "Dynamic",
    "Target",
    "Verdict",
    "assess",
    "has_dynamic",
    "worst",
]

Verdict = Literal["auto", "review", "manual"]
#: What ``dockpod migrate`` writes: ``dockpod`` (container_task) or ``kpo`` (a plain KubernetesPodOperator).
Target = Literal["dockpod", "kpo"]

_RANK: dict[str, int] = {"auto": 0, "review": 1, "manual": 2}


@dataclass(frozen=True)
class Dynamic:
    """A value the tool cannot know before run time; ``source`` is its source text."""

    source: str


@dataclass(frozen=True)
class Assessment:
    """The verdict for one call and one sentence per reason (empty for ``auto``)."""

    verdict: Verdict
    reasons: tuple[str, ...] = ()


#: Translated arguments that ``migrate`` carries over as expressions: a run-time value is fine.
CARRIED_AS_EXPRESSION = frozenset(
    """image command entrypoint environment working_dir user mem_limit cpus shm_size cap_add dns dns_search
    extra_hosts hostname labels skip_on_exit_code force_pull""".split()
)

#: Translated arguments that always need a person to look, with the reason.
ALWAYS_REVIEW: dict[str, str] = {
    "env_file": "env_file is read into env once, when the DAG is migrated; later edits of that file will "
    "not reach the task.",
    "device_requests": "device_requests translate for GPUs only (to limits nvidia.com/gpu, 'all' becomes 1); "
    "check the count and that nothing else was requested.",
}

#: Arguments :func:`assess` judges itself instead of passing them to the reverse translation.
_XCOM_ARGUMENT = "do_xcom_push"

#: Stands in for an image the audit cannot see, so that the rest of the call can still be checked.
PLACEHOLDER_IMAGE = "dockpod-audit.invalid/placeholder:latest"

_XCOM_REASON = (
    "the DAG reads this task's XCom: DockerOperator pushed the last log line, dockpod pushes only the JSON "
    "the container writes to /airflow/xcom/return.json."
)

#: For ``--target kpo``: the wording of the reasons that speak of dockpod (its runtime, its profiles,
#: its spec fields), as (dockpod's phrase, KubernetesPodOperator's phrase). The argument table's notes
#: and fixes are written for dockpod; these phrases are replaced in every reason :func:`assess` gives.
KPO_WORDING: tuple[tuple[str, str], ...] = (
    ("dockpod pushes only the JSON", "KubernetesPodOperator pushes only the JSON"),
    ("dockpod pushes the JSON", "KubernetesPodOperator pushes the JSON"),
    ("dockpod always removes the container after reading its exit state and result",
     'KubernetesPodOperator deletes the pod when it finishes (on_finish_action="delete_pod")'),
    ("dockpod names containers per run, so retries and parallel runs never collide",
     "KubernetesPodOperator names the pod per run, so retries and parallel runs never collide"),
    ("dockpod negotiates the Engine API itself (1.41+)", "a pod talks to no Docker engine"),
    ("the registry login connection belongs in the profile",
     "a registry login is an image pull secret in Kubernetes (image_pull_secrets=...)"),
    ("TLS to the engine: use the Docker connection of the profile", "TLS to a Docker engine: a pod uses none"),
    ("Run the task on the cluster, or set docker_url in the local profile of dockpod.toml.",
     "Run the task on the cluster."),
    ("Drop network_mode, or name a user-defined network in the profile's `network`.",
     "Drop network_mode: pods share the cluster network."),
    ("(security.capabilities_add)", "(cap_add, which becomes the container's securityContext capabilities)"),
    ("Put the value in a Kubernetes Secret (and the local secret source) and declare Secret(name, key, env=VAR).",
     "Put the value in a Kubernetes Secret and pass it with secrets=[Secret(\"env\", VAR, name, key)] "
     "(airflow.providers.cncf.kubernetes.secret)."),
    ("and set xcom=True", "and set do_xcom_push=True"),
    ("is read into env once", "is read into env_vars once"),
    ("use Volume.empty_dir for scratch space", "mount an emptyDir volume for scratch space"),
)


def assess(
    kwargs: Mapping[str, object],
    *,
    opaque: tuple[str, ...] = (),
    xcom_used: bool | None = None,
    target: Target = "dockpod",
) -> Assessment:
    """Judge how a DockerOperator call with these keyword arguments migrates to dockpod.

    ``kwargs`` maps argument names to literal Python values or :class:`Dynamic` (containers may hold
    ``Dynamic`` items). ``opaque`` names what the tool could not see (``**extra``, positional
    arguments); each makes the call at least ``review``. ``xcom_used`` is True when the DAG reads
    this task's XCom, None when unknown. ``target``: what the call becomes, which the reasons speak
    of (``kpo``: a plain KubernetesPodOperator, see :data:`KPO_WORDING`; the verdict is the same).
    """
    from dockpod.backends.table import BASE_OPERATOR_PASSTHROUGH, DOCKER_ARGUMENTS

    found: list[tuple[Verdict, str]] = []
    literal: dict[str, Any] = {}
    plain = True  # every literal value made of builtin types only: its repr() is an exact cache key
    for name, value in kwargs.items():
        rule = DOCKER_ARGUMENTS.get(name)
        if rule is None:
            if name not in BASE_OPERATOR_PASSTHROUGH:
                found.append(("manual", f"{name} is an unknown argument: neither DockerOperator nor BaseOperator "
                                        "takes it."))
            continue
        if name == _XCOM_ARGUMENT:
            continue
        if rule.verdict in ("rejected", "profile", "runtime"):
            found.extend(_judge_untranslated(rule, value))
        elif name in ALWAYS_REVIEW:
            if isinstance(value, Dynamic) or value:
                found.append(("review", ALWAYS_REVIEW[name]))
        elif (scan := _scan(value)) == _DYNAMIC or (scan == _OTHER and has_dynamic(value)):
            if name == "mounts":
                found.append(("review", f"mounts come from {_show(value)}, which is known only at run time; "
                                        "check that each one becomes the right volume."))
            elif name not in CARRIED_AS_EXPRESSION:
                found.append(("review", f"{name}={_show(value)} is known only at run time; check what it holds."))
        else:
            literal[name] = value
            plain = plain and scan == _PLAIN
    found.extend(_judge_xcom(kwargs.get(_XCOM_ARGUMENT), xcom_used))
    found.extend(_translate(literal, plain))
    found.extend(("review", f"the audit cannot see {what}; check what it passes.") for what in opaque)
    if target == "kpo":
        found = [(verdict, _for_kpo(reason)) for verdict, reason in found]
    return _combine(found)


def _for_kpo(reason: str) -> str:
    """A reason in the words of ``--target kpo``: :data:`KPO_WORDING`, and argument names for spec fields."""
    for dockpod, kpo in KPO_WORDING:
        if dockpod in reason:
            reason = reason.replace(dockpod, kpo)
    field, equals, rest = reason.partition("=")
    argument = _spec_field_arguments().get(field) if equals else None
    if argument is not None:  # a SpecError names the spec field container_task has, not the argument
        reason = f"{argument}={rest}"
    return reason


@lru_cache(maxsize=1)
def _spec_field_arguments() -> dict[str, str]:
    """Spec field -> the DockerOperator argument that feeds it (``resources.memory_limit`` -> ``mem_limit``)."""
    from dockpod.backends.table import DOCKER_ARGUMENTS

    fields: dict[str, str] = {}
    for name, rule in DOCKER_ARGUMENTS.items():
        if rule.verdict == "translated":
            fields.setdefault(rule.spec_field, name)
    return fields


def worst(*assessments: Assessment) -> Assessment:
    """One assessment holding the most severe verdict and every reason, in order, without repeats."""
    return _combine([(a.verdict, reason) for a in assessments for reason in a.reasons]
                    + [(a.verdict, "") for a in assessments])


def _judge_untranslated(rule: Any, value: object) -> list[tuple[Verdict, str]]:
    """Rejected, profile and runtime arguments: the table's ``accepts`` decides, Dynamic is a doubt."""
    severity: Verdict = "manual" if rule.verdict == "rejected" else "review"
    if isinstance(value, Dynamic):
        if severity == "manual":
            return [("manual", f"cannot tell at parse time whether {rule.name}={value.source} is accepted: "
                               f"{_sentence(rule.note)}")]
        return [("review", f"{rule.name}={value.source} is known only at run time; {_sentence(rule.note)}")]
    try:
        accepted = rule.accepts(value)
    except (TypeError, ValueError):
        accepted = False
    if accepted:
        return []
    if severity == "manual":
        fix = f" {rule.fix}" if rule.fix else ""
        return [("manual", f"{rule.name}={_show(value)}: {_sentence(rule.note)}{fix}")]
    return [("review", f"{rule.name}={_show(value)}: {_sentence(rule.note)}")]


def _judge_xcom(value: object, xcom_used: bool | None) -> list[tuple[Verdict, str]]:
    """DockerOperator pushes by default; only a read of that value makes the difference matter."""
    if value is False or not xcom_used:
        return []
    return [("review", _XCOM_REASON)]


def _translate(literal: dict[str, Any], plain: bool) -> list[tuple[Verdict, str]]:
    """Run the literal subset through the reverse translation: errors are manual, notes review.

    Building the spec is most of an audit's time per call, and repositories repeat argument sets
    (the same image, mounts and limits across tasks), so the outcome is remembered per distinct set
    (:func:`_translated`), when ``plain`` says that the set is made of builtin types only. Without a
    literal argument besides a missing image there is nothing to check, and no spec is built.
    """
    literal.setdefault("image", PLACEHOLDER_IMAGE)
    if literal["image"] == PLACEHOLDER_IMAGE and all(v is None for k, v in literal.items() if k != "image"):
        return []  # the readers skip None: the spec would be the placeholder's, which is valid
    if not plain:
        return list(_translate_now(literal))
    return list(_translated(_Arguments(repr(tuple(literal.items())), literal)))


def _translate_now(literal: dict[str, Any]) -> tuple[tuple[Verdict, str], ...]:
    from dockpod.backends.docker import spec_from_operator_kwargs
    from dockpod.errors import SpecError, TranslationError

    try:
        _spec, notes = spec_from_operator_kwargs(literal)
    except (TranslationError, SpecError) as exc:
        return (("manual", str(exc)),)
    except (TypeError, ValueError) as exc:
        return (("manual", f"the arguments cannot be read: {exc}."),)
    return tuple(("review", _sentence(note)) for note in notes)


class _Arguments:
    """A literal argument set keyed by its ``repr``; the first set seen with a key is the one translated.

    Made of builtin types only (see :func:`_scan`), a set's ``repr`` is exact: it tells 1, 1.0, True,
    0.0 and -0.0, lists and tuples, and the order of keys apart, which is all the translation sees.
    """

    __slots__ = ("key", "literal")

    def __init__(self, key: str, literal: dict[str, Any]) -> None:
        self.key, self.literal = key, literal

    def __hash__(self) -> int:
        return hash(self.key)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Arguments) and self.key == other.key


@lru_cache(maxsize=4096)
def _translated(arguments: _Arguments) -> tuple[tuple[Verdict, str], ...]:
    return _translate_now(arguments.literal)


_SCALARS = (str, int, bool, float, bytes, type(None))
#: What :func:`_scan` finds: builtin types only, a Dynamic somewhere, or something else (ask has_dynamic).
_PLAIN, _DYNAMIC, _OTHER = 0, 1, 2


def _scan(value: object) -> int:
    """:func:`has_dynamic` by exact types, and whether the value is made of builtin types only."""
    kind = type(value)
    if kind in _SCALARS:
        return _PLAIN
    if kind is Dynamic:
        return _DYNAMIC
    if kind is dict:
        parts = [_scan(part) for item in value.items() for part in item]  # type: ignore[attr-defined]
    elif kind is list or kind is tuple:
        parts = [_scan(item) for item in value]  # type: ignore[attr-defined]
    else:
        return _OTHER
    return _DYNAMIC if _DYNAMIC in parts else _OTHER if _OTHER in parts else _PLAIN


def _combine(found: list[tuple[Verdict, str]]) -> Assessment:
    verdict: Verdict = "auto"
    reasons: list[str] = []
    for severity, reason in found:
        if _RANK[severity] > _RANK[verdict]:
            verdict = severity
        if reason and reason not in reasons:
            reasons.append(reason)
    return Assessment(verdict, tuple(reasons))


def has_dynamic(value: object) -> bool:
    """Whether ``value`` is, or holds anywhere inside it, a :class:`Dynamic`."""
    if isinstance(value, Dynamic):
        return True
    if isinstance(value, Mapping):
        return any(has_dynamic(k) or has_dynamic(v) for k, v in value.items())
    if isinstance(value, list | tuple | set | frozenset):
        return any(has_dynamic(item) for item in value)
    return False


def _show(value: object) -> str:
    """Source-like text of a value that may hold Dynamic parts."""
    if isinstance(value, Dynamic):
        return value.source
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{_show(k)}: {_show(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_show(item) for item in value) + "]"
    return repr(value)


def _sentence(text: str) -> str:
    text = text.strip()
    return text if not text or text.endswith((".", "!", "?")) else text + "."
