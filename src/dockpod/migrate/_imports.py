"""Import edits for the rewrite, in one pass: add ``from dockpod import ...``, drop imports no longer used.

LibCST's AddImportsVisitor and RemoveImportsVisitor do the same with a scope analysis each, which
costs more than the rest of a migration together; a DAG file's imports are at its top, and a name
is unused when no ``Name`` node outside the imports spells it.
"""

from __future__ import annotations

from collections.abc import Sequence

import libcst as cst

from dockpod.migrate._codemod import dotted


class _Names(cst.CSTVisitor):
    """Every Name spelled outside import statements."""

    def __init__(self) -> None:
        super().__init__()
        self.names: set[str] = set()

    def visit_Import(self, node: cst.Import) -> bool:
        return False

    def visit_ImportFrom(self, node: cst.ImportFrom) -> bool:
        return False

    def visit_Name(self, node: cst.Name) -> None:
        self.names.add(node.value)


def fix_imports(module: cst.Module, *, add: Sequence[tuple[str, str]],
                remove_unused: Sequence[tuple[str, str]]) -> cst.Module:
    """``module`` with ``from M import N`` for each of ``add`` and each of ``remove_unused`` gone if unused."""
    collector = _Names()
    module.visit(collector)
    used = collector.names
    unwanted = set(remove_unused)
    body: list[cst.BaseStatement] = []
    pending_lines: list[cst.EmptyLine] = []
    for statement in module.body:
        if pending_lines:
            statement = statement.with_changes(leading_lines=[*pending_lines, *statement.leading_lines])
            pending_lines = []
        new = _drop_unused(statement, unwanted, used)
        if new is None:
            pending_lines = [line for line in statement.leading_lines if line.comment is not None]
            continue
        body.append(new)
    body = _add(body, add)
    return module.with_changes(body=body)


def _drop_unused(statement: cst.BaseStatement, unwanted: set[tuple[str, str]],
                 used: set[str]) -> cst.BaseStatement | None:
    if not isinstance(statement, cst.SimpleStatementLine) or len(statement.body) != 1:
        return statement
    small = statement.body[0]
    if not isinstance(small, cst.ImportFrom) or small.relative or isinstance(small.names, cst.ImportStar):
        return statement
    module = dotted(small.module) if small.module is not None else None
    keep = []
    for alias in small.names:
        name = dotted(alias.name)
        local = alias.asname.name.value if alias.asname is not None else name  # type: ignore[union-attr]
        if (module, name) in unwanted and local not in used:
            continue
        keep.append(alias)
    if len(keep) == len(small.names):
        return statement
    if not keep:
        return None
    keep[-1] = keep[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
    lpar = small.lpar if len(keep) > 1 else None
    rpar = small.rpar if len(keep) > 1 else None
    return statement.with_changes(body=[small.with_changes(names=keep, lpar=lpar, rpar=rpar)])


def _add(body: list[cst.BaseStatement], add: Sequence[tuple[str, str]]) -> list[cst.BaseStatement]:
    by_module: dict[str, list[str]] = {}
    for module, name in add:
        by_module.setdefault(module, []).append(name)
    last_import = -1
    for index, statement in enumerate(body):
        if isinstance(statement, cst.SimpleStatementLine) and all(
                isinstance(s, cst.Import | cst.ImportFrom) for s in statement.body):
            last_import = index
            small = statement.body[0]
            if isinstance(small, cst.ImportFrom) and small.module is not None and not small.relative \
                    and dotted(small.module) in by_module and not isinstance(small.names, cst.ImportStar):
                names = by_module.pop(str(dotted(small.module)))
                have = {dotted(a.name) for a in small.names}
                missing = [n for n in names if n not in have]
                if missing:
                    merged = sorted([*have, *missing], key=lambda n: (not str(n)[0].isupper(), str(n)))
                    aliases = {dotted(a.name): a for a in small.names}
                    new = [aliases.get(n) or cst.ImportAlias(cst.Name(str(n))) for n in merged]
                    new = [a.with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
                           for a in new[:-1]] + [new[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)]
                    body[index] = statement.with_changes(body=[small.with_changes(names=new, lpar=None, rpar=None)])
        elif last_import >= 0:
            break
    for module, names in by_module.items():
        ordered = sorted(names, key=lambda n: (not n[0].isupper(), n))
        line = cst.parse_statement(f"from {module} import {', '.join(ordered)}\n")
        last_import += 1
        body.insert(last_import, line)
    return body


def _is_docstring(statement: cst.BaseStatement) -> bool:
    return isinstance(statement, cst.SimpleStatementLine) and isinstance(statement.body[0], cst.Expr) \
        and isinstance(statement.body[0].value, cst.SimpleString | cst.ConcatenatedString)
