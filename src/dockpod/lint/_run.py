"""Run the checks over some paths: discovery, configuration, inline ignores, severities, fixes."""

from __future__ import annotations

import os
import tempfile
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from dockpod.errors import DockpodError
from dockpod.lint._config import LintConfig, inline_ignores
from dockpod.lint._discover import discover
from dockpod.lint._model import Finding, LintFile, Severity
from dockpod.lint._registry import all_rules, family, rule

__all__ = ["LintContext", "LintReport", "lint_paths"]

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class LintContext:
    """What the checks may need besides the file: the Kubernetes version, whether to fix, the config."""

    k8s_version: str | None = None
    fix: bool = False
    config: LintConfig = field(default_factory=LintConfig)


@dataclass
class LintReport:
    """The findings of a run, the files read by kind, and what ``--fix`` changed."""

    findings: list[Finding] = field(default_factory=list)
    files: Counter[str] = field(default_factory=Counter)
    fixed: list[str] = field(default_factory=list)
    threshold: Severity = Severity.WARNING

    def failing(self) -> list[Finding]:
        """Findings at or above the threshold: any of them makes the exit code 1."""
        return [f for f in self.findings if f.severity >= self.threshold]

    def summary(self) -> dict[str, int]:
        """Counts by severity and files read."""
        by = Counter(str(f.severity) for f in self.findings)
        return {"files": sum(self.files.values()), "error": by["error"], "warning": by["warning"], "info": by["info"]}


def lint_paths(
    paths: Sequence[Path],
    *,
    config: LintConfig | None = None,
    select: Iterable[str] = (),
    ignore: Iterable[str] = (),
    severity: Severity | None = None,
    k8s_version: str | None = None,
    fix: bool = False,
    exclude: Iterable[str] = (),
    progress: Progress | None = None,
) -> LintReport:
    """Lint every file under ``paths``; ``select`` keeps only these rule ids, ``ignore`` drops these.

    ``exclude`` holds glob patterns of paths not to read, added to the configuration's.
    """
    config = config or LintConfig()
    known = all_rules()
    chosen = {r.upper() for r in select}
    dropped = {r.upper() for r in ignore} | set(config.ignore)
    unknown = sorted((chosen | {r.upper() for r in ignore}) - set(known) - _passthrough(chosen | dropped))
    if unknown:
        raise DockpodError(f"unknown rule id {', '.join(unknown)}.", fix="`dockpod lint --list-rules` lists them.")
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        raise DockpodError(f"{', '.join(missing)}: no such file or directory.", fix="Check the paths.")
    context = LintContext(k8s_version=k8s_version or config.k8s_version, fix=fix, config=config)
    report = LintReport(threshold=severity or config.severity)
    files = list(discover(paths, (*config.exclude, *exclude)))
    for kind in dict.fromkeys(kind for _path, kind in files):
        prepare = getattr(family(kind), "prepare", None)  # e.g. one hadolint process for all Dockerfiles
        if prepare is not None:
            prepare([path for path, k in files if k == kind], context)
    for index, (path, kind) in enumerate(files, start=1):
        report.files[kind] += 1
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError as exc:
            report.findings.append(rule("DP002").at(path, 0, f"the file cannot be read: {exc.strerror}"))
            continue
        file = LintFile(path, kind, text)
        found = _filter(_check(file, context), file, chosen, dropped, config)
        if fix:  # only what is still reported is fixed: an ignored finding stays as it is
            text = _fix(file, found, context)
            if text is not None:
                _write(path, text)
                report.fixed.append(str(path))
                file = LintFile(path, kind, text)
                found = _filter(_check(file, context), file, chosen, dropped, config)
        report.findings += found
        if progress:
            progress(index, len(files))
    report.findings.sort(key=lambda f: (f.path, f.line, f.rule))
    return report


def _check(file: LintFile, context: LintContext) -> list[Finding]:
    module = family(file.kind)
    if module is None:
        return []
    return list(module.check(file, context))


def _fix(file: LintFile, found: list[Finding], context: LintContext) -> str | None:
    module = family(file.kind)
    fixer = getattr(module, "fix", None)
    return fixer(file, found, context) if fixer and found else None


def _filter(found: list[Finding], file: LintFile, chosen: set[str], dropped: set[str],
            config: LintConfig) -> list[Finding]:
    """Apply --rule/--ignore, the config's severities and the inline ignores (reporting unexplained ones)."""
    ignores = inline_ignores(file.lines) if "dockpod:" in file.text else []
    kept = []
    for finding in found:
        if (chosen and finding.rule not in chosen) or finding.rule in dropped:
            continue
        if any(finding.rule in i.rules and finding.line in (i.line, i.line + 1) for i in ignores):
            continue
        level = config.severities.get(finding.rule)
        kept.append(replace(finding, severity=level) if level else finding)
    if "DP001" not in dropped and (not chosen or "DP001" in chosen):
        kept += [rule("DP001").at(file, i.line, f"ignore[{', '.join(sorted(i.rules))}] without a reason")
                 for i in ignores if not i.reason]
    return kept


def _passthrough(ids: set[str]) -> set[str]:
    """Hadolint's own rule ids (DLxxxx, SCxxxx) are accepted as they are."""
    return {i for i in ids if i[:2] in ("DL", "SC") and i[2:].isdigit()}


def _write(path: Path, text: str) -> None:
    """Replace the file atomically, keeping its mode."""
    mode = path.stat().st_mode
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(temp, mode & 0o7777)
        os.replace(temp, path)
    except BaseException:
        if os.path.exists(temp):
            os.unlink(temp)
        raise
