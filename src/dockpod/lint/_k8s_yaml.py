"""YAML (and JSON) read with ruamel.yaml's round-trip loader, so that every key keeps its line number.

Shared by the Kubernetes and Helm values families: ``load_documents`` parses once per file (cached in
``LintFile.data``), ``key_line``/``item_line`` give 1-based lines of a mapping's key or a sequence's item.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from dockpod.lint._model import LintFile

__all__ = ["YAMLError", "as_map", "as_seq", "item_line", "key_line", "load_documents", "node_line"]


def load_documents(file: LintFile) -> list[Any]:
    """The file's documents (empty ones dropped), parsed once; raises ``YAMLError`` when it cannot be parsed."""
    if "yaml_documents" not in file.data:
        yaml = YAML(typ="rt", pure=True)
        file.data["yaml_documents"] = [doc for doc in yaml.load_all(file.text) if doc is not None]
    return file.data["yaml_documents"]


def key_line(node: Any, key: Any, default: int = 0) -> int:
    """The 1-based line of ``key`` in the mapping ``node``; ``default`` when unknown."""
    try:
        return node.lc.key(key)[0] + 1
    except (AttributeError, KeyError, TypeError):
        return default


def item_line(node: Any, index: int, default: int = 0) -> int:
    """The 1-based line of item ``index`` of the sequence ``node``; ``default`` when unknown."""
    try:
        return node.lc.item(index)[0] + 1
    except (AttributeError, KeyError, IndexError, TypeError):
        return default


def node_line(node: Any, default: int = 0) -> int:
    """The 1-based line where the mapping or sequence ``node`` starts."""
    try:
        return node.lc.line + 1
    except (AttributeError, TypeError):
        return default


def as_map(value: Any) -> Mapping[str, Any]:
    """``value`` when it is a mapping, else an empty one (malformed input is the schema rule's business)."""
    return value if isinstance(value, Mapping) else {}


def as_seq(value: Any) -> Sequence[Any]:
    """``value`` when it is a list, else an empty one."""
    return value if isinstance(value, list) else []
