"""The records every lint rule and finding is made of: a rule is a small record plus a pure check.

A :class:`Rule` carries its id, severity, the kind of file it reads, a one-line summary, the fix, and
the fixed documentation sections (why it matters, an example, what to use instead): ``dockpod lint
--explain``, the docs page and the SARIF ``help`` text all come from the same record.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum
from pathlib import Path
from typing import Any

__all__ = ["FileKind", "Finding", "LintFile", "Rule", "Severity"]

#: What a file is, for the linter: decides which checks read it.
FileKind = str  # "dockerfile" | "compose" | "kubernetes" | "helm_values" | "dag"
KINDS: tuple[FileKind, ...] = ("dockerfile", "compose", "kubernetes", "helm_values", "dag")


class Severity(IntEnum):
    """How bad a finding is; ordered, so that ``--severity warning`` keeps warnings and errors."""

    INFO = 1
    WARNING = 2
    ERROR = 3

    @classmethod
    def parse(cls, text: str) -> Severity:
        """``error``, ``warning`` or ``info``; ValueError otherwise."""
        try:
            return cls[text.strip().upper()]
        except KeyError:
            raise ValueError(f"{text!r} is not a severity; use error, warning or info") from None

    def __str__(self) -> str:
        return self.name.lower()


@dataclass(frozen=True)
class Rule:
    """One lint rule: what it checks, how bad it is, and how to fix it.

    ``id`` is stable (``DP`` + a number; hadolint's own ids ``DL``/``SC`` pass through as they are);
    ``kind`` is the file kind it reads; ``summary`` is one line; ``fix`` says what to do; ``why`` and
    ``example`` document it. ``fixable`` is true when ``--fix`` can apply the fix safely.
    """

    id: str
    severity: Severity
    kind: FileKind
    summary: str
    fix: str
    why: str = ""
    example: str = ""
    fixable: bool = False

    def at(self, file: LintFile | str | Path, line: int, message: str | None = None, *, column: int = 0) -> Finding:
        """A finding of this rule at ``line`` of ``file``; the message defaults to the summary."""
        path = str(file.path if isinstance(file, LintFile) else file)
        return Finding(path, line, self.id, self.severity, message or self.summary, self.fix, column)

    def explain(self) -> str:
        """The rule's documentation as text: summary, why it matters, an example, the fix."""
        parts = [f"{self.id} ({self.severity}, {self.kind}): {self.summary}"]
        if self.why:
            parts.append(f"Why it matters: {self.why}")
        if self.example:
            parts.append(f"Example:\n{self.example}")
        parts.append(f"Fix: {self.fix}")
        return "\n\n".join(parts)


@dataclass(frozen=True)
class Finding:
    """One place where a rule is broken: file, line (1-based, 0 when the whole file), rule, message."""

    path: str
    line: int
    rule: str
    severity: Severity
    message: str
    fix: str = ""
    column: int = 0

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON-able data."""
        return {"path": self.path, "line": self.line, "column": self.column, "rule": self.rule,
                "severity": str(self.severity), "message": self.message, "fix": self.fix}


@dataclass
class LintFile:
    """A file handed to the checks: its path, kind and text, read once."""

    path: Path
    kind: FileKind
    text: str
    data: dict[str, Any] = field(default_factory=dict)  # parsed forms, cached by the checks that make them

    @property
    def lines(self) -> list[str]:
        """The text's lines (cached)."""
        if "lines" not in self.data:
            self.data["lines"] = self.text.splitlines()
        return self.data["lines"]
