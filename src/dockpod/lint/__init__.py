"""``dockpod lint``: one linter for Dockerfiles, compose files, Kubernetes manifests, Helm values and DAGs.

    from dockpod.lint import lint_paths, to_text
    report = lint_paths([Path("deploy"), Path("dags")])
    print(to_text(report))

Rules are records (:class:`Rule`) with a pure check per family of files (see :mod:`._registry`);
their documentation, ``--explain`` and SARIF help come from the same record.
"""

from dockpod.lint._config import LintConfig, load_config
from dockpod.lint._model import Finding, Rule, Severity
from dockpod.lint._output import rules_markdown, to_json, to_sarif, to_text
from dockpod.lint._registry import all_rules
from dockpod.lint._run import LintReport, lint_paths

__all__ = ["Finding", "LintConfig", "LintReport", "Rule", "Severity", "all_rules", "lint_paths", "load_config",
           "rules_markdown", "to_json", "to_sarif", "to_text"]
