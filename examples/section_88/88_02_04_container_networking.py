"""88.2.4 Container networking: finding services by name, publishing ports, keeping a network internal.

What it teaches
    Containers on one user-defined bridge network find each other by service name (and by network
    aliases) through Docker's embedded DNS; names do not cross networks. A port is reachable from the
    host only when it is published, and publishing it on ``127.0.0.1`` keeps it off the host's other
    interfaces. A network marked ``internal: true`` has no route out: what sits only there can talk to
    its neighbours and nothing else.

    ``network_stack`` starts assets/88_02_04_container_networking/compose.yaml for real: ``internal-api``
    on the internal ``backend`` network (alias ``api.internal``, no published port) and ``public-api``
    on ``frontend`` with its port published on 127.0.0.1 (host port chosen by Docker). Two one-off task
    containers, started the way a worker starts a task (``docker compose run --rm``), probe URLs from
    inside: ``task`` (on both networks) reaches both services by name and alias; ``outsider`` (on
    ``frontend`` only) cannot resolve ``internal-api`` and times out on its IP address. ``internal-api``
    itself cannot reach ``public-api`` on the other network. From the host, the published port answers on
    127.0.0.1 and ``internal-api`` has no host port at all. The stack always ends with ``down -v``.

    One thing "internal" does not mean on a Linux Docker host: the host itself sits on every bridge, so
    root on that machine can still open the container's bridge IP (``host_via_bridge_ip`` reports what
    happened here). It is unreachable from other machines and from containers of other networks.

    dockpod's container tasks join a network through the profile's ``network`` field (a fixed network
    name such as ``airflow_backend``); this example's networks get a fresh name per run, so its task
    containers are compose one-offs instead.

Checklist items covered
    Service discovery (names and aliases on a custom bridge, none across networks), port exposure
    (``ports: ["127.0.0.1::8000"]`` versus no ``ports``), internal networking (``internal: true``,
    reachable only from its own network), external access (the published port from the host).

Run it
    AIRFLOW_ENVIRONMENT=local airflow dags test 88_02_04_container_networking
    (tests/examples/test_88_02_04_container_networking.py runs it and checks nothing is left behind.)
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from airflow.sdk import DAG, task

ASSETS = Path(__file__).parent / "assets" / "88_02_04_container_networking"
ETL_IMAGE = "localhost:5000/dockpod/etl:1.0"


def _compose(project: str, env: dict[str, str], *args: str, check: bool = True) -> str:
    import subprocess

    done = subprocess.run(["docker", "compose", "-p", project, "-f", str(ASSETS / "compose.yaml"), *args],
                          capture_output=True, text=True, env=env, timeout=180, check=False, cwd=ASSETS,
                          stdin=subprocess.DEVNULL)  # a task process's stdin is not for docker
    if check and done.returncode != 0:
        raise RuntimeError(f"docker compose {args[0]} failed ({done.returncode}): {done.stderr.strip()[-800:]}")
    return done.stdout if done.returncode == 0 else ""


def _host_get(url: str) -> str:
    import json
    import urllib.request

    try:
        with urllib.request.urlopen(url, timeout=3) as response:
            return "ok " + json.loads(response.read())["service"]
    except OSError as exc:
        return f"unreachable ({type(getattr(exc, 'reason', exc)).__name__})"


with DAG(
    dag_id="88_02_04_container_networking",
    schedule=None,
    start_date=datetime(2024, 1, 1),
    catchup=False,
    tags=["reference", "core", "intermediate", "success"],
    doc_md=__doc__,
):

    @task
    def network_stack() -> dict[str, Any]:
        """Start the two services, probe from task containers and from the host; always down -v."""
        import json
        import os
        import uuid

        import docker

        project = f"dp880204-{uuid.uuid4().hex[:10]}"
        env = {**os.environ, "ETL_IMAGE": ETL_IMAGE}
        client = docker.from_env()
        try:
            _compose(project, env, "up", "-d", "--wait", "--wait-timeout", "90")
            ids = {name: _compose(project, env, "ps", "-q", name).strip() for name in ("internal-api", "public-api")}
            attrs = {name: client.api.inspect_container(cid) for name, cid in ids.items()}
            ip = {name: next(iter(a["NetworkSettings"]["Networks"].values()))["IPAddress"] for name, a in attrs.items()}
            networks = {name: sorted(n.removeprefix(f"{project}_") for n in a["NetworkSettings"]["Networks"])
                        for name, a in attrs.items()}
            published = _compose(project, env, "port", "public-api", "8000").strip()
            internal_port = _compose(project, env, "port", "internal-api", "8000", check=False).strip()

            def run(service: str, *urls: str) -> dict[str, str]:
                out = _compose(project, env, "run", "--rm", "--no-deps", service, *urls)
                return json.loads(out.strip().splitlines()[-1])

            from_task = run("task", "http://internal-api:8000/", "http://api.internal:8000/",
                            "http://public-api:8000/")
            from_outsider = run("outsider", "http://internal-api:8000/", f"http://{ip['internal-api']}:8000/",
                                "http://public-api:8000/")
            out = _compose(project, env, "exec", "-T", "internal-api", "python3", "-c",
                           (ASSETS / "probe.py").read_text(), "http://public-api:8000/",
                           f"http://{ip['public-api']}:8000/")
            from_internal = json.loads(out.strip().splitlines()[-1])
            from_host = {"published": _host_get(f"http://{published}/"),
                         "host_via_bridge_ip": _host_get(f"http://{ip['internal-api']}:8000/")}
            backend = client.api.inspect_network(f"{project}_backend")
        finally:
            _compose(project, env, "down", "-v", "--remove-orphans")
        return {
            "networks": networks,
            "backend_internal": backend["Internal"],
            "published_port": published,
            "internal_api_host_port": internal_port or None,
            "from_task": from_task,
            "from_outsider": {u.replace(ip["internal-api"], "INTERNAL_API_IP"): v for u, v in from_outsider.items()},
            "from_internal_api": {u.replace(ip["public-api"], "PUBLIC_API_IP"): v for u, v in from_internal.items()},
            "from_host": from_host,
        }

    network_stack()
