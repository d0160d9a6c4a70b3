"""Start-up cost of a multi-container task: dockpod's local pod against the same containers by hand.

Goal: a task with one init container and one sidecar takes at most 1.2x the time of the same three
containers started by hand with ``docker run`` in the same run.

* ``by_hand``: what someone would type, with the docker CLI: ``docker run --rm`` the init container and
  wait for it; ``docker run -d`` the sidecar; ``docker run --rm --network container:SIDECAR`` the main
  container (so that it reaches the sidecar on localhost) and wait for it; ``docker rm -f`` the sidecar.
* ``dockpod``: ``DockpodDockerOperator.execute`` of a spec with the same three containers: the holder
  of the network namespace, the init container run to its exit, the sidecar started, the main container
  run, the sidecar stopped (SIGTERM through the init: it exits at once) and everything removed.

Every container runs the ETL image's ``sh``: the init and main containers exit at once, the sidecar
sleeps. Rounds are interleaved (rotated order), warm-up rounds first; medians and their ratio.

    .venv/bin/python benches/multi_container.py [--runs 21] [--warmup 2]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

IMAGE = "localhost:5000/dockpod/etl:1.0"
LABEL = "io.dockpod.bench"


def by_hand(session: str) -> float:
    name = f"bench-{session}-{uuid.uuid4().hex[:6]}"
    label = ["--label", f"{LABEL}={session}"]
    start = time.perf_counter()
    subprocess.run(["docker", "run", "--rm", *label, "--entrypoint", "sh", IMAGE, "-c", "echo init"], check=True,
                   capture_output=True)
    subprocess.run(["docker", "run", "-d", *label, "--name", f"{name}-side", "--entrypoint", "sleep", IMAGE, "300"],
                   check=True, capture_output=True)
    subprocess.run(["docker", "run", "--rm", *label, "--network", f"container:{name}-side", "--entrypoint", "sh",
                    IMAGE, "-c", "echo main"], check=True, capture_output=True)
    subprocess.run(["docker", "rm", "-f", f"{name}-side"], check=True, capture_output=True)
    return time.perf_counter() - start


def with_dockpod(session: str) -> float:
    from dockpod.operators._docker import DockpodDockerOperator
    from dockpod.profiles import get_profile
    from dockpod.spec import ContainerSpec

    spec = ContainerSpec(
        image=IMAGE, entrypoint=["sh", "-c", "echo main"], labels={LABEL: session},
        init_containers=[{"name": "init", "image": IMAGE, "entrypoint": ["sh", "-c", "echo init"]}],
        sidecars=[{"name": "side", "image": IMAGE, "entrypoint": ["sleep", "300"]}],
    )
    op = DockpodDockerOperator(spec=spec, profile=get_profile("local"), task_id=f"bench_{session}")
    start = time.perf_counter()
    op.execute({})
    return time.perf_counter() - start


def leftovers(session: str) -> list[str]:
    found = []
    for label in (f"{LABEL}={session}", f"io.dockpod.task_id=bench_{session}"):
        found += subprocess.run(["docker", "ps", "-aq", "--filter", f"label={label}"], capture_output=True,
                                text=True).stdout.split()
    return sorted(set(found))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=21)
    parser.add_argument("--warmup", type=int, default=2)
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="dockpod-bench-airflow-"))
    os.environ.update({"AIRFLOW_HOME": str(home), "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
                       "AIRFLOW__LOGGING__LOGGING_LEVEL": "ERROR", "AIRFLOW_ENVIRONMENT": "local"})
    os.environ.pop("DOCKPOD_CONFIG", None)
    session = uuid.uuid4().hex[:8]
    variants: dict[str, Any] = {"by_hand": by_hand, "dockpod": with_dockpod}
    times: dict[str, list[float]] = {name: [] for name in variants}
    log = home / "task.log"
    saved = os.dup(1), os.dup(2)
    with log.open("ab") as sink:  # the task logs go to a file, not the terminal
        os.dup2(sink.fileno(), 1)
        os.dup2(sink.fileno(), 2)
        try:
            for round_ in range(args.warmup + args.runs):
                order = list(variants)[round_ % 2:] + list(variants)[:round_ % 2]
                for name in order:
                    elapsed = variants[name](session)
                    if round_ >= args.warmup:
                        times[name].append(elapsed)
        finally:
            sys.stdout.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
    medians = {name: statistics.median(values) for name, values in times.items()}
    ratio = medians["dockpod"] / medians["by_hand"]
    print(f"multi-container start-up (init + sidecar + main), median of {args.runs} interleaved rounds")
    for name, value in medians.items():
        print(f"  {name:8} {value * 1000:8.1f} ms")
    print(f"  ratio dockpod / by hand: {ratio:.2f}x (goal <= 1.20x: {'met' if ratio <= 1.2 else 'NOT met'})")
    left = leftovers(session)
    if left:
        subprocess.run(["docker", "rm", "-f", *left], capture_output=True)
        print(f"  LEFT BEHIND: {len(left)} container(s) (removed now)")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
