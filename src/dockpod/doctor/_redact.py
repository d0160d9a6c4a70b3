"""Keep secret values out of what the doctor prints: container environments are read, never shown."""

from __future__ import annotations

import re
from collections.abc import Iterable

__all__ = ["Redactor"]

_SECRET_NAME = re.compile(r"pass|secret|token|key|credential|auth|cookie|private|cert|conn", re.IGNORECASE)
_MIN_LENGTH = 4


class Redactor:
    """Replaces the values of secret-looking environment variables (``NAME=value``) by ``***``."""

    def __init__(self, env: Iterable[str] = ()) -> None:
        values = set()
        for item in env or ():
            name, sep, value = str(item).partition("=")
            if sep and value and len(value) >= _MIN_LENGTH and _SECRET_NAME.search(name):
                values.add(value)
        self._values = sorted(values, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for value in self._values:
            text = text.replace(value, "***")
        return text

    def lines(self, lines: Iterable[str]) -> list[str]:
        """Every line redacted."""
        return [self(line) for line in lines]
