"""A lint report as text (for people), JSON, or SARIF 2.1.0 (for code scanning)."""

from __future__ import annotations

import json

from dockpod.lint._model import Severity
from dockpod.lint._registry import all_rules
from dockpod.lint._run import LintReport

__all__ = ["rules_markdown", "to_json", "to_sarif", "to_text"]

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


def rules_markdown() -> str:
    """docs/lint.md: every rule, by file kind, with why it matters, an example and the fix."""
    rules = all_rules()
    lines = ["# `dockpod lint` rules", "",
             "Generated from the rule records by `dockpod docs lint`; do not edit by hand. `dockpod lint --explain ID`",
             "prints the same text. hadolint's own findings (DLxxxx, SCxxxx) keep hadolint's ids and are documented",
             "in hadolint's wiki.", "",
             "Silence a rule on one line with `# dockpod: ignore[ID] reason` on that line or the line above it; for a",
             "whole repository, `[lint] ignore = [\"ID\"]` in dockpod.toml.", ""]
    kinds: dict[str, list] = {}
    for item in rules.values():
        kinds.setdefault(item.kind, []).append(item)
    titles = {"any": "Any file", "dockerfile": "Dockerfiles", "compose": "Compose files",
              "kubernetes": "Kubernetes manifests and pod templates", "helm_values": "Helm values (official Airflow "
              "chart)", "dag": "Container tasks in DAG files"}
    for kind, items in kinds.items():
        lines += [f"## {titles.get(kind, kind)}", "", "| rule | severity | what | fixable |", "|---|---|---|---|"]
        lines += [f"| [{r.id}](#{r.id.lower()}) | {r.severity} | {r.summary} | {'yes' if r.fixable else ''} |"
                  for r in items]
        lines.append("")
        for r in items:
            lines += [f"### {r.id}", "", f"**{r.summary}** ({r.severity})", ""]
            if r.why:
                lines += [f"Why it matters: {r.why}", ""]
            if r.example:
                lines += ["```", r.example, "```", ""]
            lines += [f"Fix: {r.fix}", ""]
    return "\n".join(lines).rstrip() + "\n"
