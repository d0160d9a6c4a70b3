"""Render the templates: options in, ``{relative path: text}`` out. Pure: nothing is read but the templates.

The templates use ``<% ... %>`` for statements, ``<%= ... %>`` for values and ``<%# ... %>`` for comments,
so that Helm's ``{{ }}``, compose's and the shell's ``${...}`` and bash's ``[[ ]]`` pass through as text.
Undefined variables are errors (StrictUndefined), and every file keeps its final newline.
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files
from typing import TYPE_CHECKING, Any

from dockpod.scaffold._options import ScaffoldOptions
from dockpod.scaffold._table import ASSETS, VARIABLES, Asset

if TYPE_CHECKING:
    import jinja2

__all__ = ["TEMPLATES", "render_assets", "selected_assets", "template_context", "template_path"]

#: The package folder that holds the templates (``<path in the project>.jinja``).
TEMPLATES = "templates"


@cache
def _environment() -> jinja2.Environment:
    import jinja2

    return jinja2.Environment(
        loader=jinja2.PackageLoader("dockpod.scaffold", TEMPLATES),
        block_start_string="<%", block_end_string="%>",
        variable_start_string="<%=", variable_end_string="%>",
        comment_start_string="<%#", comment_end_string="%>",
        undefined=jinja2.StrictUndefined, keep_trailing_newline=True, trim_blocks=True, lstrip_blocks=True,
        autoescape=False,
    )


def template_context(options: ScaffoldOptions) -> dict[str, Any]:
    """Every template variable's value for ``options`` (see :data:`dockpod.scaffold.VARIABLES`)."""
    if options.project is None:
        raise ValueError("options.project is not set; use ScaffoldOptions.for_folder() first")
    return {variable.name: variable.value(options) for variable in VARIABLES}


def selected_assets(options: ScaffoldOptions) -> list[Asset]:
    """The table's files that ``options`` asks for: their group is chosen and their condition holds."""
    context = template_context(options)
    return [a for a in ASSETS if a.group in options.groups and (a.when is None or bool(context[a.when]))]


def render_assets(options: ScaffoldOptions) -> dict[str, str]:
    """The text of every file ``options`` asks for, keyed by its path relative to the project folder."""
    context = template_context(options)
    environment = _environment()
    return {asset.path: environment.get_template(asset.template).render(context) for asset in selected_assets(options)}


def template_path(asset: Asset) -> str:
    """Where an asset's template lives, as a path inside the installed package (for messages and re-syncing)."""
    return str(files("dockpod.scaffold").joinpath(TEMPLATES, asset.template))
