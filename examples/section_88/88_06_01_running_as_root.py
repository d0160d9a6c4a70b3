"""88.6.1 Running as root: why an image that runs as root hurts, and the non-root image that replaces it.

What it teaches
    An image without a non-root ``USER`` runs its process as uid 0. Three consequences, each shown:

    * Security: root in a container is root on the node's kernel, one escape away from the host.
      Kubernetes' ``runAsNonRoot`` refuses such an image, and so does dockpod, whose tasks default to
      ``run_as_non_root=True``: ``refused_root`` runs the root image with the defaults and fails before
      anything starts, with the same reason a kubelet gives.
    * Volume permissions: the usual "workaround" is to switch the check off
      (``security={"run_as_non_root": False}``). ``write_as_root`` then writes the daily report into a
      shared named volume as root, and the next task, ``update_report``, which runs as uid 1000 like
      every other task of the pipeline, cannot append to it: ``Permission denied``. The files a root
      task leaves behind break the non-root tasks after it.
    * The fix is in the image, not in the task: ``fixed/Dockerfile`` creates ``/reports`` owned by
      uid 1000 and ends with ``USER 1000:1000``. An empty named volume mounted there copies that
      ownership, ``write_as_nonroot`` writes as uid 1000 with dockpod's safe defaults, and
      ``update_report`` appends to the report.

    ``lint_images`` shows the mistake is found before any build: dockpod lint flags the broken
    Dockerfile (DP101, and hadolint's DL3002 for the explicit ``USER root``); the fixed one is clean.

Checklist items covered
    Security risks (``refused_root`` and DP101's explanation), volume permission issues
    (``write_as_root`` then ``update_report``), non-root user setup (``fixed/Dockerfile``: the folder
    owned by the uid, a numeric ``USER`` Kubernetes can check), security contexts (dockpod's defaults:
    run as non-root, drop every capability, no privilege escalation; ``dockpod render --env
    production`` shows them as the pod's securityContext).

Run it
    The param ``variant`` picks ``fixed`` (default) or ``root``; ``image_tag`` the tag of the two images:
    DOCKER_BUILDKIT=0 docker build -t localhost:5000/dockpod/88-06-01-writer:root-1.0 \\
        examples/section_88/assets/88_06_01_running_as_root/broken
    DOCKER_BUILDKIT=0 docker build -t localhost:5000/dockpod/88-06-01-writer:nonroot-1.0 \\
        examples/section_88/assets/88_06_01_running_as_root/fixed
    AIRFLOW_ENVIRONMENT=local airflow dags test 88_06_01_running_as_root
    AIRFLOW_ENVIRONMENT=local airflow dags test 88_06_01_running_as_root -c '{"variant": "root"}'
    docker volume rm dockpod-88-06-01-reports   (between runs: each run starts from an empty volume)
    (tests/examples/test_88_06_01_running_as_root.py builds the images with a unique tag, runs both
    variants against the Docker engine and removes what it made.)
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from airflow.sdk import DAG, task

from dockpod import Volume, container_task

ASSETS = Path(__file__).parent / "assets" / "88_06_01_running_as_root"
WRITER_IMAGE = "registry.localhost/dockpod/88-06-01-writer"
ETL_IMAGE = "registry.localhost/dockpod/etl:1.0"
REPORTS_VOLUME = "dockpod-88-06-01-reports"
SIZE = {"cpu_request": "100m", "memory_request": "32Mi", "memory_limit": "64Mi"}

#: The writer: the first version of the day's report, into the shared volume.
WRITE_REPORT = ["sh", "-c", "printf 'day,rows\\n2024-01-01,5\\n' > /reports/daily.csv && ls -ln /reports && id"]
#: The next step of the pipeline, as uid 1000: appends a row and says who owns the file.
UPDATE_REPORT = """
import json, os
path = '/reports/daily.csv'
owner = os.stat(path).st_uid
with open(path, 'a') as report:
    report.write('2024-01-02,7\\n')
lines = open(path).read().splitlines()
json.dump({'uid': os.getuid(), 'file_owner': owner, 'lines': lines}, open('/airflow/xcom/return.json', 'w'))
""".strip()

with DAG(
    dag_id="88_06_01_running_as_root",
    schedule=None,
    start_date=datetime(2024, 1, 1),
    catchup=False,
    params={"variant": "fixed", "image_tag": "1.0"},
    tags=["reference", "anti-pattern", "intermediate", "failure"],
    doc_md=__doc__,
):

    @task
    def lint_images() -> dict[str, list[str]]:
        """The rule ids dockpod lint reports (warnings and errors) for each Dockerfile."""
        from dockpod.lint import lint_paths

        return {variant: sorted({f.rule for f in lint_paths([ASSETS / variant / "Dockerfile"]).failing()})
                for variant in ("broken", "fixed")}

    @task.branch
    def choose(params: dict) -> list[str]:
        """The root variant runs both root tasks; the fixed one the non-root writer."""
        return ["refused_root", "write_as_root"] if params["variant"] == "root" else ["write_as_nonroot"]

    reports = Volume.named(REPORTS_VOLUME, "/reports")
    refused_root = container_task(
        task_id="refused_root",
        image=f"{WRITER_IMAGE}:root-{{{{ params.image_tag }}}}",
        entrypoint=WRITE_REPORT,
        resources=SIZE,
        image_pull_policy="IfNotPresent",
    )
    write_as_root = container_task(
        task_id="write_as_root",
        image=f"{WRITER_IMAGE}:root-{{{{ params.image_tag }}}}",
        entrypoint=WRITE_REPORT,
        volumes=[reports],
        security={"run_as_non_root": False},  # the anti-pattern: the check switched off instead of fixed
        resources=SIZE,
        image_pull_policy="IfNotPresent",
    )
    write_as_nonroot = container_task(
        task_id="write_as_nonroot",
        image=f"{WRITER_IMAGE}:nonroot-{{{{ params.image_tag }}}}",
        entrypoint=WRITE_REPORT,
        volumes=[reports],
        resources=SIZE,
        image_pull_policy="IfNotPresent",
    )
    update_report = container_task(
        task_id="update_report",
        image=ETL_IMAGE,
        entrypoint=["python3", "-c", UPDATE_REPORT],
        volumes=[reports],
        resources=SIZE,
        xcom=True,
        trigger_rule="none_failed_min_one_success",
    )

    lint_images() >> choose() >> [refused_root, write_as_root, write_as_nonroot]
    [write_as_root, write_as_nonroot] >> update_report
