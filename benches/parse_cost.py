"""DAG parse cost: 50 container_task tasks against the same DAG written with the plain providers.

Three measures, each against the plain provider in the same run:

* cold: a fresh Python process imports Airflow and fills a DagBag from the file (``airflow dags
  list``, a new worker; dominated by importing Airflow);
* warm: a process that has already imported Airflow fills a DagBag from the file (what Airflow 3's
  DAG processor does for every parse: a fresh child of a manager that has Airflow loaded, so the
  providers, the Kubernetes client and dockpod are imported by the parse itself);
* refill: the same DagBag fill repeated in one process with every module cached (a stricter,
  synthetic bound: what is left is the per-task cost of building the operators).

Modes: local (container_task -> DockerOperator vs plain DockerOperator) and production
(container_task -> KubernetesPodOperator vs plain KubernetesPodOperator). Also checks that in the
local profile nothing of the Kubernetes client is imported.

    .venv/bin/python benches/parse_cost.py [--tasks 50] [--cold-runs 5] [--warm-runs 15]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

HEADER = """\
from datetime import datetime
from airflow.sdk import DAG
{imports}
with DAG("{dag_id}", schedule=None, start_date=datetime(2024, 1, 1), catchup=False):
"""

DOCKPOD_TASK = """\
    container_task(task_id="t{i}", image="registry.localhost/dockpod/etl:1.0", command=["extract", "--rows", "{i}"],
                   env={{"STEP": "{i}", "DS": "{{{{ ds }}}}"}}, volumes=["shared_data:/data"],
                   resources={{"cpu_request": "250m", "memory_limit": "256Mi"}}, security={{"user": "1000:1000"}})
"""

DOCKER_TASK = """\
    DockerOperator(task_id="t{i}", image="localhost:5000/dockpod/etl:1.0", command=["extract", "--rows", "{i}"],
                   environment={{"STEP": "{i}", "DS": "{{{{ ds }}}}"}},
                   mounts=[Mount(target="/data", source="shared_data", type="volume")],
                   cpus=0.25, mem_limit="256m", user="1000:1000", mount_tmp_dir=False)
"""

KPO_TASK = """\
    KubernetesPodOperator(
        task_id="t{i}", image="registry.localhost/dockpod/etl:1.0", arguments=["extract", "--rows", "{i}"],
        env_vars={{"STEP": "{i}", "DS": "{{{{ ds }}}}"}}, namespace="airflow",
        volumes=[k8s.V1Volume(name="data", persistent_volume_claim=k8s.V1PersistentVolumeClaimVolumeSource(
            claim_name="shared-data"))],
        volume_mounts=[k8s.V1VolumeMount(name="data", mount_path="/data")],
        container_resources=k8s.V1ResourceRequirements(requests={{"cpu": "250m"}}, limits={{"memory": "256Mi"}}),
        container_security_context=k8s.V1SecurityContext(run_as_user=1000, run_as_group=1000, run_as_non_root=True))
"""

VARIANTS = {
    "dockpod_local": ("from dockpod import container_task", DOCKPOD_TASK, "local"),
    "plain_docker": ("from airflow.providers.docker.operators.docker import DockerOperator\n"
                     "from docker.types import Mount", DOCKER_TASK, "local"),
    "dockpod_production": ("from dockpod import container_task", DOCKPOD_TASK, "production"),
    "plain_kpo": ("from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator\n"
                  "from kubernetes.client import models as k8s", KPO_TASK, "production"),
}

COLD = """
import sys, time
t = time.perf_counter()
from airflow.dag_processing.dagbag import DagBag
bag = DagBag(dag_folder=sys.argv[1], load_op_links=False)
elapsed = time.perf_counter() - t
assert not bag.import_errors, bag.import_errors
assert len(next(iter(bag.dags.values())).tasks) == int(sys.argv[2])
print(elapsed, int(any(m == "kubernetes" or m.startswith("kubernetes.") for m in sys.modules)))
"""

WARM = """
import sys, time
from airflow.dag_processing.dagbag import DagBag
t = time.perf_counter()
bag = DagBag(dag_folder=sys.argv[1], load_op_links=False)
elapsed = time.perf_counter() - t
assert not bag.import_errors, bag.import_errors
print(elapsed)
"""

REFILL = """
import json, sys, time
from airflow.dag_processing.dagbag import DagBag
path, runs = sys.argv[1], int(sys.argv[2])
for _ in range(2):
    DagBag(dag_folder=path, load_op_links=False)
times = []
for _ in range(runs):
    t = time.perf_counter()
    bag = DagBag(dag_folder=path, load_op_links=False)
    times.append(time.perf_counter() - t)
    assert not bag.import_errors, bag.import_errors
print(json.dumps(times))
"""


def write_dags(folder: Path, tasks: int) -> dict[str, Path]:
    """One DAG file per variant, each with ``tasks`` equivalent tasks."""
    paths = {}
    for name, (imports, task, _env) in VARIANTS.items():
        body = HEADER.format(imports=imports, dag_id=name) + "".join(task.format(i=i) for i in range(tasks))
        path = folder / name / f"{name}.py"
        path.parent.mkdir()
        path.write_text(body)
        paths[name] = path
    return paths


def environment(env_name: str, home: Path) -> dict[str, str]:
    """The environment of one measured process."""
    return {**os.environ, "AIRFLOW_ENVIRONMENT": env_name, "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False", "AIRFLOW__LOGGING__LOGGING_LEVEL": "ERROR"}


def measure(paths: dict[str, Path], tasks: int, cold_runs: int, warm_runs: int, home: Path) -> dict[str, dict]:
    """Median cold and warm parse times of every variant, interleaved so drift hits all alike."""
    cold: dict[str, list[float]] = {name: [] for name in paths}
    warm: dict[str, list[float]] = {name: [] for name in paths}
    kube_imported: dict[str, bool] = {}
    for _ in range(cold_runs):
        for name, path in paths.items():
            out = subprocess.run([sys.executable, "-c", COLD, str(path), str(tasks)], capture_output=True,
                                 text=True, check=True, env=environment(VARIANTS[name][2], home))
            elapsed, kube = out.stdout.split()[-2:]
            cold[name].append(float(elapsed))
            kube_imported[name] = kube == "1"
            out = subprocess.run([sys.executable, "-c", WARM, str(path)], capture_output=True,
                                 text=True, check=True, env=environment(VARIANTS[name][2], home))
            warm[name].append(float(out.stdout.split()[-1]))
    refill = {}
    for name, path in paths.items():
        out = subprocess.run([sys.executable, "-c", REFILL, str(path), str(warm_runs)], capture_output=True,
                             text=True, check=True, env=environment(VARIANTS[name][2], home))
        refill[name] = json.loads(out.stdout.strip().splitlines()[-1])
    return {name: {"cold_s": statistics.median(cold[name]), "warm_s": statistics.median(warm[name]),
                   "refill_s": statistics.median(refill[name]), "kubernetes_imported": kube_imported[name]}
            for name in paths}


def main() -> int:
    """Run the benchmark and print the table and the ratios."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", type=int, default=50)
    parser.add_argument("--cold-runs", type=int, default=5)
    parser.add_argument("--warm-runs", type=int, default=15)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="dockpod-bench-") as tmp:
        home = Path(tmp) / "airflow"
        home.mkdir()
        paths = write_dags(Path(tmp), args.tasks)
        results = measure(paths, args.tasks, args.cold_runs, args.warm_runs, home)
    print(f"DAG parse cost, {args.tasks} tasks, median of {args.cold_runs} cold and warm processes, "
          f"{args.warm_runs} refills")
    print(f"{'variant':<20} {'cold (s)':>9} {'warm (s)':>9} {'refill (s)':>10}  kubernetes imported")
    for name, r in results.items():
        print(f"{name:<20} {r['cold_s']:>9.3f} {r['warm_s']:>9.3f} {r['refill_s']:>10.4f}  "
              f"{'yes' if r['kubernetes_imported'] else 'no'}")
    pairs = {"local": ("dockpod_local", "plain_docker"), "production": ("dockpod_production", "plain_kpo")}
    ratios = {f"{mode} {measure}": results[ours][f"{measure}_s"] / results[plain][f"{measure}_s"]
              for mode, (ours, plain) in pairs.items() for measure in ("cold", "warm", "refill")}
    print(textwrap.dedent("""
        ratio dockpod / plain provider (goal <= 1.05 cold and warm; refill is the stricter bound)"""))
    for name, ratio in ratios.items():
        print(f"  {name:<18} {ratio:.3f}x")
    for mode, (ours, plain) in pairs.items():
        extra = (results[ours]["refill_s"] - results[plain]["refill_s"]) / args.tasks * 1e6
        print(f"  {mode} per-task cost over the plain operator, modules cached: {extra:+.0f} us")
    kube = results["dockpod_local"]["kubernetes_imported"]
    print(f"  local profile imports the Kubernetes client: {'YES' if kube else 'no'}")
    print(json.dumps({"results": results, "ratios": ratios}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
