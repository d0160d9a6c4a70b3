"""Rewritten calls that no longer fit the file's line length, one argument per line.

The line length is the one the file's linter is told (:func:`line_length`): the nearest ``ruff.toml``
or ``.ruff.toml`` (``line-length``), ``pyproject.toml`` with a ``[tool.ruff]`` table, or ``setup.cfg``
with a ``[flake8]`` ``max-line-length``, looking up from the file's folder; else ruff's default, 88.
"""

from __future__ import annotations

import configparser
import functools
import tomllib
from pathlib import Path

import libcst as cst

#: Ruff's default line length, used when no configuration says otherwise.
DEFAULT_LINE_LENGTH = 88
#: How much deeper than its statement each argument of a wrapped call is indented.
INDENT = "    "


def line_length(path: str | None) -> int:
    """The line length configured for the file at ``path`` (:data:`DEFAULT_LINE_LENGTH` without one)."""
    if path is None:
        return DEFAULT_LINE_LENGTH
    return _folder_line_length(Path(path).resolve().parent)


@functools.lru_cache(maxsize=256)
def _folder_line_length(folder: Path) -> int:
    found = _configured(folder)
    if found is not None:
        return found
    parent = folder.parent
    return DEFAULT_LINE_LENGTH if parent == folder else _folder_line_length(parent)


def _configured(folder: Path) -> int | None:
    """The line length one folder's configuration sets; None when it has no linter configuration."""
    for name in ("ruff.toml", ".ruff.toml"):
        config = _toml(folder / name)
        if config is not None:
            return _length(config.get("line-length"))
    pyproject = _toml(folder / "pyproject.toml")
    if pyproject is not None and isinstance(pyproject.get("tool"), dict) and "ruff" in pyproject["tool"]:
        ruff = pyproject["tool"]["ruff"]
        return _length(ruff.get("line-length") if isinstance(ruff, dict) else None)
    setup = folder / "setup.cfg"
    if setup.is_file():
        parser = configparser.ConfigParser()
        try:
            parser.read(setup, encoding="utf-8")
        except (configparser.Error, UnicodeDecodeError):
            return None
        if parser.has_option("flake8", "max-line-length"):
            return _length(parser.get("flake8", "max-line-length"))
    return None


def _toml(path: Path) -> dict[str, object] | None:
    if not path.is_file():
        return None
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return {}  # a configuration file all the same: its line length is the default


def _length(value: object) -> int:
    try:
        length = int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return DEFAULT_LINE_LENGTH
    return length if length > 0 else DEFAULT_LINE_LENGTH


def fits(source_line: str, column: int, before: str, after: str, limit: int) -> bool:
    """Whether ``after`` in place of ``before`` (which starts at ``column`` of ``source_line``) stays in ``limit``."""
    if "\n" in before or "\n" in after:
        return True  # a call written over several lines keeps its own layout
    rest = source_line.rstrip("\r\n")[column + len(before):]
    return len(source_line[:column]) + len(after) + len(rest) <= limit


def one_argument_per_line(call: cst.Call) -> cst.Call:
    """``call`` with each argument on a line of its own, a trailing comma, ``)`` back at the statement's indent."""
    if not call.args:
        return call
    inner = cst.ParenthesizedWhitespace(first_line=cst.TrailingWhitespace(), indent=True,
                                        last_line=cst.SimpleWhitespace(INDENT))
    closing = cst.ParenthesizedWhitespace(first_line=cst.TrailingWhitespace(), indent=True,
                                          last_line=cst.SimpleWhitespace(""))
    args = [arg.with_changes(comma=cst.Comma(whitespace_after=inner), whitespace_after_arg=cst.SimpleWhitespace(""))
            for arg in call.args]
    args[-1] = args[-1].with_changes(comma=cst.Comma(whitespace_after=closing))
    return call.with_changes(whitespace_before_args=inner, args=args)
