"""``dockpod audit``: every DockerOperator use under some paths, each with its migration verdict.

Only files whose bytes mention an operator (see :data:`dockpod.migrate._names.MARKERS`) are parsed,
with :mod:`ast`; many candidates are parsed in a process pool. Each file gives one frozen result
(:class:`Audited`, :class:`Skipped` or :class:`Failed`), and :func:`audit_paths` folds them into an
:class:`AuditReport`, which :func:`to_json`, :func:`to_csv` and :func:`to_sarif` write out.
"""

from __future__ import annotations

import csv
import gc
import io
import json
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

from dockpod.errors import DockpodError
from dockpod.migrate import _names as names
from dockpod.migrate._finder import Found, Module, find
from dockpod.migrate.assess import Assessment, Dynamic, Verdict, assess, worst

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

#: With at least this many candidate files, they are parsed in a process pool.
POOL_THRESHOLD = 200
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
    candidates = [f for f in files if _mentions_an_operator(f)]
    results = list(_run(candidates, progress, workers))
    calls = tuple(site for r in results if isinstance(r, Audited) for site in r.sites)
    skipped = tuple((r.path, r.reason) if isinstance(r, Skipped) else (r.path, f"internal error: {r.error}")
                    for r in results if not isinstance(r, Audited))
    return AuditReport(files_scanned=len(files), files_parsed=len(candidates),
                       files_with_hits=sum(1 for r in results if isinstance(r, Audited) and r.sites),
                       calls=calls, skipped=skipped)


def audit_file(path: str) -> FileResult:
    """Audit one file; never raises."""
    try:
        with open(path, "rb") as handle:
            data = handle.read()
        try:
            source = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            return Skipped(path, "not UTF-8 text")
        collecting = gc.isenabled()
        gc.disable()  # a syntax tree is many small objects and no cycles: the collector only costs time here
        try:
            module = find(source)
        except SyntaxError as exc:
            return Skipped(path, f"syntax error at line {exc.lineno}: {exc.msg}")
        except (ValueError, RecursionError) as exc:
            return Skipped(path, f"cannot be parsed: {exc}")
        finally:
            if collecting:
                gc.enable()
        sites = sorted((_judge(path, found, module) for found in module.found), key=lambda c: (c.line, c.column))
        return Audited(path, tuple(sites))
    except Exception as exc:  # a bug in the audit must not stop the other files
        return Failed(path, f"{type(exc).__name__}: {exc}")


# --- walking and filtering ----------------------------------------------------------------------


def _python_files(paths: list[Path]) -> Iterator[str]:
    for path in paths:
        if path.is_file():
            yield os.path.normpath(path)
            continue
        for folder, dirs, filenames in os.walk(path):
            dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in names.SKIP_DIRS)
            yield from (os.path.normpath(os.path.join(folder, f)) for f in filenames if f.endswith(".py"))


def _mentions_an_operator(path: str) -> bool:
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError:
        return True  # audit_file reports why it cannot be read
    return any(marker in data for marker in names.MARKERS)


def _run(candidates: list[str], progress: Progress | None, workers: int | None) -> Iterator[FileResult]:
    total = len(candidates)
    workers = workers or (os.cpu_count() or 1)
    if workers > 1 and total >= POOL_THRESHOLD:
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(max_workers=workers) as pool:
            results = pool.map(audit_file, candidates, chunksize=max(1, total // (workers * 8)))
            for done, result in enumerate(results, 1):
                if progress:
                    progress(done, total)
                yield result
        return
    for done, path in enumerate(candidates, 1):
        result = audit_file(path)
        if progress:
            progress(done, total)
        yield result


# --- judging ------------------------------------------------------------------------------------


def _judge(path: str, found: Found, module: Module) -> CallSite:
    if found.operator == "KubernetesPodOperator":
        verdict, reasons = None, ()
    else:
        xcom_used = None
        if found.kind in ("call", "partial") and (
                found.output_read or found.variable in module.xcom_variables
                or _reads(module.xcom_task_ids, found.task_id)):
            xcom_used = True
        assessment = worst(assess(found.kwargs, opaque=found.opaque, xcom_used=xcom_used),
                           *_pattern_findings(found))
        verdict, reasons = assessment.verdict, assessment.reasons
    return CallSite(file=Path(path).as_posix(), line=found.line, column=found.column, operator=found.operator,
                    kind=found.kind, task_id=_show(found.task_id), image=_show(found.image), verdict=verdict,
                    reasons=reasons)


def _pattern_findings(found: Found) -> list[Assessment]:
    keys = {"decorator": "decorator", "subclass": "subclass", "partial": "partial"}
    key = keys.get(found.kind) or ("subclass_call" if found.defined_at is not None else None)
    if key is None:
        return []
    verdict, reason = names.PATTERN_FINDINGS[key]
    return [Assessment(verdict, (reason.format(operator=found.operator, line=found.defined_at),))]  # type: ignore[arg-type]


def _reads(pulled: frozenset[str], task_id: object) -> bool:
    return isinstance(task_id, str) and any(p == task_id or p.endswith("." + task_id) for p in pulled)


def _show(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, Dynamic):
        return value.source
    return value if isinstance(value, str) else repr(value)


# --- writers ------------------------------------------------------------------------------------


def to_json(report: AuditReport) -> str:
    """The report as one JSON document: summary, calls, skipped files."""
    document = {
        "summary": report.summary(),
        "calls": [asdict(call) for call in report.calls],
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
        row = asdict(call)
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
