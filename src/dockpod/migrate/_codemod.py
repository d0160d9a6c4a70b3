"""The LibCST side of ``dockpod migrate``: find DockerOperator calls, read their arguments, rewrite them.

:class:`DockerToContainerTask` rewrites each call into ``container_task(...)``; the verdict of a call
(``auto``/``review``/``manual``) comes from :func:`dockpod.migrate.assess.assess`, the argument
knowledge from :data:`dockpod.backends.table.DOCKER_ARGUMENTS`. This module adds only the code
shapes: how a translated value is spelled in the new call.
"""

from __future__ import annotations

import ast
import functools
import textwrap
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import libcst as cst

from dockpod.backends.table import is_plain_network
from dockpod.migrate._default_args import (
    NO_READERS,
    NOT_ALL_REWRITTEN,
    NOT_CARRIED,
    SHARED,
    DictPlan,
    all_carried,
    carried,
    edit_default_args,
    value_nodes,
)
from dockpod.migrate._default_args import note as default_args_note
from dockpod.migrate._finder import External, Found, Module, find, patterns
from dockpod.migrate._finder import dotted as ast_dotted
from dockpod.migrate._wrap import fits, line_length, one_argument_per_line
from dockpod.migrate.assess import Assessment, Dynamic, Target, assess, worst

#: Every import path of DockerOperator, of the docker SDK's Mount and of its DeviceRequest.
DOCKER_OPERATOR = (
    "airflow.providers.docker.operators.docker.DockerOperator",
    "airflow.operators.docker_operator.DockerOperator",
    "airflow.contrib.operators.docker_operator.DockerOperator",
)
MOUNT = ("docker.types.Mount", "docker.types.services.Mount")
DEVICE_REQUEST = ("docker.types.DeviceRequest", "docker.types.containers.DeviceRequest")
#: The marker of every comment line the migration writes.
MARK = "# dockpod:"
#: Comment lines are wrapped at this width (the DAG file's own style is unknown).
COMMENT_WIDTH = 100

#: Notes for arguments that are dropped although their value did something (verdict auto all the same).
DROP_NOTES: dict[str, Callable[[object], str | None]] = {
    "auto_remove": lambda v: "auto_remove dropped: dockpod always removes the container after reading its "
    "exit state and result.",
    "docker_url": lambda v: f"docker_url={show(v)} dropped: the profile's engine is used (set docker_url in "
    "dockpod.toml to choose another).",
    "docker_conn_id": lambda v: f"docker_conn_id={show(v)} dropped: set docker_conn_id in the local profile of "
    "dockpod.toml for the registry login.",
    "network_mode": lambda v: None if is_plain_network(v) else
    f"network_mode={show(v)} dropped: name that network in the local profile's `network` in dockpod.toml.",
    "mount_tmp_dir": lambda v: None if v is False else "mount_tmp_dir dropped: no host temporary directory "
    "(and no AIRFLOW_TMP_DIR) is given to the container; use Volume.empty_dir for scratch space.",
    "timeout": lambda v: "timeout dropped: it was the Docker API client's timeout, not a limit on the task "
    "(container_task(timeout=...) is one).",
}


def show(value: object) -> str:
    """Source-like text of a value read by :class:`ValueReader`."""
    return value.source if isinstance(value, Dynamic) else repr(value)


@dataclass(frozen=True)
class CallReport:
    """What happened to one DockerOperator call."""

    line: int
    task_id: str | None
    verdict: str
    action: str  # "migrated" or "left"
    reasons: tuple[str, ...] = ()
    #: The migrated call before and after the rewrite (None for a call left as it was); before, with the
    #: DAG's default_args it reads written in, as DockerOperator sees the call. Their text is made on demand.
    before_node: cst.CSTNode | None = field(default=None, repr=False, compare=False)
    after_node: cst.CSTNode | None = field(default=None, repr=False, compare=False)

    @functools.cached_property
    def before(self) -> str:
        """Source text of the call before the rewrite ("" for a call left as it was)."""
        return code(self.before_node) if self.before_node is not None else ""

    @functools.cached_property
    def after(self) -> str:
        """Source text of the call after the rewrite ("" for a call left as it was)."""
        return code(self.after_node) if self.after_node is not None else ""


@dataclass
class _Args:
    """The arguments of one call: CST nodes by name, their values for the verdict, what stays unseen."""

    nodes: dict[str, cst.Arg] = field(default_factory=dict)
    values: dict[str, object] = field(default_factory=dict)
    opaque: list[str] = field(default_factory=list)
    positional: bool = False


def _closes_on_line(line: str, column: int) -> bool:
    """Whether the call that starts at ``column`` of ``line`` also ends on it (brackets balance, outside strings).

    A cheap pre-check before measuring a call's text; an unsure answer (a string spanning lines) is True.
    """
    depth, quote, index = 0, "", column
    while index < len(line):
        char = line[index]
        if quote:
            if char == "\\":
                index += 1
            elif line.startswith(quote, index):
                index += len(quote) - 1
                quote = ""
        elif char in "\"'":
            quote = line[index:index + 3] if line[index:index + 3] in ('"""', "'''") else char
            index += len(quote) - 1
        elif char == "#":
            break
        elif char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
            if depth == 0:
                return True
        index += 1
    return bool(quote)


class CannotRewrite(Exception):
    """A call the verdict allows but whose code shape the rewrite cannot spell faithfully."""


# --- reading values -----------------------------------------------------------------------------


def code(node: cst.CSTNode) -> str:
    """Source text of one node."""
    return cst.Module(body=[]).code_for_node(node)


def _templated(text: str) -> bool:
    return "{{" in text or "{%" in text


class ValueReader:
    """CST expression -> Python value, :class:`Dynamic` standing for what is known only at run time."""

    def __init__(self, qualified: Callable[[cst.CSTNode], set[str]]) -> None:
        self.qualified = qualified

    def read(self, node: cst.BaseExpression) -> object:
        """The value of ``node``: a literal, a Mount/DeviceRequest as the API dict, or Dynamic."""
        if isinstance(node, cst.List | cst.Tuple) and not any(isinstance(e, cst.StarredElement)
                                                             for e in node.elements):
            items = [self.read(e.value) for e in node.elements]
            return items if isinstance(node, cst.List) else tuple(items)
        if isinstance(node, cst.Dict) and all(isinstance(e, cst.DictElement) for e in node.elements):
            return {self._key(e.key): self.read(e.value) for e in node.elements}  # type: ignore[union-attr]
        if isinstance(node, cst.Call) and self.qualified(node.func) & {*MOUNT, *DEVICE_REQUEST}:
            return self._sdk_object(node)
        try:
            value = ast.literal_eval(code(node).strip())
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            return Dynamic(code(node).strip())
        if isinstance(value, str) and _templated(value):
            return Dynamic(code(node).strip())
        return value

    def _key(self, node: cst.BaseExpression) -> object:
        value = self.read(node)
        return value if not isinstance(value, list | dict) else Dynamic(code(node).strip())

    def _sdk_object(self, node: cst.Call) -> object:
        args = [self.read(a.value) for a in node.args if a.keyword is None and not a.star]
        kwargs = {a.keyword.value: self.read(a.value) for a in node.args if a.keyword is not None}
        if any(a.star for a in node.args) or _any_dynamic([*args, *kwargs.values()]):
            return Dynamic(code(node).strip())
        import docker.types

        make = docker.types.Mount if self.qualified(node.func) & set(MOUNT) else docker.types.DeviceRequest
        try:
            return dict(make(*args, **kwargs))
        except (TypeError, ValueError, docker.errors.DockerException):
            return Dynamic(code(node).strip())


def _any_dynamic(values: Sequence[object]) -> bool:
    for value in values:
        if isinstance(value, Dynamic):
            return True
        if isinstance(value, dict) and _any_dynamic([*value.keys(), *value.values()]):
            return True
        if isinstance(value, list | tuple) and _any_dynamic(value):
            return True
    return False


def read_args(call: cst.Call, reader: ValueReader) -> _Args:
    """Sort a call's arguments into named nodes and values, ``**splats`` and positional arguments."""
    out = _Args()
    for arg in call.args:
        if arg.star == "**":
            out.opaque.append(code(arg.value).strip().join(("**", "")))
        elif arg.star == "*" or arg.keyword is None:
            out.positional = True
            out.opaque.append("positional arguments")
        else:
            out.nodes[arg.keyword.value] = arg
            out.values[arg.keyword.value] = reader.read(arg.value)
    return out


def xcom_used(source: str) -> bool | None:
    """True when the file reads XComs at all (a coarse, per-file look); None when it cannot tell.

    Only for a call the audit's finder did not see; the others are judged per task
    (:meth:`dockpod.migrate._finder.Module.xcom_read`).
    """
    return True if any(word in source for word in ("xcom_pull", ".output", "XComArg")) else None


# --- writing comments ---------------------------------------------------------------------------


def comment_lines(texts: Sequence[str]) -> list[str]:
    """``# dockpod: ...`` comment lines for ``texts``, wrapped, continuation lines indented."""
    lines: list[str] = []
    for text in texts:
        wrapped = textwrap.wrap(text, COMMENT_WIDTH - len(MARK) - 1) or [""]
        lines.append(f"{MARK} {wrapped[0]}")
        lines += [f"#   {rest}" for rest in wrapped[1:]]
    return lines


def with_comments(statement: Any, lines: Sequence[str]) -> Any:
    """``statement`` with ``lines`` above it, unless they are there already (idempotency)."""
    present = {line.comment.value for line in statement.leading_lines if line.comment is not None}
    new = [line for line in lines if line not in present or not line.startswith(MARK)]
    if all(line in present for line in lines if line.startswith(MARK)):
        return statement
    empty = [cst.EmptyLine(indent=True, comment=cst.Comment(line)) for line in new]
    return statement.with_changes(leading_lines=[*statement.leading_lines, *empty])


# --- qualified names without scope analysis -----------------------------------------------------


def dotted(node: cst.CSTNode) -> str | None:
    """``a.b.C`` for a Name or an Attribute chain of Names, else None."""
    parts: list[str] = []
    while isinstance(node, cst.Attribute):
        parts.append(node.attr.value)
        node = node.value
    if not isinstance(node, cst.Name):
        return None
    parts.append(node.value)
    return ".".join(reversed(parts))


def import_table(module: cst.Module) -> dict[str, str]:
    """Local name -> qualified name, from the module's top-level imports (what the names were imported as).

    Scope analysis would cost more than the whole rewrite; DAG files import at the top.
    """
    table: dict[str, str] = {}
    for statement in module.body:
        if not isinstance(statement, cst.SimpleStatementLine):
            continue
        for small in statement.body:
            if isinstance(small, cst.ImportFrom) and not small.relative and small.module is not None \
                    and not isinstance(small.names, cst.ImportStar):
                base = dotted(small.module)
                for alias in small.names:
                    name = dotted(alias.name)
                    local = alias.asname.name.value if alias.asname else name  # type: ignore[union-attr]
                    table[str(local)] = f"{base}.{name}"
            elif isinstance(small, cst.Import):
                for alias in small.names:
                    name = str(dotted(alias.name))
                    if alias.asname is not None:
                        table[alias.asname.name.value] = name  # type: ignore[union-attr]
                    else:
                        table[name.split(".")[0]] = name.split(".")[0]
    return table


def qualify(table: dict[str, str], node: cst.CSTNode) -> str | None:
    """The qualified name of a Name/Attribute expression, through the import table."""
    return qualify_dotted(table, dotted(node))


def qualify_dotted(table: dict[str, str], spelled: str | None) -> str | None:
    """The qualified name of ``a.b.C`` as spelled in the module, through the import table."""
    if spelled is None:
        return None
    head, _, rest = spelled.partition(".")
    base = table.get(head)
    if base is None:
        return None
    return f"{base}.{rest}" if rest else base


# --- the codemod base: one class per target -----------------------------------------------------


class DockerCallCodemod(cst.CSTTransformer):
    """Base of the two targets: finds DockerOperator calls by qualified name, judges and comments them.

    Subclasses implement :meth:`rewrite_call` (the new call, or raise :class:`CannotRewrite`) and call
    :meth:`add_import` for what the new calls use; :meth:`transform` applies the import edits.
    """

    DESCRIPTION = "Find DockerOperator calls (base class)."
    #: What the calls become; the verdict's reasons are worded for it.
    TARGET: Target = "dockpod"
    #: What the calls become, in the notes on default_args.
    READER = "dockpod"
    #: What becomes of DockerOperator arguments left in default_args once the calls are rewritten.
    DEFAULT_ARGS_EFFECT = ("They still reach the DockerOperator container_task runs locally, and are ignored "
                           "on Kubernetes.")

    def __init__(self, source: str = "", *, path: str | None = None, external: External | None = None,
                 line_length: int | None = None) -> None:
        super().__init__()
        self.path = path
        self.external: External = external or {}
        self.callees: set[str] = set()  # how the finder's DockerOperator (and subclass) calls spell their callee
        self.table: dict[str, str] = {}
        self.reader = ValueReader(self._qualified)
        self.xcom_used = xcom_used(source)
        self.module: Module | None = None
        self._found: dict[tuple[int, int], Found] = {}
        self._default_dicts: dict[int, Found] = {}  # the n-th dict of the module -> its default_args finding
        self._dicts_seen = 0
        self._plans: dict[tuple[int, int], DictPlan] = {}  # default_args dicts by where they start
        self._plans_by_node: dict[int, DictPlan] = {}  # ... and by the id of their CST node
        self._own_line: set[int] = set()  # ids of the dicts written in a with DAG(...) or @dag(...) line
        self._migrated_at: set[tuple[int, int]] = set()  # the calls rewritten so far (line, column)
        self._line_length = line_length
        self.reports: list[CallReport] = []
        self._notes: list[list[str]] = []
        self._source = source
        self._lines: list[tuple[int, int]] = []
        self._seen = 0
        self._order: dict[int, int] = {}
        self.imports_added: list[tuple[str, str, str | None]] = []
        self.imports_unused: list[tuple[str, str]] = []

    def transform(self, module: cst.Module) -> cst.Module:
        """Rewrite ``module``; the imports are fixed afterwards in one pass."""
        from dockpod.migrate._imports import fix_imports

        self.table = import_table(module)
        if not self.external and not any(path == bound or path.startswith(f"{bound}.") for path in DOCKER_OPERATOR
                                         for bound in self.table.values()):
            return module  # neither the class nor a module holding it is imported, and no subclass is known
        self._read_module()
        if self.module is not None and not self.callees and not self._default_dicts:
            return module
        self._lines = _call_lines(self._source, self.is_candidate)
        new = module.visit(self)
        if not any(r.action == "migrated" for r in self.reports):
            return new
        remove = [tuple(path.rsplit(".", 1)) for path in (*DOCKER_OPERATOR, *MOUNT, *DEVICE_REQUEST)]
        return fix_imports(new, add=self.imports_added, remove_unused=remove)  # type: ignore[arg-type]

    def _read_module(self) -> None:
        """What the audit's finder sees in the source: per-task XCom reads and the default_args of each call."""
        try:
            tree = ast.parse(self._source)
            self.module = find(self._source, self.external, self.path)
        except (SyntaxError, ValueError, RecursionError):
            return
        self._found = {(f.line, f.column - 1): f for f in self.module.found if f.kind == "call"}
        self.callees = {f.callee for f in self._found.values() if f.callee and f.operator != "KubernetesPodOperator"}
        wanted = {(f.line, f.column - 1): f for f in self.module.found if f.kind == "default_args"}
        if wanted:
            dicts = sorted((n.lineno, n.col_offset) for n in ast.walk(tree) if isinstance(n, ast.Dict))
            self._default_dicts = {i: wanted[at] for i, at in enumerate(dicts) if at in wanted}
            self._plans = {at: DictPlan(found) for at, found in wanted.items()}
            for task in self.module.found:
                if task.kind in ("call", "partial", "decorator") and task.defaults_at in self._plans:
                    self._plans[task.defaults_at].readers.append((task.line, task.column - 1))

    def visit_Dict(self, node: cst.Dict) -> None:
        found = self._default_dicts.get(self._dicts_seen)
        self._dicts_seen += 1
        if found is None:
            return
        plan = self._plans[(found.line, found.column - 1)]
        plan.values = value_nodes(node, found.kwargs)
        self._plans_by_node[id(node)] = plan
        if id(node) in self._own_line:
            plan.own_line = True  # noted when its DAG's block is left, and every task in it judged
        else:
            self._note([default_args_note(found, self.READER, self.DEFAULT_ARGS_EFFECT, False, SHARED)])

    def _mark_own_line(self, call: cst.BaseExpression) -> None:
        """Remember the default_args dict literal of a ``with DAG(...)`` item or a ``@dag(...)`` decorator."""
        if isinstance(call, cst.Call):
            for arg in call.args:
                if arg.keyword is not None and arg.keyword.value == "default_args" and isinstance(arg.value, cst.Dict):
                    self._own_line.add(id(arg.value))

    def _settle_default_args(self, original: cst.Call, updated: cst.Call) -> cst.Call:
        """A DAG's own default_args dict, its tasks all judged: the keys go when every reader was rewritten."""
        for arg in original.args:
            plan = self._plans_by_node.get(id(arg.value))
            if arg.keyword is None or arg.keyword.value != "default_args" or plan is None or not plan.own_line:
                continue
            rewritten = all(at in self._migrated_at for at in plan.readers)
            removable = bool(plan.readers) and rewritten and all_carried(plan)
            reason = NO_READERS if not plan.readers else NOT_ALL_REWRITTEN if not rewritten else NOT_CARRIED
            self._note([default_args_note(plan.found, self.READER, self.DEFAULT_ARGS_EFFECT, removable, reason)])
            if removable:
                return edit_default_args(updated, original, self._plans_by_node, {id(arg.value)})
        return updated

    def _qualified(self, node: cst.CSTNode) -> set[str]:
        name = qualify(self.table, node)
        return {name} if name else set()

    def is_candidate(self, spelled: str | None) -> bool:
        """Whether a callee spelled ``a.b.C`` may be DockerOperator or one of its subclasses.

        Spelled as one of the finder's calls, or imported as DockerOperator when the finder could not
        read the module. The finder (:mod:`dockpod.migrate._finder`, which knows scopes and subclasses)
        decides each candidate; the CST and :func:`_call_lines` only have to pick the same calls in the
        same order.
        """
        if spelled is None:
            return False
        return spelled in self.callees or (self.module is None and qualify_dotted(self.table, spelled)
                                           in DOCKER_OPERATOR)

    # statements collect the comment lines of the calls inside them
    def visit_SimpleStatementLine(self, node: cst.SimpleStatementLine) -> None:
        self._notes.append([])

    def leave_SimpleStatementLine(self, original: cst.SimpleStatementLine,
                                  updated: cst.SimpleStatementLine) -> cst.SimpleStatementLine:
        notes = list(dict.fromkeys(self._notes.pop()))  # two calls in one statement: one copy of a note
        return with_comments(updated, notes) if notes else updated

    # a DAG's default_args may be written in a ``with DAG(...)`` or ``@dag(...)`` line: notes go above it
    def visit_With(self, node: cst.With) -> None:
        self._notes.append([])
        for item in node.items:
            self._mark_own_line(item.item)

    def leave_With(self, original: cst.With, updated: cst.With) -> cst.With:
        if self._plans:
            items = [new.with_changes(item=self._settle_default_args(old.item, new.item))
                     if isinstance(old.item, cst.Call) and isinstance(new.item, cst.Call) else new
                     for old, new in zip(original.items, updated.items, strict=True)]
            updated = updated.with_changes(items=items)
        notes = list(dict.fromkeys(self._notes.pop()))
        return with_comments(updated, notes) if notes else updated

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self._notes.append([])
        for decorator in node.decorators:
            self._mark_own_line(decorator.decorator)

    def leave_FunctionDef(self, original: cst.FunctionDef, updated: cst.FunctionDef) -> cst.FunctionDef:
        if self._plans:
            decorators = [new.with_changes(decorator=self._settle_default_args(old.decorator, new.decorator))
                          if isinstance(old.decorator, cst.Call) and isinstance(new.decorator, cst.Call) else new
                          for old, new in zip(original.decorators, updated.decorators, strict=True)]
            updated = updated.with_changes(decorators=decorators)
        notes = list(dict.fromkeys(self._notes.pop()))
        return with_comments(updated, notes) if notes else updated

    def visit_Call(self, node: cst.Call) -> None:
        if self.is_candidate(dotted(node.func)):
            self._order[id(node)] = self._seen
            self._seen += 1

    def leave_Call(self, original: cst.Call, updated: cst.Call) -> cst.BaseExpression:
        index = self._order.get(id(original), -1)
        if index < 0:
            return updated
        line, column = self._lines[index] if index < len(self._lines) else (0, 0)
        found = self._found.get((line, column))
        if found is None and (self.module is not None or not self._qualified(original.func) & set(DOCKER_OPERATOR)):
            return updated  # the finder says the name is not DockerOperator here (shadowed), or cannot tell
        args = read_args(original, self.reader)
        extra: list[Assessment] = []
        if found is not None and self.module is not None:
            # the DAG's default_args reach this task too; its own arguments win over them
            values = {**found.defaults, **args.values}
            opaque = (*args.opaque, *found.defaults_opaque)
            if found.operator != "DockerOperator" and not found.trivial:  # the finder's reading, as the audit's
                values, opaque = found.kwargs, found.opaque
            xcom = self.module.xcom_read(found)
            extra = patterns(found)  # a subclass call: manual unless the subclass is trivial
        else:
            values, opaque, xcom = args.values, tuple(args.opaque), self.xcom_used
        verdict = worst(assess(values, opaque=opaque, xcom_used=xcom, target=self.TARGET), *extra)
        task_id = args.values.get("task_id")
        task_id = task_id if isinstance(task_id, str) else None
        if verdict.verdict != "manual" and not args.positional:
            try:
                effective, effective_args = self._with_defaults(updated, args, found)
                new, notes = self.rewrite_call(effective, effective_args, verdict)
                new = self._fit(original, new, line, column)
            except CannotRewrite as exc:
                verdict = Assessment("manual", (*verdict.reasons, str(exc)))
            else:
                review = [f"review: {reason}" for reason in verdict.reasons] if verdict.verdict == "review" else []
                self._note([*review, *notes])
                self.reports.append(CallReport(line, task_id, verdict.verdict, "migrated", verdict.reasons,
                                               before_node=effective, after_node=new))
                self._migrated_at.add((line, column))
                return new
        reasons = verdict.reasons or ("positional arguments: DockerOperator takes keyword arguments only.",)
        self._note(list(reasons))
        self.reports.append(CallReport(line, task_id, "manual", "left", reasons))
        return updated

    def _fit(self, original: cst.Call, new: cst.Call, line: int, column: int) -> cst.Call:
        """``new``, one argument per line when the one-line call it replaces no longer fits the file's line length."""
        lines = self._source.splitlines(keepends=True)
        if not 0 < line <= len(lines):
            return new
        if self._line_length is None:
            self._line_length = line_length(self.path)
        text = lines[line - 1]
        if not _closes_on_line(text, column):
            return new  # a call written over several lines keeps its layout: nothing to measure
        if fits(text, column, code(original), code(new), self._line_length):
            return new
        return one_argument_per_line(new)

    def _with_defaults(self, call: cst.Call, args: _Args, found: Found | None) -> tuple[cst.Call, _Args]:
        """The call and its arguments with the DAG's default_args it reads written in (see :func:`carried`)."""
        if found is None or found.defaults_at is None:
            return call, args
        moved = carried(found, self._plans.get(found.defaults_at), args.nodes)
        if not moved:
            return call, args
        extra = [kwarg(name, node) for name, node in moved.items()]
        more = _Args(nodes={**args.nodes, **{a.keyword.value: a for a in extra}},  # type: ignore[union-attr]
                     values={**args.values, **{name: self.reader.read(node) for name, node in moved.items()}},
                     opaque=list(args.opaque), positional=args.positional)
        return call.with_changes(args=assemble(call.args, list(call.args), extra)), more

    def _note(self, texts: list[str]) -> None:
        if self._notes and texts:
            self._notes[-1].extend(comment_lines(texts))

    def rewrite_call(self, call: cst.Call, args: _Args, verdict: Assessment) -> tuple[cst.Call, list[str]]:
        """The rewritten call and the note lines to put above it."""
        raise NotImplementedError

    def add_import(self, module: str, name: str, alias: str | None = None) -> None:
        """Schedule ``from module import name [as alias]`` (merged into an existing import when there is one)."""
        if (module, name, alias) not in self.imports_added:
            self.imports_added.append((module, name, alias))


def _call_lines(source: str, candidate: Callable[[str | None], bool]) -> list[tuple[int, int]]:
    """Line and column (from 0) of the calls whose callee's spelling is a ``candidate``, in source order.

    The CST visits calls in the same order (pre-order is source order of their starts), so the
    n-th candidate call of the CST is the n-th here; :mod:`ast` gives lines for free.
    """
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return []
    calls = [(n.lineno, n.col_offset) for n in ast.walk(tree)
             if isinstance(n, ast.Call) and candidate(ast_dotted(n.func))]
    return sorted(calls)


# --- editing argument lists ---------------------------------------------------------------------


def kwarg(name: str, value: cst.BaseExpression, like: cst.Arg | None = None) -> cst.Arg:
    """A keyword argument; with ``like``, keeping that argument's comma and spacing (and comments)."""
    new = cst.Arg(value=value, keyword=cst.Name(name), equal=cst.AssignEqual(
        whitespace_before=cst.SimpleWhitespace(""), whitespace_after=cst.SimpleWhitespace("")))
    if like is not None:
        new = new.with_changes(comma=like.comma, equal=like.equal, whitespace_after_arg=like.whitespace_after_arg)
    return new


def dict_expr(items: Sequence[tuple[str, cst.BaseExpression]]) -> cst.Dict:
    """``{"key": value, ...}`` on one line, values as given."""
    elements = []
    for i, (key, value) in enumerate(items):
        last = i == len(items) - 1
        comma = cst.MaybeSentinel.DEFAULT if last else cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
        elements.append(cst.DictElement(cst.SimpleString(f'"{key}"'), value, comma=comma))
    return cst.Dict(elements)


def expr(text: str) -> cst.BaseExpression:
    """Parse one expression."""
    return cst.parse_expression(text)


def assemble(original: Sequence[cst.Arg], slots: Sequence[cst.Arg | None], extra: Sequence[cst.Arg]) -> list[cst.Arg]:
    """The new argument list: ``slots[i]`` replaces ``original[i]`` (None drops it), ``extra`` appended.

    A dropped argument's comma goes to the argument before it when that one has no comment of its
    own, so a trailing comment is kept; appended arguments copy the separator of the list.
    """
    out: list[cst.Arg] = []
    for old, new in zip(original, slots, strict=True):
        if new is not None:
            out.append(new)
        elif out and ((_has_comment(old.comma) and not _has_comment(out[-1].comma)) or old is original[-1]):
            out[-1] = out[-1].with_changes(comma=old.comma)
    if not out:
        return list(extra)
    if extra:
        separator = _separator(out)
        last_comma = out[-1].comma
        out[-1] = out[-1].with_changes(comma=separator)
        added = [e.with_changes(comma=separator) for e in extra]
        added[-1] = added[-1].with_changes(comma=last_comma)
        out += added
    return out


def _separator(args: Sequence[cst.Arg]) -> cst.Comma:
    for arg in args[:-1]:
        if isinstance(arg.comma, cst.Comma) and not _has_comment(arg.comma):
            return arg.comma
    last = args[-1].comma if args else cst.MaybeSentinel.DEFAULT
    if isinstance(last, cst.Comma) and isinstance(last.whitespace_after, cst.ParenthesizedWhitespace):
        return last.with_changes(whitespace_after=last.whitespace_after.with_changes(
            first_line=cst.TrailingWhitespace()))
    return cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))


def _has_comment(comma: object) -> bool:
    if not isinstance(comma, cst.Comma):
        return False
    after = comma.whitespace_after
    return isinstance(after, cst.ParenthesizedWhitespace) and after.first_line.comment is not None
