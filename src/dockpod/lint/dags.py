"""Lint rules for container tasks in DAG files, read with ``ast`` and dockpod's own spec: nothing is run.

``container_task(...)`` calls are checked through :class:`dockpod.spec.ContainerSpec` built from their
literal arguments (arguments computed at run time are left out, never guessed); hand-written
``KubernetesPodOperator`` and ``DockerOperator`` calls are checked for the mistakes that cross the two.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from typing import Any

from dockpod.errors import DockpodError
from dockpod.lint._model import Finding, LintFile, Rule, Severity
from dockpod.lint._names import is_secret_name

__all__ = ["RULES", "check"]

#: Programs a KubernetesPodOperator ``cmds`` list plausibly starts with (an entrypoint), as opposed to
#: the arguments of one (a subcommand), which is what a Docker ``command`` moved to ``cmds`` looks like.
ENTRYPOINTS = frozenset({"sh", "bash", "ash", "dash", "zsh", "python", "python3", "python2", "java", "node", "perl",
                         "ruby", "dbt", "spark-submit", "env", "tini", "dumb-init", "airflow", "gsutil", "aws",
                         "kubectl", "psql", "curl", "wget", "uv", "pip", "R", "Rscript", "go", "make"})

DP501 = Rule("DP501", Severity.WARNING, "dag", "a task image without a pinned tag (latest or none)",
             "Pin the image to a version tag or a digest: image='registry/team/etl:1.4.2'.",
             why="`latest` is whatever was pushed last: two tries of the same task, or the laptop and the cluster, "
             "can run different code, and a rollback has nothing to roll back to.",
             example="container_task(task_id='load', image='etl:latest')  # flagged\n"
             "container_task(task_id='load', image='registry.example.com/etl:1.4.2')  # fine")
DP502 = Rule("DP502", Severity.WARNING, "dag", "a container task without resource requests or limits",
             "Give it resources={'cpu_request': '250m', 'memory_request': '256Mi', 'memory_limit': '512Mi'} "
             "(or default_resources in the profile).",
             why="Without a memory limit one task can starve the worker (locally) or the node (in Kubernetes); "
             "without requests the scheduler places the pod blindly.")
DP503 = Rule("DP503", Severity.ERROR, "dag", "a secret-looking environment variable with a literal value",
             "Reference a Secret instead: secrets=[Secret('db-creds', 'password', env='DB_PASSWORD')].",
             why="A value written in env= is in the DAG's source, in Airflow's Rendered Templates view and in the "
             "pod spec; a Secret reference keeps it in the secret store and out of all three.",
             example="env={'DB_PASSWORD': 'hunter2'}  # flagged\nenv={'DB_PASSWORD': '{{ var.value.db }}'}  "
             "# flagged too: a template renders into the task's fields")
DP504 = Rule("DP504", Severity.WARNING, "dag", "a bind mount, which becomes a hostPath volume in production",
             "Use a named volume (a PersistentVolumeClaim in production) or a ConfigMap for configuration.",
             why="A bind mount reads the laptop's disk; in Kubernetes the same path is read from whichever node "
             "the pod lands on, which rarely holds the same files.")
DP505 = Rule("DP505", Severity.WARNING, "dag",
             "KubernetesPodOperator cmds= that looks like a Docker command (it replaces the image's ENTRYPOINT)",
             "Pass the command's words as arguments= (Kubernetes args), or spell out the program in cmds=.",
             why="Docker's `command` is Kubernetes' `args`; moved to `cmds` (Kubernetes' `command`) it silently "
             "replaces the image's ENTRYPOINT, so `extract --rows 5` is run as a program that does not exist.",
             example="KubernetesPodOperator(image='etl:1.0', cmds=['extract', '--rows', '5'])  # flagged\n"
             "KubernetesPodOperator(image='etl:1.0', arguments=['extract', '--rows', '5'])  # fine")
DP506 = Rule("DP506", Severity.ERROR, "dag", "a container task dockpod cannot build",
             "Fix the field the message names; the DAG would fail to import with the same error.")
RULES = (DP501, DP502, DP503, DP504, DP505, DP506)

_OPERATORS = {"KubernetesPodOperator", "DockerOperator"}


def check(file: LintFile, _context: Any = None) -> Iterator[Finding]:
    """The findings of the DAG file."""
    try:
        tree = ast.parse(file.text, filename=str(file.path))
    except SyntaxError as exc:
        from dockpod.lint._registry import rule

        yield rule("DP002").at(file, exc.lineno or 0, f"Python syntax error: {exc.msg}")
        return
    task_names = _aliases(tree)
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = _name(node.func)
        if name in task_names:
            yield from _container_task(file, node)
        elif name in _OPERATORS:
            yield from _operator(file, node, name)


def _container_task(file: LintFile, call: ast.Call) -> Iterator[Finding]:
    from dockpod.spec import ContainerSpec

    fields, dynamic = _literal_kwargs(call)
    fields.pop("task_id", None)
    for key in ("environment", "retries", "retry_delay", "pool", "queue", "trigger_rule", "owner", "doc_md"):
        fields.pop(key, None)
    lines = {k.arg: k.value.lineno for k in call.keywords if k.arg}
    if "image" in fields and isinstance(fields["image"], str):
        yield from _image(file, fields["image"], lines["image"])
    env = fields.get("env")
    if isinstance(env, dict):
        yield from _secret_env(file, env, lines.get("env", call.lineno))
    for volume in fields.get("volumes") or ():
        if isinstance(volume, str) and ":" in volume and volume.split(":", 1)[0].startswith(("/", "~", ".")):
            yield DP504.at(file, lines.get("volumes", call.lineno), f"bind mount {volume!r} becomes a hostPath volume "
                           "in production")
    yield from _bind_calls(file, call)
    if "resources" not in fields and "resources" not in dynamic and "spec" not in dynamic:
        yield DP502.at(file, call.lineno)
    if dynamic or "image" not in fields:
        return  # values known only at run time: the spec cannot be built from the source
    spec_fields = {k: v for k, v in fields.items() if k in ContainerSpec.model_fields}
    unknown = sorted(set(fields) - set(spec_fields))
    if unknown:
        return  # BaseOperator arguments and the like: container_task checks them at import
    try:
        ContainerSpec(**spec_fields)
    except DockpodError as exc:
        yield DP506.at(file, call.lineno, str(exc).splitlines()[0])


def _operator(file: LintFile, call: ast.Call, name: str) -> Iterator[Finding]:
    fields, _dynamic = _literal_kwargs(call)
    lines = {k.arg: k.value.lineno for k in call.keywords if k.arg}
    if isinstance(fields.get("image"), str):
        yield from _image(file, fields["image"], lines["image"])
    env = fields.get("env_vars" if name == "KubernetesPodOperator" else "environment")
    if isinstance(env, dict):
        yield from _secret_env(file, env, lines.get("env_vars", lines.get("environment", call.lineno)))
    cmds = fields.get("cmds")
    if name == "KubernetesPodOperator" and isinstance(cmds, list | tuple) and cmds and "arguments" not in lines:
        first = str(cmds[0])
        if "/" not in first and first not in ENTRYPOINTS and "{{" not in first:
            yield DP505.at(file, lines["cmds"], f"cmds={list(cmds)!r} starts with {first!r}, which looks like an "
                           "argument of the image's ENTRYPOINT, not a program")


def _image(file: LintFile, image: str, line: int) -> Iterator[Finding]:
    if "{{" in image or "@sha256:" in image:
        return
    last = image.rsplit("/", 1)[-1]
    if ":" not in last:
        yield DP501.at(file, line, f"image {image!r} has no tag, so it means {image}:latest")
    elif last.endswith(":latest"):
        yield DP501.at(file, line, f"image {image!r} uses the latest tag")


def _secret_env(file: LintFile, env: dict[Any, Any], line: int) -> Iterator[Finding]:
    for key, value in env.items():
        if isinstance(key, str) and is_secret_name(key) and value not in (None, ""):
            yield DP503.at(file, line, f"env {key} has a literal value; it would show in the DAG's source, the "
                           "rendered templates and the pod")


def _bind_calls(file: LintFile, call: ast.Call) -> Iterator[Finding]:
    for node in ast.walk(call):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "bind" and \
                _name(node.func.value) == "Volume":
            yield DP504.at(file, node.lineno)


def _literal_kwargs(call: ast.Call) -> tuple[dict[str, Any], set[str]]:
    """The keyword arguments whose values are literals, and the names of those that are not."""
    fields: dict[str, Any] = {}
    dynamic: set[str] = set()
    for keyword in call.keywords:
        if keyword.arg is None:
            dynamic.add("**")
            continue
        try:
            fields[keyword.arg] = ast.literal_eval(keyword.value)
        except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
            dynamic.add(keyword.arg)
    return fields, dynamic


def _aliases(tree: ast.Module) -> set[str]:
    """The names container_task goes by in this file."""
    names = {"container_task"}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("dockpod"):
            names |= {a.asname for a in node.names if a.name == "container_task" and a.asname}
    return names


def _name(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None
