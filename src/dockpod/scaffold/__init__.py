"""``dockpod scaffold``: deployment assets for a project (Airflow image, Helm values, raw manifests), from templates.

    from pathlib import Path
    from dockpod.scaffold import ScaffoldOptions, render_assets, scaffold
    texts = render_assets(ScaffoldOptions(executor="kubernetes", project="etl"))  # {path: text}, pure
    result = scaffold(Path("."), ScaffoldOptions(registry="registry.acme.io"), force=False, dry_run=True)

What is written, by which ``--with`` group, and which option sets which template variable is data
(:mod:`._table`); the templates are package data under ``templates/<path>.jinja``. Jinja2 is imported
only when something is rendered.
"""

from dockpod.scaffold._options import DEFAULT_BASE_IMAGE, DEFAULT_REGISTRY, ScaffoldOptions, parse_groups, project_slug
from dockpod.scaffold._render import render_assets, selected_assets, template_context, template_path
from dockpod.scaffold._table import AIRFLOW_VERSION, ASSETS, EXECUTORS, GROUPS, VARIABLES, Asset, Executor, Group
from dockpod.scaffold._write import FileResult, ScaffoldResult, Status, scaffold

__all__ = ["AIRFLOW_VERSION", "ASSETS", "DEFAULT_BASE_IMAGE", "DEFAULT_REGISTRY", "EXECUTORS", "GROUPS", "VARIABLES",
           "Asset", "Executor", "FileResult", "Group", "ScaffoldOptions", "ScaffoldResult", "Status", "parse_groups",
           "project_slug", "render_assets", "scaffold", "selected_assets", "template_context", "template_path"]
