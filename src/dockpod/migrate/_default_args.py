"""DockerOperator arguments in a DAG's ``default_args``: carried into each rewritten task, then taken out.

Neither container_task nor KubernetesPodOperator reads them from default_args, so a rewrite that left
them there would change the task silently. Each rewritten call gets the values its DAG's default_args
dict gives it (and the call does not give itself) as arguments of its own, spelled as in the dict
(:func:`carried`); a value known only at run time is not carried, and the call's verdict says so
(:func:`dockpod.migrate._finder.unmoved_defaults`). The keys leave the dict only when it is written in
the ``with DAG(...)`` or ``@dag(...)`` line itself and every task that reads it was rewritten
(:class:`DictPlan`); otherwise they stay, and the note on the dict says why.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import libcst as cst

from dockpod.migrate._finder import Found, movable

#: Why the keys stay in a dict that is not written in the DAG's own line.
SHARED = ("the dict is not written in a with DAG(...) or @dag(...) line, so other DAGs or files may read it "
          "too")
#: Why the keys stay in a DAG's own dict.
NOT_ALL_REWRITTEN = "not every DockerOperator task that reads them is rewritten"
NO_READERS = "no DockerOperator task of this file reads them"
#: Why the keys stay when a value could not be carried into the tasks.
NOT_CARRIED = "some of their values are known only at run time and were not carried into the tasks"


@dataclass
class DictPlan:
    """One default_args dict with DockerOperator arguments: its value nodes, and who reads it."""

    found: Found  # the audit's default_args finding: kwargs holds the DockerOperator keys
    values: dict[str, cst.BaseExpression] = field(default_factory=dict)
    own_line: bool = False  # written in the ``with DAG(...)``/``@dag(...)`` line: may be edited there
    readers: list[tuple[int, int]] = field(default_factory=list)  # the tasks that read it (line, column)


def all_carried(plan: DictPlan) -> bool:
    """Whether :func:`carried` writes every key of the dict into a task that reads it (as far as it is not its own)."""
    from dockpod.backends.table import DOCKER_ARGUMENTS

    return set(plan.values) == set(plan.found.kwargs) and all(
        DOCKER_ARGUMENTS[name].verdict != "translated" or movable(value) for name, value in plan.found.kwargs.items())


def value_nodes(node: cst.Dict, keys: Iterable[str]) -> dict[str, cst.BaseExpression]:
    """The value expressions of ``node`` for the string keys among ``keys``."""
    wanted = set(keys)
    out: dict[str, cst.BaseExpression] = {}
    for element in node.elements:
        if isinstance(element, cst.DictElement) and isinstance(element.key, cst.SimpleString):
            key = element.key.evaluated_value
            if isinstance(key, str) and key in wanted:
                out[key] = element.value
    return out


def carried(found: Found, plan: DictPlan | None, given: Iterable[str]) -> dict[str, cst.BaseExpression]:
    """The default_args a rewrite of ``found`` writes into the call: name -> the dict's value expression.

    Only those the call does not give itself (``given``), whose value is literal source or not
    translated at all (the rewrite drops those, with its note).
    """
    if plan is None or not found.defaults:
        return {}
    from dockpod.backends.table import DOCKER_ARGUMENTS

    own = set(given)
    return {name: plan.values[name] for name, value in found.defaults.items()
            if name not in own and name in plan.values
            and (DOCKER_ARGUMENTS[name].verdict != "translated" or movable(value))}


def note(found: Found, reader: str, effect: str, removed: bool, reason: str) -> str:
    """The comment on a default_args dict: the keys were moved out, or why they stay."""
    keys = ", ".join(found.kwargs)
    if removed:
        return (f"default_args {keys}: moved into the tasks of this DAG, all rewritten ({reader} does not read "
                "DockerOperator arguments from default_args).")
    return (f"default_args {keys}: DockerOperator arguments, which {reader} does not read from default_args; "
            f"each task rewritten here takes their values as arguments of its own. They stay here because "
            f"{reason}. {effect}")


def without(node: cst.Dict, keys: Iterable[str]) -> cst.Dict:
    """``node`` without the elements of ``keys``, the last element keeping the closing comma and spacing."""
    drop = set(keys)
    elements = list(node.elements)
    kept = [e for e in elements if not (isinstance(e, cst.DictElement) and isinstance(e.key, cst.SimpleString)
                                        and e.key.evaluated_value in drop)]
    if len(kept) == len(elements):
        return node
    if kept and kept[-1] is not elements[-1]:
        kept[-1] = kept[-1].with_changes(comma=elements[-1].comma)
    return node.with_changes(elements=kept)


def edit_default_args(call: cst.Call, original: cst.Call, plans: dict[int, DictPlan],
                      removable: set[int]) -> cst.Call:
    """``call`` with the DockerOperator keys gone from its ``default_args`` dict, when that dict is removable.

    ``original`` is the call as visited (its dict's id is the plan's key), ``call`` the updated one.
    """
    for index, (old, new) in enumerate(zip(original.args, call.args, strict=True)):
        if old.keyword is not None and old.keyword.value == "default_args" and id(old.value) in removable \
                and isinstance(new.value, cst.Dict):
            plan = plans[id(old.value)]
            args = list(call.args)
            args[index] = new.with_changes(value=without(new.value, plan.found.kwargs))
            return call.with_changes(args=args)
    return call
