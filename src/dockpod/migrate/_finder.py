"""Find DockerOperator and KubernetesPodOperator uses in one module's syntax tree (:mod:`ast`).

Names are matched by what they were imported as (``from airflow.providers.docker.operators import
docker`` then ``docker.DockerOperator``; a relative import is resolved against the file's own path),
not by spelling, and only where the import is what the name means: a parameter, a local variable or a
local function of the same name shadows it (see :meth:`_Finder.shadowed`). Argument values become plain Python values
when the source spells them out (literals, module constants assigned once, ``Mount(...)`` calls) and
:class:`~dockpod.migrate.assess.Dynamic` otherwise.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from dockpod.migrate import _names as names
from dockpod.migrate.assess import Assessment, Dynamic, has_dynamic

_XCOM_IN_TEMPLATE = re.compile(r"""xcom_pull\(\s*(?:task_ids\s*=\s*)?\[?\s*['"]([^'"]+)['"]""")
_DEPTH = 20
#: Line ends as the parser counts them (not str.splitlines, which also splits on form feeds and more).
_LINE_END = re.compile(r"(?<=\r\n)|(?<=\r)(?!\n)|(?<=\n)")
#: Nodes that can hold statements: the pre-pass walks these alone.
_BLOCKS = (ast.stmt, ast.excepthandler, ast.match_case)
#: Nodes with no visitor of their own and nothing inside that one could see: never visited.
_LEAVES = frozenset(cls for base in (ast.expr_context, ast.boolop, ast.operator, ast.unaryop, ast.cmpop)
                    for cls in base.__subclasses__()) | {ast.Name, ast.alias}
#: What else a field may hold that is no node: never visited either.
_SCALARS = frozenset({type(None), str, bytes, int, float, complex, bool, type(...)})
_VISIT_NEVER = _LEAVES | _SCALARS
#: Fields that never hold a node with something to see (names, flags, contexts, operators, aliases).
_SCALAR_FIELDS = frozenset({"ctx", "op", "ops", "type_comment", "kind", "is_async", "level", "module", "names",
                            "id", "attr", "arg", "simple", "conversion", "name", "tag", "lineno", "kwd_attrs"})
#: Displays, with no visitor of their own: generic_visit reads their items in place.
_DISPLAYS = frozenset({ast.List, ast.Tuple, ast.Set, ast.Dict})
#: Node class -> the fields generic_visit reads, in field order.
_CHILD_FIELDS: dict[type, tuple[str, ...]] = {}


def _child_fields(cls: type) -> tuple[str, ...]:
    fields = _CHILD_FIELDS[cls] = tuple(name for name in cls._fields  # type: ignore[attr-defined]
                                        if name not in _SCALAR_FIELDS)
    return fields


@dataclass(frozen=True)
class Found:
    """One use found in a module, before it is judged."""

    line: int
    column: int
    operator: str
    kind: str  # call | partial | decorator | subclass | default_args
    task_id: object = None
    image: object = None
    kwargs: dict[str, object] = field(default_factory=dict)
    opaque: tuple[str, ...] = ()
    variable: str | None = None
    output_read: bool = False
    defined_at: int | None = None  # the line of the subclass a call instantiates
    defined_in: str | None = None  # the file of that subclass, when it is another module of the tree
    #: For a subclass and its calls: the class adds nothing to DockerOperator but harmless class
    #: attributes (:data:`~dockpod.migrate._names.HARMLESS_ATTRIBUTES`), so its calls migrate as DockerOperator's.
    trivial: bool = False
    #: For a call: its callee as spelled (``DockerOperator``, ``docker.DockerOperator``, ``Base``).
    callee: str | None = None
    #: The default_args values merged into ``kwargs`` (those the call does not give itself), and what
    #: of those default_args could not be seen.
    defaults: dict[str, object] = field(default_factory=dict)
    defaults_opaque: tuple[str, ...] = ()
    #: Where the dict literal of those default_args starts (line, column from 0), when one is seen.
    defaults_at: tuple[int, int] | None = None


@dataclass(frozen=True)
class Module:
    """Everything found in one module: the uses, and which task ids and variables have their XCom read."""

    found: tuple[Found, ...]
    xcom_task_ids: frozenset[str]
    xcom_variables: frozenset[str]

    def xcom_read(self, found: Found) -> bool | None:
        """True when this module reads the XCom of the task ``found`` makes, None when it is not seen to.

        Per task: through the call's ``.output``, the variable it is assigned to (passed to a TaskFlow
        function or ``XComArg``), or its task id in an ``xcom_pull``. Shared by audit and migrate.
        """
        if found.kind not in ("call", "partial"):
            return None
        if found.output_read or found.variable in self.xcom_variables:
            return True
        task_id = found.task_id
        if isinstance(task_id, str) and any(p == task_id or p.endswith("." + task_id) for p in self.xcom_task_ids):
            return True
        return None


#: default_args as a task sees them: its DockerOperator arguments, what cannot be seen, and where its
#: dict literal starts (line, column from 0; None when there is no one literal).
_Defaults = tuple[dict[str, object], tuple[str, ...], tuple[int, int] | None]

#: Subclasses of DockerOperator defined in other modules of the audited tree: qualified name as
#: imported (``company_operators.SparkOperator``) -> (file, line of the class, whether it is trivial).
External = dict[str, tuple[str, int, bool]]

#: A class statement whose bases may name DockerOperator: the files worth a look in the first pass.
_SUBCLASS_HINT = re.compile(rb"^[ \t]*class[ \t]+\w+[ \t]*\([^)]*DockerOperator", re.MULTILINE)


def find(source: str, external: External | None = None, path: str | None = None) -> Module:
    """Every DockerOperator-related use in ``source``; raises SyntaxError for a module that does not parse.

    ``external`` names the DockerOperator subclasses of the other modules (see :func:`subclasses`):
    their calls are found as those of a subclass defined in this file are. ``path``, the file's path
    as the audit walks it, resolves relative imports (see :func:`absolute_module`).
    """
    tree = ast.parse(source)
    finder = _Finder(source, tree, external, path)
    finder.visit(tree)
    return Module(tuple(finder.found), frozenset(finder.xcom_ids), frozenset(finder.xcom_vars))


def may_define_subclass(data: bytes) -> bool:
    """Whether a file's bytes may define a DockerOperator subclass (a cheap test before :func:`subclasses`)."""
    return _SUBCLASS_HINT.search(data) is not None


def subclasses(source: str, external: External | None = None, path: str | None = None) -> dict[str, tuple[int, bool]]:
    """The DockerOperator subclasses a module defines at its top level: class name -> (line, trivial).

    Only the pre-pass runs (imports and class statements), not the walk over every expression.
    """
    tree = ast.parse(source)
    finder = _Finder(source, tree, external, path)
    top = {statement.name for statement in tree.body if isinstance(statement, ast.ClassDef)}
    return {name: (line, name in finder.trivial) for name, line in finder.subclasses.items() if name in top}


def patterns(found: Found) -> list[Assessment]:
    """What the way DockerOperator is used adds to the verdict of its arguments (shared by audit and migrate).

    A call of a subclass that is not trivial is ``manual``: migrate leaves it, since the subclass's
    own code (an ``execute``, arguments of its own) would be dropped without a word.
    """
    kept = unmoved_defaults(found) if found.kind == "call" else []
    findings = [Assessment("review", (names.DEFAULT_ARGS_KEPT.format(keys=", ".join(kept)),))] if kept else []
    keys = {"decorator": "decorator", "subclass": "subclass", "partial": "partial"}
    key = keys.get(found.kind) or ("subclass_call" if found.defined_at is not None else None)
    if key is None:
        return findings
    if key.startswith("subclass") and found.trivial:
        key += "_trivial"
    if key.startswith("subclass_call") and found.defined_in is not None:
        key += "_elsewhere"
    if key not in names.PATTERN_FINDINGS:
        return findings
    verdict, reason = names.PATTERN_FINDINGS[key]
    # no line: it moves when a file is migrated, and a comment must read the same on a second run
    where = "defined in this file" if found.defined_in is None else f"defined in {found.defined_in}"
    return [Assessment(verdict, (reason.format(operator=found.operator, where=where),)),  # type: ignore[arg-type]
            *findings]


def unmoved_defaults(found: Found) -> list[str]:
    """The default_args a rewrite of this call cannot take over: translated, and known only at run time.

    The others are written into the rewritten call as arguments of its own (see :func:`movable`).
    """
    if not found.defaults:
        return []
    arguments = _table().DOCKER_ARGUMENTS
    return [name for name, value in found.defaults.items()
            if arguments[name].verdict == "translated" and not movable(value)]


def movable(value: object) -> bool:
    """Whether a default_args value is literal source (a templated string is), so that it can move into a call."""
    if isinstance(value, Dynamic):
        try:
            ast.literal_eval(value.source)
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            return False
        return True
    if isinstance(value, dict):
        return all(movable(k) and movable(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return all(movable(item) for item in value)
    return True


def absolute_module(path: str, level: int, module: str | None) -> str | None:
    """The dotted name ``from {'.' * level}{module} import ...`` means in the file at ``path``, or None.

    Spelled as the longest tail of the path made of identifiers, which is one of the names
    :func:`module_names` gives the module imported (for files of one walk, under one root).
    """
    parts = [part for part in re.split(r"[\\/]+", path) if part and part != "."][:-1]  # the file's folder
    if level > 1:
        if level - 1 > len(parts):
            return None
        parts = parts[:len(parts) - (level - 1)]
    parts += module.split(".") if module else []
    tail: list[str] = []
    for part in reversed(parts):
        if not part.isidentifier():
            break
        tail.append(part)
    return ".".join(reversed(tail)) or None


def module_names(path: str) -> list[str]:
    """The dotted names a file may be imported under: every tail of its path (``a/b/c.py``: c, b.c, a.b.c).

    DAG folders and plugin folders are put on ``sys.path`` by Airflow, so any of the tails may be the one.
    """
    parts = [part for part in re.split(r"[\\/]+", path) if part and part != "."]
    if not parts or not parts[-1].endswith(".py"):
        return []
    parts[-1] = parts[-1][:-3]
    if parts[-1] == "__init__":
        parts.pop()
    return [".".join(parts[i:]) for i in range(len(parts) - 1, -1, -1)
            if all(part.isidentifier() for part in parts[i:])]


def _statements(tree: ast.Module) -> list[ast.AST]:
    """The statements of ``tree`` in :func:`ast.walk` order, without walking into expressions.

    ``ast.walk`` goes breadth first. Statements sit only in the lists of other statements, of except
    handlers and of match cases, so walking those alone, in field order, keeps every statement's depth
    and its order among its siblings: the statements come out in the order ``ast.walk`` gives them.
    """
    nodes: list[ast.AST] = [tree]
    for node in nodes:  # grows while it is read: breadth first
        for name in node._fields:
            value = getattr(node, name, None)
            if isinstance(value, list):
                nodes.extend(item for item in value if isinstance(item, _BLOCKS))
    return nodes


def _has_dynamic(value: object) -> bool:
    """:func:`~dockpod.migrate.assess.has_dynamic` for what :meth:`_Finder.value` returns (exact types)."""
    cls = value.__class__
    if cls is Dynamic:
        return True
    if cls is dict:
        value = [*value.keys(), *value.values()]  # type: ignore[attr-defined]
    elif cls is not list and cls is not tuple:
        return False if cls in _PLAIN else has_dynamic(value)
    for item in value:  # type: ignore[attr-defined]
        if item.__class__ in _PLAIN:
            continue
        if _has_dynamic(item):
            return True
    return False


def _table() -> Any:
    """:mod:`dockpod.backends.table`, imported on first use (not with this module) and then kept."""
    global _TABLE
    if _TABLE is None:
        from dockpod.backends import table

        _TABLE = table
    return _TABLE


_TABLE: Any = None

#: Value types with nothing inside: never Dynamic.
_PLAIN = frozenset({type(None), str, bytes, int, float, complex, bool, type(...)})


class _Finder(ast.NodeVisitor):
    #: Node class -> the method that visits it (NodeVisitor.visit looks it up by name for every node).
    _visitors: dict[type, Callable[[_Finder, Any], None]] = {}

    def __init__(self, source: str, tree: ast.Module, external: External | None = None,
                 path: str | None = None) -> None:
        self.source = source
        self.path = path
        self.external: External = external or {}
        self.external_names: dict[str, tuple[str, int, bool]] = {}
        self._lines: list[str] | None = None
        self.leaves = _VISIT_NEVER
        self.imports: dict[str, str] = {}
        self.constants: dict[str, ast.expr] = {}
        self.subclasses: dict[str, int] = {}
        self.trivial: set[str] = set()  # the subclasses that add only harmless class attributes
        self.scopes: list[ast.FunctionDef | ast.AsyncFunctionDef] = []  # the functions being walked
        self._locals: dict[int, frozenset[str]] = {}
        self.taskflow: set[str] = set()
        self.found: list[Found] = []
        self.consumed: set[int] = set()
        self.defaults_stack: list[_Defaults] = []
        self.named_dags: dict[str, _Defaults] = {}
        self.reported_defaults: set[int] = set()
        self.assigned: dict[int, str] = {}
        self.output_calls: set[int] = set()
        self.xcom_ids: set[str] = set()
        self.xcom_vars: set[str] = set()
        self._prepare(tree)

    # --- pre-pass: imports, module constants, subclasses, TaskFlow functions ---------------------

    def _prepare(self, tree: ast.Module) -> None:
        counts: dict[str, int] = {}
        classes: list[ast.ClassDef] = []
        functions: list[ast.FunctionDef | ast.AsyncFunctionDef] = []
        for node in _statements(tree):  # imports, classes and functions are statements
            if isinstance(node, ast.ClassDef):
                classes.append(node)
            elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                functions.append(node)
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.asname:
                        self.imports[alias.asname] = alias.name
                    else:
                        head = alias.name.split(".")[0]
                        self.imports[head] = head
            elif isinstance(node, ast.ImportFrom) and node.level:
                base = absolute_module(self.path, node.level, node.module) if self.path else None
                for alias in node.names if base else ():
                    if alias.name != "*":
                        self.imports[alias.asname or alias.name] = f"{base}.{alias.name}"
            elif isinstance(node, ast.ImportFrom) and node.module:
                for alias in node.names:
                    if alias.name == "*":
                        for qualified in names.DOCKER_OPERATOR | names.KUBERNETES_POD_OPERATOR:
                            module, _, name = qualified.rpartition(".")
                            if module == node.module:
                                self.imports[name] = qualified
                    else:
                        self.imports[alias.asname or alias.name] = f"{node.module}.{alias.name}"
        for statement in tree.body:
            targets = statement.targets if isinstance(statement, ast.Assign) else (
                [statement.target] if isinstance(statement, ast.AnnAssign) and statement.value else [])
            for target in targets:
                if isinstance(target, ast.Name):
                    counts[target.id] = counts.get(target.id, 0) + 1
                    self.constants[target.id] = statement.value  # type: ignore[assignment]
        for name, count in counts.items():
            if count > 1:
                del self.constants[name]
        for statement in tree.body:  # a module-level def or class of an imported name replaces the import
            if isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                self.imports.pop(statement.name, None)
        changed = True
        while changed:
            changed = False
            for cls in classes:
                if cls.name not in self.subclasses and any(self.operator(base) == "DockerOperator"
                                                           or (isinstance(base, ast.Name)
                                                               and base.id in self.subclasses)
                                                           or self.qualname(base) in self.external
                                                           for base in cls.bases):
                    self.subclasses[cls.name] = cls.lineno
                    changed = True
        changed = True
        while changed:  # trivial: one base, itself DockerOperator or trivial, and a harmless body
            changed = False
            for cls in classes:
                if cls.name in self.subclasses and cls.name not in self.trivial and self.is_trivial(cls):
                    self.trivial.add(cls.name)
                    changed = True
        for function in functions:
            for decorator in function.decorator_list:
                target = decorator.func if isinstance(decorator, ast.Call) else decorator
                while isinstance(target, ast.Attribute) and self.qualname(target) not in names.TASK_DECORATOR:
                    target = target.value
                if self.qualname(target) in names.TASK_DECORATOR:
                    self.taskflow.add(function.name)

    def is_trivial(self, cls: ast.ClassDef) -> bool:
        """Whether a DockerOperator subclass adds nothing but harmless class attributes (its base being trivial too)."""
        if len(cls.bases) != 1 or cls.keywords or cls.decorator_list:
            return False
        base = cls.bases[0]
        qualified = self.qualname(base)
        if not (self.operator(base) == "DockerOperator" or (isinstance(base, ast.Name) and base.id in self.trivial)
                or (qualified in self.external and self.external[qualified][2])):
            return False
        for statement in cls.body:
            if isinstance(statement, ast.Pass) or (isinstance(statement, ast.Expr)
                                                   and isinstance(statement.value, ast.Constant)):
                continue  # a docstring, pass or ...
            targets = statement.targets if isinstance(statement, ast.Assign) else (
                [statement.target] if isinstance(statement, ast.AnnAssign) else [])
            if not targets or not all(isinstance(t, ast.Name) and t.id in names.HARMLESS_ATTRIBUTES for t in targets):
                return False
        return True

    # --- walking -------------------------------------------------------------------------------

    def visit(self, node: ast.AST) -> None:
        """NodeVisitor.visit, with the method looked up once per node class."""
        cls = node.__class__
        method = self._visitors.get(cls) or self._visitor(cls)
        method(self, node)

    def _visitor(self, cls: type) -> Callable[[_Finder, Any], None]:
        method = self._visitors[cls] = getattr(type(self), "visit_" + cls.__name__, _Finder.generic_visit)
        return method

    def generic_visit(self, node: ast.AST) -> None:
        """NodeVisitor.generic_visit (every child, in field order), skipping the leaves nothing visits.

        Only the fields that can hold a node are read (see :func:`_child_fields`); constants and
        keywords, the most common children, are handled here rather than by a call of their own.
        """
        leaves, visitors = self.leaves, self._visitors
        cls = node.__class__
        child_fields = _CHILD_FIELDS.get(cls)
        if child_fields is None:
            child_fields = _child_fields(cls)
        for name in child_fields:
            value = getattr(node, name, None)
            for item in value if value.__class__ is list else (value,):
                cls = item.__class__
                if cls is ast.keyword:
                    item = item.value
                    cls = item.__class__
                if cls is ast.Constant:
                    constant = item.value
                    if constant.__class__ is str and "xcom_pull" in constant:
                        self.xcom_ids.update(_XCOM_IN_TEMPLATE.findall(constant))
                elif cls in leaves:
                    continue
                elif cls in _DISPLAYS:  # generic_visit of a list, tuple, set or dict, in place
                    for inner in item.elts if cls is not ast.Dict else [*item.keys, *item.values]:
                        cls = inner.__class__
                        if cls is ast.Constant:
                            constant = inner.value
                            if constant.__class__ is str and "xcom_pull" in constant:
                                self.xcom_ids.update(_XCOM_IN_TEMPLATE.findall(constant))
                        elif cls not in leaves:
                            (visitors.get(cls) or self._visitor(cls))(self, inner)
                else:
                    (visitors.get(cls) or self._visitor(cls))(self, item)

    def visit_keyword(self, node: ast.keyword) -> None:
        if node.value.__class__ not in self.leaves:  # generic_visit, for the only child a keyword has
            self.visit(node.value)

    @property
    def lines(self) -> list[str]:
        """The source's lines, split only when a segment is first needed."""
        if self._lines is None:
            source = self.source
            if "\r" in source:
                self._lines = _LINE_END.split(source)
            else:  # only \n ends a line: the same lines, split without the regular expression
                lines = source.split("\n")
                last = lines.pop()
                self._lines = [line + "\n" for line in lines]
                self._lines.append(last)
        return self._lines

    # --- names ---------------------------------------------------------------------------------

    def qualname(self, node: ast.expr) -> str | None:
        parts: list[str] = []
        while isinstance(node, ast.Attribute):
            parts.append(node.attr)
            node = node.value
        if not isinstance(node, ast.Name) or node.id not in self.imports or (self.scopes and self.shadowed(node.id)):
            return None
        return ".".join([self.imports[node.id], *reversed(parts)])

    def shadowed(self, name: str) -> bool:
        """Whether one of the functions being walked binds ``name`` itself (a parameter, an assignment, a def)."""
        for function in self.scopes:
            bound = self._locals.get(id(function))
            if bound is None:
                bound = self._locals[id(function)] = _local_names(function)
            if name in bound:
                return True
        return False

    def operator(self, func: ast.expr) -> str | None:
        """The operator a callee names: DockerOperator, KubernetesPodOperator, a local subclass, or None."""
        qualified = self.qualname(func) or ""
        if qualified in names.DOCKER_OPERATOR or qualified.endswith(".DockerOperator"):
            return "DockerOperator"
        if qualified in names.KUBERNETES_POD_OPERATOR or qualified.endswith(".KubernetesPodOperator"):
            return "KubernetesPodOperator"
        if isinstance(func, ast.Name) and func.id in self.subclasses and not (self.scopes and self.shadowed(func.id)):
            return func.id
        if qualified in self.external:
            name = qualified.rpartition(".")[2]
            self.external_names[name] = self.external[qualified]
            return name
        return None

    def segment(self, node: ast.AST) -> str:
        """The source text of ``node``, whitespace collapsed (``ast.get_source_segment`` without its re-split)."""
        first, last = node.lineno - 1, node.end_lineno - 1  # type: ignore[attr-defined,operator]
        start, end = node.col_offset, node.end_col_offset  # type: ignore[attr-defined]
        lines = [line.encode() for line in self.lines[first:last + 1]]
        if not lines or end is None:
            return ast.unparse(node)
        text = lines[0][start:end] if len(lines) == 1 else lines[0][start:] + b"".join(lines[1:-1]) + lines[-1][:end]
        return " ".join(text.decode(errors="replace").split())

    # --- values --------------------------------------------------------------------------------

    def value(self, node: ast.expr, depth: int = 0) -> object:
        """The Python value ``node`` spells out, or Dynamic with its source text.

        Constants inside lists, tuples, sets and dicts are read in place, without a call of their own.
        """
        if depth > _DEPTH:
            return Dynamic(self.segment(node))
        cls = node.__class__
        if cls is ast.Constant:
            constant = node.value  # type: ignore[attr-defined]
            if constant.__class__ is str and "{{" in constant:
                return Dynamic(self.segment(node))
            return constant
        inner = depth + 1
        if cls is ast.List or cls is ast.Tuple or cls is ast.Set:
            items: list[object] = []
            for item in node.elts:  # type: ignore[attr-defined]
                item_cls = item.__class__
                if item_cls is ast.Constant and inner <= _DEPTH:
                    constant = item.value
                    if constant.__class__ is not str or "{{" not in constant:
                        items.append(constant)
                        continue
                if item_cls is not ast.Starred:
                    items.append(self.value(item, inner))
                    continue
                spliced = self.value(item.value, inner)
                if not isinstance(spliced, list | tuple):
                    return Dynamic(self.segment(node))
                items.extend(spliced)
            return tuple(items) if cls is ast.Tuple else items
        if cls is ast.Dict:
            keys = node.keys  # type: ignore[attr-defined]
            for key in keys:
                if key is None:
                    return Dynamic(self.segment(node))
            pairs: list[tuple[object, object]] = []
            for key, item in zip(keys, node.values, strict=True):  # type: ignore[attr-defined]
                if key.__class__ is ast.Constant and inner <= _DEPTH:
                    read_key = key.value
                    if read_key.__class__ is str and "{{" in read_key:
                        read_key = self.value(key, inner)
                else:
                    read_key = self.value(key, inner)
                if item.__class__ is ast.Constant and inner <= _DEPTH:
                    read = item.value
                    if read.__class__ is str and "{{" in read:
                        read = self.value(item, inner)
                else:
                    read = self.value(item, inner)
                pairs.append((read_key, read))
            try:
                return dict(pairs)
            except TypeError:
                return Dynamic(self.segment(node))
        if (cls is ast.UnaryOp and isinstance(node.op, ast.USub | ast.UAdd)  # type: ignore[attr-defined]
                and isinstance(node.operand, ast.Constant)  # type: ignore[attr-defined]
                and isinstance(node.operand.value, int | float)):  # type: ignore[attr-defined]
            return -node.operand.value if isinstance(node.op, ast.USub) else node.operand.value  # type: ignore
        if cls is ast.Name and node.id in self.constants:  # type: ignore[attr-defined]
            resolved = self.value(self.constants[node.id], inner)  # type: ignore[attr-defined]
            return Dynamic(node.id) if _has_dynamic(resolved) else resolved  # type: ignore[attr-defined]
        if cls is ast.Call and self.qualname(node.func) in names.MOUNT:  # type: ignore[attr-defined]
            return self.mount(node, depth)  # type: ignore[arg-type]
        return Dynamic(self.segment(node))

    def mount(self, node: ast.Call, depth: int) -> object:
        """A docker.types.Mount(...) call as the Engine API dict it builds, or Dynamic."""
        given: dict[str, Any] = dict(zip(("target", "source", "type", "read_only"), node.args, strict=False))
        given.update({kw.arg: kw.value for kw in node.keywords if kw.arg})
        if len(node.args) > 4 or any(kw.arg is None for kw in node.keywords):
            return Dynamic(self.segment(node))
        values = {key: self.value(expr, depth + 1) for key, expr in given.items()}
        if _has_dynamic(values):
            return Dynamic(self.segment(node))
        mount = {"Target": values.get("target"), "Source": values.get("source"),
                 "Type": values.get("type", "volume"), "ReadOnly": bool(values.get("read_only", False))}
        if values.get("tmpfs_size") is not None:
            mount["TmpfsOptions"] = {"SizeBytes": values["tmpfs_size"]}
        return mount

    def arguments(self, call: ast.Call) -> tuple[dict[str, object], list[str]]:
        """Keyword values of a call, and what it passes that cannot be seen."""
        kwargs: dict[str, object] = {}
        opaque = [f"positional argument {self.segment(arg)}" for arg in call.args]
        for keyword in call.keywords:
            if keyword.arg is None:
                opaque.append(f"**{self.segment(keyword.value)}")
            else:
                expr = keyword.value
                if expr.__class__ is ast.Constant:  # the common case, read in place
                    constant = expr.value
                    if constant.__class__ is not str or "{{" not in constant:
                        kwargs[keyword.arg] = constant
                        continue
                kwargs[keyword.arg] = self.value(expr)
        return kwargs, opaque

    # --- default_args ---------------------------------------------------------------------------

    def dag_defaults(self, call: ast.Call) -> _Defaults | None:
        """The DockerOperator arguments among a DAG's (or an operator's) ``default_args``."""
        expr = next((kw.value for kw in call.keywords if kw.arg == "default_args"), None)
        return None if expr is None else self.defaults_of(expr)

    def defaults_of(self, expr: ast.expr) -> _Defaults:
        """:meth:`dag_defaults` for the ``default_args`` expression itself (and where its dict literal is)."""
        DOCKER_ARGUMENTS = _table().DOCKER_ARGUMENTS
        source = expr
        if isinstance(expr, ast.Name) and expr.id in self.constants:
            expr = self.constants[expr.id]
        if not isinstance(expr, ast.Dict):
            return {}, (f"the DAG's default_args ({self.segment(source)})",), None
        defaults: dict[str, object] = {}
        opaque: list[str] = []
        for key, value in zip(expr.keys, expr.values, strict=True):
            if key is None:
                opaque.append(f"**{self.segment(value)} in default_args")
            elif isinstance(key, ast.Constant) and key.value in DOCKER_ARGUMENTS:
                defaults[key.value] = self.value(value)
        if defaults and id(expr) not in self.reported_defaults:
            self.reported_defaults.add(id(expr))
            self.found.append(Found(expr.lineno, expr.col_offset + 1, "DockerOperator", "default_args",
                                    kwargs=dict(defaults)))
        return defaults, tuple(opaque), (expr.lineno, expr.col_offset)

    def is_dag(self, func: ast.expr, kinds: frozenset[str]) -> bool:
        qualified = self.qualname(func) or ""
        return qualified in kinds or (qualified.endswith((".DAG", ".dag")) and qualified.startswith("airflow"))

    def current_defaults(self, kwargs: dict[str, Any], call: ast.Call | None) -> _Defaults:
        """The default_args reaching a call: its DAG context, ``dag=`` or the file's only named DAG."""
        chosen: _Defaults = ({}, (), None)
        dag = kwargs.get("dag")
        dag_expr = defaults_expr = None
        if call:  # the first of each keyword, as next() over the keywords would find it
            for keyword in call.keywords:
                if keyword.arg == "dag":
                    dag_expr = keyword.value if dag_expr is None else dag_expr
                elif keyword.arg == "default_args":
                    defaults_expr = keyword.value if defaults_expr is None else defaults_expr
        if isinstance(dag_expr, ast.Name) and dag_expr.id in self.named_dags:
            chosen = self.named_dags[dag_expr.id]
        elif self.defaults_stack:
            chosen = self.defaults_stack[-1]
        elif dag is None and len(self.named_dags) == 1:
            chosen = next(iter(self.named_dags.values()))
        own = self.defaults_of(defaults_expr) if defaults_expr is not None else None
        if own:  # two dicts: none is where all the values come from
            return {**chosen[0], **own[0]}, chosen[1] + own[1], None
        return chosen

    # --- visitors ------------------------------------------------------------------------------

    def visit_Assign(self, node: ast.Assign) -> None:
        if len(node.targets) == 1 and isinstance(node.targets[0], ast.Name) and isinstance(node.value, ast.Call):
            self.assigned[id(node.value)] = node.targets[0].id
            if self.is_dag(node.value.func, names.DAG_CONSTRUCTOR):
                defaults = self.dag_defaults(node.value)
                if defaults is not None:
                    self.named_dags[node.targets[0].id] = defaults
        self.generic_visit(node)

    def visit_With(self, node: ast.With) -> None:
        pushed = 0
        for item in node.items:
            self.visit(item)
            call = item.context_expr
            if isinstance(call, ast.Call) and self.is_dag(call.func, names.DAG_CONSTRUCTOR):
                defaults = self.dag_defaults(call)
                if defaults is not None:
                    self.defaults_stack.append(defaults)
                    pushed += 1
                    if isinstance(item.optional_vars, ast.Name):
                        self.named_dags[item.optional_vars.id] = defaults
        for statement in node.body:
            self.visit(statement)
        del self.defaults_stack[len(self.defaults_stack) - pushed:]

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        pushed = 0
        for decorator in node.decorator_list:
            self.visit(decorator)
            target = decorator.func if isinstance(decorator, ast.Call) else decorator
            if isinstance(decorator, ast.Call) and self.is_dag(target, names.DAG_DECORATOR):
                defaults = self.dag_defaults(decorator)
                if defaults is not None:
                    self.defaults_stack.append(defaults)
                    pushed += 1
            elif self.is_docker_decorator(target):
                self.record_decorator(node, decorator)
        self.visit(node.args)
        if node.returns:
            self.visit(node.returns)
        self.scopes.append(node)
        for statement in node.body:
            self.visit(statement)
        self.scopes.pop()
        del self.defaults_stack[len(self.defaults_stack) - pushed:]

    visit_AsyncFunctionDef = visit_FunctionDef

    def is_docker_decorator(self, target: ast.expr) -> bool:
        if self.qualname(target) in names.DOCKER_DECORATOR:
            return True
        return (isinstance(target, ast.Attribute) and target.attr == "docker"
                and self.qualname(target.value) in names.TASK_DECORATOR)

    def record_decorator(self, node: ast.FunctionDef | ast.AsyncFunctionDef, decorator: ast.expr) -> None:
        kwargs, opaque = self.arguments(decorator) if isinstance(decorator, ast.Call) else ({}, [])
        for name in names.DECORATOR_ONLY:
            kwargs.pop(name, None)
        defaults, more, at = self.current_defaults(kwargs, None)
        self.found.append(Found(decorator.lineno, decorator.col_offset + 1, "@task.docker", "decorator",
                                task_id=kwargs.get("task_id", node.name), image=kwargs.get("image"),
                                kwargs={**defaults, **kwargs}, opaque=tuple(opaque) + more, defaults_at=at))

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        if node.name in self.subclasses:
            kwargs: dict[str, object] = {}
            opaque: list[str] = []
            for child in ast.walk(node):
                if (isinstance(child, ast.Call) and isinstance(child.func, ast.Attribute)
                        and child.func.attr == "__init__" and isinstance(child.func.value, ast.Call)
                        and isinstance(child.func.value.func, ast.Name) and child.func.value.func.id == "super"):
                    kwargs, opaque = self.arguments(child)
                    opaque = [o for o in opaque if not o.startswith("**")]  # the caller's own arguments
                    break
            self.found.append(Found(node.lineno, node.col_offset + 1, node.name, "subclass",
                                    image=kwargs.get("image"), kwargs=kwargs, opaque=tuple(opaque),
                                    trivial=node.name in self.trivial))
        self.generic_visit(node)

    def visit_Attribute(self, node: ast.Attribute) -> None:
        if node.attr == "output":
            if isinstance(node.value, ast.Name):
                self.xcom_vars.add(node.value.id)
            elif isinstance(node.value, ast.Call):
                self.output_calls.add(id(node.value))
        self.generic_visit(node)

    def visit_Constant(self, node: ast.Constant) -> None:
        if isinstance(node.value, str) and "xcom_pull" in node.value:
            self.xcom_ids.update(_XCOM_IN_TEMPLATE.findall(node.value))

    def visit_Call(self, node: ast.Call) -> None:
        if id(node) not in self.consumed:
            self.record_call(node)
        self.note_xcom(node)
        self.generic_visit(node)

    def note_xcom(self, node: ast.Call) -> None:
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
        if name == "xcom_pull":
            expr = next((kw.value for kw in node.keywords if kw.arg == "task_ids"), node.args[0] if node.args else None)
            value = self.value(expr) if expr is not None else None
            for item in value if isinstance(value, list | tuple) else [value]:
                if isinstance(item, str):
                    self.xcom_ids.add(item)
        elif name == "XComArg" or (isinstance(func, ast.Name) and func.id in self.taskflow):
            for arg in [*node.args, *(kw.value for kw in node.keywords)]:
                if isinstance(arg, ast.Name):
                    self.xcom_vars.add(arg.id)

    def record_call(self, node: ast.Call) -> None:
        func = node.func
        if isinstance(func, ast.Attribute) and func.attr in ("expand", "expand_kwargs") and isinstance(
                func.value, ast.Call) and isinstance(func.value.func, ast.Attribute) and (
                func.value.func.attr == "partial"):
            operator = self.operator(func.value.func.value)
            if operator is None:
                return
            kwargs, opaque = self.arguments(func.value)
            self.consumed.add(id(func.value))
            if func.attr == "expand":
                kwargs.update({kw.arg: Dynamic(self.segment(kw.value)) for kw in node.keywords if kw.arg})
                opaque += [f"**{self.segment(kw.value)} in .expand()" for kw in node.keywords if kw.arg is None]
            else:
                opaque += [f".expand_kwargs({', '.join(self.segment(a) for a in node.args)})"]
            self.add(node, operator, "partial", kwargs, opaque)
        elif isinstance(func, ast.Attribute) and func.attr == "partial" and (operator := self.operator(func.value)):
            kwargs, opaque = self.arguments(node)
            self.add(node, operator, "partial", kwargs, [*opaque, "the values given to .expand() later"])
        elif operator := self.operator(func):
            kwargs, opaque = self.arguments(node)
            self.add(node, operator, "call", kwargs, opaque)

    def add(self, node: ast.Call, operator: str, kind: str, kwargs: dict[str, object], opaque: list[str]) -> None:
        table = _table()
        BASE_OPERATOR_PASSTHROUGH, DOCKER_ARGUMENTS = table.BASE_OPERATOR_PASSTHROUGH, table.DOCKER_ARGUMENTS
        extra: tuple[str, ...] = ()
        defaults: dict[str, object] = {}
        at: tuple[int, int] | None = None
        trivial = operator in self.trivial or (operator in self.external_names and operator not in self.subclasses
                                               and self.external_names[operator][2])
        if operator != "KubernetesPodOperator":
            if operator != "DockerOperator" and not trivial:  # a subclass takes arguments of its own
                for name in [n for n in kwargs if n not in DOCKER_ARGUMENTS and n not in BASE_OPERATOR_PASSTHROUGH]:
                    opaque.append(f"what {operator} does with its own argument {name}")
                    del kwargs[name]
            defaults, extra, at = self.current_defaults(kwargs, node)
            defaults = {name: value for name, value in defaults.items() if name not in kwargs}
            kwargs = {**defaults, **kwargs}
        defined_at: int | None = self.subclasses.get(operator)
        defined_in: str | None = None
        if defined_at is None and operator in self.external_names:
            defined_in, defined_at, _trivial = self.external_names[operator]
        self.found.append(Found(node.lineno, node.col_offset + 1, operator, kind, task_id=kwargs.get("task_id"),
                                image=kwargs.get("image"), kwargs=kwargs, opaque=tuple(opaque) + extra,
                                variable=self.assigned.get(id(node)), output_read=id(node) in self.output_calls,
                                defined_at=defined_at, defined_in=defined_in, defaults=dict(defaults),
                                defaults_opaque=extra, defaults_at=at, trivial=trivial,
                                callee=dotted(node.func) if kind == "call" else None))



def _local_names(function: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda) -> frozenset[str]:
    """The names a function binds in its own scope: parameters, assignments, defs and classes, loop targets.

    Not those it declares ``global`` or ``nonlocal``, nor its imports (the import table reads those).
    Nested functions and classes bind their own names only.
    """
    arguments = function.args
    bound = {a.arg for a in (*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs)}
    bound |= {a.arg for a in (arguments.vararg, arguments.kwarg) if a is not None}
    declared: set[str] = set()
    nodes: list[ast.AST] = list(function.body) if isinstance(function.body, list) else [function.body]
    for node in nodes:  # grows while it is read
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            bound.add(node.name)
            nodes.extend(node.decorator_list)
            continue  # its body is its own scope
        if isinstance(node, ast.Lambda):
            continue
        if isinstance(node, ast.Global | ast.Nonlocal):
            declared.update(node.names)
        elif isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
            bound.add(node.id)
        elif isinstance(node, ast.ExceptHandler | ast.MatchAs | ast.MatchStar) and node.name:
            bound.add(node.name)
        nodes.extend(ast.iter_child_nodes(node))
    return frozenset(bound - declared)


def dotted(node: ast.expr) -> str | None:
    """``a.b.C`` for a Name or an Attribute chain of Names, else None."""
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    parts.append(node.id)
    return ".".join(reversed(parts))
