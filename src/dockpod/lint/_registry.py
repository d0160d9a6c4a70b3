"""The one list of rule families: which module checks which kind of file.

Each family module has ``RULES`` (its :class:`~dockpod.lint._model.Rule` records), ``check(file, ctx)``
(the findings for one file) and, when some of its rules are fixable, ``fix(file, findings, ctx)`` (the
fixed text, or None); optionally ``prepare(paths, ctx)``, called once per run with all the files of its
kind before any ``check`` (to run one external tool over all of them). The families are imported when a
file of their kind is linted.
"""

from __future__ import annotations

import importlib
from functools import cache
from types import ModuleType

from dockpod.lint._model import FileKind, Rule, Severity

__all__ = ["FAMILIES", "GENERAL", "all_rules", "family", "rule"]

#: File kind -> the module holding its rules.
FAMILIES: dict[FileKind, str] = {
    "dockerfile": "dockpod.lint.dockerfile",
    "compose": "dockpod.lint.compose",
    "dag": "dockpod.lint.dags",
    "kubernetes": "dockpod.lint.kubernetes",
    "helm_values": "dockpod.lint.helm",
}

#: Rules about linting itself.
GENERAL: tuple[Rule, ...] = (
    Rule("DP001", Severity.WARNING, "any", "an ignore comment without a reason",
         "Say why after the rule ids: `# dockpod: ignore[DP101] this worker launches containers`.",
         why="Every exception to a rule should be explained to the next reader; an ignore without a reason "
         "hides a decision nobody can check."),
    Rule("DP002", Severity.ERROR, "any", "the file cannot be parsed",
         "Fix the syntax the message names; nothing else in the file was checked."),
)


@cache
def family(kind: FileKind) -> ModuleType | None:
    """The rule family for ``kind`` (imported on first use), None when there is none."""
    name = FAMILIES.get(kind)
    return importlib.import_module(name) if name else None


@cache
def all_rules() -> dict[str, Rule]:
    """Every rule by id, the general ones first, then each family's in the order of :data:`FAMILIES`."""
    rules = {r.id: r for r in GENERAL}
    for kind in FAMILIES:
        module = family(kind)
        for item in getattr(module, "RULES", ()):
            if item.id in rules:
                raise RuntimeError(f"lint rule id {item.id} is used twice")
            rules[item.id] = item
    return rules


def rule(rule_id: str) -> Rule:
    """The rule with this id; KeyError for an unknown one."""
    return all_rules()[rule_id]
