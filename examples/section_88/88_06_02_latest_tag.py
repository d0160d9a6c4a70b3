"""88.6.2 The latest tag: a name that points to a different image tomorrow, and how to pin instead.

What it teaches
    A tag is a movable pointer; ``latest`` is only the tag that ``docker push`` moves when no other is
    given. ``push_twice`` shows it for real: it builds the ``app`` image twice from the same Dockerfile
    (only the build argument ``RELEASE`` differs, as two commits would) and pushes both as ``:latest``
    to the local registry, reading from the registry the digest ``latest`` resolves to after each push.
    The two digests differ: whoever pulls ``latest`` gets release 1 before the second push and release
    2 after it, with no change on their side (the cluster restarting a pod, a worker pulling again, a
    rollback that "goes back" to ``latest``).

    The fix is to name what you mean. ``run_pinned`` runs the app by the digest of the *first* push:
    although ``latest`` has moved since, it still gets release 1. A version tag (``etl:1.0``) is the
    readable pin, a digest (``@sha256:...``) the exact one; ``pin_base`` shows ``dockpod lint --fix``
    (DP103) rewriting ``FROM localhost:5000/dockpod/debian:bookworm`` to the digest the registry holds,
    on a copy of ``fixed/Dockerfile``.

    ``lint_tags`` flags ``latest`` in the three places it hides: a Dockerfile's FROM (DP102, and
    hadolint's DL3007), a manifest's image (DP306) and a container task's image (DP501).

Checklist items covered
    Reproducibility issues and unexpected updates (``push_twice``: two digests behind one tag), version
    pinning (``run_pinned`` by digest, ``fixed/`` by version tag, ``pin_base`` with ``--fix``), tag
    strategies (release tags such as ``1.0`` for people, digests for machines: deploy by digest,
    keep the version tag for reading; ``latest`` at most as a convenience nobody deploys from).

Run it
    AIRFLOW_ENVIRONMENT=local airflow dags test 88_06_02_latest_tag
    dockpod lint examples/section_88/assets/88_06_02_latest_tag/broken
    (tests/examples/test_88_06_02_latest_tag.py runs it with a repository of its own and deletes the
    pushed manifests and the built images afterwards.)
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from airflow.sdk import DAG, task

from dockpod import container_task

ASSETS = Path(__file__).parent / "assets" / "88_06_02_latest_tag"
REGISTRY = "localhost:5000"
MANIFEST_V2 = "application/vnd.docker.distribution.manifest.v2+json"
#: The pinned task prints the release it got, as its XCom.
SHOW_RELEASE = "printf '{\"release\": \"%s\"}' \"$(cat /release)\" > /airflow/xcom/return.json"


def registry_digest(repository: str, tag: str) -> str:
    """The digest ``repository:tag`` resolves to now, asked from the registry (what a pull would get)."""
    import urllib.request

    request = urllib.request.Request(f"http://{REGISTRY}/v2/{repository}/manifests/{tag}", method="HEAD",
                                     headers={"Accept": MANIFEST_V2})
    with urllib.request.urlopen(request, timeout=10) as answer:
        return answer.headers["Docker-Content-Digest"]


with DAG(
    dag_id="88_06_02_latest_tag",
    schedule=None,
    start_date=datetime(2024, 1, 1),
    catchup=False,
    params={"repository": "dockpod/88-06-02-app"},
    tags=["reference", "anti-pattern", "beginner", "failure"],
    doc_md=__doc__,
):

    @task
    def lint_tags() -> dict[str, list[str]]:
        """Rule ids (warnings and errors) of the broken and the fixed folder."""
        from dockpod.lint import lint_paths

        return {variant: sorted({f.rule for f in lint_paths([ASSETS / variant]).failing()})
                for variant in ("broken", "fixed")}

    @task
    def push_twice(params: dict) -> dict[str, str]:
        """Build and push release 1, then release 2, both as :latest; the digest of latest after each."""
        import docker

        client = docker.from_env()
        repository = f"{REGISTRY}/{params['repository']}"
        digests = {}
        for release in ("1", "2"):
            client.images.build(path=str(ASSETS / "app"), tag=f"{repository}:latest", rm=True, forcerm=True,
                                buildargs={"RELEASE": release})
            for line in client.images.push(repository, tag="latest", stream=True, decode=True):
                if "error" in line:
                    raise RuntimeError(f"push of {repository}:latest failed: {line['error']}")
            digests[f"after_push_{release}"] = registry_digest(params["repository"], "latest")
            client.images.remove(f"{repository}:latest", force=True)
        return digests

    run_pinned = container_task(
        task_id="run_pinned",
        image="registry.localhost/{{ params.repository }}@{{ ti.xcom_pull(task_ids='push_twice')['after_push_1'] }}",
        entrypoint=["sh", "-c", SHOW_RELEASE],
        resources={"cpu_request": "100m", "memory_request": "16Mi", "memory_limit": "32Mi"},
        xcom=True,
    )

    @task
    def pin_base() -> dict[str, str]:
        """``dockpod lint --fix`` (DP103) on a copy of fixed/Dockerfile: its FROM before and after."""
        import shutil
        import tempfile

        from dockpod.lint import lint_paths

        with tempfile.TemporaryDirectory() as folder:
            copy = Path(folder) / "Dockerfile"
            shutil.copyfile(ASSETS / "fixed" / "Dockerfile", copy)
            lint_paths([copy], select=["DP103"], fix=True)
            after = next(line for line in copy.read_text().splitlines() if line.startswith("FROM"))
        before = next(line for line in (ASSETS / "fixed" / "Dockerfile").read_text().splitlines()
                      if line.startswith("FROM"))
        return {"before": before, "after": after, "registry": registry_digest("dockpod/debian", "bookworm")}

    lint_tags() >> push_twice() >> run_pinned >> pin_base()
