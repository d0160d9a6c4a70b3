"""Carry edits of dockpod's own deploy/ files back into the scaffold's templates.

    python -m dockpod.scaffold.resync                 # every file of REPOSITORY_OPTIONS, from the repo root
    python -m dockpod.scaffold.resync deploy/k8s/worker.yaml --check

The template is rendered with the repository's options while every template line carries its own
number, so each rendered line knows the template line it came from. The rendered text is then
compared with the deploy/ file line by line: lines added, removed or changed in deploy/ are added,
removed or changed in the template at the place they came from. A changed line that holds a
template variable (``<%= ... %>``) cannot be carried over safely: it is reported, and left for a person.
Lines inside branches the repository's options do not take (``<% else %>``) are never touched.
"""

from __future__ import annotations

import argparse
import difflib
import re
import sys
from dataclasses import dataclass
from pathlib import Path

from dockpod.scaffold._options import REPOSITORY_OPTIONS, ScaffoldOptions
from dockpod.scaffold._render import _environment, selected_assets, template_context, template_path
from dockpod.scaffold._table import Asset

__all__ = ["Resync", "resync_asset", "resync_text"]

_MARK = re.compile(r"\x00(\d+)\x00$")
_TAG_ONLY = re.compile(r"^\s*<%(?!=).*%>\s*$")  # a statement or comment alone on its line: renders to nothing


@dataclass(frozen=True)
class Resync:
    """The new template text, whether it changed, and the lines left for a person."""

    template: str
    changed: bool
    problems: tuple[str, ...]


def resync_text(template: str, wanted: str, context: dict[str, object], name: str = "template") -> Resync:
    """``template`` edited so that, rendered with ``context``, it gives ``wanted`` (see the module docstring)."""
    lines = template.splitlines(keepends=True)
    marked = "".join(line if _TAG_ONLY.match(line) else _marked(line, number) for number, line in enumerate(lines))
    rendered, origin = [], []
    for line in _environment().from_string(marked).render(context).splitlines(keepends=True):
        body = line.rstrip("\n")
        match = _MARK.search(body)
        if match is None:
            raise ValueError(f"{name}: a rendered line has no origin: {line!r}")
        origin.append(int(match.group(1)))
        rendered.append(body[:match.start()] + line[len(body):])
    target = wanted.splitlines(keepends=True)
    edits: dict[int, list[str]] = {}  # template line -> the lines that replace it
    inserted: dict[int, list[str]] = {}  # template line -> the lines to put before it (len(lines): at the end)
    problems = []
    matcher = difflib.SequenceMatcher(None, rendered, target, autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            continue
        sources = origin[i1:i2]
        variable = [n for n in sources if "<%=" in lines[n]]
        if variable:
            problems += [f"{name}:{n + 1} holds a variable and changed in deploy/; edit it by hand to give "
                         f"{''.join(target[j1:j2]).strip()!r}" for n in variable]
            continue
        if sources:
            for n in sources:
                edits[n] = []
            edits[sources[0]] = target[j1:j2]
        else:
            where = origin[i1] if i1 < len(origin) else len(lines)
            inserted.setdefault(where, []).extend(target[j1:j2])
    out: list[str] = []
    for number, line in enumerate(lines):
        out += inserted.get(number, [])
        out += edits.get(number, [line])
    out += inserted.get(len(lines), [])
    text = "".join(out)
    return Resync(text, text != template, tuple(problems))


def _marked(line: str, number: int) -> str:
    body = line.rstrip("\n")
    return f"{body}\x00{number}\x00{line[len(body):]}"


def resync_asset(asset: Asset, root: Path, options: ScaffoldOptions = REPOSITORY_OPTIONS) -> Resync:
    """The template of ``asset`` re-synced from ``root / asset.path``."""
    template = Path(template_path(asset)).read_text()
    wanted = (root / asset.path).read_text()
    return resync_text(template, wanted, template_context(options), asset.template)


def main(argv: list[str] | None = None) -> int:
    """Re-sync the templates from deploy/ files; exit 1 with --check when one would change or needs a hand."""
    parser = argparse.ArgumentParser(prog="python -m dockpod.scaffold.resync", description=__doc__.split("\n")[0])
    parser.add_argument("paths", nargs="*", help="deploy/ files (default: every file the repository's options write)")
    parser.add_argument("--root", type=Path, default=Path("."), help="the repository (default: .)")
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if a template would change")
    args = parser.parse_args(argv)
    assets = {a.path: a for a in selected_assets(REPOSITORY_OPTIONS)}
    unknown = [p for p in args.paths if p not in assets]
    if unknown:
        print(f"not written by the scaffold with the repository's options: {', '.join(unknown)}", file=sys.stderr)
        return 2
    status = 0
    for path in args.paths or list(assets):
        result = resync_asset(assets[path], args.root)
        for problem in result.problems:
            print(f"needs a hand: {problem}", file=sys.stderr)
            status = 1
        if result.changed:
            if args.check:
                status = 1
                print(f"would update {assets[path].template}", file=sys.stderr)
            else:
                Path(template_path(assets[path])).write_text(result.template)
                print(f"updated {template_path(assets[path])}", file=sys.stderr)
    return status


if __name__ == "__main__":
    sys.exit(main())
