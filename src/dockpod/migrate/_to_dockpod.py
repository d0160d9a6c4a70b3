"""``dockpod migrate`` (default target): DockerOperator(...) -> container_task(...).

Each DockerOperator argument goes where :data:`dockpod.backends.table.DOCKER_ARGUMENTS` says
(``spec_field``; a dotted field such as ``resources.memory_limit`` goes into that dict). Values stay
the expressions they were; only the arguments whose *value* changes shape have a function below
(:data:`VALUE_RULES`).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import libcst as cst

from dockpod.backends.table import DOCKER_ARGUMENTS
from dockpod.migrate._codemod import (
    DROP_NOTES,
    MOUNT,
    CannotRewrite,
    DockerCallCodemod,
    _Args,
    assemble,
    code,
    dict_expr,
    expr,
    kwarg,
)
from dockpod.migrate.assess import Assessment, Dynamic

#: The security settings that keep DockerOperator's behaviour: the image's user, even root, and
#: Docker's default capabilities (container_task's defaults are non-root and drop ALL).
DOCKER_SECURITY = (("run_as_non_root", "False"), ("capabilities_drop", "[]"))

Out = list[tuple[str, cst.BaseExpression]]


class DockerToContainerTask(DockerCallCodemod):
    """Rewrite DockerOperator calls into dockpod's ``container_task(...)``."""

    DESCRIPTION = "Rewrite DockerOperator calls into dockpod container_task(...) calls."

    def rewrite_call(self, call: cst.Call, args: _Args, verdict: Assessment) -> tuple[cst.Call, list[str]]:
        """The container_task call and the notes for the comment above it."""
        notes: list[str] = []
        slots: list[cst.Arg | None] = []
        groups: dict[str, list[tuple[str, cst.BaseExpression]]] = {}
        group_slot: dict[str, int] = {}
        env_file: dict[str, str] = {}
        for arg in call.args:
            if arg.keyword is None:  # **splat: kept
                slots.append(arg)
                continue
            name = arg.keyword.value
            rule = DOCKER_ARGUMENTS.get(name)
            if rule is None:  # BaseOperator's
                slots.append(arg)
                continue
            value = args.values[name]
            if rule.verdict != "translated":
                note = DROP_NOTES.get(name)
                text = note(value) if note else None
                if text:
                    notes.append(text)
                slots.append(None)
                continue
            if name == "env_file":
                env_file = _env_file(value)
                slots.append(None)
                continue
            outs = VALUE_RULES.get(name, _same)(self, arg, value)
            new: cst.Arg | None = None
            for field, node in outs:
                group, _, key = field.partition(".")
                if key:
                    groups.setdefault(group, []).append((key, node))
                    group_slot.setdefault(group, len(slots))
                else:
                    new = kwarg(field, node, like=arg)
            slots.append(new if new is not None else (arg if any("." in f for f, _ in outs) else None))
        if env_file:
            self._merge_env_file(call, slots, env_file)
        if not _non_root_user(args.values.get("user")):
            groups.setdefault("security", []).extend((k, expr(v)) for k, v in DOCKER_SECURITY)
        extra: list[cst.Arg] = []
        placed = set()
        for group, index in group_slot.items():
            slots[index] = kwarg(group, dict_expr(groups[group]), like=call.args[index])
            placed.add(group)
        # a slot that only fed a group (not its first member) is dropped
        for index, arg in enumerate(call.args):
            if slots[index] is arg and arg.keyword is not None and arg.keyword.value in DOCKER_ARGUMENTS:
                slots[index] = None
        extra += [kwarg(group, dict_expr(items)) for group, items in groups.items() if group not in placed]
        self.add_import("dockpod", "container_task")
        return call.with_changes(func=cst.Name("container_task"), args=assemble(call.args, slots, extra)), notes

    def _merge_env_file(self, call: cst.Call, slots: list[cst.Arg | None], entries: dict[str, str]) -> None:
        """env_file's lines go under ``environment`` (which wins, as in DockerOperator)."""
        for index, arg in enumerate(call.args):
            if arg.keyword is not None and arg.keyword.value == "environment":
                if isinstance(arg.value, cst.Dict):
                    given = {code(e.key).strip() for e in arg.value.elements if isinstance(e, cst.DictElement)}
                    items = [f"{json.dumps(k)}: {json.dumps(v)}" for k, v in entries.items()
                             if json.dumps(k) not in given and repr(k) not in given]
                    merged = "{" + ", ".join([*items, *(code(e).strip().rstrip(",") for e in arg.value.elements)]) + "}"
                else:
                    merged = "{**" + json.dumps(entries) + ", **" + code(arg.value).strip() + "}"
                slots[index] = kwarg("env", expr(merged), like=arg)
                return
        for index, arg in enumerate(call.args):
            if arg.keyword is not None and arg.keyword.value == "env_file":
                slots[index] = kwarg("env", expr(json.dumps(entries)), like=arg)


def _same(codemod: DockerToContainerTask, arg: cst.Arg, value: object) -> Out:
    return [(DOCKER_ARGUMENTS[arg.keyword.value].spec_field, arg.value)]  # type: ignore[union-attr]


def _cpus(codemod: DockerToContainerTask, arg: cst.Arg, value: object) -> Out:
    if not isinstance(value, Dynamic) and value is not None and float(value) == 1.0:  # type: ignore[arg-type]
        return []  # DockerOperator's default weight, which is also container_task's
    return _same(codemod, arg, value)


def _force_pull(codemod: DockerToContainerTask, arg: cst.Arg, value: object) -> Out:
    if isinstance(value, Dynamic):
        return [("image_pull_policy", expr(f'"Always" if {value.source} else None'))]
    return [("image_pull_policy", expr('"Always"'))] if value else []


def _labels(codemod: DockerToContainerTask, arg: cst.Arg, value: object) -> Out:
    if isinstance(value, list):
        return [("labels", expr(json.dumps(dict.fromkeys(value, ""))))]
    return _same(codemod, arg, value)


def _device_requests(codemod: DockerToContainerTask, arg: cst.Arg, value: object) -> Out:
    spec: dict[str, Any] = {}
    if isinstance(value, list) and all(isinstance(v, dict) for v in value):
        DOCKER_ARGUMENTS["device_requests"].reader(spec, value)  # type: ignore[misc]
    gpus = spec.get("resources", {}).get("gpus")
    if not gpus:
        raise CannotRewrite(f"device_requests={code(arg.value).strip()} is not a literal GPU request; "
                            "set resources={'gpus': N} by hand.")
    return [("resources.gpus", expr(str(gpus)))]


def _mounts(codemod: DockerToContainerTask, arg: cst.Arg, value: object) -> Out:
    node = arg.value
    if not isinstance(node, cst.List | cst.Tuple) or not isinstance(value, list | tuple):
        raise CannotRewrite(f"mounts={code(node).strip()} is not a list the migration can read; "
                            "write it as volumes=[...] by hand.")
    elements = []
    for element, item in zip(node.elements, value, strict=True):
        elements.append(element.with_changes(value=_volume(codemod, element.value, item)))
    return [("volumes", cst.List(elements, lbracket=node.lbracket, rbracket=node.rbracket)
             if isinstance(node, cst.List) else cst.List(elements))]


def _volume(codemod: DockerToContainerTask, node: cst.BaseExpression, value: object) -> cst.BaseExpression:
    """One mount as a volume: Docker's notation for named volumes, Volume.bind/tmpfs/empty_dir else."""
    if isinstance(value, dict):
        options = set(value) - {"Target", "Source", "Type", "ReadOnly", "TmpfsOptions"}
        kind, target, source = value.get("Type", "volume"), value.get("Target"), value.get("Source")
        read_only = bool(value.get("ReadOnly"))
        size = (value.get("TmpfsOptions") or {}).get("SizeBytes")
        if options or set(value.get("TmpfsOptions") or {}) - {"SizeBytes"}:
            raise CannotRewrite(f"mount {code(node).strip()} sets options dockpod has no field for "
                                f"({', '.join(sorted(options))}).")
        return _volume_code(codemod, kind, json.dumps(target), json.dumps(source) if source else None,
                            "True" if read_only else None, str(size) if size else None, literal=True)
    if isinstance(node, cst.Call) and codemod._qualified(node.func) & set(MOUNT):
        names = ("target", "source", "type", "read_only")
        given: dict[str, str] = {}
        for index, a in enumerate(node.args):
            key = a.keyword.value if a.keyword is not None else (names[index] if index < len(names) else "?")
            given[key] = code(a.value).strip()
        unknown = set(given) - {*names, "tmpfs_size"}
        kind = given.get("type", '"volume"').strip("'\"")
        if unknown or kind not in ("volume", "bind", "tmpfs") or given.get("type", '"x"')[0] not in "'\"":
            raise CannotRewrite(f"mount {code(node).strip()} cannot be read as a volume; write it by hand.")
        return _volume_code(codemod, kind, given.get("target", "None"), given.get("source"),
                            given.get("read_only"), given.get("tmpfs_size"), literal=False)
    raise CannotRewrite(f"mounts entry {code(node).strip()} is not a Mount(...) the migration can read; "
                        "write it as a volume by hand.")


def _volume_code(codemod: DockerToContainerTask, kind: str, target: str, source: str | None, read_only: str | None,
                 size: str | None, *, literal: bool) -> cst.BaseExpression:
    ro = f", read_only={read_only}" if read_only not in (None, "False") else ""
    if kind == "volume" and source and source != "None":
        if literal:
            notation = f"{json.loads(source)}:{json.loads(target)}{':ro' if ro else ''}"
            if not notation.startswith(("/", ".", "~")):
                return expr(json.dumps(notation))
        codemod.add_import("dockpod", "Volume")
        return expr(f"Volume.named({source}, {target}{ro})")
    codemod.add_import("dockpod", "Volume")
    if kind == "bind":
        return expr(f"Volume.bind({source}, {target}{ro})")
    sized = f", size={size}" if size else ""
    if kind == "tmpfs":
        return expr(f"Volume.tmpfs({target}{sized})")
    return expr(f"Volume.empty_dir({target})")  # an anonymous volume: scratch space for one run


def _env_file(value: object) -> dict[str, str]:
    if not isinstance(value, str):
        raise CannotRewrite("env_file is not a literal string; move its lines into env= by hand.")
    spec: dict[str, Any] = {}
    DOCKER_ARGUMENTS["env_file"].reader(spec, value)  # type: ignore[misc]
    return spec.get("env", {})


def _non_root_user(value: object) -> bool:
    """True for a literal, numeric, non-zero uid (container_task's safe defaults then hold)."""
    if value is None or isinstance(value, Dynamic):
        return False
    uid = str(value).partition(":")[0]
    return uid.isdigit() and int(uid) != 0


#: The arguments whose value changes shape on the way (all others keep their expression).
VALUE_RULES: dict[str, Callable[[DockerToContainerTask, cst.Arg, object], Out]] = {
    "cpus": _cpus,
    "force_pull": _force_pull,
    "labels": _labels,
    "device_requests": _device_requests,
    "mounts": _mounts,
}
