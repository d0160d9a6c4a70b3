"""88.3.5 Persistent volumes: logs, DAGs and shared data on claims that outlive the pods.

What it teaches
    An Airflow pod's file system dies with the pod; what must survive (task logs the UI reads later,
    the DAG files, data handed from one task to the next) goes on PersistentVolumeClaims.
    ``deploy/k8s/storage.yaml`` claims three volumes, each through a ``storageClassName``: the class
    selects the provisioner, and it must offer ReadWriteMany because the scheduler, every worker and
    the API server mount the same volumes at once. Locally the same claims are podman named volumes:
    ``dockpod.runtime.podman.run_pod`` turns each ``persistentVolumeClaim`` into a named volume that
    is kept after the pod, as a PVC outlives its pods.

Checklist items covered
    * PVC for logs: ``airflow-logs`` (ReadWriteMany, 50Gi), mounted read-write by workers, scheduler,
      API server; ``check_storage`` validates every claim (strict schema) and lists who mounts what.
    * DAG storage options: ``airflow-dags`` mounted read-only by every component (filled by CI); the
      Helm values show the other option, a git-sync sidecar (deploy/helm/values-prod.yaml).
    * Shared storage patterns: ``write_shared`` runs a pod made from the worker StatefulSet's pod
      template that writes to the shared data volume and the logs volume; ``read_shared`` runs a second,
      new pod from the same template that reads both back: the data survived the first pod.
    * Storage class selection: ``check_storage`` reports each claim's class and access modes.

    The Airflow image is not in the local registry, so the pods run the ETL image
    (localhost:5000/dockpod/etl:1.0) with a short command instead of ``airflow celery worker``; the
    security context (uid 50000, gid 0, fsGroup 0), the configuration and the claims are the manifest's.
    The podman volumes stay after the run, as PVCs would: ``podman volume rm airflow-dags airflow-data
    airflow-logs`` removes them.

Where the files are
    The DAG reads the repository's ``deploy/k8s/``. Examples are copied into a DAGs folder to run, so
    the repository is found from the environment variable ``DOCKPOD_REPO`` and, when it is not set, as
    the folder two levels above this file (examples/section_88/ in a checkout).

Run it
    DOCKPOD_REPO=$PWD AIRFLOW_ENVIRONMENT=local airflow dags test 88_03_05_persistent_volumes
    (tests/examples/test_88_03_05_persistent_volumes.py runs it under podman and removes the volumes.)
"""

from __future__ import annotations

import copy
import os
from datetime import datetime
from pathlib import Path
from typing import Any

from airflow.sdk import DAG, task

REPO = Path(os.environ.get("DOCKPOD_REPO") or Path(__file__).resolve().parents[2])
K8S = REPO / "deploy" / "k8s"
STAND_IN_IMAGE = "localhost:5000/dockpod/etl:1.0"


def _documents(name: str) -> list[dict[str, Any]]:
    from ruamel.yaml import YAML

    return [d for d in YAML(typ="safe").load_all(K8S / name) if d]


def run_worker_pod(pod_name: str, script: str) -> dict[str, object]:
    """Run ``script`` in a pod made from the worker StatefulSet's pod template (image swapped, probes dropped)."""
    from dockpod.runtime.podman import run_pod

    worker = _documents("worker.yaml")[0]
    spec = copy.deepcopy(worker["spec"]["template"]["spec"])
    spec.pop("initContainers", None)
    spec["restartPolicy"] = "Never"
    container = spec["containers"][0]
    for key in ("args", "livenessProbe", "readinessProbe", "ports"):
        container.pop(key, None)
    container.update(name="base", image=STAND_IN_IMAGE, command=["sh", "-c", script])
    config_map, secret = _documents("config.yaml")
    run = run_pod({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": pod_name}, "spec": spec},
                  config_maps={config_map["metadata"]["name"]: config_map["data"]},
                  secrets={secret["metadata"]["name"]: {key: "not-a-real-value" for key in secret["stringData"]}},
                  timeout=180)
    return {"exit_code": run.exit_code, "logs": list(run.logs), "reason": run.reason}


with DAG(
    dag_id="88_03_05_persistent_volumes",
    schedule=None,
    start_date=datetime(2024, 1, 1),
    catchup=False,
    tags=["reference", "core", "intermediate", "success"],
    doc_md=__doc__,
):

    @task
    def check_storage() -> dict[str, object]:
        """Each claim (strict schema problems, class, access modes, size) and the workloads that mount it."""
        from dockpod.render.validate import validate_manifest

        claims = {d["metadata"]["name"]: {"problems": validate_manifest(d),
                                          "storageClassName": d["spec"].get("storageClassName"),
                                          "accessModes": d["spec"]["accessModes"],
                                          "size": d["spec"]["resources"]["requests"]["storage"]}
                  for d in _documents("storage.yaml")}
        mounted_by: dict[str, list[str]] = {}
        for path in sorted(K8S.glob("*.yaml")):
            for doc in _documents(path.name):
                if doc["kind"] not in ("Deployment", "StatefulSet"):
                    continue
                for volume in doc["spec"]["template"]["spec"].get("volumes", []):
                    if "persistentVolumeClaim" in volume:
                        claim = volume["persistentVolumeClaim"]["claimName"]
                        mounted_by.setdefault(claim, []).append(doc["metadata"]["name"])
        return {"claims": claims, "mounted_by": mounted_by}

    @task
    def write_shared(run_id: str | None = None) -> dict[str, object]:
        """A first worker pod writes to the shared data and the logs volumes, then exits and is removed."""
        return run_worker_pod("airflow-worker-writer", (
            f"echo '{run_id}' > /opt/airflow/data/handoff.txt && "
            f"echo 'task log of {run_id}' >> /opt/airflow/logs/worker.log && id -u && echo written"))

    @task
    def read_shared(run_id: str | None = None) -> dict[str, object]:
        """A second, new pod from the same template reads both back: the claims kept the data."""
        return run_worker_pod("airflow-worker-reader", (
            "cat /opt/airflow/data/handoff.txt && tail -n 1 /opt/airflow/logs/worker.log && "
            "ls -ln /opt/airflow/data/handoff.txt | awk '{print $3\":\"$4}'"))

    check_storage() >> write_shared() >> read_shared()
