"""88.7.3 Container integration testing: a test suite, as tasks, against the running production-like stack.

What it teaches
    Unit tests of a DAG say nothing about whether the containers around it work together: the
    database takes connections, the broker takes the password it was given, the worker finds the
    api-server by name, and a real DAG run moves data from the first container task to the last. This
    DAG brings ``deploy/compose/prod`` up and runs such a suite against it, one task per layer, each
    failing with a message that says what did not answer and how. Every probe runs inside the stack's
    own containers (``docker compose exec``), so it tests the network and the credentials the services
    really use, not the host's.

Checklist items covered
    * Service connectivity: ``services`` checks every container is healthy and asks the api-server's
      ``/api/v2/monitor/health`` for the state of the metadatabase, scheduler, triggerer and
      dag-processor.
    * Database connection: ``database`` runs psql in the postgres container
      (``docker compose exec postgres psql -U airflow -d airflow -c ...``): server version, the schema
      revision airflow-init migrated to and its tables, and how many sessions the other containers hold
      over the network.
    * Broker: ``broker`` sends Redis a PING with the password read from the Docker secret file inside the
      redis container into ``REDISCLI_AUTH`` (the value is on no command line and in no output), and
      checks that a PING without it is refused.
    * Inter-container communication: ``inter_container`` runs a probe in a Celery worker that resolves
      ``airflow-api-server``, ``postgres`` and ``redis`` by name, opens their ports and reads the
      api-server's health over HTTP; and shows that a task container on the edge network
      (``EDGE_NETWORK``) cannot resolve ``postgres``, which only the backend network holds.
    * End-to-end tests: ``end_to_end`` runs portable_pipeline through the REST API and checks its XCom
      values against each other (rows extracted = rows transformed in, rows loaded = rows kept, totals
      equal) and the load step's checksum against the sha256 of the CSV file it left in its volume.

    ``wrong_credential`` shows what a failing check looks like: with the param
    ``show_broken_check`` set it runs the broker check with a wrong password (the content of
    /etc/hostname) and fails with Redis's own answer; by default it is skipped.

How it runs
    The stack directory comes from ``DOCKPOD_REPO`` (or two folders above this file). ``prepare`` makes
    the stack's DAG folder (temporary, mode 0755, holding examples/dags/portable_pipeline.py), picks a
    free API port and names the compose project and its edge network for this run alone
    (``dp-88-07-03-<8 hex>``). ``teardown`` (the DAG's teardown task, run whatever failed) brings it
    down with ``down -v``, checks nothing of it is left, removes the DAG folder and portable_pipeline's
    volume ``dockpod_demo_data`` when this run created it.

Run it
    DOCKPOD_REPO=$PWD AIRFLOW_ENVIRONMENT=local airflow dags test 88_07_03_integration_testing
    ... -c '{"show_broken_check": true}' to see a check fail. The test takes 4-6 minutes:
    .venv/bin/python -m pytest tests/examples/test_88_07_03_*.py
"""

from __future__ import annotations

import json
import os
import subprocess
from datetime import datetime
from pathlib import Path
from typing import Any

from airflow.sdk import DAG, task
from airflow.sdk.exceptions import AirflowSkipException

from dockpod.runtime.stack import ComposeStack, end_run, new_run, run_stack

REPO = Path(os.environ.get("DOCKPOD_REPO") or Path(__file__).resolve().parents[2])
PROD = REPO / "deploy" / "compose" / "prod"
PIPELINE = REPO / "examples" / "dags" / "portable_pipeline.py"
PROJECT_PREFIX = "dp-88-07-03"
DEMO_VOLUME = "dockpod_demo_data"
ETL_IMAGE = "localhost:5000/dockpod/etl:1.0"
REDIS_PASSWORD_FILE = "/run/secrets/redis_password"

#: Run in a worker: resolve and connect to the services by name, read the api-server's health over HTTP.
PROBE = """
import json, socket, urllib.request
found = {}
for name, port in (("airflow-api-server", 8080), ("postgres", 5432), ("redis", 6379)):
    try:
        ip = socket.gethostbyname(name)
        socket.create_connection((name, port), timeout=5).close()
        found[name] = {"resolves": True, "port_open": True}
    except OSError as error:
        found[name] = {"resolves": False, "port_open": False, "error": str(error)}
try:
    with urllib.request.urlopen("http://airflow-api-server:8080/api/v2/monitor/health", timeout=10) as answer:
        found["api_health"] = {"status": answer.status, "components": sorted(json.load(answer))}
except OSError as error:
    found["api_health"] = {"status": None, "error": str(error)}
print(json.dumps(found))
"""


class IntegrationCheckFailed(RuntimeError):
    """One check of the suite did not pass; the message says what answered what."""


def _docker(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["docker", *args], capture_output=True, text=True, check=check, timeout=300,
                          stdin=subprocess.DEVNULL)


def _redis_ping(stack: ComposeStack, password_file: str) -> dict[str, str]:
    """PING with the password in ``password_file`` (a path inside the redis container), then without one."""
    script = 'REDISCLI_AUTH="$(cat "$1")" redis-cli -h 127.0.0.1 ping'
    with_password = stack.compose("exec", "-T", "redis", "sh", "-c", script, "broker-check", password_file,
                                  check=False)
    without = stack.compose("exec", "-T", "redis", "redis-cli", "-h", "127.0.0.1", "ping", check=False)
    answer = with_password.stdout.strip()
    if answer != "PONG":
        said = " ".join(with_password.stderr.split())
        raise IntegrationCheckFailed(f"broker check failed: Redis PING with the password from {password_file} "
                                     f"answered {answer!r}" + (f" (redis-cli: {said})" if said else ""))
    return {"ping": answer, "ping_without_password": without.stdout.strip()}


with DAG(
    dag_id="88_07_03_integration_testing",
    schedule=None,
    start_date=datetime(2024, 1, 1),
    catchup=False,
    params={"rows": 250, "min_amount": 10, "show_broken_check": False},
    default_args={"retries": 0},
    tags=["reference", "testing", "intermediate", "success"],
    doc_md=__doc__,
):

    @task
    def prepare() -> dict[str, Any]:
        """The stack's DAG folder with portable_pipeline, a free API port, a project and edge network of its own."""
        return new_run(PROD, PROJECT_PREFIX, PIPELINE, volumes=(DEMO_VOLUME,))

    @task
    def up(info: dict[str, Any]) -> dict[str, Any]:
        """``up --wait``: the seconds until every service is healthy."""
        return {"seconds_to_healthy": round(run_stack(info).up(timeout=600), 1)}

    @task
    def services(info: dict[str, Any]) -> dict[str, Any]:
        """Every container healthy (or a one-shot done); the api-server's view of the Airflow components."""
        stack = run_stack(info)
        states = stack.services()
        not_ready = [f"{s.name} ({s.state} {s.health})" for s in states if not s.ready]
        monitor = stack.api().request("GET", "/api/v2/monitor/health")
        components = {name: part.get("status") for name, part in monitor.items()}
        unhealthy = {name: status for name, status in components.items() if status != "healthy"}
        if not_ready or unhealthy:
            raise IntegrationCheckFailed(f"services check failed: not ready {not_ready}, unhealthy {unhealthy}")
        return {"containers": len(states), "all_ready": True, "components": components}

    @task
    def database(info: dict[str, Any]) -> dict[str, Any]:
        """psql in the postgres container: version, migrated revision and tables, sessions of other containers."""
        queries = ["show server_version", "select version_num from alembic_version",
                   "select count(*) from information_schema.tables where table_schema = 'public'",
                   "select count(*) from pg_stat_activity where datname = 'airflow' and client_addr is not null"]
        command = ["exec", "-T", "postgres", "psql", "-U", "airflow", "-d", "airflow", "-At", "-v", "ON_ERROR_STOP=1"]
        result = run_stack(info).compose(*command, *(arg for q in queries for arg in ("-c", q)), check=False)
        lines = result.stdout.split("\n")
        if result.returncode != 0 or len(lines) < len(queries):
            raise IntegrationCheckFailed(f"database check failed: psql exited {result.returncode}: "
                                         f"{' '.join(result.stderr.split())[-300:]}")
        version, revision, tables, sessions = (line.strip() for line in lines[:4])
        return {"server_version": version, "schema_revision": revision, "tables": int(tables),
                "network_sessions": int(sessions)}

    @task
    def broker(info: dict[str, Any]) -> dict[str, str]:
        """Redis PING with the password from the secret file inside the container; without it, refused."""
        answers = _redis_ping(run_stack(info), REDIS_PASSWORD_FILE)
        if not answers["ping_without_password"].startswith("NOAUTH"):
            raise IntegrationCheckFailed(f"broker check failed: a PING without a password was answered "
                                         f"{answers['ping_without_password']!r}, not refused")
        return answers

    @task
    def inter_container(info: dict[str, Any]) -> dict[str, Any]:
        """A worker reaches the api-server, postgres and redis by name; a task container cannot reach postgres."""
        stack = run_stack(info)
        probe = stack.compose("exec", "-T", "--index", "1", "airflow-worker", "python", "-c", PROBE)
        found = json.loads(probe.stdout.strip().splitlines()[-1])
        isolated = _docker("run", "--rm", "--network", info["edge_network"], "--entrypoint", "python3", ETL_IMAGE, "-c",
                           "import socket; socket.gethostbyname('postgres')", check=False)
        found["task_network_resolves_postgres"] = isolated.returncode == 0
        broken = [name for name in ("airflow-api-server", "postgres", "redis") if not found[name]["port_open"]]
        if broken or found["api_health"]["status"] != 200 or found["task_network_resolves_postgres"]:
            raise IntegrationCheckFailed(f"inter-container check failed: {found}")
        return found

    @task
    def end_to_end(info: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
        """portable_pipeline through the REST API; its XCom values agree with each other and with its output file."""
        api = run_stack(info).api()
        api.wait_for_dag("portable_pipeline")
        run = api.trigger("portable_pipeline", conf={"rows": params["rows"], "min_amount": params["min_amount"]})
        state = api.wait(run, timeout=600)
        if state != "success":
            states = {t: ti["state"] for t, ti in api.task_instances(run).items()}
            raise IntegrationCheckFailed(f"end-to-end check failed: portable_pipeline run {run[1]} {state}: {states}")
        extract, transform, load = (api.xcom(run, t) for t in ("extract", "transform", "load"))
        csv = _docker("run", "--rm", "-v", f"{DEMO_VOLUME}:/data:ro", "--entrypoint", "python3", ETL_IMAGE, "-c",
                      "import hashlib; print(hashlib.sha256(open('/data/loaded.csv', 'rb').read()).hexdigest())")
        checks = {
            "extracted_what_was_asked": extract["rows"] == params["rows"],
            "transform_read_every_row": transform["rows_in"] == extract["rows"],
            "filter_kept_some": 0 < transform["rows_out"] <= transform["rows_in"],
            "loaded_what_was_kept": load["rows"] == transform["rows_out"],
            "totals_agree": abs(load["total_amount"] - transform["total_amount"]) < 0.005,
            "checksum_matches_file": load["checksum"] == csv.stdout.strip(),
        }
        failed = [name for name, ok in checks.items() if not ok]
        if failed:
            raise IntegrationCheckFailed(f"end-to-end check failed: {failed}; xcom extract={extract} "
                                         f"transform={transform} load rows={load['rows']}")
        return {"run_id": run[1], "checks": checks,
                "xcom": {"extract_rows": extract["rows"], "transform_rows_out": transform["rows_out"],
                         "load_rows": load["rows"], "total_amount": load["total_amount"]}}

    @task
    def wrong_credential(info: dict[str, Any], params: dict[str, Any]) -> dict[str, str]:
        """The broker check given a wrong password (only with show_broken_check): it must fail, and say why."""
        if not params["show_broken_check"]:
            raise AirflowSkipException("show_broken_check is off")
        return _redis_ping(run_stack(info), "/etc/hostname")

    @task
    def teardown(info: dict[str, Any]) -> dict[str, Any]:
        """``down -v``; nothing of the project may be left; the DAG folder and a volume this run made go too."""
        return end_run(info)

    info = prepare()
    started = up(info)
    healthy = services(info)
    layers = [database(info), broker(info), inter_container(info)]
    e2e = end_to_end(info)
    broken = wrong_credential(info)
    started >> healthy >> layers >> e2e >> broken >> teardown(info).as_teardown(setups=info)
