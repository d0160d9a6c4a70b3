"""dockpod migrate throughput: files with DockerOperator calls rewritten per second, on one core.

Generates a tree of DAG files (each with a few DockerOperator calls of the usual shapes: literal
and run-time values, mounts, resources, a manual one now and then), then times
:func:`dockpod.migrate.rewrite.migrate_paths` over it (reading and rewriting in memory, nothing
written). Goal: at least 100 files per second.

    .venv/bin/python benches/migrate_throughput.py [--files 500] [--calls 4] [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

HEADER = """\
from datetime import datetime

from airflow.providers.docker.operators.docker import DockerOperator
from airflow.sdk import DAG
from docker.types import Mount

IMAGE = "registry.example.com/etl:{n}"

with DAG("dag_{n}", schedule=None, start_date=datetime(2024, 1, 1), catchup=False):
"""

CALLS = (
    """    t{i} = DockerOperator(
        task_id="extract_{i}",
        image=IMAGE,
        command=["extract", "--rows", "{i}"],  # rows
        environment={{"STEP": "{i}", "DS": "{{{{ ds }}}}"}},
        mounts=[Mount(target="/data", source="shared_data", type="volume", read_only=True)],
        mem_limit="512m",
        cpus=0.5,
        auto_remove="success",
        retries=2,
    )
""",
    """    t{i} = DockerOperator(task_id="load_{i}", image="etl:1.0", user="1000:1000", do_xcom_push=False,
                          docker_url="unix://var/run/docker.sock", mount_tmp_dir=False)
""",
    """    t{i} = DockerOperator(task_id="host_{i}", image="etl:1.0", network_mode="host")
""",
    """    t{i} = DockerOperator(
        task_id="scratch_{i}", image=IMAGE, entrypoint=["/bin/sh", "-c"], command="echo {i}",
        mounts=[Mount("/scratch", None, type="tmpfs", tmpfs_size=1048576),
                Mount(target="/in", source="/srv/in", type="bind", read_only=True)],
        shm_size="1g", cap_add=["NET_ADMIN"], force_pull=True,
    )
""",
)


def make_tree(root: Path, files: int, calls: int) -> None:
    for n in range(files):
        folder = root / f"team_{n % 10}"
        folder.mkdir(exist_ok=True)
        body = "".join(CALLS[(n + i) % len(CALLS)].format(i=i) for i in range(calls))
        (folder / f"dag_{n}.py").write_text(HEADER.format(n=n) + body)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=500)
    parser.add_argument("--calls", type=int, default=4, help="DockerOperator calls per file")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    from dockpod.migrate.rewrite import migrate_paths

    with tempfile.TemporaryDirectory(prefix="dockpod-migrate-bench-") as tmp:
        root = Path(tmp)
        make_tree(root, args.files, args.calls)
        list(migrate_paths([root / "team_0"]))  # warm up: imports, first pydantic models
        timings, changed, calls = [], 0, 0
        for _ in range(args.runs):
            start = time.perf_counter()
            results = list(migrate_paths([root]))
            timings.append(time.perf_counter() - start)
            changed = sum(r.changed for r in results)
            calls = sum(len(r.calls) for r in results)
        failed = [r.path for r in results if r.status == "failed"]
    assert not failed, failed
    median = statistics.median(timings)
    rate = args.files / median
    print(f"{args.files} files, {calls} DockerOperator calls ({args.calls} per file), {changed} files rewritten")
    print(f"median of {args.runs} runs: {median:.3f} s = {rate:.0f} files/s, {calls / median:.0f} calls/s "
          f"(goal >= 100 files/s: {'met' if rate >= 100 else 'NOT met'})")
    print(json.dumps({"bench": "migrate_throughput", "files": args.files, "calls": calls, "median_s": round(median, 4),
                      "files_per_s": round(rate, 1), "calls_per_s": round(calls / median, 1), "goal_files_per_s": 100,
                      "runs": [round(t, 4) for t in timings]}))


if __name__ == "__main__":
    main()
