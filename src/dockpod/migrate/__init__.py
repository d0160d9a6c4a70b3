"""``dockpod.migrate``: move DockerOperator DAGs to dockpod, one repository at a time.

:func:`assess` judges one call (``auto``, ``review`` or ``manual``, with reasons);
:func:`audit_paths` finds every DockerOperator and KubernetesPodOperator use under some paths and
judges each; :func:`to_json`, :func:`to_csv` and :func:`to_sarif` write the report.
"""

from __future__ import annotations

from dockpod.migrate.assess import Assessment, Dynamic, Verdict, assess, worst
from dockpod.migrate.audit import AuditReport, CallSite, audit_paths, to_csv, to_json, to_sarif

__all__ = [
    "Assessment",
    "AuditReport",
    "CallSite",
    "Dynamic",
    "Verdict",
    "assess",
    "audit_paths",
    "to_csv",
    "to_json",
    "to_sarif",
    "worst",
]
