"""88.5.3 Container health checks: startup, readiness and liveness probes, run locally and in the pod.

What it teaches
    A probe is a check the runtime repeats on its own; each kind answers a different question and
    leads to a different action:

    * startup: has the container finished starting? Until it passes, the others wait (a slow start
      is not taken for a hang).
    * readiness: may others use it now? The kubelet starts a pod's main container only once its
      native sidecars have started; dockpod awaits a sidecar's readiness before starting ``base``.
    * liveness: is it still working? A container that fails it is killed (and, in Kubernetes,
      restarted; a KubernetesPodOperator pod has restartPolicy Never, so the task fails).

    The task ``query_api`` has three containers, as one pod:

    * ``api``, a sidecar serving ``/healthz`` on port 8080, the health check endpoint. It needs two
      seconds before the endpoint exists; its startup probe allows ten, its readiness and liveness
      probes ask the same endpoint every second (each check is a ``GET /healthz`` line in its
      ``[api]`` log). The main container starts only when it answers.
    * ``cache``, a sidecar that hangs after three seconds (its heartbeat file goes away). Its
      liveness probe notices; the task log says "Sidecar cache failed its liveness probe". Kubernetes
      would restart it; locally it is reported only and the task goes on.
    * the main container asks the api once (no retry loop: readiness was awaited), then works for
      six seconds, touching ``/tmp/heartbeat`` every second. Its liveness probe fails when the
      heartbeat is older than three seconds.

    With the DAG param ``{"main": "hangs"}`` the main container stops its heartbeat and waits for
    something that never comes: its liveness probe fails three times, dockpod stops the container
    and the task fails with "The main container failed its liveness probe", as the kubelet would
    kill it, instead of hanging until a timeout.

    Locally each probe is the container's Docker healthcheck, which runs one command: the probes of
    one container must run the same exec command (their thresholds may differ in Kubernetes; locally
    the first of startup, readiness, liveness applies). Only exec probes run locally; use
    ``exec=["python3", "-c", "...urlopen('http://localhost:8080/healthz')"]`` for an HTTP endpoint.

Checklist items covered
    Liveness probes (``cache`` and the main container, both outcomes), readiness probes (``api``,
    awaited before the main container starts), startup probes (``api``'s slow start), health check
    endpoints (``api``'s ``/healthz``, checked from inside the pod over localhost). The production
    pod carries the same probes with the same thresholds::

        dockpod render examples/section_88/88_05_03_container_health.py --env production

Run it
    AIRFLOW_ENVIRONMENT=local airflow dags test 88_05_03_container_health
    AIRFLOW_ENVIRONMENT=local airflow dags test 88_05_03_container_health -c '{"main": "hangs"}'
    dockpod parity 88_05_03_container_health.py   # from the DAGs folder: the pod under podman awaits the
                                                  # api's startup probe the same way
    (tests/examples/test_88_05_03_container_health.py runs both on the real Docker engine and checks the
    probes of the rendered production pod.)
"""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import DAG

from dockpod import Volume, container_task

ETL_IMAGE = "registry.localhost/dockpod/etl:1.0"
#: Sized explicitly: a profile's default resources would otherwise differ between laptop and cluster.
SIZE = {"cpu_request": "100m", "memory_request": "64Mi", "memory_limit": "256Mi"}

#: The api's health check endpoint, asked from inside its own container (the pod's localhost).
HEALTHZ = ["python3", "-c", "import urllib.request as u; u.urlopen('http://localhost:8080/healthz', timeout=1)"]
#: A heartbeat older than three seconds (or none at all) means the process is stuck.
HEARTBEAT = ["python3", "-c", "import os, sys, time; "
             "sys.exit(time.time() - os.path.getmtime('/tmp/heartbeat') > 3)"]

PROBES = {
    "api": {
        "startup_probe": {"exec": HEALTHZ, "period_seconds": 1, "failure_threshold": 10, "timeout_seconds": 2},
        "readiness_probe": {"exec": HEALTHZ, "period_seconds": 1, "failure_threshold": 3, "timeout_seconds": 2},
        "liveness_probe": {"exec": HEALTHZ, "period_seconds": 1, "failure_threshold": 3, "timeout_seconds": 2},
    },
    "cache": {
        "liveness_probe": {"exec": ["test", "-f", "/tmp/alive"], "period_seconds": 1, "failure_threshold": 2},
    },
    "base": {
        "liveness_probe": {"exec": HEARTBEAT, "period_seconds": 1, "failure_threshold": 3,
                           "initial_delay_seconds": 1},
    },
}

API = "sleep 2 && echo ok > /www/healthz && exec python3 -m http.server 8080 --bind 127.0.0.1 -d /www"
CACHE = "touch /tmp/alive && echo 'cache up' && sleep 3 && rm /tmp/alive && echo 'cache stuck' && exec sleep 120"
MAIN = """touch /tmp/heartbeat
echo "api says: $(python3 -c "import urllib.request as u; print(u.urlopen('http://localhost:8080/healthz').read().decode().strip())")"
if [ "$1" = hangs ]; then echo 'waiting for a lock that never comes'; exec sleep 120; fi
for i in 1 2 3 4 5 6; do touch /tmp/heartbeat; echo "working $i"; sleep 1; done
echo 'done'
"""

with DAG(
    dag_id="88_05_03_container_health",
    schedule=None,
    start_date=datetime(2024, 1, 1),
    catchup=False,
    params={"main": "healthy"},
    tags=["reference", "core", "intermediate", "success"],
    doc_md=__doc__,
):
    container_task(
        task_id="query_api",
        image=ETL_IMAGE,
        entrypoint=["sh", "-c", MAIN, "main"],
        command=["{{ params.main }}"],
        resources=SIZE,
        **PROBES["base"],
        sidecars=[
            {"name": "api", "image": ETL_IMAGE, "entrypoint": ["sh", "-c", API],
             "volumes": [Volume.empty_dir("/www")], **PROBES["api"]},
            {"name": "cache", "image": ETL_IMAGE, "entrypoint": ["sh", "-c", CACHE], **PROBES["cache"]},
        ],
    )
