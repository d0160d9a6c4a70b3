"""A lint report as text (for people), JSON, or SARIF 2.1.0 (for code scanning)."""

from __future__ import annotations

import json

from dockpod.lint._model import Severity
from dockpod.lint._registry import all_rules
from dockpod.lint._run import LintReport

__all__ = ["to_json", "to_sarif", "to_text"]

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
_LEVEL = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}


def to_text(report: LintReport) -> str:
    """One line per finding, ``path:line: ID severity: message``, the fix indented below it."""
    lines = []
    for f in report.findings:
        lines.append(f"{f.path}:{f.line}: {f.rule} {f.severity}: {f.message}")
        if f.fix:
            lines.append(f"    fix: {f.fix}")
    return "\n".join(lines) + ("\n" if lines else "")


def to_json(report: LintReport) -> str:
    """The findings and the summary as one JSON object."""
    return json.dumps({"summary": report.summary(), "fixed": report.fixed,
                       "findings": [f.as_dict() for f in report.findings]}, indent=2) + "\n"


def to_sarif(report: LintReport) -> str:
    """SARIF 2.1.0: one run, the rules that have findings in its driver, a result per finding."""
    from dockpod import __version__

    rules = all_rules()
    used = sorted({f.rule for f in report.findings})
    index = {rule_id: i for i, rule_id in enumerate(used)}
    driver_rules = []
    for rule_id in used:
        known = rules.get(rule_id)
        entry = {"id": rule_id, "shortDescription": {"text": known.summary if known else rule_id}}
        if known is not None:
            entry["help"] = {"text": known.explain()}
            entry["defaultConfiguration"] = {"level": _LEVEL[known.severity]}
        driver_rules.append(entry)
    results = []
    for f in report.findings:
        location = {"physicalLocation": {"artifactLocation": {"uri": f.path}}}
        if f.line > 0:
            location["physicalLocation"]["region"] = {"startLine": f.line, **({"startColumn": f.column}
                                                                               if f.column > 0 else {})}
        results.append({"ruleId": f.rule, "ruleIndex": index[f.rule], "level": _LEVEL[f.severity],
                        "message": {"text": f"{f.message}" + (f" Fix: {f.fix}" if f.fix else "")},
                        "locations": [location]})
    sarif = {"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [{
        "tool": {"driver": {"name": "dockpod lint", "version": __version__,
                            "informationUri": "https://github.com/dockpod/dockpod", "rules": driver_rules}},
        "results": results}]}
    return json.dumps(sarif, indent=2) + "\n"
