"""``dockpod migrate``: rewrite DockerOperator calls into ``container_task(...)`` or KubernetesPodOperator calls.

Target ``dockpod`` writes ``container_task(...)``; target ``kpo`` a plain ``KubernetesPodOperator(...)``
(:mod:`dockpod.migrate._to_kpo`). :mod:`dockpod.migrate._verify` compares the containers before and after.

    from dockpod.migrate.rewrite import migrate_source, migrate_paths, write_atomic

:func:`migrate_source` rewrites one file's text and returns a frozen :class:`MigrateResult` (the
new text, one :class:`CallReport` per DockerOperator call, or the error); :func:`migrate_paths` does
it for files and folders; :func:`write_atomic` replaces a file without ever leaving half of it.
Which calls are rewritten is decided by :func:`dockpod.migrate.assess.assess` (``manual`` calls are
left as they are, with a ``# dockpod:`` comment saying why). Calls of a DockerOperator subclass are
rewritten only when the subclass is trivial (see :func:`dockpod.migrate._finder.patterns`);
:func:`migrate_paths` finds the subclasses of other files of the tree as ``dockpod audit`` does.
"""

from __future__ import annotations

import difflib
import os
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from dockpod.migrate._codemod import CallReport
from dockpod.migrate._finder import External

__all__ = ["TARGETS", "CallReport", "MigrateResult", "Target", "migrate_paths", "migrate_source", "unified_diff",
           "write_atomic"]

#: What the calls become: ``dockpod`` (container_task) or ``kpo`` (a plain KubernetesPodOperator).
Target = Literal["dockpod", "kpo"]
TARGETS: tuple[Target, ...] = ("dockpod", "kpo")
#: Bytes that must appear in a file before it is parsed at all.
_MARKERS = ("DockerOperator", "docker_operator")
_SKIP_DIRS = frozenset({"__pycache__", "node_modules", "site-packages", "venv", ".venv", ".git"})


@dataclass(frozen=True)
class MigrateResult:
    """The outcome for one file: ``changed``, ``unchanged`` or ``failed`` (with ``error``)."""

    path: str
    status: Literal["changed", "unchanged", "failed"]
    original: str
    migrated: str
    calls: tuple[CallReport, ...] = ()
    error: str | None = None

    @property
    def changed(self) -> bool:
        """True when the file's text would change."""
        return self.status == "changed"


def migrate_source(source: str, *, target: Target = "dockpod", path: str = "<string>",
                   external: External | None = None, line_length: int | None = None) -> MigrateResult:
    """Rewrite the DockerOperator calls of one module's source text.

    ``external``: the DockerOperator subclasses other modules define (see :func:`subclasses_of_tree`),
    so that their calls here are judged (and left, unless trivial) too. ``line_length``: where a
    rewritten one-line call is wrapped, one argument per line (default: the linter configuration
    nearest ``path``, see :func:`dockpod.migrate._wrap.line_length`).
    """
    hidden = {name.rpartition(".")[2] for name in external} if external else set()
    if not any(marker in source for marker in _MARKERS) and not any(name in source for name in hidden):
        return MigrateResult(path, "unchanged", source, source)
    import libcst as cst

    command = _command(target)(source, path=None if path == "<string>" else path, external=external,
                               line_length=line_length)
    try:
        new = command.transform(cst.parse_module(source)).code
    except cst.ParserSyntaxError as exc:
        return MigrateResult(path, "failed", source, source, error=f"cannot parse: {exc.message} "
                             f"(line {exc.raw_line}, column {exc.raw_column})")
    calls = tuple(sorted(command.reports, key=lambda r: r.line))
    return MigrateResult(path, "changed" if new != source else "unchanged", source, new, calls)


def _command(target: Target) -> type:
    if target == "dockpod":
        from dockpod.migrate._to_dockpod import DockerToContainerTask

        return DockerToContainerTask
    if target == "kpo":
        from dockpod.migrate._to_kpo import DockerToKubernetesPodOperator

        return DockerToKubernetesPodOperator
    raise ValueError(f"unknown migration target {target!r}; use one of {', '.join(TARGETS)}")


def python_files(paths: Iterable[Path | str]) -> Iterator[Path]:
    """Every ``.py`` file under ``paths`` (files as given), sorted, tool and VCS folders skipped."""
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            for root, dirs, files in os.walk(path):
                dirs[:] = sorted(d for d in dirs if d not in _SKIP_DIRS and not d.startswith("."))
                yield from (Path(root) / f for f in sorted(files) if f.endswith(".py"))
        else:
            yield path


def migrate_paths(paths: Iterable[Path | str], *, target: Target = "dockpod") -> Iterator[MigrateResult]:
    """:func:`migrate_source` for every Python file under ``paths``; unreadable files are ``failed``."""
    files = list(python_files(paths))
    external = subclasses_of_tree(files)
    for path in files:
        try:
            source = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            yield MigrateResult(str(path), "failed", "", "", error=f"cannot read: {exc}")
            continue
        yield migrate_source(source, target=target, path=str(path), external=external)


def subclasses_of_tree(files: Iterable[Path | str]) -> External:
    """The DockerOperator subclasses the files define, and their subclasses in any of them (the audit's first pass)."""
    from dockpod.migrate import audit
    from dockpod.migrate._finder import may_define_subclass

    names = [str(path) for path in files]
    definers = []
    for name in names:
        try:
            data = audit._read(name)
        except OSError:
            continue
        if b"DockerOperator" in data and may_define_subclass(data):
            definers.append(name)
    external = audit._external_subclasses(definers)
    return audit._subclass_chains(names, external) if external else external


def unified_diff(result: MigrateResult) -> str:
    """The change of one file as a unified diff (empty when unchanged)."""
    return "".join(difflib.unified_diff(result.original.splitlines(keepends=True),
                                        result.migrated.splitlines(keepends=True),
                                        f"a/{result.path.lstrip('/')}", f"b/{result.path.lstrip('/')}"))


def write_atomic(path: Path | str, text: str) -> None:
    """Replace ``path`` with ``text``: a temporary file in the same folder, then a rename.

    The file's permission bits are kept; on any error the original is untouched and the temporary
    file removed.
    """
    path = Path(path)
    mode = path.stat().st_mode & 0o7777 if path.exists() else None
    handle, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".dockpod-tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        if mode is not None:
            os.chmod(temp, mode)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
