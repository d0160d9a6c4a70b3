"""``make demo``: one DAG, run locally through the Docker engine and as production pods under podman.

1. runs ``portable_pipeline`` (examples/dags) with ``dag.test()`` in the local profile: three
   DockerOperator tasks on the real engine, values passed by XCom, data through a named volume;
2. renders the production pods with the cncf.kubernetes provider's own builder and checks them
   against the Kubernetes schema (kubernetes-validate, strict);
3. plays the same pods with ``podman kube play``, images rewritten to the local registry;
4. prints a parity table (exit code and XCom per task, both ways) and a verdict; exit 1 on a difference.

The API token the pipeline uses is made up for this run, handed to both legs as a secret, and then
searched for in every rendered pod, XCom value and task log: it must appear in none.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"
DAG_FILE = EXAMPLES / "dags" / "portable_pipeline.py"
DAG_ID = "portable_pipeline"
WORK = REPO / ".dockpod" / "demo"
LOCAL_VOLUME = "dockpod_demo_data"
POD_CLAIM = "dockpod-demo-data"
PRODUCTION_REGISTRY = "registry.example.com"
LOCAL_REGISTRY = "localhost:5000"


def _configure_airflow() -> None:
    """A private AIRFLOW_HOME with a migrated SQLite database; must run before Airflow is imported."""
    home = WORK / "airflow"
    home.mkdir(parents=True, exist_ok=True)
    os.environ.update({
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(DAG_FILE.parent),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "ERROR",
        "DOCKPOD_CONFIG": str(EXAMPLES / "dockpod.toml"),
    })
    airflow = Path(sys.executable).with_name("airflow")
    subprocess.run([str(airflow), "db", "migrate"], check=True, capture_output=True)


def main() -> int:
    """Run the demo; return the process exit code."""
    from rich.console import Console
    from rich.markup import escape

    console = Console(width=None if sys.stdout.isatty() else 120)
    say = console.print
    started = time.monotonic()
    token = secrets.token_hex(16)
    os.environ["DOCKPOD_SECRET_ETL_API_TOKEN"] = token

    say("[bold]dockpod demo[/]: portable_pipeline, locally on Docker and as production pods on podman\n")
    with console.status("preparing Airflow (SQLite metadata database)..."):
        _configure_airflow()
    _cleanup_volumes()

    from dockpod.render import dump, render_paths
    from dockpod.render.validate import DEFAULT_K8S_VERSION, validate_manifest
    from dockpod.runtime.airflow_run import load_dag, run_dag
    from dockpod.runtime.pod_leg import run_dag_pods

    say("[bold]1/4[/] local run: DockerOperator tasks on the Docker engine (dag.test())")
    os.environ["AIRFLOW_ENVIRONMENT"] = "local"
    with console.status("running extract >> transform >> load in containers..."):
        t0 = time.monotonic()
        local = run_dag(load_dag(DAG_FILE, DAG_ID))
    say(f"    run {local.state} in {time.monotonic() - t0:.1f}s: "
        + ", ".join(f"{task} {state}" for task, state in local.task_states.items()))
    for task, reason in local.failures.items():
        say(f"    [red]{task} failed:[/] {escape(reason)}")

    say(f"[bold]2/4[/] render production pods and validate them (Kubernetes {DEFAULT_K8S_VERSION}, strict)")
    rendered = render_paths([DAG_FILE], "production")
    pods_dir = WORK / "pods"
    pods_dir.mkdir(parents=True, exist_ok=True)
    (pods_dir / f"{DAG_ID}.yaml").write_text(dump(rendered, "yaml"))
    problems = list(rendered.errors)
    for task in rendered.tasks:
        found = validate_manifest(task.manifest)
        problems += [f"{task.task_id}: {p}" for p in found]
        say(f"    {task.task_id}: {'valid' if not found else 'INVALID'} "
            f"({task.manifest['spec']['containers'][0]['image']})")
    say(f"    written to {pods_dir.relative_to(REPO)}/{DAG_ID}.yaml")

    say("[bold]3/4[/] production pods under podman kube play (registry rewritten to the local one)")
    os.environ["AIRFLOW_ENVIRONMENT"] = "production"
    with console.status("playing the pods in task order..."):
        pods = run_dag_pods(load_dag(DAG_FILE, DAG_ID), image_rewrites={PRODUCTION_REGISTRY: LOCAL_REGISTRY},
                            secrets={"etl-api": {"token": token}})
    for outcome in pods.values():
        say(f"    {outcome.task_id}: {outcome.state}, exit {outcome.exit_code} in {outcome.duration_s:.1f}s "
            f"({escape(outcome.reason)})")

    say("[bold]4/4[/] parity")
    equal = _parity_table(console, local.task_states, local.xcoms, pods)
    leaks = _secret_leaks(token, [dump(rendered, "json"), json.dumps(local.xcoms, default=str),
                                  json.dumps({k: v.xcom for k, v in pods.items()}, default=str)])
    _cleanup_volumes()

    say(f"    secret value found in renders, XCom or task logs: {'[red]YES[/]' if leaks else 'no'}")
    for problem in problems:
        say(f"    [red]schema:[/] {problem}")
    ok = equal and not leaks and not problems and local.state == "success"
    elapsed = f"({time.monotonic() - started:.0f}s)"
    if ok:
        say(f"\n[bold green]PARITY OK[/]: same exit codes and XCom values locally and in production pods {elapsed}")
    else:
        say(f"\n[bold red]PARITY BROKEN[/]: see the rows marked NO and the problems above {elapsed}")
    return 0 if ok else 1


def _parity_table(console: Any, states: dict[str, str], xcoms: dict[str, Any], pods: dict[str, Any]) -> bool:
    from rich.table import Table

    table = Table(show_lines=False)
    for column in ("task", "local exit", "local XCom", "pod exit", "pod XCom", "equal"):
        table.add_column(column, overflow="fold")
    all_equal = True
    order = [*pods, *(t for t in states if t not in pods)]  # DAG order, as the pod leg ran them
    for task_id in order:
        state = states.get(task_id, "not run")
        pod = pods.get(task_id)
        local_exit = 0 if state == "success" else state
        same = pod is not None and pod.exit_code == local_exit and pod.xcom == xcoms.get(task_id)
        all_equal &= same
        table.add_row(task_id, str(local_exit), _short(xcoms.get(task_id)),
                      str(pod.exit_code if pod else "-"), _short(pod.xcom if pod else None),
                      "[green]yes[/]" if same else "[red]NO[/]")
    console.print(table)
    return all_equal


def _short(value: Any) -> str:
    text = json.dumps(value, sort_keys=True)
    return text if len(text) <= 44 else text[:41] + "..."


def _secret_leaks(token: str, texts: list[str]) -> bool:
    logs = WORK / "airflow" / "logs"
    files = [p.read_text(errors="replace") for p in logs.rglob("*") if p.is_file()] if logs.exists() else []
    return any(token in text for text in [*texts, *files])


def _cleanup_volumes() -> None:
    """The demo's shared data volume, on both engines (kept between the three tasks of one leg only)."""
    subprocess.run(["docker", "volume", "rm", "-f", LOCAL_VOLUME], capture_output=True, check=False)
    subprocess.run(["podman", "volume", "rm", "-f", POD_CLAIM], capture_output=True, check=False)


if __name__ == "__main__":
    sys.exit(main())
