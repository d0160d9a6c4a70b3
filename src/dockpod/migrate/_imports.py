"""Import edits for the rewrite, in one pass: add ``from dockpod import ...``, drop imports no longer used.

LibCST's AddImportsVisitor and RemoveImportsVisitor do the same with a scope analysis each, which
costs more than the rest of a migration together; a DAG file's imports are at its top, and a name
is unused when no name outside the imports spells it.
"""

from __future__ import annotations

import ast
from collections.abc import Sequence
from typing import Any

import libcst as cst

from dockpod.migrate._codemod import dotted

#: Nodes whose ``name`` is a name of the program (a definition, an exception or a pattern binding).
_NAMED = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.ExceptHandler, ast.MatchAs, ast.MatchStar)


def _used_names(module: cst.Module) -> set[str]:
    """Every name spelled outside import statements (as a LibCST ``Name`` would be), read with :mod:`ast`.

    Generating the code and parsing it with the C parser costs a third of a LibCST visit of the tree.
    """
    names: set[str] = set()
    for node in ast.walk(ast.parse(module.code)):
        if isinstance(node, ast.Name):
            names.add(node.id)
        elif isinstance(node, ast.Attribute):
            names.add(node.attr)
        elif isinstance(node, ast.keyword | ast.arg) and node.arg:
            names.add(node.arg)
        elif isinstance(node, _NAMED) and node.name:
            names.add(node.name)
        elif isinstance(node, ast.Global | ast.Nonlocal):
            names.update(node.names)
    return names


def fix_imports(module: cst.Module, *, add: Sequence[tuple[str, str] | tuple[str, str, str | None]],
                remove_unused: Sequence[tuple[str, str]]) -> cst.Module:
    """``module`` with ``from M import N [as A]`` for each of ``add``, and unused ``remove_unused`` imports gone.

    ``remove_unused`` holds ``(module, name)`` pairs: ``from module import name`` goes when its local name is
    unused, and so does a module import of ``module`` itself (``import module as alias``, or
    ``from parent import last`` for ``module`` = ``parent.last``).
    """
    used = _used_names(module)
    unwanted = set(remove_unused)
    unwanted |= {tuple(mod.rsplit(".", 1)) for mod, _name in remove_unused if "." in mod}  # type: ignore[misc]
    modules = {mod for mod, _name in remove_unused}
    body: list[cst.BaseStatement] = []
    pending_lines: list[cst.EmptyLine] = []
    for statement in module.body:
        if pending_lines:
            own = list(statement.leading_lines)
            if any(line.comment is None for line in own):  # keep one blank gap, not two
                pending_lines = [line for line in pending_lines if line.comment is not None]
            statement = statement.with_changes(leading_lines=[*pending_lines, *own])
            pending_lines = []
        new = _drop_unused(statement, unwanted, modules, used)
        if new is None:
            pending_lines = list(statement.leading_lines)
            continue
        body.append(new)
    body = _add(body, add)
    return module.with_changes(body=body)


def _drop_unused(statement: cst.BaseStatement, unwanted: set[tuple[str, str]], modules: set[str],
                 used: set[str]) -> cst.BaseStatement | None:
    if not isinstance(statement, cst.SimpleStatementLine) or len(statement.body) != 1:
        return statement
    small = statement.body[0]
    if isinstance(small, cst.Import):
        return _drop_unused_modules(statement, small, modules, used)
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
    return _with_names(statement, small, keep)


def _drop_unused_modules(statement: cst.SimpleStatementLine, small: cst.Import, modules: set[str],
                         used: set[str]) -> cst.BaseStatement | None:
    """``import a.b.c as x`` (or ``import a.b.c``) of one of ``modules`` goes when ``x`` (or ``a``) is unused."""
    keep = []
    for alias in small.names:
        name = str(dotted(alias.name))
        local = alias.asname.name.value if alias.asname is not None else name.split(".")[0]  # type: ignore[union-attr]
        if name in modules and local not in used:
            continue
        keep.append(alias)
    return _with_names(statement, small, keep)


def _with_names(statement: cst.SimpleStatementLine, small: cst.Import | cst.ImportFrom,
                keep: list[Any]) -> cst.BaseStatement | None:
    """The import statement with only the ``keep`` names: unchanged, rebuilt, or gone (None)."""
    if len(keep) == len(small.names):
        return statement
    if not keep:
        return None
    keep[-1] = keep[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
    if isinstance(small, cst.ImportFrom):  # parentheses only make sense around several names
        parens = {"lpar": small.lpar, "rpar": small.rpar} if len(keep) > 1 else {"lpar": None, "rpar": None}
        return statement.with_changes(body=[small.with_changes(names=keep, **parens)])
    return statement.with_changes(body=[small.with_changes(names=keep)])


def _add(body: list[cst.BaseStatement],
         add: Sequence[tuple[str, str] | tuple[str, str, str | None]]) -> list[cst.BaseStatement]:
    by_module: dict[str, list[tuple[str, str | None]]] = {}
    for module, name, *alias in add:
        by_module.setdefault(module, []).append((name, alias[0] if alias else None))
    last_import = -1
    for index, statement in enumerate(body):
        if isinstance(statement, cst.SimpleStatementLine) and all(
                isinstance(s, cst.Import | cst.ImportFrom) for s in statement.body):
            last_import = index
            small = statement.body[0]
            if isinstance(small, cst.ImportFrom) and small.module is not None and not small.relative \
                    and dotted(small.module) in by_module and not isinstance(small.names, cst.ImportStar):
                names = by_module.pop(str(dotted(small.module)))
                aliases = {_spelled(a): a for a in small.names}
                missing = [n for n in names if n not in aliases]
                if missing:
                    merged = sorted([*aliases, *missing], key=_order)
                    new = [aliases.get(n) or _alias(n) for n in merged]
                    new = [a.with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
                           for a in new[:-1]] + [new[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)]
                    body[index] = statement.with_changes(body=[small.with_changes(names=new, lpar=None, rpar=None)])
        elif last_import >= 0:
            break
    for module, names in by_module.items():
        spelled = [f"{n} as {a}" if a else n for n, a in sorted(names, key=_order)]
        line = cst.parse_statement(f"from {module} import {', '.join(spelled)}\n")
        last_import += 1
        body.insert(last_import, line)
    return body


def _spelled(alias: cst.ImportAlias) -> tuple[str, str | None]:
    return str(dotted(alias.name)), alias.asname.name.value if alias.asname is not None else None  # type: ignore[union-attr]


def _alias(name: tuple[str, str | None]) -> cst.ImportAlias:
    asname = cst.AsName(cst.Name(name[1])) if name[1] else None
    return cst.ImportAlias(cst.Name(name[0]), asname=asname)


def _order(name: tuple[str, str | None]) -> tuple[bool, str]:
    return not name[0][0].isupper(), name[0]


def _is_docstring(statement: cst.BaseStatement) -> bool:
    return isinstance(statement, cst.SimpleStatementLine) and isinstance(statement.body[0], cst.Expr) \
        and isinstance(statement.body[0].value, cst.SimpleString | cst.ConcatenatedString)
