"""88.6.3 Fat images: what ships in an image that only needs to run, and the multi-stage build that drops it.

What it teaches
    Everything in an image is pulled by every worker and node that runs it, stored in every registry
    and cache, and scanned for vulnerabilities. A single-stage build that compiles its program keeps
    the compiler, its headers and apt's package lists in the image for ever: deleting them in a later
    ``RUN`` does not help, the earlier layer still holds them.

    ``build_and_measure`` builds both Dockerfiles of the assets from the local base image, runs each
    (both print the same report: the program is identical), and measures them: the single-stage
    ``broken/Dockerfile`` is hundreds of MB larger than the base, the multi-stage ``fixed/Dockerfile``
    is the base plus one small binary, and only the fat image contains ``gcc``. The images are built
    under the tag given by the ``image_tag`` param and removed afterwards.

    ``lint_images`` finds the bloat before any build: DP104 (build tools in the only stage) and DP105
    (the apt lists left in the layer), plus hadolint's DL3008 (unpinned apt packages, which in the
    fixed file is accepted for the throwaway build stage with an inline ``hadolint ignore``).

Checklist items covered
    Bloated images (the fat image's size and its compiler), long pull times and storage costs (the
    measured difference is what every node pulls and every registry stores per version), optimization
    techniques (a build stage thrown away, ``--no-install-recommends``, copying only the result;
    cleaning apt's lists in the same ``RUN`` when a package must stay, see DP105's fix).

Run it
    AIRFLOW_ENVIRONMENT=local airflow dags test 88_06_03_fat_images
    dockpod lint examples/section_88/assets/88_06_03_fat_images/broken
    (tests/examples/test_88_06_03_fat_images.py runs it with a unique tag and checks the sizes.)
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from airflow.sdk import DAG, task

ASSETS = Path(__file__).parent / "assets" / "88_06_03_fat_images"
REPOSITORY = "localhost:5000/dockpod/88-06-03-report"

with DAG(
    dag_id="88_06_03_fat_images",
    schedule=None,
    start_date=datetime(2024, 1, 1),
    catchup=False,
    params={"image_tag": "1.0"},
    tags=["reference", "anti-pattern", "intermediate", "failure"],
    doc_md=__doc__,
):

    @task
    def lint_images() -> dict[str, list[str]]:
        """Rule ids (warnings and errors) of each Dockerfile."""
        from dockpod.lint import lint_paths

        return {variant: sorted({f.rule for f in lint_paths([ASSETS / variant / "Dockerfile"]).failing()})
                for variant in ("broken", "fixed")}

    @task
    def build_and_measure(params: dict) -> dict[str, object]:
        """Build both, run both, measure both; remove them again."""
        import contextlib

        import docker

        client = docker.from_env()
        base = client.images.get("localhost:5000/dockpod/debian:bookworm").attrs["Size"]
        measured: dict[str, object] = {"base_mb": round(base / 1e6, 1)}
        tags = {variant: f"{REPOSITORY}:{variant}-{params['image_tag']}" for variant in ("broken", "fixed")}
        # The build stage tagged too, so that removing the tags also removes its layers (the classic
        # builder otherwise leaves them as untagged images).
        stage = f"{REPOSITORY}:build-stage-{params['image_tag']}"
        try:
            client.images.build(path=str(ASSETS), dockerfile="fixed/Dockerfile", target="build", tag=stage,
                                rm=True, forcerm=True)
            for variant, tag in tags.items():
                image, _logs = client.images.build(path=str(ASSETS), dockerfile=f"{variant}/Dockerfile", tag=tag,
                                                   rm=True, forcerm=True)
                output = client.containers.run(tag, remove=True).decode().strip()
                has_gcc = client.containers.run(tag, ["sh", "-c", "command -v gcc || true"], remove=True).strip()
                measured[variant] = {"size_mb": round(image.attrs["Size"] / 1e6, 1), "output": output,
                                     "has_gcc": bool(has_gcc), "layers": len(image.history())}
        finally:
            for tag in (*tags.values(), stage):
                with contextlib.suppress(docker.errors.ImageNotFound):
                    client.images.remove(tag, force=True)
        measured["saved_mb"] = round(measured["broken"]["size_mb"] - measured["fixed"]["size_mb"], 1)
        return measured

    lint_images() >> build_and_measure()
