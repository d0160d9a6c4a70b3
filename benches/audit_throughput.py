"""dockpod audit throughput: a 10,000-file DAG tree audited, against plain `grep -rl` in the same run.

Generates a tree of DAG files (5% of them with DockerOperator calls, the rest BashOperator DAGs of the
same size) in a temporary folder, then times, interleaved, medians:

* grep: ``grep -rl DockerOperator TREE`` (finds the files, judges nothing);
* library: ``dockpod.migrate.audit_paths(TREE)`` in this process;
* cli: ``dockpod audit TREE --format json`` in a fresh process (imports included).

Goal: the audit within 5x of grep.

    .venv/bin/python benches/audit_throughput.py [--files 10000] [--docker-share 0.05] [--runs 5]
"""

from __future__ import annotations

import argparse
import json
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
    times: dict[str, list[float]] = {"grep": [], "library": [], "cli": []}
    with tempfile.TemporaryDirectory(prefix="dockpod-audit-bench-") as tmp:
        root = Path(tmp) / "dags"
        root.mkdir()
        docker_files = write_tree(root, args.files, args.docker_share)
        subprocess.run([grep, "-rl", "DockerOperator", str(root)], capture_output=True, check=True)  # warm cache
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
    medians = {name: statistics.median(values) for name, values in times.items()}
    ratios = {name: medians[name] / medians["grep"] for name in ("library", "cli")}
    print(f"dockpod audit throughput: {args.files} files, {docker_files} with DockerOperator ({calls} calls), "
          f"median of {args.runs} interleaved runs")
    print(f"{'variant':<10} {'median (s)':>10} {'files/s':>10} {'vs grep -rl':>12}")
    for name, median in medians.items():
        ratio = f"{median / medians['grep']:.2f}x"
        print(f"{name:<10} {median:>10.3f} {args.files / median:>10.0f} {ratio:>12}")
    goal = "met" if ratios["library"] <= 5 and ratios["cli"] <= 5 else "NOT met"
    print(f"goal: audit within 5x of grep: {goal}")
    print(json.dumps({"files": args.files, "docker_files": docker_files, "calls": calls, "median_s": medians,
                      "ratios": ratios}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
