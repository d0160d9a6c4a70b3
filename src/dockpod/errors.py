"""The errors dockpod raises: one small hierarchy, each error carrying its fields and the fix.

Every message is one sentence naming the problem, followed by what to do. Nothing here imports
Airflow, docker or kubernetes, so DAG files can catch these cheaply.
"""

from __future__ import annotations

__all__ = [
    "ContainerFailed",
    "DockpodError",
    "ProfileError",
    "SpecError",
    "TranslationError",
]


class DockpodError(Exception):
    """Base class of every error dockpod raises on purpose."""

    def __init__(self, message: str, *, fix: str | None = None) -> None:
        self.message = message
        self.fix = fix
        super().__init__(message)

    def __str__(self) -> str:
        return f"{self.message} {self.fix}" if self.fix else self.message


class SpecError(DockpodError, ValueError):
    """A task description holds a value dockpod cannot accept.

    ``field`` is the dotted path of the offending field (``resources.memory_limit``), ``value`` the
    value given, and ``accepted`` a short description of the forms that are accepted.
    """

    def __init__(
        self,
        field: str,
        value: object,
        accepted: str,
        *,
        reason: str | None = None,
        fix: str | None = None,
    ) -> None:
        self.field = field
        self.value = value
        self.accepted = accepted
        self.reason = reason
        what = reason or f"is not valid; expected {accepted}"
        super().__init__(f"{field}={_show(value)} {what}.", fix=fix)

    def at(self, prefix: str) -> SpecError:
        """Return the same error with ``prefix`` prepended to its field path."""
        if not prefix:
            return self
        return SpecError(
            f"{prefix}.{self.field}" if self.field else prefix,
            self.value,
            self.accepted,
            reason=self.reason,
            fix=self.fix,
        )


class TranslationError(DockpodError):
    """A valid description has no faithful counterpart in the chosen backend.

    Raised at DAG parse time so that nothing is dropped in silence.
    """

    def __init__(self, field: str, backend: str, reason: str, *, fix: str) -> None:
        self.field = field
        self.backend = backend
        self.reason = reason
        super().__init__(f"{field} cannot run on the {backend} backend: {reason}.", fix=fix)


class ProfileError(DockpodError):
    """The environment profile or dockpod.toml is missing, unknown or invalid."""


class ContainerFailed(DockpodError):
    """A container ran and failed; ``exit_code`` and ``cause`` say how."""

    def __init__(self, message: str, *, exit_code: int | None, cause: str, fix: str | None = None) -> None:
        self.exit_code = exit_code
        self.cause = cause
        super().__init__(message, fix=fix)


def _show(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
