"""The doctor's answer: one frozen record per diagnosed target."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dockpod.operators._diagnosis import Diagnosis

__all__ = ["CAUSES", "KINDS", "Finding", "from_diagnosis"]

#: What a target can be.
KINDS = ("container", "pod", "kubernetes", "log", "image")

#: The causes a finding can name. The first ones are the issue's list; the rest come from the shared
#: diagnosis (dockpod.operators._diagnosis), whose ``oom`` is called ``oom_killed`` here.
CAUSES = (
    "oom_killed", "image_not_found", "registry_unreachable", "auth_required", "crash_loop",
    "permission_denied", "command_not_found", "exec_format", "init_failed", "unknown",
    "no_failure", "signal", "exit_code", "start_failed", "pull_failed", "config_error", "runs_as_root",
    "timeout",
)
_RENAMED = {"oom": "oom_killed"}
_EVIDENCE_WIDTH = 240


@dataclass(frozen=True)
class Finding:
    """Why a run failed: what was examined, the cause id, one sentence, the fix, and the evidence.

    ``kind`` is one of :data:`KINDS`; ``subject`` names the target (container name, pod, file path...);
    ``cause`` is one of :data:`CAUSES`; ``message`` is one sentence; ``fix`` says what to do (None when
    there is nothing to fix); ``evidence`` holds the facts and log lines the verdict rests on.
    """

    kind: str
    subject: str
    cause: str
    message: str
    fix: str | None = None
    evidence: tuple[str, ...] = ()

    @property
    def failed(self) -> bool:
        """False when the target shows no failure (``cause == 'no_failure'``)."""
        return self.cause != "no_failure"

    def to_dict(self) -> dict[str, Any]:
        """The finding as plain JSON-able data (``evidence`` as a list)."""
        data = asdict(self)
        data["evidence"] = list(self.evidence)
        return data

    def __str__(self) -> str:
        lines = [self.message]
        if self.fix:
            lines.append(f"Fix: {self.fix}")
        if self.evidence:
            lines.append("Evidence:")
            lines += [f"  | {line}" for line in self.evidence]
        return "\n".join(lines)


def from_diagnosis(kind: str, subject: str, diagnosis: Diagnosis, evidence: tuple[str, ...] | list[str] = (),
                   *, prefix: str = "") -> Finding:
    """A finding from the shared :class:`Diagnosis`; its quoted log lines join the evidence."""
    lines = [*evidence, *(f"log: {line}" for line in diagnosis.last_lines if line.strip())]
    message = diagnosis.message
    if prefix:
        message = prefix + lower_first(message)
    return Finding(kind, subject, _RENAMED.get(diagnosis.cause, diagnosis.cause), message, diagnosis.fix,
                   tuple(clip(line) for line in _unique(lines)))


def clip(line: str, width: int = _EVIDENCE_WIDTH) -> str:
    """One evidence line: whitespace collapsed, at most ``width`` characters."""
    line = " ".join(str(line).split())
    return line if len(line) <= width else line[: width - 3] + "..."


def lower_first(text: str) -> str:
    """``The container...`` -> ``the container...``; an acronym (``OOM``) keeps its case."""
    if len(text) > 1 and text[0].isupper() and not text[1].isupper():
        return text[0].lower() + text[1:]
    return text


def _unique(lines: list[str]) -> list[str]:
    seen: set[str] = set()
    out = []
    for line in lines:
        if line not in seen:
            seen.add(line)
            out.append(line)
    return out
