"""88.6.5 Hardcoded configuration: settings and secrets written into images and files, and the way out.

What it teaches
    Configuration written into an image, a compose file, a manifest or a DAG has two costs. A setting
    baked into the image (``ENV WAREHOUSE_HOST=...``) means one image per environment and a rebuild
    for every change. A password written anywhere is readable by everyone who can read that thing:
    ``baked_image`` builds ``broken/Dockerfile`` and shows that anyone who can pull the image reads its
    ``ENV`` values with ``docker inspect`` (it returns the names it found, never the values).

    The fix keeps the image and the files free of anything environment-specific: the host comes in as
    an environment variable (a DAG param here, a ConfigMap in the cluster), the password as a
    reference to a Secret. ``connect`` is that task, run for real: locally the Secret's value comes
    from the profile's secret source (``DOCKPOD_SECRET_WAREHOUSE_DB_PASSWORD``, see
    examples/dockpod.toml), in production from the Kubernetes Secret ``warehouse-db``. Running it
    again with another ``warehouse_host`` changes the configuration without rebuilding anything.
    Its program even prints the connection string, the kind of debug line that leaks passwords:
    dockpod knows the value came from a Secret and masks it in the task log and in XCom, which it
    cannot do for a value typed into ``env=``.

    ``lint_config`` flags the four broken files, each with its family's rule: DP106 (Dockerfile ENV),
    DP205 (compose environment), DP309 (manifest env value), DP503 (container task env); the fixed
    files use ``${VAR}`` substitution, ``secretKeyRef``/``configMapKeyRef`` and ``Secret(...)``.

Checklist items covered
    Config in image (``broken/Dockerfile``, ``baked_image``), rebuild for changes (the fixed image has
    no setting in it; ``connect`` takes the host as a param), environment variables (``env=``,
    ``${WAREHOUSE_HOST:-...}`` in ``fixed/compose.yaml``), ConfigMaps/Secrets
    (``fixed/deployment.yaml``, ``Secret("warehouse-db", "password", ...)`` in ``connect``).

Run it
    export DOCKPOD_SECRET_WAREHOUSE_DB_PASSWORD=any-local-password
    AIRFLOW_ENVIRONMENT=local airflow dags test 88_06_05_hardcoded_config
    AIRFLOW_ENVIRONMENT=local airflow dags test 88_06_05_hardcoded_config -c '{"warehouse_host": "warehouse-b"}'
    dockpod lint examples/section_88/assets/88_06_05_hardcoded_config/broken   (fails: it is meant to)
    (tests/examples/test_88_06_05_hardcoded_config.py runs it twice with a random password and checks
    the value is in no log line and no XCom.)
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from airflow.sdk import DAG, task

from dockpod import Secret, container_task

ASSETS = Path(__file__).parent / "assets" / "88_06_05_hardcoded_config"
ETL_IMAGE = "registry.localhost/dockpod/etl:1.0"

#: Uses the configuration it is given; prints the DSN (a leaky debug line dockpod masks).
CONNECT = """
import json, os
host, password = os.environ['WAREHOUSE_HOST'], os.environ['WAREHOUSE_PASSWORD']
dsn = f'postgresql://etl:{password}@{host}:5432/warehouse'
print('debug: connecting with', dsn, flush=True)
json.dump({'host': host, 'password_length': len(password), 'dsn': dsn}, open('/airflow/xcom/return.json', 'w'))
""".strip()

with DAG(
    dag_id="88_06_05_hardcoded_config",
    schedule=None,
    start_date=datetime(2024, 1, 1),
    catchup=False,
    params={"warehouse_host": "warehouse-a.internal", "image_tag": "88-06-05"},
    tags=["reference", "anti-pattern", "beginner", "failure"],
    doc_md=__doc__,
):

    @task
    def lint_config() -> dict[str, dict[str, list[str]]]:
        """Rule ids (warnings and errors) per file, for the broken and the fixed folder."""
        from dockpod.lint import lint_paths

        found: dict[str, dict[str, list[str]]] = {}
        for variant in ("broken", "fixed"):
            report = lint_paths([ASSETS / variant])
            found[variant] = {path.name: sorted({f.rule for f in report.failing() if Path(f.path).name == path.name})
                              for path in sorted((ASSETS / variant).iterdir())}
        return found

    @task
    def baked_image(params: dict) -> dict[str, list[str]]:
        """Build broken/Dockerfile, read its image config as anyone who pulls it would; remove it again."""
        import docker

        client = docker.from_env()
        tag = f"localhost:5000/dockpod/88-06-05-baked:{params['image_tag']}"
        image, _logs = client.images.build(path=str(ASSETS / "broken"), tag=tag, rm=True, forcerm=True)
        try:
            env = dict(item.split("=", 1) for item in client.api.inspect_image(image.id)["Config"]["Env"])
            return {"readable_in_image": sorted(k for k in env if k.startswith("WAREHOUSE_"))}
        finally:
            client.images.remove(tag, force=True)

    connect = container_task(
        task_id="connect",
        image=ETL_IMAGE,
        entrypoint=["python3", "-c", CONNECT],
        env={"WAREHOUSE_HOST": "{{ params.warehouse_host }}"},
        secrets=[Secret("warehouse-db", "password", env="WAREHOUSE_PASSWORD")],
        resources={"cpu_request": "100m", "memory_request": "32Mi", "memory_limit": "64Mi"},
        xcom=True,
    )

    lint_config() >> baked_image() >> connect
