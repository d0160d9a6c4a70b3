"""88.5.2 Container shell access: run commands inside a task's container while it runs.

What it teaches
    When a task misbehaves, the quickest look is from inside its container: which user it runs as,
    what files it has written, which processes it runs. ``docker exec`` (and ``kubectl exec`` for a
    pod) start a new process in the running container, with its user, file system and environment.

    ``work`` is an ordinary container task that stays up for ten seconds; before it sleeps it writes
    its progress to ``/tmp/progress``. While it runs, ``open_debug_session`` (its ``pre_execute``
    hook) plays the person at a terminal, in a thread, with the docker SDK:

    1. it finds the task's running container by dockpod's labels (``io.dockpod.dag_id``,
       ``io.dockpod.task_id``, ``io.dockpod.run_id``; a task with sidecars also labels each container
       with ``io.dockpod.role``, and the one to debug is ``main``);
    2. it runs ``id``, ``cat /tmp/progress`` and ``apt-get install`` in it through exec;
    3. it starts an ephemeral debug container in the task container's network and process namespaces
       (``docker run --network container:ID --pid container:ID``), which lists the task's processes
       and reads its progress file through ``/proc/PID/root``, without touching the task's image.

    ``close_debug_session`` (its ``post_execute`` hook) pushes the outputs as the XCom ``shell``. A
    separate task running next to ``work`` would need an executor that runs tasks in parallel;
    ``airflow dags test`` runs one task at a time, so the session rides along with the task instead.

Checklist items covered
    * docker exec commands: step 2, which is, by hand::

          docker ps --filter label=io.dockpod.dag_id=88_05_02_container_shell --filter label=io.dockpod.task_id=work
          docker exec -it CONTAINER sh            # a shell as the container's user (uid 1000)
          docker exec CONTAINER cat /tmp/progress
    * kubectl exec commands: in production ``kubectl exec -it POD -c base -- sh`` does the same in
      the pod. With no API server here, the test plays the production pod under podman and runs
      ``podman exec POD-base cat /tmp/progress`` while it runs, which is what the kubelet does for
      ``kubectl exec``.
    * Debugging tools installation: the task runs as uid 1000 without privileges, as it should, so
      ``apt-get install`` inside it is refused (the XCom shows "Permission denied"). Do not rebuild
      the image as root to debug it; bring the tools in another container, next item.
    * Ephemeral containers: step 3 is the local twin of ``kubectl debug -it POD --image=TOOLBOX
      --target=base``, which adds an ephemeral container sharing the pod's process namespace. Here
      the debug image is the task's own (it has python3); any toolbox image would do.

Run it
    AIRFLOW_ENVIRONMENT=local airflow dags test 88_05_02_container_shell
    (tests/examples/test_88_05_02_container_shell.py runs it on the real Docker engine and checks the
    outputs, then runs ``podman exec`` in the production pod played under podman.)
"""

from __future__ import annotations

import threading
import time
from datetime import datetime
from typing import Any

from airflow.sdk import DAG

from dockpod import container_task

ETL_IMAGE = "registry.localhost/dockpod/etl:1.0"
#: Sized explicitly: a profile's default resources would otherwise differ between laptop and cluster.
SIZE = {"cpu_request": "100m", "memory_request": "64Mi", "memory_limit": "256Mi"}
PROGRESS = "halfway through batch 42"
WORK = f"echo '{PROGRESS}' > /tmp/progress && exec python3 /app/etl.py sleep 10 --no-result"

#: What each exec runs in the task's container.
EXEC_COMMANDS = {
    "id": ["id"],
    "progress": ["cat", "/tmp/progress"],
    "install_tools": ["sh", "-c", "apt-get install -y procps 2>&1 | head -n 1"],
}
#: What the ephemeral container runs: every process it sees, and the task's progress file read through
#: the process's root (possible because it shares the task container's process namespace).
EPHEMERAL = """
import os
processes = {}
for pid in sorted((p for p in os.listdir('/proc') if p.isdigit()), key=int):
    try:
        processes[pid] = open(f'/proc/{pid}/cmdline', 'rb').read().replace(b'\\0', b' ').decode().strip()
    except OSError:
        continue
for pid, cmdline in processes.items():
    print(pid, cmdline)
task = next(pid for pid, cmdline in processes.items() if 'etl.py sleep' in cmdline)
print('progress:', open(f'/proc/{task}/root/tmp/progress').read().strip())
"""

#: Debug sessions in flight, by task instance, until the post_execute hook collects them.
_SESSIONS: dict[str, dict[str, Any]] = {}


def _instance(context: Any) -> str:
    ti = context["ti"]
    return f"{ti.dag_id}/{ti.task_id}/{ti.run_id}/{ti.map_index}"


def find_task_container(client: Any, context: Any, timeout: float = 60.0) -> Any:
    """The running main container of this task instance, found by dockpod's labels."""
    ti = context["ti"]
    labels = [f"io.dockpod.dag_id={ti.dag_id}", f"io.dockpod.task_id={ti.task_id}", f"io.dockpod.run_id={ti.run_id}"]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for container in client.containers.list(filters={"label": labels, "status": "running"}):
            # Sidecars and init containers carry io.dockpod.role too; a single-container task has no role.
            if container.labels.get("io.dockpod.role", "main") == "main":
                return container
        time.sleep(0.1)
    raise TimeoutError(f"no running container labelled {labels} within {timeout:g} s")


def debug_session(container: Any) -> dict[str, Any]:
    """Run the exec commands in ``container``, then the ephemeral debug container next to it."""
    outputs: dict[str, Any] = {"container": container.name}
    for name, command in EXEC_COMMANDS.items():
        code, output = container.exec_run(command)  # docker exec CONTAINER COMMAND
        outputs[name] = {"exit_code": code, "output": output.decode(errors="replace").strip()}
    image = container.attrs["Config"]["Image"]
    ephemeral = container.client.containers.run(
        image, ["-c", EPHEMERAL], entrypoint=["python3"], user="1000:1000",
        network_mode=f"container:{container.id}", pid_mode=f"container:{container.id}",
        cap_drop=["ALL"], security_opt=["no-new-privileges"], remove=True,
        name=f"{container.name}-debug",
    )
    outputs["ephemeral"] = ephemeral.decode(errors="replace").strip().splitlines()
    return outputs


def open_debug_session(context: Any) -> None:
    """pre_execute hook: in a thread, wait for the task's container and debug it while it runs."""
    import docker

    session: dict[str, Any] = {"outputs": None, "error": None}

    def run() -> None:
        client = docker.from_env()
        try:
            session["outputs"] = debug_session(find_task_container(client, context))
        except Exception as exc:  # reported through the XCom, never fails the task itself
            session["error"] = f"{type(exc).__name__}: {exc}"
        finally:
            client.close()

    session["thread"] = threading.Thread(target=run, name="debug-session", daemon=True)
    session["thread"].start()
    _SESSIONS[_instance(context)] = session


def close_debug_session(context: Any, result: Any) -> None:
    """post_execute hook: push the session's outputs as the XCom ``shell``."""
    session = _SESSIONS.pop(_instance(context))
    session["thread"].join(timeout=60)
    context["ti"].xcom_push(key="shell", value={"outputs": session["outputs"], "error": session["error"]})


with DAG(
    dag_id="88_05_02_container_shell",
    schedule=None,
    start_date=datetime(2024, 1, 1),
    catchup=False,
    tags=["reference", "core", "beginner", "success"],
    doc_md=__doc__,
):
    container_task(
        task_id="work",
        image=ETL_IMAGE,
        entrypoint=["sh", "-c", WORK],
        resources=SIZE,
        pre_execute=open_debug_session,
        post_execute=close_debug_session,
    )
