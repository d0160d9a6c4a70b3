"""``dockpod audit``: every DockerOperator use under some paths, each with its migration verdict.

Only files whose bytes mention an operator (see :data:`dockpod.migrate._names.MARKERS`) are parsed,
with :mod:`ast`. In a large tree the files are read and filtered, then the candidates parsed, by a
process pool in chunks (see :data:`POOL_THRESHOLD`); the results are the same either way, in the
same order. Each file gives one frozen result
(:class:`Audited`, :class:`Skipped` or :class:`Failed`), and :func:`audit_paths` folds them into an
:class:`AuditReport`, which :func:`to_json`, :func:`to_csv` and :func:`to_sarif` write out.
"""

from __future__ import annotations

import csv
import functools
import gc
import io
import json
import os
import re
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from dockpod.errors import DockpodError
from dockpod.migrate import _names as names
from dockpod.migrate._finder import (
    External,
    Found,
    Module,
    find,
    may_define_subclass,
    module_names,
    patterns,
    subclasses,
)
from dockpod.migrate.assess import Dynamic, Verdict, assess, worst

__all__ = [
    "AuditReport",
    "Audited",
    "CallSite",
    "Failed",
    "FileResult",
    "Skipped",
    "audit_file",
    "audit_paths",
    "to_csv",
    "to_json",
    "to_sarif",
]

#: With at least this many candidate files, they are parsed in a process pool (with at least ten
#: times as many files, the pool also reads and filters them).
POOL_THRESHOLD = 200
#: Files read and filtered per pool task.
FILTER_CHUNK = 250
#: Kinds of use that create a task (the others are class definitions and default_args).
TASK_KINDS = ("call", "partial", "decorator")

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class CallSite:
    """One use of DockerOperator (or KubernetesPodOperator) and, for DockerOperator, its verdict.

    ``kind``: ``call``, ``partial`` (``.partial(...).expand(...)``), ``decorator`` (``@task.docker``),
    ``subclass`` (a class deriving from DockerOperator) or ``default_args`` (DockerOperator arguments in
    a DAG's default_args). ``task_id`` and ``image`` are the literal value or the source expression.
    ``verdict`` is None for KubernetesPodOperator, which has nothing to migrate.
    """

    file: str
    line: int
    column: int
    operator: str
    kind: str
    task_id: str | None
    image: str | None
    verdict: Verdict | None
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class Audited:
    """A file that was parsed; ``sites`` may be empty (a mention in a comment or a string)."""

    path: str
    sites: tuple[CallSite, ...]


@dataclass(frozen=True)
class Skipped:
    """A file that could not be audited for a reason of its own (a syntax error, not text)."""

    path: str
    reason: str


@dataclass(frozen=True)
class Failed:
    """A file on which the audit itself failed: a dockpod bug, reported rather than raised."""

    path: str
    error: str


FileResult = Audited | Skipped | Failed


@dataclass(frozen=True)
class AuditReport:
    """The audit of some paths: counts, every use found, and the files that were skipped."""

    files_scanned: int
    files_parsed: int
    files_with_hits: int
    calls: tuple[CallSite, ...]
    skipped: tuple[tuple[str, str], ...]

    def summary(self) -> dict[str, int]:
        """Counts: files, DockerOperator tasks by verdict, other findings, KubernetesPodOperator uses."""
        docker = [c for c in self.calls if c.verdict is not None]
        tasks = [c for c in docker if c.kind in TASK_KINDS]
        return {
            "files": self.files_scanned,
            "files_parsed": self.files_parsed,
            "files_with_hits": self.files_with_hits,
            "calls": len(tasks),
            "auto": sum(c.verdict == "auto" for c in tasks),
            "review": sum(c.verdict == "review" for c in tasks),
            "manual": sum(c.verdict == "manual" for c in tasks),
            "subclasses": sum(c.kind == "subclass" for c in docker),
            "default_args": sum(c.kind == "default_args" for c in docker),
            "kubernetes_pod_operator": sum(c.verdict is None for c in self.calls),
            "skipped": len(self.skipped),
        }

    def at_least(self, verdict: Verdict) -> tuple[CallSite, ...]:
        """The DockerOperator uses whose verdict is ``verdict`` or worse (for ``--fail-on``)."""
        order = ("auto", "review", "manual")
        return tuple(c for c in self.calls
                     if c.verdict is not None and order.index(c.verdict) >= order.index(verdict))


def audit_paths(
    paths: Iterable[str | os.PathLike[str]],
    *,
    progress: Progress | None = None,
    workers: int | None = None,
) -> AuditReport:
    """Audit every Python file under ``paths`` (files or folders); raise DockpodError for a missing path.

    ``progress(done, total)`` is called after each candidate file. ``workers``: processes for the
    parsing (default: one per core when there are many candidates; 1 parses in this process).
    """
    paths = [Path(p) for p in paths]
    for path in paths:
        if not path.exists():
            raise DockpodError(f"{path} does not exist.", fix="Give a DAG folder, a repository or a .py file.")
    files = sorted(set(_python_files(paths)))
    workers = workers or _cores()
    with _Pool(workers) as pool:
        results: list[FileResult] | None = None
        if workers > 1 and len(files) >= POOL_THRESHOLD * 10:
            chunks = [files[i:i + FILTER_CHUNK] for i in range(0, len(files), FILTER_CHUNK)]
            if progress is None:  # each chunk read, filtered and audited in one task
                done = list(pool.get().map(_filter_and_audit, chunks))
                marked = [item for chunk, _results in done for item in chunk]
                if not any(defines for _path, defines in marked):  # no first pass: the results stand
                    results = [result for _chunk, chunk_results in done for result in chunk_results]
            else:
                marked = [item for chunk in pool.get().map(_candidates, chunks) for item in chunk]
        else:
            marked = _candidates(files)
        candidates = [path for path, _defines in marked]
        if results is None:
            # first pass: the DockerOperator subclasses each module defines, for the files that import them
            external = _external_subclasses([path for path, defines in marked if defines])
            if external:
                external = _subclass_chains(files, external)
                candidates = _with_users(files, candidates, external)
            results = list(_run(candidates, progress, pool if workers > 1 else None, external))
    calls = tuple(site for r in results if isinstance(r, Audited) for site in r.sites)
    skipped = tuple((r.path, r.reason) if isinstance(r, Skipped) else (r.path, f"internal error: {r.error}")
                    for r in results if not isinstance(r, Audited))
    return AuditReport(files_scanned=len(files), files_parsed=len(candidates),
                       files_with_hits=sum(1 for r in results if isinstance(r, Audited) and r.sites),
                       calls=calls, skipped=skipped)


def audit_file(path: str, external: External | None = None) -> FileResult:
    """Audit one file; never raises. ``external``: the DockerOperator subclasses of the other audited modules."""
    collecting = gc.isenabled()
    gc.disable()  # a syntax tree is many small objects and no cycles: the collector only costs time here
    try:
        return _audit_file(path, external)
    finally:
        if collecting:
            gc.enable()


def _audit_file(path: str, external: External | None = None) -> FileResult:
    try:
        with open(path, "rb") as handle:  # not _read: an error names the file, as it always has
            data = handle.read()
    except Exception as exc:  # a bug in the audit must not stop the other files
        return Failed(path, f"{type(exc).__name__}: {exc}")
    return _audit_data(path, data, external)


def _audit_data(path: str, data: bytes, external: External | None = None) -> FileResult:
    """:func:`_audit_file` of bytes already read."""
    try:
        try:
            source = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            return Skipped(path, "not UTF-8 text")
        try:
            module = find(source, external, path)
        except SyntaxError as exc:
            return Skipped(path, f"syntax error at line {exc.lineno}: {exc.msg}")
        except (ValueError, RecursionError) as exc:
            return Skipped(path, f"cannot be parsed: {exc}")
        file = Path(path).as_posix()
        sites = sorted((_judge(file, found, module) for found in module.found), key=lambda c: (c.line, c.column))
        return Audited(path, tuple(sites))
    except Exception as exc:  # a bug in the audit must not stop the other files
        return Failed(path, f"{type(exc).__name__}: {exc}")


# --- walking and filtering ----------------------------------------------------------------------


def _python_files(paths: list[Path]) -> Iterator[str]:
    for path in paths:
        if path.is_file():
            yield os.path.normpath(path)
            continue
        yield from _walk(os.fspath(path))


def _walk(top: str) -> list[str]:
    """The ``.py`` files under ``top``, the ones ``os.walk`` finds, in no particular order (the caller sorts).

    As with ``os.walk``: symbolic links to folders are not followed, a folder that cannot be listed is
    left out; hidden folders and :data:`~dockpod.migrate._names.SKIP_DIRS` are not walked into. One
    ``os.scandir`` per folder, none of os.walk's generators and sorting.
    """
    found: list[str] = []
    folders = [top]
    for folder in folders:  # grows while it is read
        files: list[str] = []
        subfolders: list[str] = []
        try:
            with os.scandir(folder) as entries:
                for entry in entries:
                    try:
                        is_dir = entry.is_dir()
                    except OSError:
                        is_dir = False
                    if not is_dir:
                        if entry.name.endswith(".py"):
                            files.append(os.path.normpath(entry.path))
                    elif not entry.name.startswith(".") and entry.name not in names.SKIP_DIRS:
                        subfolders.append(entry.path)
        except OSError:
            continue  # as os.walk: nothing from a folder that cannot be read through
        found += files
        folders += [sub for sub in subfolders if not os.path.islink(sub)]
    return found


def _read(path: str) -> bytes:
    """The bytes of a file: os.open and os.read, without a file object's buffering and decoding layers."""
    fd = os.open(path, os.O_RDONLY)
    try:
        data = os.read(fd, _READ_SIZE)
        if len(data) < _READ_SIZE:
            return data
        parts = [data]
        while part := os.read(fd, _READ_SIZE):
            parts.append(part)
        return b"".join(parts)
    finally:
        os.close(fd)


_READ_SIZE = 1 << 16
#: Every marker holds one of these: a file with neither is not searched for each marker.
_MARKER_CORES = (b"ocker", b"ubernetes")
if not all(any(core in marker for core in _MARKER_CORES) for marker in names.MARKERS):
    _MARKER_CORES = (b"", b"")  # a marker without either: no shortcut (b"" is in every file)


def _candidates(files: list[str], read: dict[str, bytes] | None = None) -> list[tuple[str, bool]]:
    """The files whose bytes mention an operator (and those that cannot be read: audit_file says why).

    Each with whether it may define a DockerOperator subclass (for the first pass). ``read``, when
    given, receives the bytes of each candidate that was read.
    """
    found: list[tuple[str, bool]] = []
    markers = names.MARKERS
    docker, kubernetes = _MARKER_CORES
    for path in files:
        try:
            data = _read(path)
        except OSError:
            found.append((path, False))
            continue
        if (docker in data or kubernetes in data) and any(marker in data for marker in markers):
            found.append((path, docker in data and may_define_subclass(data)))
            if read is not None:
                read[path] = data
    return found


def _filter_and_audit(files: list[str]) -> tuple[list[tuple[str, bool]], list[FileResult]]:
    """A pool task: :func:`_candidates` of ``files``, and the audit of each, unless one may define a subclass.

    Audited without a first pass, which only matters when some file of the tree defines a subclass: then
    no results come back, and the caller audits the candidates again after the first pass. The pool's
    workers tell each other (:data:`_SUBCLASS_SEEN`), so that none audits what will be thrown away.
    """
    read: dict[str, bytes] = {}
    marked = _candidates(files, read)
    seen = _SUBCLASS_SEEN
    if any(defines for _path, defines in marked):
        if seen is not None:
            seen.value = 1
        return marked, []
    results: list[FileResult] = []
    for path, _defines in marked:
        if seen is not None and seen.value:
            return marked, []  # the caller audits again: these results would not be used
        results.append(_audit_data(path, read[path]) if path in read else audit_file(path))
    return marked, results


#: In a pool's worker: set when a task has seen a file that may define a DockerOperator subclass.
_SUBCLASS_SEEN: Any = None


def _start_worker(subclass_seen: Any) -> None:
    """The pool's initializer: no collections (short-lived workers), and the flag the tasks share."""
    global _SUBCLASS_SEEN
    gc.disable()
    _SUBCLASS_SEEN = subclass_seen


def _external_subclasses(paths: list[str], known: External | None = None) -> External:
    """The first pass: every DockerOperator subclass defined at the top of these modules.

    Keyed by each dotted name the class may be imported under (see
    :func:`~dockpod.migrate._finder.module_names`). ``known``: the subclasses found so far, which
    these modules' classes may derive from.
    """
    external: External = {}
    for path in paths:
        try:
            defined = subclasses(_read(path).decode("utf-8-sig"), known, path)
        except (OSError, UnicodeDecodeError, SyntaxError, ValueError, RecursionError):
            continue  # the second pass reports the file
        file = Path(path).as_posix()
        for module in module_names(file):
            for name, (line, trivial) in defined.items():
                external.setdefault(f"{module}.{name}", (file, line, trivial))
    return external


def _subclass_chains(files: list[str], external: External) -> External:
    """``external`` and the subclasses of its subclasses, in any file of the tree, transitively.

    A module that derives from an imported subclass need not mention DockerOperator at all
    (``class Mid(Base)`` with ``from .base import Base``): each round reads only the files with a class
    statement naming one of the last round's new classes among its bases, until a round finds none.
    """
    new = external
    while new:
        hidden = "|".join(sorted({re.escape(name.rpartition(".")[2]) for name in new}))
        statement = re.compile(rb"^[ \t]*class[ \t]+\w+[ \t]*\([^)]*\b(?:" + hidden.encode() + rb")\b", re.MULTILINE)
        readers = []
        for path in files:
            try:
                data = _read(path)
            except OSError:
                continue
            if statement.search(data):
                readers.append(path)
        found = _external_subclasses(readers, external)
        new = {name: where for name, where in found.items() if name not in external
               or where[2] != external[name][2]}
        external = {**external, **new}
    return external


def _with_users(files: list[str], candidates: list[str], external: External) -> list[str]:
    """``candidates`` and the files that name a subclass of ``external`` without mentioning an operator."""
    hidden = {name.rpartition(".")[2].encode() for name in external}
    hidden = {name for name in hidden if not any(marker in name for marker in names.MARKERS)}
    if not hidden:
        return candidates
    chosen = set(candidates)
    more = []
    for path in files:
        if path in chosen:
            continue
        try:
            data = _read(path)
        except OSError:
            continue
        if any(name in data for name in hidden):
            more.append(path)
    return sorted([*candidates, *more]) if more else candidates


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


class _Pool:
    """A process pool made on first use; on Linux, forked (the workers import nothing again)."""

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self.pool: Any = None

    def get(self) -> Any:
        if self.pool is None:
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor

            _import_judging()  # once, here, rather than in every worker of every pool

            context = multiprocessing.get_context("fork" if sys.platform.startswith("linux") else None)
            self.pool = ProcessPoolExecutor(max_workers=self.workers, mp_context=context,
                                            initializer=_start_worker, initargs=(context.Value("b", 0),))
        return self.pool

    def __enter__(self) -> _Pool:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.pool is not None:
            self.pool.shutdown(cancel_futures=True)


def _import_judging() -> None:
    """Import what judging a call imports on first use (the translation, the argument table).

    Forked workers inherit the modules this process holds; each would otherwise import them again.
    """
    import importlib

    for module in ("dockpod.backends.docker", "dockpod.backends.table"):
        importlib.import_module(module)


def _run(candidates: list[str], progress: Progress | None, pool: _Pool | None,
         external: External | None = None) -> Iterator[FileResult]:
    total = len(candidates)
    if pool is not None and total >= POOL_THRESHOLD:
        work = functools.partial(audit_file, external=external) if external else audit_file
        results = pool.get().map(work, candidates, chunksize=max(1, total // (pool.workers * 8)))
        for done, result in enumerate(results, 1):
            if progress:
                progress(done, total)
            yield result
        return
    for done, path in enumerate(candidates, 1):
        result = audit_file(path, external)
        if progress:
            progress(done, total)
        yield result


# --- judging ------------------------------------------------------------------------------------


def _judge(file: str, found: Found, module: Module) -> CallSite:
    if found.operator == "KubernetesPodOperator":
        verdict, reasons = None, ()
    else:
        assessment = worst(assess(found.kwargs, opaque=found.opaque, xcom_used=module.xcom_read(found)),
                           *patterns(found))
        verdict, reasons = assessment.verdict, assessment.reasons
    return CallSite(file=file, line=found.line, column=found.column, operator=found.operator,
                    kind=found.kind, task_id=_show(found.task_id), image=_show(found.image), verdict=verdict,
                    reasons=reasons)


def _show(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, Dynamic):
        return value.source
    return value if isinstance(value, str) else repr(value)


# --- writers ------------------------------------------------------------------------------------


def _fields(call: CallSite) -> dict[str, object]:
    """``dataclasses.asdict(call)`` without its deep copy (every field is a str, an int, None or a tuple of str)."""
    return {name: getattr(call, name) for name in _CALL_FIELDS}


_CALL_FIELDS = tuple(field.name for field in fields(CallSite))


def to_json(report: AuditReport) -> str:
    """The report as one JSON document: summary, calls, skipped files."""
    document = {
        "summary": report.summary(),
        "calls": [_fields(call) for call in report.calls],
        "skipped": [{"file": Path(path).as_posix(), "reason": reason} for path, reason in report.skipped],
    }
    return json.dumps(document, indent=2) + "\n"


CSV_COLUMNS = ("file", "line", "column", "operator", "kind", "task_id", "image", "verdict", "reasons")


def to_csv(report: AuditReport) -> str:
    """One row per use; reasons joined with `` | ``."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for call in report.calls:
        row = _fields(call)
        row["reasons"] = " | ".join(call.reasons)
        writer.writerow(["" if row[c] is None else row[c] for c in CSV_COLUMNS])
    return out.getvalue()


SARIF_SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"

#: One SARIF rule per verdict that needs someone: (id, level, short text, help text).
SARIF_RULES = (
    ("dockpod.migrate.review", "warning", "DockerOperator use that migrates with a stated loss",
     "The call translates to a dockpod container_task, but something changes or cannot be seen by the "
     "audit (a bind mount becomes hostPath, a value known only at run time, an XCom read). Read the reasons "
     "and confirm."),
    ("dockpod.migrate.manual", "error", "DockerOperator use with no counterpart in Kubernetes",
     "An argument has no faithful pod counterpart (privileged, host networking, a remote Docker engine...). "
     "Apply the fix named in the reason before migrating."),
)


def to_sarif(report: AuditReport) -> str:
    """SARIF 2.1.0: one result per DockerOperator use whose verdict is review or manual."""
    from dockpod import __version__

    rule_index = {rule_id: i for i, (rule_id, *_rest) in enumerate(SARIF_RULES)}
    results = []
    for call in report.calls:
        if call.verdict not in ("review", "manual"):
            continue
        rule_id = f"dockpod.migrate.{call.verdict}"
        what = f"{call.operator} {call.task_id}" if call.task_id else f"{call.operator} ({call.kind})"
        results.append({
            "ruleId": rule_id,
            "ruleIndex": rule_index[rule_id],
            "level": SARIF_RULES[rule_index[rule_id]][1],
            "message": {"text": f"{what}: {' '.join(call.reasons)}"},
            "locations": [{"physicalLocation": {
                "artifactLocation": {"uri": call.file, "uriBaseId": "%SRCROOT%"},
                "region": {"startLine": call.line, "startColumn": call.column},
            }}],
        })
    notifications = [{"level": "warning", "message": {"text": f"{Path(path).as_posix()}: {reason}"},
                      "locations": [{"physicalLocation": {"artifactLocation": {"uri": Path(path).as_posix(),
                                                                               "uriBaseId": "%SRCROOT%"}}}]}
                     for path, reason in report.skipped]
    rules = [{"id": rule_id, "name": rule_id.rsplit(".", 1)[-1].capitalize(),
              "shortDescription": {"text": short}, "fullDescription": {"text": text}, "help": {"text": text},
              "defaultConfiguration": {"level": level}}
             for rule_id, level, short, text in SARIF_RULES]
    log = {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "dockpod", "version": __version__, "rules": rules}},
            "invocations": [{"executionSuccessful": True, "toolExecutionNotifications": notifications}],
            "results": results,
        }],
    }
    return json.dumps(log, indent=2) + "\n"
