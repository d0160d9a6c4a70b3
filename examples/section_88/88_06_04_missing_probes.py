"""88.6.4 Missing probes: a service nobody checks is "running" while it cannot answer yet, or any more.

What it teaches
    Without probes, Kubernetes and Docker know only that a process exists. A readiness probe says
    when a container can take work, a liveness probe when it is hung and must be restarted, a startup
    probe how long a slow start may take before liveness counts. Leaving them out does not fail
    anywhere visible: it turns into races and silent hangs.

    The consequence, for real: a task whose ``reporting-api`` sidecar needs a few seconds before it
    listens (as a service loading its cache does). ``call_unprobed`` starts the sidecar with no
    readiness probe: nothing waits for it, the main container's first request finds no listener and
    the task fails with ``Connection refused``, every time. ``call_probed`` is the same task with a
    readiness probe on the sidecar: dockpod (locally the sidecar's Docker healthcheck; in the pod the
    kubelet, through the probe rendered as the native sidecar's startup probe) holds the main
    container back until the API answers, and the request succeeds. The DAG param ``variant`` picks
    ``unprobed`` or ``probed`` (the default).

    ``lint_probes`` finds the same gap in the files before anything runs: a Deployment without probes
    (DP303) and a compose service without healthcheck (DP202); the fixed files, with startup,
    readiness and liveness probes and a compose healthcheck, are clean.

Checklist items covered
    No liveness probe and no readiness probe: ``broken/deployment.yaml`` (DP303) and
    ``broken/compose.yaml`` (DP202), and the race of ``call_unprobed``. Hung containers: the liveness
    probe of ``fixed/deployment.yaml`` (a hung API stops answering /healthz and is restarted after
    three failed checks; the compose healthcheck marks it unhealthy). Proper probe config:
    ``fixed/deployment.yaml`` (a startup probe with room for a slow start, a readiness probe that
    reacts in seconds, a slower liveness probe with a timeout) and the exec readiness probe of
    ``call_probed`` (locally only exec probes run, inside the container).

Run it
    AIRFLOW_ENVIRONMENT=local airflow dags test 88_06_04_missing_probes
    AIRFLOW_ENVIRONMENT=local airflow dags test 88_06_04_missing_probes -c '{"variant": "unprobed"}'
    dockpod lint examples/section_88/assets/88_06_04_missing_probes/broken
    (tests/examples/test_88_06_04_missing_probes.py runs both variants on the Docker engine.)
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from airflow.sdk import DAG, task

from dockpod import container_task

ASSETS = Path(__file__).parent / "assets" / "88_06_04_missing_probes"
ETL_IMAGE = "registry.localhost/dockpod/etl:1.0"
PORT = 8080
START_SECONDS = 6
MAIN_SIZE = {"cpu_request": "100m", "memory_request": "32Mi", "memory_limit": "64Mi"}
SIDECAR_SIZE = {"cpu_request": "50m", "memory_request": "16Mi", "memory_limit": "64Mi"}

#: The API: a slow start, then it answers /healthz and /v1/report.
SLOW_API = f"""
import json, time
from http.server import BaseHTTPRequestHandler, HTTPServer
print('reporting-api: loading the cache', flush=True)
time.sleep({START_SECONDS})

class Api(BaseHTTPRequestHandler):
    def do_GET(self):
        body = b'ok' if self.path == '/healthz' else json.dumps({{'report': 'daily', 'rows': 5}}).encode()
        self.send_response(200)
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)

print('reporting-api: listening', flush=True)
HTTPServer(('127.0.0.1', {PORT}), Api).serve_forever()
""".strip()

#: The task: one request, as application code usually does it (no retry loop).
CALL_API = f"""
import json, urllib.request
with urllib.request.urlopen('http://127.0.0.1:{PORT}/v1/report', timeout=5) as answer:
    json.dump(json.load(answer), open('/airflow/xcom/return.json', 'w'))
""".strip()

#: The readiness probe: an exec probe (no curl in the image) that passes once /healthz answers.
HEALTHZ = f"import urllib.request as u; u.urlopen('http://127.0.0.1:{PORT}/healthz', timeout=1)"
READY = {"exec": ["python3", "-c", HEALTHZ], "period_seconds": 1, "failure_threshold": 30}


def api_sidecar(probed: bool) -> dict[str, object]:
    sidecar: dict[str, object] = {"name": "reporting-api", "image": ETL_IMAGE,
                                  "entrypoint": ["python3", "-c", SLOW_API], "resources": SIDECAR_SIZE}
    if probed:
        sidecar["readiness_probe"] = READY
    return sidecar


with DAG(
    dag_id="88_06_04_missing_probes",
    schedule=None,
    start_date=datetime(2024, 1, 1),
    catchup=False,
    params={"variant": "probed"},
    tags=["reference", "anti-pattern", "intermediate", "failure"],
    doc_md=__doc__,
):

    @task
    def lint_probes() -> dict[str, list[str]]:
        """Rule ids (warnings and errors) of the broken and the fixed files."""
        from dockpod.lint import lint_paths

        return {variant: sorted({f.rule for f in lint_paths([ASSETS / variant]).failing()})
                for variant in ("broken", "fixed")}

    @task.branch
    def choose(params: dict) -> str:
        return "call_unprobed" if params["variant"] == "unprobed" else "call_probed"

    call_unprobed = container_task(
        task_id="call_unprobed",
        image=ETL_IMAGE,
        entrypoint=["python3", "-c", CALL_API],
        sidecars=[api_sidecar(probed=False)],
        resources=MAIN_SIZE,
        xcom=True,
    )
    call_probed = container_task(
        task_id="call_probed",
        image=ETL_IMAGE,
        entrypoint=["python3", "-c", CALL_API],
        sidecars=[api_sidecar(probed=True)],
        resources=MAIN_SIZE,
        xcom=True,
    )

    lint_probes() >> choose() >> [call_unprobed, call_probed]
