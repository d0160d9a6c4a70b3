"""Airflow task log files: recognize failure lines and explain them with the shared diagnosis.

The lines are those of dockpod's operators, plain DockerOperator and KubernetesPodOperator, Docker,
podman and runc. The rules are data, tried in order (the first that matches wins; a crash loop wraps the cause found by
the others). dockpod's own ``ContainerFailed`` sentence is already the diagnosis: it is kept as is.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from dockpod.doctor._finding import Finding, clip, from_diagnosis
from dockpod.errors import DockpodError
from dockpod.operators import _diagnosis as dx
from dockpod.spec import parse_memory

__all__ = ["RULES", "doctor_log", "doctor_log_text"]

_MAX_BYTES = 20 * 1024 * 1024
_ERROR_WORDS = re.compile(r"\berror\b|exception|traceback|failed|failure|fatal|denied|killed", re.IGNORECASE)
_CODE = [re.compile(p) for p in (
    r"exit code (\d+)", r"'StatusCode': (\d+)", r"exit_code['\"]?[:=] ?(\d+)", r"exited with code (\d+)",
    r"returned exit code (\d+)", r"Exited \((\d+)\)")]
_IMAGE = [re.compile(p) for p in (
    r"Pulling (\S+) failed", r"No such image: ([^\s'\"]+)", r"manifest for (\S+) not found",
    r"pull access denied for ([^\s,]+),", r"[Ff]ailed to pull image \\?\"([^\s\"\\]+)",
    r"The image (\S+) is not present",
    r"'image': '([^']+)'", r"Back-off pulling image \\?\"([^\s\"\\]+)", r"image (\S+:\S+)")]
_LIMIT = [re.compile(p) for p in (r"limit of (\d+(?:\.\d+)?[KMGT]i?)", r"'memory': '(\d+(?:\.\d+)?[KMGT]i?)'",
                                  r"mem_limit[=:] ?'?(\d+[kmgKMG]i?)")]
_FAILED = re.compile(r"ContainerFailed: (.+)")
_SENTENCE = re.compile(r"^(.*?\.)(?=\s+[A-Z`]|\s*$)")
#: Airflow's structured console lines: "2024-01-01T00:00:00.000000Z [info     ] text [logger] loc=x.py:1 k=v".
_STRUCTLOG = re.compile(r"^\d{4}-\d\d-\d\dT[\d:.]+Z? \[\s*\w+\s*\] (.*?)(?: \[[\w.]+\](?: [\w.]+=\S*)*)?$")
_REMOTE_POD = "remote_pod: {"
_INIT = [re.compile(p) for p in (r"Init container '([^']+)' failed", r"init container (\S+) exited with code (\d+)",
                                 r"[Ii]nit container ['\"]?([\w.-]+)['\"]? .*(?:failed|exit code)")]


@dataclass(frozen=True)
class _Text:
    """A log file: its lines and the dockpod failure sentence, if any."""

    lines: tuple[str, ...]
    low: str
    dockpod: str | None

    def matching(self, *needles: str) -> list[str]:
        low_needles = [n.lower() for n in needles]
        return [line for line in self.lines if any(n in line.lower() for n in low_needles)]

    def first(self, patterns: list[re.Pattern[str]]) -> re.Match[str] | None:
        for pattern in patterns:
            for line in reversed(self.lines):
                found = pattern.search(line)
                if found:
                    return found
        return None

    def exit_code(self, default: int) -> int:
        found = self.first(_CODE)
        return int(found.group(1)) if found else default


@dataclass(frozen=True)
class Rule:
    """One kind of failure in a log: the phrases that reveal it and how to explain it."""

    cause: str
    needles: tuple[str, ...]
    explain: Callable[[_Text, list[str]], dx.Diagnosis]


def _oom(text: _Text, hits: list[str]) -> dx.Diagnosis:
    found = text.first(_LIMIT)
    limit = None
    if found:
        try:
            limit = parse_memory(found.group(1), "memory limit")
        except DockpodError:
            limit = None
    return dx.diagnose_exit(text.exit_code(137), oom_killed=True, memory_limit=limit)


def _pull(text: _Text, hits: list[str]) -> dx.Diagnosis:
    found = text.first(_IMAGE)
    image = found.group(1).rstrip(".,'\")") if found else "the image"
    line = hits[-1]
    if "is not present on the docker host" in line.lower():
        return dx.diagnose_missing_image(image)
    if "no such image" in line.lower():  # plain DockerOperator: the SDK never pulls; the engine has no copy
        return dx.Diagnosis("image_not_found", f"The image {image} is not on the Docker host and was not pulled "
                            "(DockerOperator pulls only with force_pull=True).",
                            "Pull or build it first (docker pull / make image), or set force_pull=True.")
    error = " ".join(hits[-2:]) if "ImagePullBackOff" in line and len(hits) > 1 else line
    return dx.diagnose_pull(image, error)


def _exec_format(text: _Text, hits: list[str]) -> dx.Diagnosis:
    return dx.diagnose_exit(text.exit_code(1), last_lines=[hits[-1]])


def _not_found(text: _Text, hits: list[str]) -> dx.Diagnosis:
    line = hits[-1]
    return dx.diagnose_exit(127, error=line if "exec:" in line.lower() or "executable file" in line.lower() else None,
                            last_lines=[line])


def _denied(text: _Text, hits: list[str]) -> dx.Diagnosis:
    lines = [line for line in hits if dx.is_access_denied(line)] or hits
    code = text.exit_code(1)
    return dx.diagnose_exit(code if code not in (0, 127) else 1, last_lines=lines[-2:])


def _killed(text: _Text, hits: list[str]) -> dx.Diagnosis:
    return dx.Diagnosis(
        "signal",
        "The container was killed with SIGKILL (exit code 137) and the log does not record why; the usual "
        "cause is its memory limit (an OOM kill), else a docker kill or stop.",
        "Check docker inspect (State.OOMKilled) while the container exists, or run it with dockpod, whose "
        "message names the OOM kill and the limit; raise the memory limit if it was the OOM killer.")


def _init(text: _Text, hits: list[str]) -> dx.Diagnosis:
    found = text.first(_INIT)
    name = found.group(1) if found else "?"
    code = int(found.group(2)) if found and found.re.groups >= 2 and found.group(2) else text.exit_code(1)
    inner = dx.diagnose_exit(code)
    return dx.diagnose_init_failed(name, inner)


#: The failures a log can show, in the order they are tried. Each needle is a lower-case-insensitive
#: substring of a line written by dockpod, DockerOperator, KubernetesPodOperator, Docker, podman or runc.
RULES: tuple[Rule, ...] = (
    Rule("init_failed", ("init container",), _init),
    Rule("oom_killed", ("oom-killed", "oomkilled", "memory cgroup out of memory"), _oom),
    Rule("pull", ("errimagepull", "imagepullbackoff", "manifest unknown", "no such image", "pull access denied",
                  "no basic auth credentials", "is not present on the docker host", "failed to pull image",
                  "back-off pulling image", "requires authentication", "manifest for", "failed: the registry",
                  "/v2/"), _pull),
    Rule("exec_format", ("exec format error",), _exec_format),
    Rule("command_not_found", ("executable file not found", "command was not found", "'statuscode': 127",
                               "exit code 127", "exit_code': 127"), _not_found),
    Rule("permission_denied", ("permission denied", "[errno 13]", "denied access to"), _denied),
    Rule("signal", ("'statuscode': 137", "exit code 137", "exit_code': 137", "exit_code=137"), _killed),
)
_CRASH = ("crashloopbackoff", "back-off restarting failed container", "keeps crashing")
_RESTARTS = re.compile(r"restart(?:ed|s|_count)['\"]?[:= ]+(\d+)", re.IGNORECASE)


def doctor_log(path: str | Path) -> Finding:
    """Explain the failure recorded in the Airflow task log file at ``path``."""
    path = Path(path)
    try:
        with path.open("rb") as handle:
            data = handle.read(_MAX_BYTES + 1)
    except IsADirectoryError:
        raise DockpodError(f"{path} is a folder, not a log file.",
                           fix="Give the task attempt's log file, e.g. .../attempt=1.log.") from None
    except OSError as exc:
        raise DockpodError(f"The log file {path} cannot be read: {exc.strerror or exc}.",
                           fix="Check the path and that you may read it.") from None
    if len(data) > _MAX_BYTES:
        data = data[-_MAX_BYTES:]
    return doctor_log_text(data.decode("utf-8", errors="replace"), subject=str(path))


def doctor_log_text(text: str, *, subject: str = "<log>") -> Finding:
    """Explain the failure recorded in a task log's ``text``: the first rule that matches, else ``unknown``."""
    raw = text.splitlines()
    lines = tuple(_plain(line) for line in raw if line.strip())
    failed = None
    for line in lines:
        match = _FAILED.search(line)
        if match:
            failed = match.group(1).strip()
    log = _Text(lines, text.lower(), failed)
    pod = None if failed else _remote_pod(raw)
    if pod is not None:
        diagnosis = dx.diagnose_pod(pod, "base", _pod_memory_limit(pod))
        if diagnosis is not None:
            name = getattr(pod.metadata, "name", None) if pod.metadata else None
            return from_diagnosis("log", subject, diagnosis,
                                  [f"KubernetesPodOperator: Pod {name} returned a failure; its status follows in "
                                   "the log (remote_pod)", *_pod_facts(pod)], prefix=f"Pod {name}: ")
    found = _first_rule(log)
    crash = log.matching(*_CRASH)
    if found is None and not crash:
        return _unknown(log, subject)
    evidence: list[str] = []
    if found is not None:
        _rule, hits, diagnosis = found
        evidence += [clip(line) for line in hits[-3:]]
    else:
        diagnosis = dx.Diagnosis("exit_code", f"The container exited with code {log.exit_code(1)}.")
    if crash:
        restarts = max((int(m.group(1)) for line in crash + list(lines) for m in _RESTARTS.finditer(line)),
                       default=0)
        evidence = [clip(line) for line in crash[-2:]] + evidence
        diagnosis = dx.diagnose_crash_loop(restarts, diagnosis, backing_off=True)
    if failed and found is not None:
        sentence = _SENTENCE.match(failed)
        evidence.insert(0, f"dockpod: {clip(failed)}")
        if sentence and not crash:
            diagnosis = dx.Diagnosis(diagnosis.cause, sentence.group(1), diagnosis.fix)
    return from_diagnosis("log", subject, diagnosis, evidence)


def _plain(line: str) -> str:
    """A log line without Airflow's timestamp, level and logger decoration."""
    line = line.rstrip()
    match = _STRUCTLOG.match(line)
    return match.group(1).rstrip() if match else line


def _remote_pod(raw: list[str]) -> Any:
    """The pod KubernetesPodOperator printed after "remote_pod: " (a pprint of V1Pod.to_dict()), if any.

    Returned as nested attribute objects, so the shared :func:`diagnose_pod` reads it like a V1Pod.
    """
    start = next((i for i in range(len(raw) - 1, -1, -1) if _REMOTE_POD in raw[i]), None)
    if start is None:
        return None
    chunk = raw[start][raw[start].index(_REMOTE_POD) + len("remote_pod: "):]
    for line in raw[start + 1: start + 5000]:
        if chunk.rstrip().endswith("}"):
            try:
                return _attrs(ast.literal_eval(chunk))
            except (ValueError, SyntaxError):
                pass
        chunk += "\n" + line
    return None


def _attrs(value: Any) -> Any:
    if isinstance(value, dict):
        return SimpleNamespace(**{str(k): _attrs(v) for k, v in value.items()})
    if isinstance(value, list):
        return [_attrs(v) for v in value]
    return value


def _pod_memory_limit(pod: Any) -> int | None:
    for container in getattr(getattr(pod, "spec", None), "containers", None) or ():
        if container.name == "base":
            limits = getattr(getattr(container, "resources", None), "limits", None)
            memory = getattr(limits, "memory", None)
            try:
                return parse_memory(memory, "limits.memory") if memory else None
            except DockpodError:
                return None
    return None


def _pod_facts(pod: Any) -> list[str]:
    facts = [f"phase: {getattr(pod.status, 'phase', None)}"]
    statuses = [*(getattr(pod.status, "init_container_statuses", None) or ()),
                *(getattr(pod.status, "container_statuses", None) or ())]
    for item in statuses:
        state = item.state
        if getattr(state, "waiting", None):
            facts.append(f"{item.name}: waiting ({state.waiting.reason}), restarts {item.restart_count or 0}")
        elif getattr(state, "terminated", None):
            facts.append(f"{item.name}: terminated ({state.terminated.reason}, exit code "
                         f"{state.terminated.exit_code}), restarts {item.restart_count or 0}")
    limit = _pod_memory_limit(pod)
    if limit:
        facts.append(f"base memory limit: {limit // 1024**2}Mi")
    return facts


def _first_rule(log: _Text) -> tuple[Rule, list[str], dx.Diagnosis] | None:
    # dockpod's own sentence is the most precise line: try it first, then the whole log.
    scopes = [_Text((log.dockpod,), log.dockpod.lower(), log.dockpod)] if log.dockpod else []
    for scope in [*scopes, log]:
        for rule in RULES:
            hits = scope.matching(*rule.needles)
            if hits:
                if scope is not log:
                    hits = log.matching(*rule.needles) or hits
                    return rule, hits, rule.explain(log, hits)
                return rule, hits, rule.explain(log, hits)
    return None


def _unknown(log: _Text, subject: str) -> Finding:
    errors = [line for line in log.lines if _ERROR_WORDS.search(line) or line.startswith("  | ")][-6:]
    errors = errors or list(log.lines[-5:])
    found = log.first(_CODE)
    code = f" (exit code {found.group(1)})" if found else ""
    if not log.lines:
        message = "The log is empty, so it does not say why the task failed."
    else:
        message = f"The log does not show a failure dockpod doctor recognizes{code}; its last error lines follow."
    return Finding("log", subject, "unknown", message,
                   "Read the lines below; if the container still exists, run dockpod doctor on it for its state.",
                   tuple(clip(line) for line in errors))
