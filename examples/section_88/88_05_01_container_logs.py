"""88.5.1 Container logs: every container of a task in one task log, and the same lines read from outside.

What it teaches
    Where a container task's output goes, and how to read it while the task is still running.

    ``pipeline`` is one task made of three containers, as one Kubernetes pod would be:

    * ``prepare``, an init container, writes a header into the shared log folder and says so;
    * ``shipper``, a log-shipping sidecar, follows ``/logs/app.log`` on a shared ``empty_dir`` and
      prints each line it sees (a real shipper would send them to Loki, Elasticsearch...);
    * the main container counts five steps, one per second, printing each one on stdout and
      appending an event line to ``/logs/app.log``; one warning goes to stderr.

    Because the task has more than one container, dockpod prefixes each line of the Airflow task log
    with the name of the container that wrote it: ``[prepare]``, ``[shipper]`` and ``[base]`` (the
    main container, named as KubernetesPodOperator names it). The lines reach the task log as they
    are written, not when the container exits.

    While the task runs, ``follow_main_logs`` (a ``pre_execute`` hook) does what ``docker logs -f``
    does, with the docker SDK: it finds the task's running main container by dockpod's labels
    (``io.dockpod.dag_id``, ``io.dockpod.task_id``, ``io.dockpod.run_id``, ``io.dockpod.role=main``)
    and follows its log stream. ``push_followed_logs`` (a ``post_execute`` hook) pushes what it read
    as the XCom ``followed_logs``: each line with the seconds between the container's start and its
    arrival, which shows the lines came one by one.

Checklist items covered
    * docker logs command: the hook above; by hand, while the task runs::

          docker ps --filter label=io.dockpod.dag_id=88_05_01_container_logs
          docker logs -f --timestamps CONTAINER          # the main container (role main)
          docker logs CONTAINER-shipper                  # one sidecar; the init container is removed
                                                         # once it has succeeded
    * kubectl logs command: in production the task is a pod (``dockpod render
      examples/section_88/88_05_01_container_logs.py --env production`` prints it) and
      ``kubectl logs POD -c base``, ``kubectl logs POD -c shipper``, ``kubectl logs POD -c prepare``
      or ``kubectl logs POD --all-containers --prefix`` read the same lines. There is no API server
      here: the test plays that pod with podman (``dockpod.runtime.podman.run_pod``, which returns
      every container's lines in ``PodRun.container_logs``, as ``kubectl logs -c`` would).
    * Log streaming: the task log and the followed lines arrive while the container runs
      (``followed_logs`` shows about a second between steps).
    * Multi-container logging: the ``[prepare]``, ``[shipper]`` and ``[base]`` prefixes.

Run it
    AIRFLOW_ENVIRONMENT=local airflow dags test 88_05_01_container_logs
    (tests/examples/test_88_05_01_container_logs.py runs it on the real Docker engine, checks the
    prefixed lines in the task log and the followed XCom, and plays the production pod under podman.)
"""

from __future__ import annotations

import threading
import time
from datetime import datetime
from typing import Any

from airflow.sdk import DAG

from dockpod import Volume, container_task

ETL_IMAGE = "registry.localhost/dockpod/etl:1.0"
#: Sized explicitly: a profile's default resources would otherwise differ between laptop and cluster.
SIZE = {"cpu_request": "100m", "memory_request": "64Mi", "memory_limit": "256Mi"}
STEPS = 5
#: The folder the three containers share: one emptyDir in the pod, one per-run volume locally.
LOG_DIR = "/logs"

PREPARE = f"echo 'run header' > {LOG_DIR}/app.log && echo 'log folder ready'"
MAIN = (
    f"for i in $(seq 1 {STEPS}); do "
    f"echo \"step $i of {STEPS}\"; echo \"app event $i\" >> {LOG_DIR}/app.log; sleep 1; done; "
    "echo 'disk almost full (a warning on stderr)' >&2; "
    "sleep 2; echo 'all steps done'"  # the pause leaves the shipper time to ship the last event
)

#: Lines the follower thread read, by task instance, until the post_execute hook collects them.
_FOLLOWED: dict[str, dict[str, Any]] = {}


def _instance(context: Any) -> str:
    ti = context["ti"]
    return f"{ti.dag_id}/{ti.task_id}/{ti.run_id}/{ti.map_index}"


def find_main_container(client: Any, context: Any, timeout: float = 60.0) -> Any:
    """The running main container of this task instance, found by dockpod's labels (docker ps --filter)."""
    ti = context["ti"]
    labels = [f"io.dockpod.dag_id={ti.dag_id}", f"io.dockpod.task_id={ti.task_id}",
              f"io.dockpod.run_id={ti.run_id}", "io.dockpod.role=main"]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        running = client.containers.list(filters={"label": labels, "status": "running"})
        if running:
            return running[0]
        time.sleep(0.1)
    raise TimeoutError(f"no running container labelled {labels} within {timeout:g} s")


def follow_main_logs(context: Any) -> None:
    """pre_execute hook: follow the main container's logs in a thread, as ``docker logs -f`` does."""
    import docker

    record: dict[str, Any] = {"lines": [], "error": None}

    def follow() -> None:
        client = docker.from_env()
        try:
            container = find_main_container(client, context)
            started = time.monotonic()
            for line in container.logs(stream=True, follow=True):  # ends when the container exits
                text = line.decode(errors="replace").rstrip("\n")
                record["lines"].append([round(time.monotonic() - started, 2), text])
        except Exception as exc:  # reported through the XCom, never fails the task itself
            record["error"] = f"{type(exc).__name__}: {exc}"
        finally:
            client.close()

    record["thread"] = threading.Thread(target=follow, name="follow-main-logs", daemon=True)
    record["thread"].start()
    _FOLLOWED[_instance(context)] = record


def push_followed_logs(context: Any, result: Any) -> None:
    """post_execute hook: push what the follower read as the XCom ``followed_logs``."""
    record = _FOLLOWED.pop(_instance(context))
    record["thread"].join(timeout=30)
    context["ti"].xcom_push(key="followed_logs", value={"lines": record["lines"], "error": record["error"]})


with DAG(
    dag_id="88_05_01_container_logs",
    schedule=None,
    start_date=datetime(2024, 1, 1),
    catchup=False,
    tags=["reference", "core", "beginner", "success"],
    doc_md=__doc__,
):
    logs = Volume.empty_dir(LOG_DIR)
    container_task(
        task_id="pipeline",
        image=ETL_IMAGE,
        entrypoint=["sh", "-c", MAIN],
        volumes=[logs],
        resources=SIZE,
        init_containers=[
            {"name": "prepare", "image": ETL_IMAGE, "entrypoint": ["sh", "-c", PREPARE], "volumes": [logs]},
        ],
        sidecars=[
            # -F follows the file by name and keeps going if it is rotated or created late.
            {"name": "shipper", "image": ETL_IMAGE, "entrypoint": ["tail", "-n", "+1", "-F", f"{LOG_DIR}/app.log"],
             "volumes": [logs]},
        ],
        pre_execute=follow_main_logs,
        post_execute=push_followed_logs,
    )
