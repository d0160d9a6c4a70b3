"""88.9.1 Sidecar patterns: a helper container that lives beside the task and does one job for it.

What it teaches
    A sidecar is a second container of the task's pod. It starts before the main container, shares
    the pod's network (it answers on ``localhost``) and whichever scratch folders both mount, and is
    stopped once the main container is done. The main image stays small and single-purpose; the
    cross-cutting job (shipping logs, fetching secrets, syncing code, talking to the outside world)
    lives in the sidecar. Each task below is one pattern, and its XCom shows the sidecar did its job.

    dockpod writes a sidecar once, in ``sidecars=[...]``. In production it becomes a native sidecar
    of the KubernetesPodOperator pod (an init container with ``restartPolicy: Always``, Kubernetes
    1.29+), whose readiness check also becomes its startup probe, so the kubelet holds the main
    container back until the sidecar is ready. Locally the same containers run on Docker with a
    pod's semantics: one network namespace for the task, shared ``empty_dir``/``tmpfs`` volumes,
    the sidecar's readiness probe awaited before the main container starts, every container's lines
    in the task log prefixed with its name.

Checklist items covered
    * Log shipping sidecar (``log_shipping``): the application only appends to ``/logs/app.log``
      on a shared ``empty_dir``. The ``log-shipper`` sidecar follows that file and ships every line
      as a JSON record. A real shipper (Fluent Bit, Vector, Promtail) would send them to Loki or
      Elasticsearch; here the destination is ``/logs/shipped.jsonl``, so the main container can check
      before it ends that every line it wrote arrived.
    * Secrets injection (``secrets_injection``): only the ``secrets-agent`` sidecar gets the secret
      (``Secret("reporting-api", "token")``), the way a Vault agent does. It renders a
      credentials file, readable by the task's uid only, into a memory-backed volume (``tmpfs``:
      an emptyDir with medium Memory in the pod) and renders it again every few seconds, as an
      agent refreshing a lease would. The main container reads the file and never has the secret
      in its environment. The XCom gives the token's length, never its value.
    * git-sync sidecar (``git_sync``): ``bundle-sync`` publishes a versioned bundle the way git-sync
      publishes a checkout: each revision goes into its own folder ``/bundles/rev-<digest>``, then the
      link ``/bundles/current`` is swapped to it atomically, so a reader never sees half a revision.
      There is no network and no git here: the bundle is a file from the sidecar's image
      (``/app/etl.py``) and its revision is its sha256. The main container reads through the link and
      checks the content against the revision.
    * Proxy sidecar (``proxy``): the main container calls ``http://localhost:8081`` and knows nothing
      about the service behind it. The ``egress-proxy`` sidecar (an ambassador) forwards each
      request to the upstream service, adds ``X-Forwarded-By``, ``Via`` and a tracing header, and
      counts requests. The upstream is a stand-in, ``reporting-api``, a second sidecar listening on
      ``127.0.0.1:9000``. Both have a readiness probe (an ``exec`` probe: the local runtime runs exec
      probes only), so the main container's first request always finds them listening.

    Each pattern runs locally (DockerOperator, ``AIRFLOW_ENVIRONMENT=local``) and as the production
    pod under podman. ``dockpod parity`` runs every task both ways and compares the exit codes,
    the XComs and what the main process sees (user, environment, mounts, limits).

    The inline programs are stripped of leading whitespace (``.strip()``) because of a podman 4.3
    limitation: ``podman kube play`` refuses a pod whose command or argument string starts with a
    newline or a space ("did not find expected '-' indicator"), a pod Kubernetes itself accepts.

Run it
    export DOCKPOD_CONFIG=examples/dockpod.toml DOCKPOD_SECRET_REPORTING_API_TOKEN=any-test-token
    AIRFLOW_ENVIRONMENT=local airflow dags test 88_09_01_sidecar_patterns
    dockpod render examples/section_88/88_09_01_sidecar_patterns.py --env production
    dockpod parity examples/section_88/88_09_01_sidecar_patterns.py   (the DAG file in the DAGs folder)
    (tests/examples/test_88_09_01_sidecar_patterns.py runs the DAG on the Docker engine and runs
    ``dockpod parity`` over it, which plays every task's pod under podman.)
"""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import DAG

from dockpod import Secret, Volume, container_task

ETL_IMAGE = "registry.localhost/dockpod/etl:1.0"
RESULT = "/airflow/xcom/return.json"
#: Sized explicitly, so the production profile's defaults do not make the pod differ from the local run.
MAIN_SIZE = {"cpu_request": "100m", "cpu_limit": "500m", "memory_request": "32Mi", "memory_limit": "128Mi"}
#: A sidecar is sized on its own: the kubelet reserves the sum of the main container's and the sidecars'.
SIDECAR_SIZE = {"cpu_request": "50m", "cpu_limit": "250m", "memory_request": "16Mi", "memory_limit": "64Mi"}

# --- log shipping -------------------------------------------------------------------------------------

LOG_DIR = "/logs"
EVENTS = 5

#: The application: appends its events to a file and checks, before it ends, that all were shipped.
APP_WRITES_LOGS = f"""
import json, time
with open('{LOG_DIR}/app.log', 'a', buffering=1) as log:
    for i in range(1, {EVENTS} + 1):
        log.write(f'level=info event={{i}} msg="batch part {{i}} processed"\\n')
        time.sleep(0.2)
deadline = time.monotonic() + 30
shipped = []
while time.monotonic() < deadline:
    try:
        shipped = [json.loads(line) for line in open('{LOG_DIR}/shipped.jsonl') if line.endswith('\\n')]
    except FileNotFoundError:
        pass
    if len(shipped) >= {EVENTS}:
        break
    time.sleep(0.2)
json.dump({{'written': {EVENTS}, 'shipped': len(shipped), 'last': shipped[-1] if shipped else None}},
          open('{RESULT}', 'w'))
""".strip()

#: The shipper: follows app.log from its first line (as ``tail -F`` would) and ships each whole line.
SHIP_LOGS = f"""
import json, os, time
path, seq, position, partial = '{LOG_DIR}/app.log', 0, 0, ''
print('log-shipper: following', path, flush=True)
while True:
    if not os.path.exists(path):
        time.sleep(0.1)
        continue
    with open(path) as source:
        source.seek(position)
        partial += source.read()
        position = source.tell()
    *lines, partial = partial.split('\\n')
    with open('{LOG_DIR}/shipped.jsonl', 'a') as sink:
        for line in lines:
            seq += 1
            sink.write(json.dumps({{'seq': seq, 'source': 'app.log', 'shipper': 'log-shipper', 'line': line}}) + '\\n')
            print('shipped', seq, flush=True)
    time.sleep(0.1)
""".strip()

# --- secrets injection ---------------------------------------------------------------------------------

SECRETS_DIR = "/run/app-secrets"

#: The agent: writes the credentials file (mode 0400) from its private environment, again every 2 s.
RENDER_SECRET = f"""
import os, time
os.umask(0o077)
while True:
    text = '[reporting]\\nurl = http://reporting.internal/v1\\ntoken = ' + os.environ['REPORTING_TOKEN'] + '\\n'
    with open('{SECRETS_DIR}/.api.ini.tmp', 'w') as handle:
        handle.write(text)
    os.chmod('{SECRETS_DIR}/.api.ini.tmp', 0o400)
    os.replace('{SECRETS_DIR}/.api.ini.tmp', '{SECRETS_DIR}/api.ini')
    print('secrets-agent: credentials rendered', flush=True)
    time.sleep(2)
""".strip()

#: The application: reads the rendered file; reports its shape, never the token.
APP_READS_SECRET = f"""
import configparser, json, os, stat
path = '{SECRETS_DIR}/api.ini'
config = configparser.ConfigParser()
config.read(path)
info = os.stat(path)
json.dump({{'keys': sorted(config['reporting']), 'url': config['reporting']['url'],
           'token_length': len(config['reporting']['token']), 'file_mode': oct(stat.S_IMODE(info.st_mode)),
           'file_owner': info.st_uid, 'uid': os.getuid(), 'token_in_my_env': 'REPORTING_TOKEN' in os.environ}},
          open('{RESULT}', 'w'))
""".strip()

# --- git-sync style -------------------------------------------------------------------------------------

BUNDLE_ROOT = "/bundles"

#: Publishes /app/etl.py as revision rev-<sha256 prefix>, then swaps the link; checks again every 5 s.
SYNC_BUNDLE = f"""
set -eu
cd {BUNDLE_ROOT}
while true; do
  rev="rev-$(sha256sum /app/etl.py | cut -c1-12)"
  if [ ! -d "$rev" ]; then
    rm -rf ".staging-$rev" && mkdir ".staging-$rev"
    cp /app/etl.py ".staging-$rev/etl.py"
    echo "$rev" > ".staging-$rev/REVISION"
    mv ".staging-$rev" "$rev"
    ln -sfn "$rev" .current-new && mv -T .current-new current
    echo "bundle-sync: published $rev"
  fi
  sleep 5
done
""".strip()

APP_READS_BUNDLE = f"""
import hashlib, json, os
link = os.readlink('{BUNDLE_ROOT}/current')
revision = open('{BUNDLE_ROOT}/current/REVISION').read().strip()
digest = hashlib.sha256(open('{BUNDLE_ROOT}/current/etl.py', 'rb').read()).hexdigest()
json.dump({{'link': link, 'revision': revision, 'files': sorted(os.listdir('{BUNDLE_ROOT}/current')),
           'content_matches_revision': revision == 'rev-' + digest[:12]}}, open('{RESULT}', 'w'))
""".strip()

# --- proxy ------------------------------------------------------------------------------------------------

PROXY_PORT = 8081
UPSTREAM_PORT = 9000

#: The stand-in for the remote service: answers with what it received.
UPSTREAM = f"""
import json
from http.server import BaseHTTPRequestHandler, HTTPServer

class Api(BaseHTTPRequestHandler):
    def do_GET(self):
        body = json.dumps({{'service': 'reporting-api', 'path': self.path,
                           'forwarded_by': self.headers.get('X-Forwarded-By'),
                           'request_id': self.headers.get('X-Request-Id')}}).encode()
        self.send_response(200)
        self.send_header('Content-Type', 'application/json')
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)

HTTPServer(('127.0.0.1', {UPSTREAM_PORT}), Api).serve_forever()
""".strip()

#: The ambassador: its own /healthz; everything else forwarded upstream with headers added.
PROXY = f"""
import json, urllib.request
from http.server import BaseHTTPRequestHandler, HTTPServer

class Proxy(BaseHTTPRequestHandler):
    forwarded = 0

    def do_GET(self):
        if self.path == '/healthz':
            status, body, headers = 200, b'ok', {{}}
        else:
            Proxy.forwarded += 1
            request = urllib.request.Request('http://127.0.0.1:{UPSTREAM_PORT}' + self.path, headers={{
                'X-Forwarded-By': 'egress-proxy', 'X-Request-Id': f'req-{{Proxy.forwarded}}'}})
            with urllib.request.urlopen(request, timeout=5) as answer:
                status, body = answer.status, answer.read()
            headers = {{'Via': '1.1 egress-proxy', 'X-Proxy-Forwarded': str(Proxy.forwarded)}}
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)

HTTPServer(('127.0.0.1', {PROXY_PORT}), Proxy).serve_forever()
""".strip()

APP_CALLS_PROXY = f"""
import json, urllib.request
answers = []
for path in ('/v1/reports/daily', '/v1/reports/weekly'):
    with urllib.request.urlopen('http://localhost:{PROXY_PORT}' + path, timeout=10) as answer:
        answers.append({{'status': answer.status, 'via': answer.headers['Via'],
                        'forwarded': int(answer.headers['X-Proxy-Forwarded']), 'body': json.load(answer)}})
json.dump({{'answers': answers}}, open('{RESULT}', 'w'))
""".strip()


def http_ready(port: int, path: str = "/") -> dict[str, object]:
    """An exec readiness probe that passes once ``localhost:port`` answers ``path`` (no curl in the image)."""
    check = f"import urllib.request as u; u.urlopen('http://127.0.0.1:{port}{path}', timeout=1)"
    return {"exec": ["python3", "-c", check], "period_seconds": 1, "failure_threshold": 10}


with DAG(
    dag_id="88_09_01_sidecar_patterns",
    schedule=None,
    start_date=datetime(2024, 1, 1),
    catchup=False,
    tags=["reference", "patterns", "advanced", "success"],
    doc_md=__doc__,
):
    logs = Volume.empty_dir(LOG_DIR)
    container_task(
        task_id="log_shipping",
        image=ETL_IMAGE,
        entrypoint=["python3", "-c", APP_WRITES_LOGS],
        volumes=[logs],
        sidecars=[{"name": "log-shipper", "image": ETL_IMAGE, "entrypoint": ["python3", "-c", SHIP_LOGS],
                   "volumes": [logs], "resources": SIDECAR_SIZE}],
        resources=MAIN_SIZE,
        xcom=True,
    )

    secrets = Volume.tmpfs(SECRETS_DIR)
    container_task(
        task_id="secrets_injection",
        image=ETL_IMAGE,
        entrypoint=["python3", "-c", APP_READS_SECRET],
        volumes=[secrets],
        sidecars=[{
            "name": "secrets-agent", "image": ETL_IMAGE, "entrypoint": ["python3", "-c", RENDER_SECRET],
            "volumes": [secrets], "resources": SIDECAR_SIZE,
            "secrets": [Secret("reporting-api", "token", env="REPORTING_TOKEN")],  # the agent's, not main's
            "readiness_probe": {"exec": ["test", "-s", f"{SECRETS_DIR}/api.ini"], "period_seconds": 1,
                                "failure_threshold": 10},
        }],
        resources=MAIN_SIZE,
        xcom=True,
    )

    bundles = Volume.empty_dir(BUNDLE_ROOT)
    container_task(
        task_id="git_sync",
        image=ETL_IMAGE,
        entrypoint=["python3", "-c", APP_READS_BUNDLE],
        volumes=[bundles],
        sidecars=[{
            "name": "bundle-sync", "image": ETL_IMAGE, "entrypoint": ["sh", "-c", SYNC_BUNDLE],
            "volumes": [bundles], "resources": SIDECAR_SIZE,
            "readiness_probe": {"exec": ["test", "-f", f"{BUNDLE_ROOT}/current/REVISION"], "period_seconds": 1,
                                "failure_threshold": 10},
        }],
        resources=MAIN_SIZE,
        xcom=True,
    )

    container_task(
        task_id="proxy",
        image=ETL_IMAGE,
        entrypoint=["python3", "-c", APP_CALLS_PROXY],
        sidecars=[
            {"name": "reporting-api", "image": ETL_IMAGE, "entrypoint": ["python3", "-c", UPSTREAM],
             "resources": SIDECAR_SIZE, "readiness_probe": http_ready(UPSTREAM_PORT)},
            {"name": "egress-proxy", "image": ETL_IMAGE, "entrypoint": ["python3", "-c", PROXY],
             "resources": SIDECAR_SIZE, "readiness_probe": http_ready(PROXY_PORT, "/healthz"),
             "liveness_probe": {**http_ready(PROXY_PORT, "/healthz"), "period_seconds": 5}},
        ],
        resources=MAIN_SIZE,
        xcom=True,
    )
