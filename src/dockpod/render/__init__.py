"""``dockpod render``: the production pod or the local container configuration of every container task."""

from dockpod.render._render import RenderedTask, RenderResult, dump, render_paths, render_task, write

__all__ = ["RenderResult", "RenderedTask", "dump", "render_paths", "render_task", "write"]
