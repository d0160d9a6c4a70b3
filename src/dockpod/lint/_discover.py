"""Which files the linter reads, and as what: by name first, then by content."""

from __future__ import annotations

import fnmatch
import os
import re
from collections.abc import Iterable, Iterator
from pathlib import Path

from dockpod.lint._model import FileKind

__all__ = ["SKIP_DIRS", "discover", "kind_of"]

SKIP_DIRS = frozenset({".git", ".hg", ".venv", "venv", "node_modules", "__pycache__", ".tox", ".mypy_cache",
                       ".ruff_cache", ".pytest_cache", "build", "dist", ".dockpod"})
_DOCKERFILE = ("Dockerfile", "Dockerfile.*", "*.Dockerfile", "*.dockerfile", "Containerfile", "Containerfile.*")
_COMPOSE = ("compose.y*ml", "compose.*.y*ml", "compose-*.y*ml", "docker-compose*.y*ml")
_HELM_VALUES = ("values.y*ml", "values-*.y*ml", "values.*.y*ml", "*-values.y*ml", "*.values.y*ml")
_K8S = re.compile(r"^apiVersion:\s*\S+.*^kind:\s*\S+|^kind:\s*\S+.*^apiVersion:\s*\S+", re.M | re.S)
_DAG = re.compile(r"\b(container_task|KubernetesPodOperator|DockerOperator)\b")
MAX_BYTES = 2_000_000


def kind_of(path: Path, text: str | None = None) -> FileKind | None:
    """The kind of ``path`` (its text is read when the name does not decide), or None to skip it."""
    name = path.name
    if any(fnmatch.fnmatch(name, pattern) for pattern in _DOCKERFILE):
        return "dockerfile"
    suffix = path.suffix.lower()
    if suffix in (".yaml", ".yml"):
        if any(fnmatch.fnmatch(name, pattern) for pattern in _COMPOSE):
            return "compose"
        if any(fnmatch.fnmatch(name, pattern) for pattern in _HELM_VALUES):
            return "helm_values"
        text = _read(path) if text is None else text
        return "kubernetes" if text is not None and _K8S.search(text) else None
    if suffix == ".json":
        text = _read(path) if text is None else text
        return "kubernetes" if text is not None and '"apiVersion"' in text and '"kind"' in text else None
    if suffix == ".py":
        text = _read(path) if text is None else text
        return "dag" if text is not None and _DAG.search(text) else None
    return None


def discover(paths: Iterable[Path], exclude: Iterable[str] = ()) -> Iterator[tuple[Path, FileKind]]:
    """Every lintable file under ``paths`` (files are taken as given), sorted, with its kind."""
    patterns = list(exclude)
    for root in paths:
        if root.is_file():
            kind = kind_of(root)
            if kind is not None:
                yield root, kind
            continue
        found = []
        for folder, dirs, files in os.walk(root):
            dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS)
            for name in files:
                path = Path(folder) / name
                if any(fnmatch.fnmatch(str(path), p) or fnmatch.fnmatch(path.as_posix(), p) for p in patterns):
                    continue
                kind = kind_of(path)
                if kind is not None:
                    found.append((path, kind))
        yield from sorted(found)


def _read(path: Path) -> str | None:
    try:
        if path.stat().st_size > MAX_BYTES:
            return None
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
