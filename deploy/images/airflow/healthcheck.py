#!/opt/dockpod/venv/bin/python
"""Docker HEALTHCHECK of dockpod's Airflow image: checks the Airflow component this container runs.

The component is read from PID 1's command line (the entrypoint execs ``airflow COMPONENT``):

- ``api-server``: GET http://127.0.0.1:$AIRFLOW__API__PORT/api/v2/monitor/health (default port 8080) must
  answer 200 with the metadatabase reported healthy;
- ``scheduler``, ``triggerer``, ``dag-processor``: ``airflow jobs check --local`` for the job type finds a
  live heartbeat of this host's job;
- ``celery worker``: the worker answers a Celery ping addressed to this host's node
  (``celery@$HOSTNAME``) through the broker;
- anything else (one-shot commands such as ``version`` or ``db migrate``, a shell): healthy while it runs.

Exit 0 healthy, 1 unhealthy, with one line saying why (``docker inspect`` shows it).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path

JOB_TYPES = {"scheduler": "SchedulerJob", "triggerer": "TriggererJob", "dag-processor": "DagProcessorJob"}


def component(cmdline: list[str]) -> str | None:
    """The Airflow subcommand of PID 1's command line.

    ``.../airflow api-server --port 8080`` -> ``api-server``; while the entrypoint still waits for the
    database or migrates it, PID 1 is ``bash .../entrypoint.sh api-server``, which gives ``api-server`` too
    (so that the container is not reported healthy before the server runs). Airflow renames its processes
    (setproctitle): the api-server's PID 1 reads ``airflow api_server -- host:0.0.0.0 port:8080``.
    """
    cmdline = [word for part in cmdline for word in part.split()]
    for index, word in enumerate(cmdline):
        name = os.path.basename(word)
        if name == "entrypoint.sh":
            rest = cmdline[index + 1:]
            if rest[:1] == ["airflow"]:
                rest = rest[1:]
            return rest[0].replace("_", "-") if rest and not rest[0].startswith("/") else None
        if name == "airflow" and index + 1 < len(cmdline):
            return cmdline[index + 1].replace("_", "-")
    return None


def check_api_server() -> tuple[bool, str]:
    port = os.environ.get("AIRFLOW__API__PORT", "8080")
    url = f"http://127.0.0.1:{port}/api/v2/monitor/health"
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            body = json.loads(response.read() or b"{}")
    except (OSError, ValueError) as error:
        return False, f"api-server: {url} did not answer: {error}"
    status = body.get("metadatabase", {}).get("status")
    return status == "healthy", f"api-server: {url} metadatabase {status}"


def check_job(name: str) -> tuple[bool, str]:
    command = ["airflow", "jobs", "check", "--job-type", JOB_TYPES[name], "--local"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    last = (result.stdout + result.stderr).strip().splitlines()[-1:] or [""]
    return result.returncode == 0, f"{name}: {' '.join(command)} exited {result.returncode}: {last[0][:200]}"


CELERY_APP = "airflow.providers.celery.executors.celery_executor.app"


def is_celery_worker(cmdline: list[str]) -> bool:
    """``airflow celery worker`` before Celery renames the process, ``[celeryd: celery@HOST:MainProcess]`` after."""
    words = " ".join(cmdline).split()
    return "[celeryd:" in words or ("celery" in words and "worker" in words)


def check_celery_worker() -> tuple[bool, str]:
    node = f"celery@{os.environ.get('HOSTNAME') or os.uname().nodename}"
    command = ["celery", "--app", CELERY_APP, "inspect", "ping", "--destination", node, "--timeout", "10"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    last = (result.stdout + result.stderr).strip().splitlines()[-1:] or [""]
    return result.returncode == 0, f"celery worker: ping of {node} exited {result.returncode}: {last[0][:200]}"


def main() -> int:
    try:
        cmdline = Path("/proc/1/cmdline").read_bytes().decode(errors="replace").split("\0")
    except OSError as error:
        print(f"healthcheck: cannot read /proc/1/cmdline: {error}")
        return 1
    name = component(cmdline)
    if name == "api-server":
        healthy, why = check_api_server()
    elif name in JOB_TYPES:
        healthy, why = check_job(name)
    elif is_celery_worker(cmdline):
        healthy, why = check_celery_worker()
    else:
        healthy, why = True, f"no health check for {' '.join(cmdline).strip() or 'PID 1'}: healthy while running"
    print(f"healthcheck: {'healthy' if healthy else 'UNHEALTHY'}: {why}")
    return 0 if healthy else 1


if __name__ == "__main__":
    sys.exit(main())
