"""``[lint]`` in dockpod.toml, and the inline ``# dockpod: ignore[ID] reason`` comments.

    [lint]
    severity = "warning"          # the exit code counts findings at or above this
    ignore = ["DP105"]            # rules switched off for the whole repository
    exclude = ["tests/lint/cases/*"]
    k8s_version = "1.37"
    [lint.severities]
    DP201 = "info"                # a rule's severity, changed

An inline ignore names the rules and says why: ``# dockpod: ignore[DP101] the socket is this worker's
job``, on the finding's line or the line above it. An ignore without a reason still applies, and is
itself reported (DP001), so that every exception in a repository is explained.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from dockpod.errors import DockpodError
from dockpod.lint._model import Severity

__all__ = ["IGNORE_COMMENT", "Ignore", "LintConfig", "inline_ignores", "load_config"]

IGNORE_COMMENT = re.compile(r"#\s*dockpod:\s*ignore\[([A-Za-z0-9_, ]+)\]\s*(.*)$")


@dataclass(frozen=True)
class LintConfig:
    """What the repository's configuration says about linting."""

    severity: Severity = Severity.WARNING
    ignore: frozenset[str] = frozenset()
    exclude: tuple[str, ...] = ()
    k8s_version: str | None = None
    severities: dict[str, Severity] = field(default_factory=dict)
    source: str | None = None


@dataclass(frozen=True)
class Ignore:
    """An inline ignore comment: the rules, the line it covers, and its reason."""

    rules: frozenset[str]
    line: int
    reason: str


def load_config(path: Path | None) -> LintConfig:
    """Read ``[lint]`` from the dockpod.toml at ``path`` (defaults when None or when it has none)."""
    if path is None:
        return LintConfig()
    try:
        section = tomllib.loads(path.read_text()).get("lint") or {}
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise DockpodError(f"{path} cannot be read as TOML: {exc}.", fix="Fix the file's syntax.") from None
    known = {"severity", "ignore", "exclude", "k8s_version", "severities"}
    unknown = sorted(set(section) - known)
    if unknown:
        raise DockpodError(f"[lint] in {path} has unknown keys {', '.join(unknown)}.",
                           fix=f"Use only {', '.join(sorted(known))}.")
    try:
        return LintConfig(
            severity=Severity.parse(section.get("severity", "warning")),
            ignore=frozenset(section.get("ignore") or ()),
            exclude=tuple(section.get("exclude") or ()),
            k8s_version=section.get("k8s_version"),
            severities={rule: Severity.parse(level) for rule, level in (section.get("severities") or {}).items()},
            source=str(path),
        )
    except ValueError as exc:
        raise DockpodError(f"[lint] in {path}: {exc}.", fix="Use error, warning or info.") from None


def inline_ignores(lines: list[str]) -> list[Ignore]:
    """Every ``# dockpod: ignore[...]`` comment; each covers its own line and the next one."""
    found = []
    for number, line in enumerate(lines, start=1):
        match = IGNORE_COMMENT.search(line)
        if match:
            rules = frozenset(r.strip().upper() for r in match.group(1).split(",") if r.strip())
            found.append(Ignore(rules, number, match.group(2).strip()))
    return found
