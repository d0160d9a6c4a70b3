"""88.1.2 A custom Airflow Dockerfile: the Airflow image plus a team's package, a system tool and configuration.

What it teaches
    Most teams need more than the stock Airflow image: their own Python code, a command-line tool the
    tasks call, defaults of their own. The way to get them is a short Dockerfile that starts FROM the
    Airflow image, pinned to its version, and adds each of them in a layer of its own, without
    turning the image into a root image or reaching a package index at build time.

    assets/88_01_02_custom_dockerfile/Dockerfile does this FROM ``localhost:5000/dockpod/airflow:3.3.2``
    (the ``AIRFLOW_IMAGE`` build argument; ``apache/airflow:3.3.2`` where Docker Hub is reachable):

    * a first stage builds the wheel of ``teamkit`` (the team's package, its source in the assets
      folder) with Debian's own pip/setuptools/wheel, offline: the Airflow image then installs the
      finished wheel with ``pip install --no-index --find-links``, the way air-gapped sites install
      everything, and no build tool ends up in it;
    * ``USER 0`` for the installs, ``apt-get install jq`` from the Debian mirror (the upstream version
      pinned; the package lists and apt's ``/var/cache/apt/*.bin`` removed in the same layer: kept,
      they made that layer 80.7 MB instead of 2.5 MB), ``pip check``, then back to
      ``USER 50000:0``;
    * the team's ``airflow.cfg`` copied to ``/opt/airflow/config/`` and named by ``AIRFLOW_CONFIG``: it
      holds only the values that differ from Airflow's defaults, and any ``AIRFLOW__SECTION__KEY``
      variable still overrides it at run time.

    ``lint_dockerfile`` runs dockpod's linter (hadolint's rules and dockpod's own) on the folder.
    ``build_image`` builds it with the docker SDK, which talks to the engine's classic builder (no
    BuildKit: what ``DOCKER_BUILDKIT=0 docker build`` does), and measures the build and the layer it
    adds. ``verify_image`` runs the result: the package imports and works, ``jq`` runs, Airflow reads
    the baked configuration (``airflow config get-value``), an environment variable still wins over it,
    and the user is uid 50000. The base's entrypoint passes ``bash``, ``python``, ``airflow`` and
    absolute paths through and treats any other first word as an Airflow subcommand, so the tool runs
    as ``/usr/bin/jq``. ``remove_image`` is the build's teardown: it removes the image and the wheel
    stage's image once the build ran, also when a check failed (and the run still fails then).

Checklist items covered
    * Extending the official image: ``FROM ${AIRFLOW_IMAGE}`` with a pinned tag, the base's user,
      entrypoint and health check kept (``verify_image`` runs ``airflow`` through the base's
      entrypoint).
    * Adding Python packages: ``teamkit`` as a wheel, ``pip install --no-index`` into Airflow's venv.
    * System dependencies: ``jq`` with ``apt-get`` as root, then the non-root user again.
    * Custom configurations: ``config/airflow.cfg`` through ``AIRFLOW_CONFIG``, read back with
      ``airflow config get-value core default_task_retries`` (2; Airflow's default is 0).

Run it
    AIRFLOW_ENVIRONMENT=local airflow dags test 88_01_02_custom_dockerfile
    By hand: cd examples/section_88/assets/88_01_02_custom_dockerfile && DOCKER_BUILDKIT=0 docker build -t my-airflow .
    (tests/examples/test_88_01_02_custom_dockerfile.py builds it under a unique tag, checks each
    addition in the image and that the image is gone afterwards, and runs ``dockpod lint`` on it.)
"""

from __future__ import annotations

import re
import subprocess
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from airflow.sdk import DAG, task, teardown

ASSETS = Path(__file__).parent / "assets" / "88_01_02_custom_dockerfile"
BASE_IMAGE = "localhost:5000/dockpod/airflow:3.3.2"
REPOSITORY = "localhost:5000/dockpod/airflow-custom"
LABEL_KEY, LABEL_VALUE = "io.dockpod.example", "88_01_02_custom_dockerfile"
#: " ---> 1a2b3c4d5e6f": the classic builder's line naming the image a step produced.
_STEP_IMAGE = re.compile(r"^ ---> ([0-9a-f]{12})\s*$")


def wheel_stage_image(build_log: list[dict[str, Any]]) -> str | None:
    """The image the first stage ended with: the last step image before the second ``FROM``."""
    last, froms = None, 0
    for line in "".join(entry.get("stream", "") for entry in build_log).splitlines():
        if re.match(r"^Step \d+/\d+ : FROM ", line):
            froms += 1
            if froms == 2:
                return last
        elif match := _STEP_IMAGE.match(line):
            last = match.group(1)
    return None


def run_in_image(tag: str, args: list[str], env: dict[str, str] | None = None) -> str:
    """``docker run --rm [-e K=V] TAG ARGS`` through the image's entrypoint; the last line it printed."""
    flags = [f"--env={key}={value}" for key, value in (env or {}).items()]
    done = subprocess.run(["docker", "run", "--rm", "--label", f"{LABEL_KEY}={LABEL_VALUE}", *flags, tag, *args],
                          capture_output=True, text=True, timeout=180, check=False)
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"{' '.join(args)} in {tag} exited {done.returncode}: {done.stderr[-800:]}")
    return lines[-1].strip()


with DAG(
    dag_id="88_01_02_custom_dockerfile",
    schedule=None,
    start_date=datetime(2024, 1, 1),
    catchup=False,
    params={"image_tag": "88-01-02"},
    tags=["reference", "core", "intermediate", "success"],
    doc_md=__doc__,
):

    @task
    def lint_dockerfile() -> dict[str, Any]:
        """dockpod lint on the assets folder: the rule ids of every finding (none expected)."""
        from dockpod.lint import lint_paths

        report = lint_paths([ASSETS])
        return {"findings": sorted(f"{Path(f.path).name}:{f.line}:{f.rule}" for f in report.failing())}

    @task
    def build_image(params: dict[str, Any]) -> dict[str, Any]:
        """Build the Dockerfile with the classic builder; the tag, the ids, the build time and sizes."""
        import docker
        from docker.errors import BuildError

        client = docker.from_env()
        tag = f"{REPOSITORY}:{params['image_tag']}"
        started = time.monotonic()
        try:
            image, logs = client.images.build(path=str(ASSETS), tag=tag, rm=True, forcerm=True,
                                              buildargs={"AIRFLOW_IMAGE": BASE_IMAGE},
                                              labels={LABEL_KEY: LABEL_VALUE})
        except BuildError as exc:
            stage = wheel_stage_image(list(exc.build_log))
            if stage is not None:  # leave nothing behind: the wheel stage image of the failed build
                subprocess.run(["docker", "image", "rm", stage], capture_output=True, check=False)
            raise
        build_log = list(logs)
        base = client.images.get(BASE_IMAGE)
        return {
            "tag": tag,
            "image_id": image.id,
            "wheel_stage_image": wheel_stage_image(build_log),
            "steps": sum(1 for entry in build_log if entry.get("stream", "").startswith("Step ")),
            "build_seconds": round(time.monotonic() - started, 1),
            "size_mb": round(image.attrs["Size"] / 1e6, 1),
            "added_mb": round((image.attrs["Size"] - base.attrs["Size"]) / 1e6, 1),
            "user": image.attrs["Config"]["User"],
            "env_airflow_config": next((e.split("=", 1)[1] for e in image.attrs["Config"]["Env"]
                                        if e.startswith("AIRFLOW_CONFIG=")), None),
        }

    @task
    def verify_image(built: dict[str, Any]) -> dict[str, str]:
        """Run the image: each addition works, the configuration is in effect, the user is still 50000."""
        tag = built["tag"]
        return {
            "teamkit": run_in_image(tag, ["python", "-c", "import teamkit; "
                                          "print(teamkit.__version__, teamkit.table_name('raw', 'Sales Orders', "
                                          "'2024-01-31'))"]),
            "jq_version": run_in_image(tag, ["/usr/bin/jq", "--version"]),
            "jq_result": run_in_image(tag, ["bash", "-c", "echo '{\"rows\": [1, 2, 3]}' | jq '.rows | length'"]),
            "default_task_retries": run_in_image(tag, ["config", "get-value", "core", "default_task_retries"]),
            "max_active_tasks_per_dag": run_in_image(tag, ["config", "get-value", "core", "max_active_tasks_per_dag"]),
            "env_still_wins": run_in_image(tag, ["config", "get-value", "core", "default_task_retries"],
                                           env={"AIRFLOW__CORE__DEFAULT_TASK_RETRIES": "5"}),
            "airflow_version": run_in_image(tag, ["version"]),
            "uid_gid": run_in_image(tag, ["bash", "-c", "echo $(id -u):$(id -g)"]),
            "pip_check": run_in_image(tag, ["python", "-m", "pip", "check"]),
        }

    @teardown
    def remove_image(built: dict[str, Any]) -> list[str]:
        """Remove the built image and the wheel stage's image once the build ran, whatever happened after it."""
        removed = []
        for ref in (built["tag"], built["wheel_stage_image"]):
            if ref and subprocess.run(["docker", "image", "rm", ref], capture_output=True,
                                      check=False).returncode == 0:
                removed.append(ref)
        return removed

    built = build_image()
    lint_dockerfile() >> built
    verify_image(built) >> remove_image(built).as_teardown(setups=built)
