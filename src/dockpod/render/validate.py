"""Check Kubernetes manifests offline against the Kubernetes OpenAPI schema, with ``kubernetes-validate``.

``validate_manifest(doc)`` returns human-readable problems, each naming the path in the document and
what is wrong (``spec.containers[0].securityContext.runAsUser: expected integer, got string 'x'``); an
empty list means valid. Strict mode (the default) also reports fields the schema does not know, which
is how misspelled fields get caught. The schemas ship with the ``kubernetes-validate`` package: no
cluster and no network are needed.

The schema alone does not check the format of resource quantities (it accepts any string), so
container ``resources`` are also checked against Kubernetes' quantity syntax (``2g`` is a common
mistake: Kubernetes spells it ``2G`` or ``2Gi``).

Pods built by KubernetesPodOperator hold empty values (``affinity: {}``, ``nodeSelector: {}``,
``tolerations: []``, ``imagePullSecrets: []``); they validate in strict mode as they are, so nothing is
pruned (a generic pruning would also be wrong: ``emptyDir: {}`` is a meaningful empty object).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

import kubernetes_validate
from kubernetes_validate import utils as _kv

from dockpod.errors import DockpodError

__all__ = ["DEFAULT_K8S_VERSION", "available_versions", "validate_manifest"]

_QUANTITY = re.compile(r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[KMGTPE]i|[numkMGTPE]|[eE][+-]?\d+)?$")
_JSON_TYPES = {dict: "object", list: "array", str: "string", bool: "boolean", int: "integer", float: "number",
               type(None): "null"}


def _major_minor(version: str) -> str:
    return ".".join(version.split(".")[:2])


def available_versions() -> list[str]:
    """The Kubernetes versions (``major.minor``) the installed kubernetes-validate has schemas for, oldest first."""
    versions = {_major_minor(v) for v in _kv.all_versions()}
    return sorted(versions, key=lambda v: tuple(int(part) for part in v.split(".")))


#: The newest Kubernetes version the installed kubernetes-validate knows.
DEFAULT_K8S_VERSION: str = available_versions()[-1]


def validate_manifest(doc: Any, *, k8s_version: str = DEFAULT_K8S_VERSION, strict: bool = True) -> list[str]:
    """Problems of ``doc`` (one Kubernetes object as a dict) against the schema of ``k8s_version``.

    Each problem names the path in the document and the problem; an empty list means valid. ``strict``
    also reports unknown fields. Raises :class:`DockpodError` for a Kubernetes version without schemas.
    """
    version = _schema_version(k8s_version)
    if not isinstance(doc, Mapping):
        return [f"(document): expected a Kubernetes object (a mapping), got {_json_type(doc)}"]
    missing = [f"{key}: required field is missing" for key in ("apiVersion", "kind") if not doc.get(key)]
    if missing:
        return missing
    doc = dict(doc)
    try:
        kubernetes_validate.validate(doc, version, strict)
    except kubernetes_validate.ValidationError as first:
        problems = _all_problems(doc, version, strict) or [_describe(first, version)]
    except kubernetes_validate.SchemaNotFoundError:
        return [f"(document): cannot validate kind {doc['kind']} of apiVersion {doc['apiVersion']}: Kubernetes "
                f"{_major_minor(version)} has no schema for it (a misspelled kind, or a custom resource)"]
    else:
        problems = []
    problems += _quantity_problems(doc)
    return sorted(dict.fromkeys(problems))


def _schema_version(k8s_version: str) -> str:
    wanted = _major_minor(k8s_version.strip().removeprefix("v"))
    known = available_versions()
    if wanted not in known:
        raise DockpodError(
            f"Kubernetes version {k8s_version!r} has no schemas in the installed kubernetes-validate "
            f"({kubernetes_validate.__version__}); known versions: {', '.join(known)}.",
            fix="Pick one of those, or upgrade kubernetes-validate for newer Kubernetes versions.")
    return f"{wanted}.0"


def _all_problems(doc: dict[str, Any], version: str, strict: bool) -> list[str]:
    """Every schema error, not only the first one the library raises."""
    try:
        validator = _validator(doc, version, strict)
    except Exception:  # the library's layout changed: fall back to its single error
        return []
    return [problem for error in validator.iter_errors(doc) for problem in _describe_all(error, version)]


def _validator(doc: dict[str, Any], version: str, strict: bool) -> Any:
    """The same Draft 2020-12 validator, schemas and registry that ``kubernetes_validate.validate`` uses."""
    import jsonschema
    from referencing import Registry, Resource

    folder = f"kubernetes-json-schema/v{version}-local{'-strict' if strict else ''}"
    api = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", doc["apiVersion"])
    schema = _kv.schema_contents(f"{folder}/{doc['kind'].lower()}-{api}.json", version)
    definitions = _kv.schema_contents(f"{folder}/_definitions.json", version)
    registry = Resource.from_contents(definitions) @ (Resource.from_contents(schema) @ Registry())
    return jsonschema.validators.Draft202012Validator(schema, registry=registry)


def _describe_all(error: Any, version: str) -> Iterator[str]:
    path = _path(error.absolute_path)
    if error.validator == "additionalProperties" and isinstance(error.instance, Mapping):
        known = set((error.schema or {}).get("properties", {}))
        for name in error.instance:
            if name not in known:
                yield (f"{_join(path, name)}: unknown field (not in the Kubernetes {_major_minor(version)} "
                       "schema; strict mode)")
        return
    if error.validator == "required" and isinstance(error.instance, Mapping):
        for name in error.validator_value:
            if name not in error.instance:
                yield f"{_join(path, name)}: required field is missing"
        return
    yield _describe(error, version)


def _describe(error: Any, version: str) -> str:
    path = _path(error.absolute_path) or "(document)"
    value = error.instance
    if error.validator == "type":
        expected = [t for t in _as_list(error.validator_value) if t != "null"]
        return f"{path}: expected {' or '.join(expected)}, got {_json_type(value)} {_show(value)}"
    if error.validator in ("oneOf", "anyOf"):
        types = [t for s in error.validator_value for t in _as_list(s.get("type")) if t != "null"]
        if types:
            return f"{path}: expected {' or '.join(dict.fromkeys(types))}, got {_json_type(value)} {_show(value)}"
    if error.validator == "enum":
        return f"{path}: {_show(value)} is not one of {', '.join(map(repr, error.validator_value))}"
    if error.validator in ("additionalProperties", "required"):
        return next(_describe_all(error, version), f"{path}: {error.message}")
    return f"{path}: {error.message}"


def _quantity_problems(doc: Mapping[str, Any]) -> list[str]:
    """Resource quantities of the containers that Kubernetes' quantity syntax rejects."""
    spec = doc.get("spec")
    if doc.get("kind") != "Pod" or not isinstance(spec, Mapping):
        return []
    problems = []
    for field in ("initContainers", "containers"):
        containers = spec.get(field)
        for index, container in enumerate(containers if isinstance(containers, list) else []):
            resources = container.get("resources") if isinstance(container, Mapping) else None
            for kind in ("limits", "requests"):
                values = resources.get(kind) if isinstance(resources, Mapping) else None
                for name, value in (values.items() if isinstance(values, Mapping) else ()):
                    if isinstance(value, str) and not _QUANTITY.match(value):
                        problems.append(
                            f"spec.{field}[{index}].resources.{kind}.{name}: {value!r} is not a Kubernetes quantity "
                            "(e.g. '500m', '1', '256Mi', '2Gi', '1G')")
    return problems


def _path(parts: Any) -> str:
    path = ""
    for part in parts:
        path = f"{path}[{part}]" if isinstance(part, int) else _join(path, str(part))
    return path


def _join(path: str, name: str) -> str:
    if not re.fullmatch(r"[A-Za-z_$][\w$-]*", name):
        return f'{path}["{name}"]'
    return f"{path}.{name}" if path else name


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list) else ([value] if value is not None else [])


def _json_type(value: Any) -> str:
    return _JSON_TYPES.get(type(value), type(value).__name__)


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
