"""88.5.5 Common container issues: make four classic failures happen, read the diagnosis, apply the fix.

What it teaches
    Four problems account for most failed container tasks. Each task below runs in two variants,
    chosen with the DAG param ``variant``: ``broken`` reproduces the problem for real, ``fixed`` (the
    default) is the same task with the fix applied. dockpod's failure message says in one sentence
    what went wrong and what to do; ``dockpod doctor`` (``dockpod.doctor.doctor``) gives the same
    explanation from the task's log file or from the container, pod or image itself, with the
    evidence (limit, owner uid, restart count...).

    * ``oom``: the step allocates 300 MB under a 128Mi limit and is OOM-killed. The message names the
      limit; doctor on a live container also reads the peak usage. Fix: size the limit from the
      workload (here the step is made to need 48 MB), or process the input in chunks.
    * ``crash``: a mistyped subcommand makes the program exit 2 right away, every time. Locally the
      task fails with the exit code and the program's last lines; in Kubernetes a restarting
      controller would show CrashLoopBackOff, which doctor reports with the restart count (a
      KubernetesPodOperator pod has restartPolicy Never, so there the task fails the same way). Fix:
      correct the command; restarting never fixes a failure that is the same every time.
    * ``pull``: the tag does not exist in the registry; the message tells "image not found" apart from
      "registry unreachable" and "authentication required" (the fix is different for each). Fix: push
      the image or correct the tag.
    * ``permission``: the image runs as uid 1000 and writes to a named volume mounted at ``/cache``,
      a folder the image does not have, so Docker creates the volume owned by root and the write is
      refused. doctor on the container names the volume's owner (uid 0), its mode and the container's
      uid. Fix: mount the volume where the image created a folder owned by uid 1000 (``/data``); an
      empty named volume copies that ownership. Running the task as root is not the fix.

Checklist items covered
    OOMKilled debugging (``oom``), CrashLoopBackOff diagnosis (``crash``, plus doctor on pods and
    restarting containers), ImagePullBackOff fixes (``pull``), permission issues (``permission``).

Run it
    AIRFLOW_ENVIRONMENT=local airflow dags test 88_05_05_common_issues
    AIRFLOW_ENVIRONMENT=local airflow dags test 88_05_05_common_issues -c '{"variant": "broken"}'
    python -c 'from dockpod.doctor import doctor; print(doctor("path/to/attempt=1.log"))'
    (tests/examples/test_88_05_05_common_issues.py runs both variants against the real Docker engine and
    checks that doctor agrees with the failure messages. The named volumes dockpod-88-05-05-cache and
    dockpod-88-05-05-data outlive a run: docker volume rm them when done.)
"""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import DAG

from dockpod import Volume, container_task

ETL_IMAGE = "registry.localhost/dockpod/etl"
#: Sized explicitly: a profile's default resources would otherwise differ between laptop and cluster.
SIZE = {"cpu_request": "100m", "memory_request": "64Mi", "memory_limit": "256Mi"}
BROKEN = "params.variant == 'broken'"

#: The named volumes the permission task mounts: one where the image has no folder, one where it has.
CACHE_VOLUME = "dockpod-88-05-05-cache"
DATA_VOLUME = "dockpod-88-05-05-data"

with DAG(
    dag_id="88_05_05_common_issues",
    schedule=None,
    start_date=datetime(2024, 1, 1),
    catchup=False,
    params={"variant": "fixed"},
    tags=["reference", "core", "intermediate", "failure"],
    doc_md=__doc__,
):
    container_task(
        task_id="oom",
        image=f"{ETL_IMAGE}:1.0",
        command=["alloc", f"{{{{ 300 if {BROKEN} else 48 }}}}"],
        resources={"cpu_request": "100m", "memory_request": "96Mi", "memory_limit": "128Mi"},
        xcom=True,
    )
    container_task(
        task_id="crash",
        image=f"{ETL_IMAGE}:1.0",
        command=[f"{{{{ 'extrct' if {BROKEN} else 'extract' }}}}", "--rows", "5", "--out", "/data/rows.json"],
        resources=SIZE,
        xcom=True,
    )
    container_task(
        task_id="pull",
        image=f"{ETL_IMAGE}:{{{{ '1.0-typo' if {BROKEN} else '1.0' }}}}",
        command=["env", "--no-result"],
        resources=SIZE,
        image_pull_policy="IfNotPresent",
    )
    container_task(
        task_id="permission",
        image=f"{ETL_IMAGE}:1.0",
        command=["extract", "--rows", "5", "--out", f"{{{{ '/cache' if {BROKEN} else '/data' }}}}/rows.json"],
        volumes=[Volume.named(CACHE_VOLUME, "/cache"), Volume.named(DATA_VOLUME, "/data")],
        resources=SIZE,
        xcom=True,
    )
