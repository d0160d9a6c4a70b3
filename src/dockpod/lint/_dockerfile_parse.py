"""A small Dockerfile reader for the lint rules: instructions with their lines, stages, ARG defaults, shell words.

It follows Docker's own reading: a parser directive ``# escape=`` at the top, line continuations (with
comment lines inside them dropped, as Docker drops them), simple heredocs (``RUN <<EOF ... EOF``, whose body
is kept as part of the instruction), and ``FROM image [AS name]`` stages. Nothing is run and nothing fails:
what cannot be read is kept as text, so a check can always skip what it does not understand.
"""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass, field

__all__ = ["Dockerfile", "Image", "Instruction", "Stage", "parse", "shell_commands", "split_image", "substitute"]

_DIRECTIVE = re.compile(r"^#\s*(escape|syntax|check)\s*=\s*(\S+)\s*$", re.I)
_HEREDOC = re.compile(r"<<(-?)([\"']?)([A-Za-z_][A-Za-z0-9_]*)\2")
_VAR = re.compile(r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-+])([^}]*))?\}|([A-Za-z_][A-Za-z0-9_]*))")


@dataclass(frozen=True)
class Instruction:
    """One instruction: its keyword (upper case), its arguments (continuations joined), where it is."""

    keyword: str
    args: str
    line: int  # 1-based line where the instruction starts
    end: int  # 1-based last line (continuations, heredoc bodies)
    stage: int  # index of the stage it belongs to (-1 before the first FROM)
    heredocs: tuple[str, ...] = ()

    @property
    def is_json(self) -> bool:
        """True for the exec form (``["prog", "arg"]``)."""
        return self.args.lstrip().startswith("[")

    def words(self) -> list[str]:
        """The arguments as words: the JSON array of the exec form, else shell-split (best effort)."""
        if self.is_json:
            try:
                value = json.loads(self.args)
                if isinstance(value, list) and all(isinstance(v, str) for v in value):
                    return value
            except ValueError:
                pass
        return _split(self.args)

    def flags(self) -> dict[str, str]:
        """Leading ``--name=value`` flags (``--platform``, ``--from``, ``--chown``...)."""
        found = {}
        for word in self.args.split():
            if not word.startswith("--"):
                break
            name, _, value = word[2:].partition("=")
            found[name.lower()] = value
        return found


@dataclass(frozen=True)
class Image:
    """An image reference split in its parts; ``tag`` and ``digest`` are None when absent."""

    text: str
    repository: str  # with the registry host, without tag and digest
    tag: str | None
    digest: str | None

    @property
    def registry(self) -> str | None:
        """The registry host (``localhost:5000``), None for Docker Hub."""
        first, _, rest = self.repository.partition("/")
        if rest and ("." in first or ":" in first or first == "localhost"):
            return first
        return None

    @property
    def path(self) -> str:
        """The repository without the registry host (``apache/airflow``)."""
        return self.repository.split("/", 1)[1] if self.registry else self.repository


@dataclass
class Stage:
    """A build stage: its FROM instruction, the image (ARGs substituted), its name, its instructions."""

    index: int
    instruction: Instruction
    image_text: str  # as written
    image: str | None  # with build arguments substituted; None when one has no default
    name: str | None
    instructions: list[Instruction] = field(default_factory=list)

    def last(self, keyword: str) -> Instruction | None:
        """The last instruction of this keyword in the stage."""
        return next((i for i in reversed(self.instructions) if i.keyword == keyword), None)


@dataclass
class Dockerfile:
    """A parsed Dockerfile: all instructions, the stages, and the ARGs declared before the first FROM."""

    instructions: list[Instruction]
    stages: list[Stage]
    global_args: dict[str, str | None]

    @property
    def final(self) -> Stage | None:
        """The last stage (what the image is), None when there is no FROM."""
        return self.stages[-1] if self.stages else None

    def stage_named(self, name: str) -> Stage | None:
        """An earlier stage by its ``AS`` name or its index."""
        for stage in self.stages:
            if stage.name is not None and stage.name.lower() == name.lower():
                return stage
        if name.isdigit() and int(name) < len(self.stages):
            return self.stages[int(name)]
        return None


def parse(text: str) -> Dockerfile:
    """Read a Dockerfile's text."""
    lines = text.splitlines()
    escape = "\\"
    index = 0
    # Parser directives: only at the very top, before any other line.
    while index < len(lines):
        match = _DIRECTIVE.match(lines[index].strip())
        if not match:
            break
        if match.group(1).lower() == "escape" and match.group(2) in ("`", "\\"):
            escape = match.group(2)
        index += 1
    instructions: list[Instruction] = []
    stage = -1
    while index < len(lines):
        raw = lines[index]
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            index += 1
            continue
        start = index
        parts = []
        current = raw
        while True:
            body = current.rstrip()
            if body.endswith(escape) and index + 1 < len(lines):
                parts.append(body[:-1])
                index += 1
                # comment and empty lines inside a continuation are skipped, as Docker does
                while index + 1 < len(lines) and (not lines[index].strip() or lines[index].lstrip().startswith("#")):
                    index += 1
                current = lines[index]
                continue
            parts.append(body[:-1] if body.endswith(escape) else current)
            break
        joined = " ".join(p.strip() for p in parts)
        keyword, _, args = joined.partition(" ")
        keyword = keyword.upper()
        heredocs = []
        for match in _HEREDOC.finditer(args) if keyword in ("RUN", "COPY", "ADD") else ():
            strip_tabs, word = match.group(1) == "-", match.group(3)
            body_lines = []
            while index + 1 < len(lines):
                index += 1
                line = lines[index].lstrip("\t") if strip_tabs else lines[index]
                if line.strip() == word if strip_tabs else line == word:
                    break
                body_lines.append(line)
            heredocs.append("\n".join(body_lines))
        if keyword == "FROM":
            stage += 1
        instructions.append(Instruction(keyword, args.strip(), start + 1, index + 1, stage, tuple(heredocs)))
        index += 1
    return _stages(instructions)


def _stages(instructions: list[Instruction]) -> Dockerfile:
    global_args: dict[str, str | None] = {}
    stages: list[Stage] = []
    for instruction in instructions:
        if instruction.keyword == "ARG" and not stages:
            for name, value in _assignments(instruction.args, allow_bare=True):
                global_args[name] = value
        elif instruction.keyword == "FROM":
            words = [w for w in instruction.args.split() if not w.startswith("--")]
            image_text = words[0] if words else ""
            name = words[2] if len(words) >= 3 and words[1].lower() == "as" else None
            stages.append(Stage(len(stages), instruction, image_text, substitute(image_text, global_args), name))
        elif stages:
            stages[-1].instructions.append(instruction)
    return Dockerfile(instructions, stages, global_args)


def substitute(text: str, args: dict[str, str | None]) -> str | None:
    """``text`` with ``$NAME``/``${NAME}``/``${NAME:-default}`` replaced; None when a value is unknown."""
    unknown = False

    def replace(match: re.Match[str]) -> str:
        nonlocal unknown
        name = match.group(1) or match.group(4)
        value = args.get(name)
        operator, default = match.group(2), match.group(3)
        if operator and operator.endswith("-") and not value:
            return default or ""
        if operator and operator.endswith("+"):
            return (default or "") if value else ""
        if value is None:
            unknown = True
            return ""
        return value

    result = _VAR.sub(replace, text)
    return None if unknown else result


def split_image(text: str) -> Image:
    """``registry:5000/team/name:tag@sha256:...`` in its parts."""
    rest, _, digest = text.partition("@")
    slash = rest.rfind("/")
    colon = rest.rfind(":")
    if colon > slash:
        return Image(text, rest[:colon], rest[colon + 1:] or None, digest or None)
    return Image(text, rest, None, digest or None)


def assignments(args: str) -> list[tuple[str, str | None]]:
    """The ``NAME=value`` pairs of an ENV, ARG or LABEL (the legacy ``ENV NAME value`` form too)."""
    return _assignments(args, allow_bare=False)


def _assignments(args: str, *, allow_bare: bool) -> list[tuple[str, str | None]]:
    words = _split(args)
    if not words:
        return []
    if "=" not in words[0] and not allow_bare:
        # legacy form: ENV NAME the rest of the line
        return [(words[0], args.split(None, 1)[1].strip() if len(args.split(None, 1)) > 1 else "")]
    pairs: list[tuple[str, str | None]] = []
    for word in words:
        name, eq, value = word.partition("=")
        pairs.append((name, value if eq else None))
    return pairs


def shell_commands(script: str) -> list[list[str]]:
    """The simple commands of a shell script, as words: split at ``&&``, ``||``, ``;``, ``|`` and newlines.

    Best effort, for finding ``apt-get install`` and ``pip install``: quotes are honoured, subshells and
    control structures are not interpreted (their words stay in the command they appear in).
    """
    script = script.replace("\n", " ; ")
    try:
        lexer = shlex.shlex(script, posix=True, punctuation_chars=";&|()")
        lexer.whitespace_split = True
        tokens = list(lexer)
    except ValueError:
        tokens = re.sub(r"[;&|()]+", " ; ", script).split()
    commands: list[list[str]] = [[]]
    for token in tokens:
        if set(token) <= set(";&|()"):
            commands.append([])
        else:
            commands[-1].append(token)
    return [c for c in commands if c]


def _split(text: str) -> list[str]:
    try:
        return shlex.split(text, posix=True)
    except ValueError:
        return text.split()
