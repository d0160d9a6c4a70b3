"""``dockpod migrate --target kpo``: DockerOperator(...) -> a plain KubernetesPodOperator(...).

For teams that want no dockpod dependency at run time. The values are not translated here a second
time: the literal arguments are read into a spec (:func:`dockpod.backends.docker.spec_from_operator_kwargs`)
and turned into KubernetesPodOperator arguments by :func:`dockpod.backends.kubernetes.operator_kwargs`,
whose ``kubernetes.client`` models are then written out as ``k8s.V1...(...)`` calls. Arguments that are
expressions are carried over where that is faithful (:data:`EXPRESSIONS`); any other expression makes
the call manual, with the reason.

Docker ``entrypoint`` becomes ``cmds`` and Docker ``command`` becomes ``arguments`` (never ``cmds``,
which would replace the image's ENTRYPOINT). No namespace is invented, and the profile's settings
(registry rewrites, cluster settings) do not apply.
"""

from __future__ import annotations

import ast
import json
from collections.abc import Callable
from typing import Any

import libcst as cst

from dockpod.backends.table import DOCKER_ARGUMENTS, is_plain_network
from dockpod.migrate._codemod import (
    CannotRewrite,
    DockerCallCodemod,
    _Args,
    assemble,
    code,
    expr,
    kwarg,
    show,
)
from dockpod.migrate.assess import PLACEHOLDER_IMAGE, Assessment, Dynamic, has_dynamic

KPO_MODULE = "airflow.providers.cncf.kubernetes.operators.pod"
KPO_NAME = "KubernetesPodOperator"
K8S_MODULE, K8S_NAME, K8S_ALIAS = "kubernetes.client", "models", "k8s"

#: Which KubernetesPodOperator arguments each translated DockerOperator argument feeds (through the spec).
KPO_FIELDS: dict[str, tuple[str, ...]] = {
    "image": ("image",),
    "entrypoint": ("cmds",),
    "command": ("arguments",),
    "environment": ("env_vars",),
    "env_file": ("env_vars",),
    "working_dir": ("full_pod_spec",),
    "user": ("container_security_context", "security_context"),
    "cap_add": ("container_security_context",),
    "mounts": ("volume_mounts", "volumes"),
    "shm_size": ("volume_mounts", "volumes"),
    "mem_limit": ("container_resources",),
    "cpus": ("container_resources",),
    "device_requests": ("container_resources",),
    "dns": ("dns_config", "dnspolicy"),
    "dns_search": ("dns_config",),
    "extra_hosts": ("host_aliases",),
    "hostname": ("hostname",),
    "labels": ("labels",),
    "force_pull": ("image_pull_policy",),
    "skip_on_exit_code": ("skip_on_exit_code",),
    "do_xcom_push": ("do_xcom_push",),
}

#: DockerOperator arguments whose literal value, when the translation leaves it as it is, keeps its spelling.
SAME = {"image": "image", "command": "arguments", "entrypoint": "cmds", "environment": "env_vars",
        "hostname": "hostname", "labels": "labels"}

#: Arguments every migrated call gets, whether or not a DockerOperator argument fed them.
ALWAYS = ("container_security_context", "on_finish_action")


def _any(node: cst.BaseExpression) -> bool:
    return True


def _list_shaped(node: cst.BaseExpression) -> bool:
    return isinstance(node, cst.List | cst.Tuple | cst.ListComp)


#: DockerOperator arguments that may stay expressions: (KPO argument, which expressions are faithful,
#: how the expression is spelled there, why the others are not).
EXPRESSIONS: dict[str, tuple[str, Callable[[cst.BaseExpression], bool], str, str]] = {
    "image": ("image", _any, "{}", ""),
    "command": ("arguments", _list_shaped, "{}", "DockerOperator splits a command string into words and "
                "KubernetesPodOperator does not; write arguments=[...] as a list"),
    "entrypoint": ("cmds", _list_shaped, "{}", "DockerOperator splits an entrypoint string into words and "
                   "KubernetesPodOperator does not; write cmds=[...] as a list"),
    "environment": ("env_vars", _any, "{}", ""),
    "hostname": ("hostname", _any, "{}", ""),
    "labels": ("labels", lambda n: isinstance(n, cst.Dict | cst.DictComp), "{}", "Docker labels may be a "
               "list, KubernetesPodOperator labels are a mapping; write labels={...}"),
    "skip_on_exit_code": ("skip_on_exit_code", _any, "{}", ""),
    "force_pull": ("image_pull_policy", _any, '"Always" if {} else None', ""),
    "do_xcom_push": ("do_xcom_push", _any, "{}", ""),
}

#: Notes for arguments that are dropped although their value did something.
DROP_NOTES: dict[str, Callable[[object], str | None]] = {
    "auto_remove": lambda v: "auto_remove dropped: on_finish_action=\"delete_pod\" deletes the pod when it "
    "finishes.",
    "docker_url": lambda v: f"docker_url={show(v)} dropped: the pod runs on the cluster of the Kubernetes "
    "connection.",
    "docker_conn_id": lambda v: f"docker_conn_id={show(v)} dropped: a registry login is an image pull "
    "secret in Kubernetes (image_pull_secrets=...).",
    "network_mode": lambda v: None if is_plain_network(v) else
    f"network_mode={show(v)} dropped: pods share the cluster network.",
    "mount_tmp_dir": lambda v: None if v is False else "mount_tmp_dir dropped: no host temporary directory "
    "(and no AIRFLOW_TMP_DIR) is given to the container; mount an emptyDir volume for scratch space.",
    "timeout": lambda v: "timeout dropped: it was the Docker API client's timeout, not a limit on the task "
    "(active_deadline_seconds is one).",
}

NAMESPACE_NOTE = ("review: set namespace=... (without it the pod goes to the namespace of the Kubernetes "
                  "connection, else 'default').")


class DockerToKubernetesPodOperator(DockerCallCodemod):
    """Rewrite DockerOperator calls into plain ``KubernetesPodOperator(...)`` calls."""

    DESCRIPTION = "Rewrite DockerOperator calls into cncf.kubernetes KubernetesPodOperator(...) calls."
    DEFAULT_ARGS_EFFECT = "KubernetesPodOperator ignores them."
    TARGET = "kpo"
    READER = "KubernetesPodOperator"

    def rewrite_call(self, call: cst.Call, args: _Args, verdict: Assessment) -> tuple[cst.Call, list[str]]:
        """The KubernetesPodOperator call and the notes for the comment above it."""
        self._check_names()
        if args.opaque:
            raise CannotRewrite(f"{', '.join(args.opaque)} may hold DockerOperator arguments that "
                                "KubernetesPodOperator does not take; spell the arguments out first.")
        notes: list[str] = []
        literal: dict[str, Any] = {}
        carried: dict[str, cst.BaseExpression] = {}  # KPO argument -> expression
        for name, value in args.values.items():
            rule = DOCKER_ARGUMENTS.get(name)
            if rule is None:
                continue
            if rule.verdict != "translated":
                note = DROP_NOTES.get(name)
                text = note(value) if note else None
                if text:
                    notes.append(text)
                continue
            value = _untemplate(value, args.nodes[name].value)
            if not has_dynamic(value):
                literal[name] = value
                continue
            kpo, faithful, spelling, why = EXPRESSIONS.get(name, (None, None, "", ""))
            node = args.nodes[name].value
            source = code(node).strip()
            if kpo is None or faithful is None:
                raise CannotRewrite(f"{name}={source} is known only at run time, and KubernetesPodOperator needs "
                                    f"it translated ({', '.join(KPO_FIELDS.get(name, ('-',)))}); write it by hand.")
            if not faithful(node):
                raise CannotRewrite(f"{name}={source}: {why}.")
            carried[kpo] = node if spelling == "{}" else expr(spelling.format(source))
        values = _kpo_values(literal, carried)
        if "namespace" not in args.values:
            notes.append(NAMESPACE_NOTE)
        return self._assemble(call, values, carried, literal), notes

    def _check_names(self) -> None:
        for local, wanted in ((KPO_NAME, f"{KPO_MODULE}.{KPO_NAME}"), (K8S_ALIAS, f"{K8S_MODULE}.{K8S_NAME}")):
            bound = self.table.get(local)
            if bound is not None and bound != wanted:
                raise CannotRewrite(f"the name {local} is already imported from {bound}; rename that import first.")

    def _assemble(self, call: cst.Call, values: dict[str, Any], carried: dict[str, cst.BaseExpression],
                  literal: dict[str, Any]) -> cst.Call:
        def node_for(kpo: str, docker: str | None = None) -> cst.BaseExpression:
            if kpo in carried:
                return carried[kpo]
            if docker is not None and SAME.get(docker) == kpo and literal.get(docker) == values[kpo]:
                return docker_nodes[docker]  # the same value: keep its spelling and comments
            return expr(source(values[kpo]))

        docker_nodes = {a.keyword.value: a.value for a in call.args if a.keyword is not None}
        placed: set[str] = set()
        slots: list[cst.Arg | None] = []
        for arg in call.args:
            name = arg.keyword.value if arg.keyword is not None else None
            if name is None or name not in DOCKER_ARGUMENTS:  # BaseOperator's
                slots.append(arg)
                continue
            new = None
            for kpo in KPO_FIELDS.get(name, ()):
                if kpo in placed or (kpo not in values and kpo not in carried):
                    continue
                placed.add(kpo)
                new = kwarg(kpo, node_for(kpo, name), like=arg)
                break  # one argument per slot; the rest go to the end
            slots.append(new)
        extra = []
        for kpo in dict.fromkeys([*values, *carried]):
            if kpo not in placed:
                extra.append(kwarg(kpo, node_for(kpo)))
        self.add_import(KPO_MODULE, KPO_NAME)
        if any(f"{K8S_ALIAS}." in source(value) for value in values.values()):
            self.add_import(K8S_MODULE, K8S_NAME, K8S_ALIAS)
        return call.with_changes(func=cst.Name(KPO_NAME), args=assemble(call.args, slots, extra))


def _untemplate(value: object, node: cst.BaseExpression) -> object:
    """Templated strings are literal here: KubernetesPodOperator renders the same fields DockerOperator did."""
    if isinstance(value, Dynamic):
        try:
            literal = ast.literal_eval(value.source)
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            return value
        return literal if isinstance(literal, str) else value
    if isinstance(value, list | tuple) and isinstance(node, cst.List | cst.Tuple):
        items = [_untemplate(v, e.value) for v, e in zip(value, node.elements, strict=True)]
        return items if isinstance(value, list) else tuple(items)
    if isinstance(value, dict) and isinstance(node, cst.Dict):
        elements = [e for e in node.elements if isinstance(e, cst.DictElement)]
        return {_untemplate(k, e.key): _untemplate(v, e.value)
                for (k, v), e in zip(value.items(), elements, strict=True)}
    return value


def _kpo_values(literal: dict[str, Any], carried: dict[str, cst.BaseExpression]) -> dict[str, Any]:
    """KubernetesPodOperator arguments (values and ``kubernetes.client`` models) for the literal ones.

    The spec is read the way ``container_task`` reads it and translated by the Kubernetes backend;
    only the arguments some DockerOperator argument fed (and :data:`ALWAYS`) are kept.
    """
    from dockpod.backends import kubernetes
    from dockpod.backends.docker import spec_from_operator_kwargs
    from dockpod.errors import DockpodError
    from dockpod.profiles import Profile

    given = dict(literal)
    given.setdefault("image", PLACEHOLDER_IMAGE)
    try:
        spec, _notes = spec_from_operator_kwargs(given)
        kwargs = kubernetes.operator_kwargs(spec, Profile(name="migrate", backend="kubernetes"))
    except (DockpodError, TypeError, ValueError) as exc:
        raise CannotRewrite(f"the arguments do not translate: {exc}") from None
    wanted = {kpo for name in literal for kpo in KPO_FIELDS.get(name, ())} | set(ALWAYS)
    wanted -= set(carried)
    out: dict[str, Any] = {}
    for key, value in kwargs.items():
        if key in wanted and key != "env_vars":
            out[key] = value
    if "env_vars" in wanted and spec.env:
        out["env_vars"] = dict(spec.env)  # KubernetesPodOperator takes the mapping as it is
    if "full_pod_spec" in wanted and spec.working_dir:
        if "{{" in spec.working_dir or "{%" in spec.working_dir:
            raise CannotRewrite(f"working_dir={spec.working_dir!r} is templated, and the pod spec that carries "
                                "it is not; write it by hand.")
        base = kubernetes.k8s.V1Container(name=kubernetes.BASE_CONTAINER, working_dir=spec.working_dir)
        out["full_pod_spec"] = kubernetes.k8s.V1Pod(spec=kubernetes.k8s.V1PodSpec(containers=[base]))
    return out


def source(value: object) -> str:
    """Python source text for a value made of ``kubernetes.client`` models, containers and scalars."""
    if hasattr(value, "openapi_types") and hasattr(value, "attribute_map"):
        fields = [(name, getattr(value, name)) for name in value.openapi_types]  # type: ignore[attr-defined]
        inner = ", ".join(f"{name}={source(v)}" for name, v in fields if v is not None)
        return f"{K8S_ALIAS}.{type(value).__name__}({inner})"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{source(k)}: {source(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(source(v) for v in value) + "]"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    return repr(value)
