"""dockpod audit throughput: a 10,000-file DAG tree audited, against plain `grep -rl` in the same run.

Generates a tree of DAG files (5% of them with DockerOperator calls, the rest BashOperator DAGs of the
same size) in a temporary folder, then times, interleaved, medians:

* grep: ``grep -rl DockerOperator TREE`` (finds the files, judges nothing);
* library: ``dockpod.migrate.audit_paths(TREE)`` in this process;
* cli: ``dockpod audit TREE --format json`` in a fresh process (imports included);
* start: ``dockpod audit`` of one file in a fresh process: the CLI's fixed cost (interpreter, imports).

and, once, the floors of the library call on this machine: reading every file in Python, and
``ast.parse`` of the candidate files alone, each serial and divided by the cores (a perfect pool).

Goal: the audit within 5x of grep.

    .venv/bin/python benches/audit_throughput.py [--files 10000] [--docker-share 0.05] [--runs 5]
"""

from __future__ import annotations

import argparse
import ast
import gc
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HEADER = """\
from datetime import datetime

from airflow.sdk import DAG
{imports}

with DAG("{dag_id}", schedule="@daily", start_date=datetime(2024, 1, 1), catchup=False):
"""

DOCKER_TASK = """\
    DockerOperator(task_id="step_{i}", image="registry.example.com/etl/job:1.{i}",
                   command=["run", "--step", "{i}", "--date", "{{{{ ds }}}}"], environment={{"STEP": "{i}"}},
                   mounts=[Mount(target="/data", source="shared", type="volume")], mem_limit="512m",
                   {extra})
"""

BASH_TASK = """\
    BashOperator(task_id="step_{i}", bash_command="echo step {i} {{{{ ds }}}} && sleep 1",
                 env={{"STEP": "{i}"}}, retries=2)
"""

EXTRAS = ("cpus=0.5", "privileged=True", "tty=True", "user='1000'")


def write_tree(root: Path, files: int, share: float, tasks: int = 8) -> int:
    """``files`` DAG files in folders of 100; every round(1/share)-th one uses DockerOperator."""
    every = max(1, round(1 / share))
    docker_files = 0
    for n in range(files):
        folder = root / f"team_{n // 100:03d}"
        folder.mkdir(exist_ok=True)
        if n % every == 0:
            docker_files += 1
            imports = ("from airflow.providers.docker.operators.docker import DockerOperator\n"
                       "from docker.types import Mount")
            body = "".join(DOCKER_TASK.format(i=i, extra=EXTRAS[(n + i) % len(EXTRAS)]) for i in range(tasks))
        else:
            imports = "from airflow.operators.bash import BashOperator"
            body = "".join(BASH_TASK.format(i=i) for i in range(tasks))
        (folder / f"dag_{n:05d}.py").write_text(HEADER.format(imports=imports, dag_id=f"dag_{n}") + body)
    return docker_files


def timed(action) -> tuple[float, object]:
    start = time.perf_counter()
    result = action()
    return time.perf_counter() - start, result


def measure_floors(root: Path, runs: int) -> dict[str, float]:
    """Medians, serial: reading every file (os.open/os.read), and ast.parse of the files that mention an operator."""
    from dockpod.migrate._names import MARKERS

    files = sorted(str(path) for path in root.rglob("*.py"))

    def read_all() -> list[bytes]:
        out = []
        for path in files:
            fd = os.open(path, os.O_RDONLY)
            out.append(os.read(fd, 1 << 16))
            os.close(fd)
        return out

    def parse_all() -> None:
        for source in sources:
            ast.parse(source)  # each tree dropped at once, as the audit does

    sources = [data.decode() for data in read_all() if any(marker in data for marker in MARKERS)]
    read = statistics.median(timed(read_all)[0] for _ in range(runs))
    gc.disable()  # as in the audit's workers
    try:
        parse = statistics.median(timed(parse_all)[0] for _ in range(runs))
    finally:
        gc.enable()
    return {"read": read, "parse": parse}


def main() -> int:
    """Run the benchmark and print files/second, the ratios and a final JSON line."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--docker-share", type=float, default=0.05)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    from dockpod.migrate import audit_paths

    grep = shutil.which("grep")
    dockpod = Path(sys.executable).with_name("dockpod")
    times: dict[str, list[float]] = {"grep": [], "library": [], "cli": [], "start": []}
    with tempfile.TemporaryDirectory(prefix="dockpod-audit-bench-") as tmp:
        root = Path(tmp) / "dags"
        root.mkdir()
        docker_files = write_tree(root, args.files, args.docker_share)
        subprocess.run([grep, "-rl", "DockerOperator", str(root)], capture_output=True, check=True)  # warm cache
        one = root / "team_000" / "dag_00000.py"  # a DockerOperator file: the judging modules load too
        calls = 0
        for _ in range(args.runs):
            elapsed, out = timed(lambda: subprocess.run([grep, "-rl", "DockerOperator", str(root)],
                                                        capture_output=True, text=True, check=True))
            times["grep"].append(elapsed)
            assert len(out.stdout.splitlines()) == docker_files
            elapsed, report = timed(lambda: audit_paths([root]))
            times["library"].append(elapsed)
            assert report.files_with_hits == docker_files, report.summary()
            calls = report.summary()["calls"]
            elapsed, out = timed(lambda: subprocess.run([str(dockpod), "audit", str(root), "--format", "json"],
                                                        capture_output=True, text=True, check=True))
            times["cli"].append(elapsed)
            assert json.loads(out.stdout)["summary"]["calls"] == calls
            elapsed, _ = timed(lambda: subprocess.run([str(dockpod), "audit", str(one), "--format", "json"],
                                                      capture_output=True, check=True))
            times["start"].append(elapsed)
        floors = measure_floors(root, args.runs)
    medians = {name: statistics.median(values) for name, values in times.items()}
    ratios = {name: medians[name] / medians["grep"] for name in ("library", "cli")}
    print(f"dockpod audit throughput: {args.files} files, {docker_files} with DockerOperator ({calls} calls), "
          f"median of {args.runs} interleaved runs")
    print(f"{'variant':<10} {'median (s)':>10} {'files/s':>10} {'vs grep -rl':>12}")
    for name, median in medians.items():
        ratio = f"{median / medians['grep']:.2f}x"
        rate = f"{args.files / median:.0f}" if name != "start" else "(1 file)"
        print(f"{name:<10} {median:>10.3f} {rate:>10} {ratio:>12}")
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    print(f"floors ({cores} cores): read every file {floors['read']:.3f} s, ast.parse the candidates "
          f"{floors['parse']:.3f} s; /{cores}: {(floors['read'] + floors['parse']) / cores:.3f} s = "
          f"{(floors['read'] + floors['parse']) / cores / medians['grep']:.2f}x grep")
    goal = "met" if ratios["library"] <= 5 and ratios["cli"] <= 5 else "NOT met"
    print(f"goal: audit within 5x of grep: {goal}")
    print(json.dumps({"files": args.files, "docker_files": docker_files, "calls": calls, "median_s": medians,
                      "ratios": ratios, "floors_s": floors, "cores": cores}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
