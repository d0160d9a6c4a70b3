"""End-to-end time of one local task: DockpodDockerOperator against the plain DockerOperator.

Goal: dockpod's local run of a task takes at most 1.02x the time of the same task through the
provider's plain ``DockerOperator``, measured in the same run.

Method:

* one small task for every variant: the ETL image's ``env`` subcommand, which prints a line and writes
  a small JSON result to ``/airflow/xcom/return.json``;
* variants: ``plain`` (``DockerOperator`` with its defaults, ``do_xcom_push=True`` so the value is the
  last log line, ``mount_tmp_dir=True``; ``auto_remove="force"`` so that it removes its container as
  dockpod does), ``dockpod_xcom`` (``DockpodDockerOperator``, ``xcom=True``: the JSON result is read
  back) and ``dockpod_noxcom`` (``xcom=False``); the goal's ratios are against ``plain``. A stricter
  reference, ``plain_bare``, is the plain operator without its temporary bind mount
  (``mount_tmp_dir=False``): the least a DockerOperator can do for this task;
* each sample is ``op.execute({})`` on a fresh operator (a fresh Docker client, as a new task try
  gets), called directly in this process (no scheduler, no ``dag.test()``, whose own cost would only
  dilute the difference); building the operator is not timed (that is DAG parse time, see
  ``benches/parse_cost.py``);
* warm-up rounds first (not counted), then ``--runs`` rounds; in each round every variant runs once,
  in a rotated order, so that drift of the machine hits all variants alike; medians are reported,
  with the ratios dockpod / plain of the medians (the goal's measure) and, as a check on noise, the
  median of the per-round ratios (each round's dockpod time over the same round's plain time). Starting
  a container varies by +-10 % from one run to the next here: 31 rounds gave ratios that moved by up
  to 3 % between two invocations, 61 rounds by about 1 %; the default is 41;
* every Engine API call the operators make is timed (outermost calls only; ``attach`` returns at
  once, the log streaming is part of ``(outside API calls)``), which gives a per-phase breakdown at
  the cost of a function call per API call, paid by all variants alike;
* the task logs of all runs go to a file in the bench's temporary folder, not to the terminal (the
  logging itself is still done and timed);
* everything the runs create is labelled; afterwards any container or volume left with the bench's
  labels is reported (a leftover is a bug) and removed. The host directories the operators make
  (dockpod's XCom folder, DockerOperator's ``mount_tmp_dir``) go to a temporary folder of the bench's
  own, which must be empty at the end.

    .venv/bin/python benches/e2e_local.py [--runs 41] [--warmup 3] [--image localhost:5000/dockpod/etl:1.0]
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

IMAGE = "localhost:5000/dockpod/etl:1.0"
COMMAND = ["env"]
BENCH_LABEL = "io.dockpod.bench"
VARIANTS = ("plain", "plain_bare", "dockpod_xcom", "dockpod_noxcom")
OURS = ("dockpod_xcom", "dockpod_noxcom")
#: Engine API calls that are timed (outermost only: create_container calls create_container_from_config).
API_CALLS = (
    "ping", "version", "images", "inspect_image", "pull", "create_volume", "create_container",
    "create_container_from_config", "put_archive", "attach", "start", "wait", "inspect_container",
    "get_archive", "remove_container", "remove_volume", "stop",
)
OUTSIDE = "(outside API calls)"


def setup_airflow(home: Path) -> None:
    """A private AIRFLOW_HOME, set before Airflow is imported; migrate its database when execute needs it."""
    os.environ["AIRFLOW_HOME"] = str(home)
    os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(home / "dags")
    os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
    os.environ["AIRFLOW__LOGGING__LOGGING_LEVEL"] = "INFO"
    os.environ.setdefault("AIRFLOW_ENVIRONMENT", "local")
    os.environ.pop("DOCKPOD_CONFIG", None)
    (home / "dags").mkdir(parents=True)


def migrate_db() -> None:
    airflow = Path(sys.executable).with_name("airflow")
    subprocess.run([str(airflow), "db", "migrate"], check=True, capture_output=True)


class ApiTimer:
    """Times the APIClient's public calls (outermost calls only), per variant."""

    def __init__(self) -> None:
        self.local = threading.local()
        self.samples: dict[str, list[dict[str, float]]] = defaultdict(list)
        self.current: dict[str, float] | None = None
        self._originals: dict[str, Callable[..., Any]] = {}

    @contextlib.contextmanager
    def installed(self) -> Iterator[None]:
        from docker.api.client import APIClient

        for name in API_CALLS:
            original = getattr(APIClient, name)
            self._originals[name] = original
            setattr(APIClient, name, self._wrap(name, original))
        try:
            yield
        finally:
            for name, original in self._originals.items():
                setattr(APIClient, name, original)

    def _wrap(self, name: str, original: Callable[..., Any]) -> Callable[..., Any]:
        timer = self

        @functools.wraps(original)
        def timed(*args: Any, **kwargs: Any) -> Any:
            depth = getattr(timer.local, "depth", 0)
            timer.local.depth = depth + 1
            start = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                timer.local.depth = depth
                if depth == 0 and timer.current is not None:
                    timer.current[name] = timer.current.get(name, 0.0) + time.perf_counter() - start

        return timed


def make_operator(variant: str, image: str, session: str) -> Any:
    """A fresh operator for one sample."""
    if variant.startswith("plain"):
        from airflow.providers.docker.operators.docker import DockerOperator

        return DockerOperator(task_id=f"bench_{session}", image=image, command=list(COMMAND),
                              auto_remove="force", labels={BENCH_LABEL: session},
                              mount_tmp_dir=variant == "plain")
    from dockpod.operators._docker import DockpodDockerOperator
    from dockpod.profiles import get_profile
    from dockpod.spec import ContainerSpec

    spec = ContainerSpec(image=image, command=list(COMMAND), xcom=variant == "dockpod_xcom",
                         labels={BENCH_LABEL: session})
    # The task id is in the labels of every per-run container and volume: the sweep afterwards finds them.
    return DockpodDockerOperator(spec=spec, profile=get_profile("local"), task_id=f"bench_{session}")


def run_once(variant: str, image: str, session: str, timer: ApiTimer) -> tuple[float, Any]:
    op = make_operator(variant, image, session)
    calls: dict[str, float] = {}
    timer.current = calls
    start = time.perf_counter()
    try:
        value = op.execute({})
    finally:
        elapsed = time.perf_counter() - start
        timer.current = None
    calls[OUTSIDE] = elapsed - sum(calls.values())
    timer.samples[variant].append(calls)
    return elapsed, value


def check_value(variant: str, value: Any) -> None:
    """The task really ran: the plain operator returns the last log line, dockpod the parsed JSON."""
    if variant.startswith("plain"):
        ok = isinstance(value, str) and "result written to" in value
    elif variant == "dockpod_xcom":
        ok = isinstance(value, dict) and value.get("uid") == 1000
    else:
        ok = value is None
    if not ok:
        raise SystemExit(f"{variant}: unexpected result {value!r}")


@contextlib.contextmanager
def output_to(path: Path) -> Iterator[None]:
    """Send file descriptors 1 and 2 (task logs) to a file for the duration."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with path.open("ab") as log:
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
        try:
            yield
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])


def sweep(session: str) -> dict[str, int]:
    """Remove (and count) every container and volume this session's runs left behind."""
    import docker

    client = docker.APIClient(version="1.41")
    filters = [f"{BENCH_LABEL}={session}", f"io.dockpod.task_id=bench_{session}"]
    containers = {c["Id"] for label in filters for c in client.containers(all=True, filters={"label": label})}
    volumes = {v["Name"] for label in filters
               for v in (client.volumes(filters={"label": label}).get("Volumes") or [])}
    for cid in containers:
        client.remove_container(cid, force=True)
    for name in volumes:
        client.remove_volume(name, force=True)
    return {"containers": len(containers), "volumes": len(volumes)}


def measure(image: str, runs: int, warmup: int, session: str, log: Path) -> tuple[dict[str, list[float]], ApiTimer]:
    timer = ApiTimer()
    times: dict[str, list[float]] = {v: [] for v in VARIANTS}
    with timer.installed(), output_to(log):
        for round_ in range(warmup + runs):
            shift = round_ % len(VARIANTS)
            for variant in VARIANTS[shift:] + VARIANTS[:shift]:
                elapsed, value = run_once(variant, image, session, timer)
                check_value(variant, value)
                if round_ >= warmup:
                    times[variant].append(elapsed)
    for variant in VARIANTS:  # keep the breakdown of the counted rounds only
        timer.samples[variant] = timer.samples[variant][warmup:]
    return times, timer


def breakdown(timer: ApiTimer, variant: str) -> dict[str, dict[str, float]]:
    """Median milliseconds and count per sample of every API call a variant made."""
    samples = timer.samples[variant]
    names = sorted({name for sample in samples for name in sample}, key=lambda n: (n == OUTSIDE, n))
    return {name: {"ms": statistics.median(s.get(name, 0.0) for s in samples) * 1000,
                   "share": sum(1 for s in samples if name in s) / len(samples)} for name in names}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=41)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--image", default=IMAGE)
    args = parser.parse_args()
    session = uuid.uuid4().hex[:10]
    with tempfile.TemporaryDirectory(prefix="dockpod-e2e-") as tmp:
        home = Path(tmp) / "airflow"
        setup_airflow(home)
        migrate_db()
        log = Path(tmp) / "tasks.log"
        host_tmp = Path(tmp) / "host-tmp"
        host_tmp.mkdir()
        tempfile.tempdir = str(host_tmp)  # where both operators make their per-run host directories
        try:
            times, timer = measure(args.image, args.runs, args.warmup, session, log)
        except BaseException:
            sys.stderr.write("".join(log.read_text(errors="replace").splitlines(True)[-40:]))
            raise
        finally:
            tempfile.tempdir = None
            leftovers = sweep(session)
            leftovers["host_dirs"] = len(list(host_tmp.iterdir()))
    medians = {v: statistics.median(times[v]) for v in VARIANTS}
    ratios = {v: medians[v] / medians["plain"] for v in OURS}
    strict = {v: medians[v] / medians["plain_bare"] for v in OURS}
    paired = {v: statistics.median(a / b for a, b in zip(times[v], times["plain"], strict=True)) for v in OURS}
    print(f"End-to-end local task ({args.image} {' '.join(COMMAND)}), op.execute, median of {args.runs} "
          f"interleaved rounds after {args.warmup} warm-up")
    print(f"{'variant':<16} {'median (ms)':>11} {'min (ms)':>9} {'max (ms)':>9}")
    for v in VARIANTS:
        print(f"{v:<16} {medians[v] * 1000:>11.1f} {min(times[v]) * 1000:>9.1f} {max(times[v]) * 1000:>9.1f}")
    print("\nratio dockpod / plain DockerOperator (goal <= 1.02); stricter: / plain_bare (mount_tmp_dir=False)")
    for v in OURS:
        print(f"  {v:<16} {ratios[v]:.3f}x  ({(medians[v] - medians['plain']) * 1000:+.1f} ms, per-round median "
              f"{paired[v]:.3f}x)   / plain_bare {strict[v]:.3f}x  "
              f"({(medians[v] - medians['plain_bare']) * 1000:+.1f} ms)")
    phases = {v: breakdown(timer, v) for v in VARIANTS}
    print("\nper-call breakdown, median ms per run (x: share of runs that made the call)")
    names = sorted({n for v in VARIANTS for n in phases[v]}, key=lambda n: (n == OUTSIDE, n))
    print(f"  {'call':<29}" + "".join(f"{v:>16}" for v in VARIANTS))
    for name in names:
        cells = []
        for v in VARIANTS:
            cell = phases[v].get(name)
            if cell is None:
                cells.append(f"{'-':>16}")
                continue
            share = "" if cell["share"] == 1 else f" x{cell['share']:.1f}"
            cells.append(f"{cell['ms']:>9.1f}{share:>7}")
        print(f"  {name:<29}" + "".join(cells))
    left = sum(leftovers.values())
    print(f"\nleft behind (and removed): {leftovers['containers']} container(s), {leftovers['volumes']} "
          f"volume(s), {leftovers['host_dirs']} host folder(s){'  <-- a bug' if left else ''}")
    print(json.dumps({"runs": args.runs, "warmup": args.warmup, "image": args.image,
                      "median_s": medians, "ratios": ratios, "ratios_vs_plain_bare": strict,
                      "paired_ratios": paired,
                      "leftovers": leftovers,
                      "breakdown_ms": {v: {n: c["ms"] for n, c in phases[v].items()} for v in VARIANTS}}))
    return 1 if left else 0


if __name__ == "__main__":
    sys.exit(main())
