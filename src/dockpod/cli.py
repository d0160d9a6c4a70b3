"""``dockpod``: the command line. Each command parses, calls a library function and prints."""

from __future__ import annotations

import contextlib
import json
import sys
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from dockpod.errors import DockpodError
from dockpod.scaffold._table import EXECUTORS as SCAFFOLD_EXECUTORS  # plain data: no Jinja2 imported
from dockpod.scaffold._table import GROUPS as SCAFFOLD_GROUPS

if TYPE_CHECKING:
    from rich.console import Console

app = typer.Typer(
    name="dockpod",
    help="Describe a containerized Airflow task once; run it with DockerOperator locally and "
    "KubernetesPodOperator in production.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
docs_app = typer.Typer(help="Generate the documentation that is derived from the code.", no_args_is_help=True)
app.add_typer(docs_app, name="docs")


@cache
def _stderr() -> Console:
    """The console on stderr, made on first use: rich is imported only by what prints with it."""
    from rich.console import Console

    return Console(stderr=True, soft_wrap=True)  # messages name paths: never break them across lines


class _LazyStderr:
    """Stands for :func:`_stderr` until something prints, so that starting a command stays cheap."""

    def __getattr__(self, name: str) -> Any:
        return getattr(_stderr(), name)


err = _LazyStderr()


def escape(markup: str) -> str:
    """:func:`rich.markup.escape`, imported on first use."""
    from rich.markup import escape as rich_escape

    return rich_escape(markup)


def _fail(message: str, code: int = 2) -> None:
    err.print(f"[bold red]error:[/] {escape(message)}", highlight=False)
    raise typer.Exit(code)


@app.command()
def render(
    paths: Annotated[list[Path], typer.Argument(help="DAG files or folders.", show_default=False)],
    env: Annotated[str, typer.Option("--env", "-e", help="Profile to render for: local, staging, production "
                                     "or one from dockpod.toml.")] = "production",
    fmt: Annotated[str, typer.Option("--format", "-f", help="yaml (one document per task) or json (one "
                                     "object keyed by task_id).")] = "yaml",
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Write one file per task into this folder "
                                             "instead of printing.")] = None,
    validate: Annotated[bool, typer.Option(help="Check every pod against the Kubernetes schema (strict).")]
    = False,
) -> None:
    """Print the pod (kubernetes profiles) or container configuration (docker profiles) of every container task.

    Pods are built by the cncf.kubernetes provider's own code; no cluster is needed. Secret values
    never appear: pods reference Secrets by name, local renders show placeholders.
    """
    from dockpod.render import dump, render_paths, write

    if fmt not in ("yaml", "json"):
        _fail(f"--format {fmt!r} is not known; use yaml or json.")
    try:
        result = render_paths(paths, env)
    except DockpodError as exc:
        _fail(str(exc))
    problems = list(result.errors)
    if validate:
        from dockpod.render.validate import validate_manifest

        for task in result.tasks:
            if task.kind == "pod":
                problems += [f"{task.dag_id}.{task.task_id}: {p}" for p in validate_manifest(task.manifest)]
    if out is not None:
        for path in write(result, fmt, out):  # type: ignore[arg-type]
            err.print(f"wrote {path}", highlight=False)
    else:
        sys.stdout.write(dump(result, fmt))  # type: ignore[arg-type]
    for problem in problems:
        err.print(f"[red]error:[/] {escape(problem)}", highlight=False)
    err.print(f"{len(result.tasks)} task(s) rendered for {result.environment}, {len(problems)} problem(s).",
              highlight=False)
    if problems:
        raise typer.Exit(1)


@app.command()
def profiles(
    env: Annotated[str | None, typer.Option("--env", "-e", help="Show this profile in full, as JSON.")] = None,
) -> None:
    """List the environment profiles (built-in and from dockpod.toml), or show one in full."""
    from rich.console import Console
    from rich.table import Table

    from dockpod.profiles import current_environment, find_config, get_profile, load_profiles

    try:
        if env:
            sys.stdout.write(get_profile(env).model_dump_json(indent=2) + "\n")
            return
        known = load_profiles()
    except DockpodError as exc:
        _fail(str(exc))
    table = Table(title=f"profiles (config: {find_config() or 'built-in only'})")
    for column in ("name", "backend", "namespace / network", "registry rewrites"):
        table.add_column(column)
    current = current_environment()
    for name, profile in sorted(known.items()):
        where = profile.namespace if profile.backend == "kubernetes" else (profile.network or "default")
        rewrites = ", ".join(f"{a} -> {b}" for a, b in profile.registry_rewrites.items())
        table.add_row(f"{name} (current)" if name == current else name, profile.backend, where, rewrites)
    Console().print(table)


AUDIT_FORMATS = ("table", "json", "csv", "sarif")
VERDICT_STYLE = {"auto": "green", "review": "yellow", "manual": "bold red"}


@app.command()
def audit(
    paths: Annotated[list[Path], typer.Argument(help="DAG files, DAG folders or whole repositories.",
                                                show_default=False)],
    fmt: Annotated[str, typer.Option("--format", "-f", help="table (for people), json, csv or sarif (for CI "
                                     "and code scanning).")] = "table",
    fail_on: Annotated[str, typer.Option("--fail-on", help="Exit 1 when a DockerOperator use has this verdict "
                                         "or a worse one: review or manual (none: always exit 0).")] = "none",
) -> None:
    """Find every DockerOperator use and say how it migrates to dockpod: auto, review or manual.

    auto: every argument translates. review: it translates with a stated loss (a bind mount becomes
    hostPath, a value known only at run time, an XCom that changes meaning). manual: an argument has no
    counterpart in Kubernetes (privileged, host networking, a remote Docker engine); the reason says
    what to do. KubernetesPodOperator uses are counted too. Only files that mention an operator are
    parsed, and nothing is imported or run.
    """
    from dockpod.migrate.audit import audit_paths, to_csv, to_json, to_sarif

    if fmt not in AUDIT_FORMATS:
        _fail(f"--format {fmt!r} is not known; use one of {', '.join(AUDIT_FORMATS)}.")
    if fail_on not in ("none", "review", "manual"):
        _fail(f"--fail-on {fail_on!r} is not known; use review, manual or none.")
    bar = None
    if sys.stderr.isatty():
        from rich.progress import Progress

        bar = Progress(console=_stderr(), transient=True)
    try:
        if bar is None:
            report = audit_paths(paths)
        else:
            with bar:
                job = bar.add_task("auditing", total=None)
                report = audit_paths(paths, progress=lambda done, total: bar.update(job, completed=done,
                                                                                   total=total))
    except DockpodError as exc:
        _fail(str(exc))
    if fmt == "table":
        from rich.console import Console
        from rich.table import Table

        table = Table(title="DockerOperator uses and their migration verdict")
        for column in ("where", "operator", "task_id", "image", "verdict", "reasons"):
            table.add_column(column, overflow="fold")
        for call in report.calls:
            verdict = call.verdict or "-"
            operator = call.operator if call.kind == "call" else f"{call.operator} ({call.kind})"
            table.add_row(escape(f"{call.file}:{call.line}"), escape(operator), escape(call.task_id or ""),
                          escape(call.image or ""), f"[{VERDICT_STYLE.get(verdict, 'dim')}]{verdict}[/]",
                          escape("\n".join(call.reasons)))
        out = Console()
        (out if out.is_terminal else Console(width=200)).print(table)  # a pipe or a file: do not fold at 80
    else:
        sys.stdout.write({"json": to_json, "csv": to_csv, "sarif": to_sarif}[fmt](report))
    for path, reason in report.skipped:
        err.print(f"[yellow]skipped:[/] {escape(path)}: {escape(reason)}", highlight=False)
    summary = report.summary()
    err.print(f"{summary['files']} file(s), {summary['files_with_hits']} with uses: {summary['calls']} "
              f"DockerOperator task(s): {summary['auto']} auto, {summary['review']} review, {summary['manual']} "
              f"manual; {summary['kubernetes_pod_operator']} KubernetesPodOperator; {summary['skipped']} skipped.",
              highlight=False)
    if fail_on != "none" and report.at_least(fail_on):  # type: ignore[arg-type]
        raise typer.Exit(1)


@app.command()
def migrate(
    paths: Annotated[list[Path], typer.Argument(help="DAG files or folders.", show_default=False)],
    check: Annotated[bool, typer.Option("--check", help="Change nothing; exit 1 when a file would change (CI, "
                                        "pre-commit).")] = False,
    diff: Annotated[bool, typer.Option("--diff", help="Print the changes as a unified diff.")] = False,
    write: Annotated[bool, typer.Option("--write", help="Rewrite the files in place (a temporary file, then "
                                        "a rename).")] = False,
    target: Annotated[str, typer.Option("--target", help="dockpod: container_task(...) calls; kpo: plain "
                                        "KubernetesPodOperator(...) calls, no dockpod at run time.")] = "dockpod",
    verify: Annotated[bool, typer.Option("--verify", help="For every migrated call with literal arguments, "
                                         "compare the container DockerOperator would create with the one "
                                         "container_task creates locally; exit 1 on a difference not explained "
                                         "in docs/migrating.md.")] = False,
) -> None:
    """Rewrite DockerOperator calls into container_task(...) (or KubernetesPodOperator(...)) calls.

    Comments, formatting and argument order are kept; imports are fixed. Calls whose verdict is
    manual (see `dockpod audit`) are left as they are, with a `# dockpod:` comment above saying why;
    review calls are rewritten with a `# dockpod: review:` comment. A second run changes nothing.
    Without --check, --diff or --write, prints what would change, file by file.
    """
    from dockpod.migrate.rewrite import TARGETS, migrate_paths, unified_diff, write_atomic

    if target not in TARGETS:
        _fail(f"--target {target!r} is not known; use one of {', '.join(TARGETS)}.")
    if verify and target != "dockpod":
        _fail("--verify compares Docker container configurations; use it with --target dockpod.")
    changed = failed = calls = left = 0
    verified = differing = unverified = 0
    for result in migrate_paths(paths, target=target):  # type: ignore[arg-type]
        if result.status == "failed":
            failed += 1
            err.print(f"[red]error:[/] {escape(result.path)}: {escape(result.error or '')}", highlight=False)
            continue
        calls += len(result.calls)
        left += sum(1 for c in result.calls if c.action == "left")
        for call in result.calls:
            if call.action == "left":
                err.print(f"[yellow]left:[/] {escape(result.path)}:{call.line} "
                          f"{escape(call.task_id or '')}: {escape(call.reasons[0] if call.reasons else '')}",
                          highlight=False)
        if verify:
            from dockpod.migrate._verify import verify_result

            for outcome in verify_result(result):
                where = f"{result.path}:{outcome.line} {outcome.task_id or ''}".rstrip()
                if outcome.skipped is not None:
                    unverified += 1
                    err.print(f"[dim]not verified:[/] {escape(where)}: {escape(outcome.skipped)}", highlight=False)
                    continue
                verified += 1
                differing += bool(outcome.differences)
                for difference in outcome.differences:
                    err.print(f"[red]differs:[/] {escape(where)}: {escape(str(difference))}", highlight=False)
        if not result.changed:
            continue
        changed += 1
        if diff:
            sys.stdout.write(unified_diff(result))
        if write and not check:
            try:
                write_atomic(result.path, result.migrated)
            except OSError as exc:
                failed += 1
                err.print(f"[red]error:[/] cannot write {escape(result.path)}: {escape(str(exc))}", highlight=False)
                continue
        if not diff:
            verb = "rewrote" if write and not check else "would rewrite"
            err.print(f"{verb} {escape(result.path)}", highlight=False)
    err.print(f"{changed} file(s) {'rewritten' if write and not check else 'to rewrite'}, {calls} DockerOperator "
              f"call(s), {left} left for a person, {failed} error(s).", highlight=False)
    if verify:
        err.print(f"verified {verified} call(s): {differing} with unexplained differences, {unverified} not "
                  "verified (arguments not literal, or the operator could not be built).", highlight=False)
    if failed:
        raise typer.Exit(2)
    if (check and changed) or differing:
        raise typer.Exit(1)


@docs_app.command("translation")
def docs_translation(
    out: Annotated[Path, typer.Option(help="Where the table goes.")] = Path("docs/translation.md"),
    check: Annotated[bool, typer.Option(help="Exit 1 if the file differs from the code instead of writing.")]
    = False,
) -> None:
    """Write docs/translation.md from the translation rules in the code."""
    from dockpod.backends.table import render_markdown

    _write_or_check(out, render_markdown(), check, "dockpod docs translation")


@docs_app.command("cli")
def docs_cli(
    out: Annotated[Path, typer.Option(help="Where the reference goes.")] = Path("docs/cli.md"),
    check: Annotated[bool, typer.Option(help="Exit 1 if the file differs from the code instead of writing.")]
    = False,
) -> None:
    """Write docs/cli.md, the reference of every command and option, from this program itself."""
    _write_or_check(out, reference_markdown(), check, "dockpod docs cli")


@docs_app.command("lint")
def docs_lint(
    out: Annotated[Path, typer.Option(help="Where the rule reference goes.")] = Path("docs/lint.md"),
    check: Annotated[bool, typer.Option(help="Exit 1 if the file differs from the code instead of writing.")]
    = False,
) -> None:
    """Write docs/lint.md, every lint rule's documentation, from the rule records in the code."""
    from dockpod.lint import rules_markdown

    _write_or_check(out, rules_markdown(), check, "dockpod docs lint")


def _write_or_check(out: Path, text: str, check: bool, command: str) -> None:
    """Write a generated document, or with ``check`` exit 1 when the file on disk differs from it."""
    if check:
        if not out.exists() or out.read_text() != text:
            _fail(f"{out} is out of date; run `{command}`.", code=1)
        err.print(f"{out} is up to date.")
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    err.print(f"wrote {out}")


def reference_markdown() -> str:
    """The command reference, generated from the Typer app: every command, argument and option."""
    root = typer.main.get_command(app)
    generated = "Generated by `dockpod docs cli` from `src/dockpod/cli.py`; do not edit by hand."
    lines = ["# Command reference", "", generated, ""]

    def walk(command: Any, path: list[str]) -> None:
        if hasattr(command, "commands"):  # a group (Typer vendors its own click: no isinstance)
            for name in sorted(command.commands):
                walk(command.commands[name], [*path, name])
            return
        lines.extend([f"## `{' '.join(path)}`", "", inspect_doc(command.help), ""])
        rows = []
        for param in command.params:
            if param.name == "help":
                continue
            if param.param_type_name == "argument":
                name = (param.name or "").upper()
                rows.append((f"`{name}`", getattr(param, "help", "") or "argument", ""))
                continue
            names = " / ".join(f"`{o}`" for o in [*param.opts, *param.secondary_opts])
            default = "" if param.default is None or (param.is_flag and not param.default) else f"{param.default}"
            rows.append((names, (getattr(param, "help", "") or "").replace("\\[", "["), default))
        if rows:
            lines.extend(["| option | meaning | default |", "|---|---|---|"])
            lines.extend(f"| {a} | {b} | {c} |" for a, b, c in rows)
            lines.append("")

    walk(root, ["dockpod"])
    return "\n".join(lines).rstrip() + "\n"


def inspect_doc(text: str | None) -> str:
    """A command's docstring as Markdown paragraphs, with Rich's bracket escapes undone."""
    import inspect

    return inspect.cleandoc(text or "").replace("\\[", "[")


@app.command()
def lint(
    paths: Annotated[list[Path] | None, typer.Argument(help="Files or folders (a whole repository is fine).",
                                                       show_default=False)] = None,
    fmt: Annotated[str, typer.Option("--format", "-f", help="text, json or sarif.")] = "text",
    severity: Annotated[str | None, typer.Option("--severity", help="Report, and exit 1 on, findings at or above "
                                                 "this: error, warning or info (default: \\[lint] in "
                                                 "dockpod.toml, else warning).")] = None,
    k8s_version: Annotated[str | None, typer.Option("--k8s-version", help="Kubernetes version of the schemas, "
                                                    "e.g. 1.37.")] = None,
    fix: Annotated[bool, typer.Option("--fix", help="Apply the fixes that are safe, then report what remains.")]
    = False,
    rule: Annotated[list[str] | None, typer.Option("--rule", help="Only this rule (repeatable).")] = None,
    ignore: Annotated[list[str] | None, typer.Option("--ignore", help="Not this rule (repeatable).")] = None,
    exclude: Annotated[list[str] | None, typer.Option("--exclude", help="Do not read paths matching this glob, "
                                                      "e.g. '*/broken/*' (repeatable).")] = None,
    explain: Annotated[str | None, typer.Option("--explain", help="Print one rule's documentation and exit.")]
    = None,
    list_rules: Annotated[bool, typer.Option("--list-rules", help="List every rule and exit.")] = False,
) -> None:
    r"""Lint Dockerfiles, compose files, Kubernetes manifests, Helm values and container tasks in DAGs.

    Files are found by name and content. Each finding has file:line, a rule id, a severity, the
    message and the fix; `# dockpod: ignore\[ID] reason` on (or above) a line silences one rule there.
    Configuration: \[lint] in dockpod.toml. Findings below --severity are not shown; exit 1 when one at
    or above it remains.
    """
    from dockpod.lint import Severity, all_rules, lint_paths, load_config, to_json, to_sarif, to_text

    if explain or list_rules:
        rules = all_rules()
        if explain:
            if explain.upper() not in rules:
                _fail(f"{explain!r} is not a rule id; `dockpod lint --list-rules` lists them.")
            sys.stdout.write(rules[explain.upper()].explain() + "\n")
        else:
            sys.stdout.write("".join(f"{r.id}  {r.severity!s:7}  {r.kind:11}  {r.summary}\n" for r in rules.values()))
        return
    if fmt not in ("text", "json", "sarif"):
        _fail(f"--format {fmt!r} is not known; use text, json or sarif.")
    if not paths:
        _fail("No path given; pass files or folders, e.g. `dockpod lint deploy/ dags/`.")
    try:
        threshold = Severity.parse(severity) if severity else None
    except ValueError as exc:
        _fail(f"--severity: {exc}.")
    from dockpod.profiles import find_config

    bar = None
    if sys.stderr.isatty():
        from rich.progress import Progress

        bar = Progress(console=_stderr(), transient=True)
    try:
        config = load_config(find_config())
        options = {"config": config, "select": rule or (), "ignore": ignore or (), "severity": threshold,
                   "k8s_version": k8s_version, "fix": fix, "exclude": exclude or ()}
        if bar is None:
            report = lint_paths(paths, **options)
        else:
            with bar:
                job = bar.add_task("linting", total=None)
                report = lint_paths(paths, **options,
                                    progress=lambda done, total: bar.update(job, completed=done, total=total))
    except DockpodError as exc:
        _fail(str(exc))
    report.findings = report.failing()  # what is below the threshold is not shown either
    sys.stdout.write({"text": to_text, "json": to_json, "sarif": to_sarif}[fmt](report))
    summary = report.summary()
    for path in report.fixed:
        err.print(f"fixed: {escape(path)}", highlight=False)
    err.print(f"{summary['files']} file(s): {summary['error']} error(s), {summary['warning']} warning(s), "
              f"{summary['info']} info.", highlight=False)
    if report.failing():
        raise typer.Exit(1)


@app.command()
def doctor(
    target: Annotated[str, typer.Argument(help="A Docker container (name or id), podman:POD, k8s:NAMESPACE/POD, "
                                          "image:REF or the path of an Airflow task log file.",
                                          show_default=False)],
    fmt: Annotated[str, typer.Option("--format", "-f", help="text or json.")] = "text",
) -> None:
    """Explain a failed run in one sentence plus the fix: OOM kill, image pull, permissions, command, crashes.

    The explanations are the ones dockpod's operators put in their failure messages. Exit 0 when the
    target shows no failure, 1 when it explains one, 2 for a target it cannot find.
    """
    from dockpod.doctor import doctor as explain

    if fmt not in ("text", "json"):
        _fail(f"--format {fmt!r} is not known; use text or json.")
    try:
        finding = explain(target)
    except DockpodError as exc:
        _fail(str(exc))
    if fmt == "json":
        sys.stdout.write(json.dumps(finding.to_dict(), indent=2) + "\n")
    else:
        sys.stdout.write(f"{finding}\n")
    if finding.failed:
        raise typer.Exit(1)


@app.command()
def parity(
    dag_file: Annotated[Path, typer.Argument(help="The DAG file.", show_default=False)],
    task: Annotated[list[str] | None, typer.Option("--task", "-t", help="Compare only this task (repeatable); "
                                                   "the whole DAG still runs.")] = None,
    dag: Annotated[str | None, typer.Option("--dag", help="The DAG's id, when the file defines several.")] = None,
    env: Annotated[str, typer.Option("--env", "-e", help="The kubernetes profile of the pods.")] = "production",
    rewrite: Annotated[list[str] | None, typer.Option("--rewrite", help="FROM=TO: pull the pods' images from TO "
                                                      "instead of FROM (default: from the profiles).")] = None,
    fmt: Annotated[str, typer.Option("--format", "-f", help="table or json.")] = "table",
) -> None:
    """Run every container task locally and as its production pod (podman), for real; name every difference.

    Per task: exit code, XCom value and the runtime view of the main process (uid, gids, environment,
    mounts and read-only flags, cgroup memory and CPU limits, working directory, read by dockpod's probe
    image); per named volume, the files each leg wrote. Exit 1 on any difference. Environment values
    are compared by digest and never shown.
    """
    from dockpod.runtime.parity import run_parity

    if fmt not in ("table", "json"):
        _fail(f"--format {fmt!r} is not known; use table or json.")
    rewrites = {}
    for item in rewrite or ():
        source, sep, target = item.partition("=")
        if not sep or not source or not target:
            _fail(f"--rewrite {item!r} is not FROM=TO, e.g. registry.example.com=localhost:5000.")
        rewrites[source] = target
    if not dag_file.is_file():
        _fail(f"{dag_file} is not a file; pass a DAG file.")
    try:
        with contextlib.redirect_stdout(sys.stderr):  # Airflow logs to stdout; stdout is the report's
            report = run_parity(dag_file, dag, task_ids=task or (), production_env=env,
                                image_rewrites=rewrites or None,
                                log=lambda line: err.print(f"[dim]{escape(line)}[/]", highlight=False))
    except (DockpodError, LookupError) as exc:
        _fail(str(exc))
    if fmt == "json":
        rows = [{"task_id": t.task_id, "local_exit": t.local_exit, "pod_exit": t.pod_exit, "local_xcom": t.local_xcom,
                 "pod_xcom": t.pod_xcom, "differences": [d.__dict__ for d in t.differences]} for t in report.tasks]
        sys.stdout.write(json.dumps({"dag_id": report.dag_id, "equal": report.equal, "tasks": rows,
                                     "volumes": [d.__dict__ for d in report.volume_differences]}, indent=2,
                                    default=str) + "\n")
    else:
        from rich.console import Console
        from rich.table import Table

        table = Table(title=f"parity of {report.dag_id}: local (Docker) vs production pod (podman)")
        for column in ("task", "what", "local", "pod", "same"):
            table.add_column(column, overflow="fold")
        for t in report.tasks:
            table.add_row(escape(t.task_id), "exit code / XCom / runtime view", escape(f"{t.local_exit}"),
                          escape(f"{t.pod_exit}"), "[green]yes[/]" if not t.differences else "[red]NO[/]")
            for d in t.differences:
                table.add_row("", escape(d.aspect), escape(d.local), escape(d.pod), "[red]NO[/]")
        for d in report.volume_differences:
            table.add_row("-", escape(d.aspect), escape(d.local), escape(d.pod), "[red]NO[/]")
        Console().print(table)
    verdict = "PARITY OK" if report.equal else f"PARITY BROKEN: {len(report.differences)} difference(s)"
    err.print(f"[bold {'green' if report.equal else 'red'}]{verdict}[/]", highlight=False)
    if not report.equal:
        raise typer.Exit(1)


@app.command()
def reap(
    older_than: Annotated[str, typer.Option("--older-than", help="Running containers older than this are presumed "
                                            "lost (90s, 30m, 2h, 1d); stopped ones go after a minute.")] = "1h",
    dry_run: Annotated[bool, typer.Option("--dry-run", help="List the orphans; remove nothing.")] = False,
    fmt: Annotated[str, typer.Option("--format", "-f", help="table or json.")] = "table",
) -> None:
    """List and remove the containers, volumes and host directories of dockpod runs nobody will clean up.

    A worker killed with SIGKILL cannot remove what it started; the next try of the same task instance
    reattaches or removes it, and this sweeps whatever has no next try. Only objects labelled
    io.dockpod.run (and dockpod-run-* folders in the temporary folder) are ever touched.
    """
    from dockpod.runtime.reap import find_orphans, parse_age
    from dockpod.runtime.reap import reap as remove

    if fmt not in ("table", "json"):
        _fail(f"--format {fmt!r} is not known; use table or json.")
    try:
        orphans = find_orphans(parse_age(older_than))
        results = [(o, None) for o in orphans] if dry_run else remove(orphans)
    except DockpodError as exc:
        _fail(str(exc))
    if fmt == "json":
        rows = [{**o.as_dict(), "removed": not dry_run and error is None, "error": error} for o, error in results]
        sys.stdout.write(json.dumps(rows, indent=2) + "\n")
    elif results:
        from rich.console import Console
        from rich.table import Table

        table = Table(title="orphans" + (" (dry run: nothing removed)" if dry_run else ""))
        for column in ("kind", "name", "state", "age", "dag_id", "task_id", "run_id", "try", "result"):
            table.add_column(column, overflow="fold")
        for orphan, error in results:
            result = "listed" if dry_run else (f"[red]{escape(error)}[/]" if error else "removed")
            table.add_row(orphan.kind, escape(orphan.name), orphan.state, f"{orphan.age_seconds / 60:.0f} min",
                          escape(orphan.dag_id), escape(orphan.task_id), escape(orphan.run_id), orphan.try_number,
                          result)
        Console().print(table)
    failed = sum(1 for _o, error in results if error)
    err.print(f"{len(results)} orphan(s){' found' if dry_run else f', {len(results) - failed} removed'}.",
              highlight=False)
    if failed:
        raise typer.Exit(1)


_SCAFFOLD_EXECUTORS = ", ".join(SCAFFOLD_EXECUTORS)
_SCAFFOLD_GROUPS = ", ".join(name for name, group in SCAFFOLD_GROUPS.items() if not group.always)
SCAFFOLD_STATUS = {"new": ("[green]new[/]", "[green]would create[/]"),
                   "unchanged": ("[dim]unchanged[/]", "[dim]unchanged[/]"),
                   "mode": ("[cyan]made executable[/]", "[cyan]would make executable[/]"),
                   "overwrite": ("[yellow]overwritten[/]", "[yellow]would overwrite[/]"),
                   "conflict": ("[bold red]conflict[/]", "[bold red]conflict[/]")}


@app.command()
def scaffold(
    project_dir: Annotated[Path, typer.Argument(help="The project's folder; files go under its deploy/.",
                                                show_default=False)],
    executor: Annotated[str, typer.Option("--executor", help=f"{_SCAFFOLD_EXECUTORS}: the executor of the prod "
                                          "and enterprise Helm values and of the raw manifests.")] = "celery",
    workers: Annotated[int | None, typer.Option("--workers", help="Celery worker replicas (default: 3 in the Helm "
                                                "values, 2 in deploy/k8s/worker.yaml).", show_default=False)] = None,
    base_image: Annotated[str, typer.Option("--base-image", help="Default of the Dockerfile's ARG BASE_IMAGE.")]
    = "apache/airflow:3.3.2",
    registry: Annotated[str, typer.Option("--registry", help="Registry host (and port) of the Airflow image "
                                          "REGISTRY/PROJECT/airflow:3.3.2.")] = "registry.example.com",
    project: Annotated[str | None, typer.Option("--project", help="The image's project name (default: a slug of "
                                                "PROJECT_DIR's name).", show_default=False)] = None,
    dags_dir: Annotated[str, typer.Option("--dags-dir", help="The DAG folder the compose stacks mount, relative to "
                                          "PROJECT_DIR.")] = "dags",
    with_groups: Annotated[list[str] | None, typer.Option("--with", help="Groups to write besides the image, "
                                                          f"comma-separated or repeated: {_SCAFFOLD_GROUPS} "
                                                          "(default: all).",
                                                          show_default=False)] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite files whose content differs.")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="List what would be written; write nothing.")] = False,
) -> None:
    """Write deployment assets for a project: the Airflow image, compose stacks, Helm values and raw manifests.

    Files come from templates in the package (docs/scaffold.md lists them). An existing file with other
    content is never overwritten without --force: the conflicts are listed, nothing is written, and the
    exit code is 1. Identical files are reported unchanged, so a second run changes nothing.
    """
    from rich.console import Console
    from rich.table import Table

    from dockpod.scaffold import GROUPS, ScaffoldOptions
    from dockpod.scaffold import scaffold as write_assets

    try:
        groups = tuple(with_groups) if with_groups is not None else tuple(GROUPS)
        options = ScaffoldOptions(executor=executor, workers=workers, base_image=base_image, registry=registry,
                                  project=project, groups=groups, dags_dir=dags_dir)
        result = write_assets(project_dir, options, force=force, dry_run=dry_run)
    except DockpodError as exc:
        _fail(str(exc))
    preview = dry_run or bool(result.conflicts)
    title = f"dockpod scaffold {project_dir}: image {result.options.image}"
    if dry_run:
        title += " (dry run: nothing written)"
    elif result.conflicts:
        title += " (conflicts: nothing written)"
    table = Table(title=title)
    table.add_column("path", overflow="fold")
    table.add_column("status")
    for item in result.files:
        table.add_row(escape(item.path) + (" [dim](executable)[/]" if item.executable else ""),
                      SCAFFOLD_STATUS[item.status][preview])
    out = Console()
    (out if out.is_terminal else Console(width=200)).print(table)
    if result.conflicts:
        names = ", ".join(item.path for item in result.conflicts)
        _fail(f"{len(result.conflicts)} file(s) exist with other content ({names}); nothing was written. Move "
              "them away, or run again with --force to overwrite them.", code=1)
    counts = {status: sum(1 for f in result.files if f.status == status) for status in SCAFFOLD_STATUS}
    verb = "would be written" if dry_run else "written"
    err.print(f"{counts['new'] + counts['overwrite'] + counts['mode']} file(s) {verb}, {counts['unchanged']} "
              "unchanged.", highlight=False)
    if not dry_run:
        err.print("next:", highlight=False)
        for command in result.next_commands:
            err.print(f"  {escape(command)}", highlight=False)


@app.command()
def version() -> None:
    """Print the versions of dockpod, Airflow and the two providers it drives, as JSON."""
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as installed

    from dockpod import __version__

    versions = {"dockpod": __version__}
    for package in ("apache-airflow", "apache-airflow-providers-docker", "apache-airflow-providers-cncf-kubernetes"):
        try:
            versions[package] = installed(package)
        except PackageNotFoundError:
            versions[package] = "not installed"
    sys.stdout.write(json.dumps(versions) + "\n")


def main() -> None:
    """Entry point of the ``dockpod`` script."""
    app()


if __name__ == "__main__":
    main()
