"""88_01_01_official_docker_image: the project's Airflow image runs, reports Airflow 3.3.x, takes its configuration
from the environment, checks its database and runs as uid 50000, with docker run and as a container task."""

from __future__ import annotations

import random
import re
import subprocess
from pathlib import Path

import pytest

from airflow_harness import place_example
from dockpod.runtime.airflow_run import load_dag, run_dag

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "section_88" / "88_01_01_official_docker_image.py"
DAG_ID = "88_01_01_official_docker_image"
LABEL = "io.dockpod.example=88_01_01_official_docker_image"

pytestmark = pytest.mark.integration


def _own_containers() -> list[str]:
    out = subprocess.run(["docker", "ps", "-aq", "--filter", f"label={LABEL}"], capture_output=True, text=True,
                         check=True).stdout
    return out.split()


def test_the_image_runs_reports_3_3_reads_env_config_and_runs_as_50000():
    parallelism = random.randint(40, 99)  # never the default 32
    try:
        result = run_dag(load_dag(place_example(EXAMPLE, DAG_ID), DAG_ID), run_conf={"parallelism": parallelism})
    finally:
        leftovers = _own_containers()
        if leftovers:
            subprocess.run(["docker", "rm", "--force", *leftovers], capture_output=True, check=False)
    assert result.state == "success", result.failures
    assert leftovers == [], "a docker run of the example left its container behind"

    facts = result.xcoms["image_facts"]
    assert re.fullmatch(r"3\.3\.\d+", facts["airflow_version_label"])
    assert facts["digest"].startswith("localhost:5000/dockpod/airflow@sha256:")
    assert facts["base_image"] == "localhost:5000/dockpod/debian:bookworm"
    assert facts["user"] == "50000:0"
    assert facts["official_equivalent"] == f"apache/airflow:{facts['airflow_version_label']}"

    ran = result.xcoms["run_with_docker"]
    assert re.fullmatch(r"3\.3\.\d+", ran["version"]) and ran["version"] == facts["airflow_version_label"]
    assert ran["user"] == "50000:0" and ran["airflow_home"] == "/opt/airflow"
    assert ran["parallelism_default"] == "32"
    assert ran["parallelism_from_env"] == str(parallelism)
    assert ran["db_check"] is True
    assert ran["python"].startswith("3.11.")
    assert ran["official_tag_for_this_python"] == f"apache/airflow:{ran['version']}-python3.11"
    for provider in ("docker", "cncf-kubernetes", "postgres", "celery"):
        assert f"apache-airflow-providers-{provider}" in ran["providers"]
    assert ran["commands"]["parallelism_from_env"] == (
        f"docker run --rm -e AIRFLOW__CORE__PARALLELISM={parallelism} localhost:5000/dockpod/airflow:3.3.2 "
        "config get-value core parallelism")

    in_task = result.xcoms["as_container_task"]
    assert in_task == {"version": ran["version"], "parallelism": str(parallelism), "db_check": "ok",
                       "uid": "50000", "gid": "0", "airflow_home": "/opt/airflow"}
