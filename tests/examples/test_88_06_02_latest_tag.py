"""88_06_02_latest_tag: one tag, two digests after two pushes; the digest pin keeps the first image; lint
flags latest in a Dockerfile, a manifest and a task; --fix pins a FROM to the registry's digest.

The DAG pushes to a repository of this test's own (a unique name); the test deletes its manifests from
the local registry and any image left on the engine.
"""

from __future__ import annotations

import contextlib
import subprocess
import urllib.request
import uuid
from pathlib import Path

import pytest

from airflow_harness import place_example
from dockpod.lint import lint_paths
from dockpod.runtime.airflow_run import load_dag, run_dag

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "section_88" / "88_06_02_latest_tag.py"
ASSETS = EXAMPLE.parent / "assets" / EXAMPLE.stem
DAG_ID = "88_06_02_latest_tag"
REGISTRY = "localhost:5000"

pytestmark = pytest.mark.integration


def _delete_manifest(repository: str, digest: str) -> None:
    request = urllib.request.Request(f"http://{REGISTRY}/v2/{repository}/manifests/{digest}", method="DELETE")
    with contextlib.suppress(OSError):  # already gone
        urllib.request.urlopen(request, timeout=10).close()


@pytest.fixture(scope="module")
def run():
    repository = f"dockpod-test/88-06-02-{uuid.uuid4().hex[:8]}"
    result = None
    try:
        result = run_dag(load_dag(place_example(EXAMPLE, DAG_ID), DAG_ID), run_conf={"repository": repository})
        yield result
    finally:
        pushed = (result.xcoms.get("push_twice") or {}) if result else {}
        for digest in set(pushed.values()):
            _delete_manifest(repository, digest)
        images = subprocess.run(["docker", "images", "-q", f"{REGISTRY}/{repository}"], capture_output=True,
                                text=True).stdout.split()
        if images:
            subprocess.run(["docker", "rmi", "-f", *set(images)], capture_output=True)


def test_latest_resolved_to_two_different_images(run):
    assert run.state == "success", run.failures
    digests = run.xcoms["push_twice"]
    assert set(digests) == {"after_push_1", "after_push_2"}
    assert all(d.startswith("sha256:") for d in digests.values())
    assert digests["after_push_1"] != digests["after_push_2"]


def test_the_digest_pin_still_runs_the_first_release(run):
    assert run.xcoms["run_pinned"] == {"release": "1"}


def test_lint_fix_pins_the_base_to_the_registrys_digest(run):
    pinned = run.xcoms["pin_base"]
    assert pinned["before"] == "FROM localhost:5000/dockpod/debian:bookworm"
    assert pinned["after"] == f"FROM localhost:5000/dockpod/debian:bookworm@{pinned['registry']}"


def test_lint_flags_latest_in_every_kind_of_file(run):
    broken = sorted((Path(f.path).name, f.line, f.rule) for f in lint_paths([ASSETS / "broken"]).failing())
    assert broken == [("Dockerfile", 2, "DL3007"), ("Dockerfile", 2, "DP102"), ("deployment.yaml", 19, "DP306"),
                      ("tasks.py", 9, "DP501")]
    assert lint_paths([ASSETS / "fixed"]).failing() == []
    assert lint_paths([ASSETS / "app"]).failing() == []
    assert run.xcoms["lint_tags"] == {"broken": ["DL3007", "DP102", "DP306", "DP501"], "fixed": []}
