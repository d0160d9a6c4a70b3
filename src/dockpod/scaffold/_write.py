"""Write the rendered assets into a project without ever losing what is there.

A file that exists with other content is a conflict: unless ``force``, nothing at all is written and
the conflicts are returned. Identical files are left alone (``unchanged``); a script whose content is
right but whose executable bit is missing only gets the bit (``mode``). Each file is written to a
temporary file next to it and renamed into place, so a reader never sees half a file.
"""

from __future__ import annotations

import os
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from dockpod.errors import DockpodError
from dockpod.scaffold._options import ScaffoldOptions
from dockpod.scaffold._render import render_assets, selected_assets, template_context
from dockpod.scaffold._table import FINAL_STEPS, GROUPS

__all__ = ["FileResult", "ScaffoldResult", "Status", "scaffold"]

#: new: the file does not exist; unchanged: same content (and mode); mode: same content, executable bit
#: added; overwrite: other content, replaced because of ``force``; conflict: other content, left alone.
Status = Literal["new", "unchanged", "mode", "overwrite", "conflict"]


@dataclass(frozen=True)
class FileResult:
    """One file of a scaffold run: its path relative to the project, what happens to it, and its mode."""

    path: str
    status: Status
    executable: bool = False


@dataclass(frozen=True)
class ScaffoldResult:
    """What a run did (or, with ``dry_run`` or conflicts, would do), and the commands to run next."""

    root: Path
    options: ScaffoldOptions
    files: tuple[FileResult, ...]
    dry_run: bool
    next_commands: tuple[str, ...]

    @property
    def conflicts(self) -> list[FileResult]:
        """Existing files with other content that were not overwritten (nothing was written then)."""
        return [f for f in self.files if f.status == "conflict"]

    @property
    def written(self) -> bool:
        """Whether anything was written: not a dry run, no conflict, and some file new or changed."""
        return not self.dry_run and not self.conflicts and any(f.status != "unchanged" for f in self.files)


def scaffold(project_dir: Path, options: ScaffoldOptions, *, force: bool = False, dry_run: bool = False
             ) -> ScaffoldResult:
    """Render the assets ``options`` ask for and write them under ``project_dir``.

    Existing files with other content are conflicts: with ``force`` they are overwritten, otherwise
    nothing is written at all. With ``dry_run`` nothing is written either; the result says what would be.
    Raises :class:`DockpodError` when ``project_dir`` is not a folder or a file's place is taken by a folder.
    """
    if not project_dir.is_dir():
        raise DockpodError(f"{project_dir} is not a folder; create it first or pass the project's folder.")
    options = options.for_folder(project_dir)
    rendered = render_assets(options)
    modes = {asset.path: asset.executable for asset in selected_assets(options)}
    results = tuple(_status(project_dir, path, text, modes[path], force) for path, text in rendered.items())
    result = ScaffoldResult(project_dir, options, results, dry_run, _next_commands(project_dir, options))
    if dry_run or result.conflicts:
        return result
    for item in results:
        target = project_dir / item.path
        if item.status in ("new", "overwrite"):
            _write(target, rendered[item.path], item.executable)
        elif item.status == "mode":
            target.chmod(_mode(item.executable, target.stat().st_mode))
    return result


def _status(root: Path, path: str, text: str, executable: bool, force: bool) -> FileResult:
    target = root / path
    if target.is_dir():
        raise DockpodError(f"{target} is a folder where the scaffold writes a file; move it away and run again.")
    if not target.exists():
        return FileResult(path, "new", executable)
    if target.read_bytes() != text.encode():
        return FileResult(path, "overwrite" if force else "conflict", executable)
    if executable and not os.access(target, os.X_OK):
        return FileResult(path, "mode", executable)
    return FileResult(path, "unchanged", executable)


def _mode(executable: bool, current: int | None = None) -> int:
    """0644 or 0755 for a new file (less the umask); an existing file keeps its bits and gains x where it has r."""
    if current is not None:
        bits = stat.S_IMODE(current)
        return bits | ((bits & 0o444) >> 2) if executable else bits
    umask = os.umask(0)
    os.umask(umask)
    return (0o755 if executable else 0o644) & ~umask


def _write(target: Path, text: str, executable: bool) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    mode = _mode(executable, target.stat().st_mode if target.exists() else None)
    fd, temporary = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        with os.fdopen(fd, "w", newline="") as out:
            out.write(text)
        os.chmod(temporary, mode)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _next_commands(root: Path, options: ScaffoldOptions) -> tuple[str, ...]:
    context = template_context(options)
    commands = [] if root.resolve() == Path.cwd().resolve() else [f"cd {root}"]
    for name in options.groups:
        commands += [step.format(**context) for step in GROUPS[name].next_steps]
    return (*commands, *FINAL_STEPS)
