"""88.3.3 Pod templates: one template the platform team owns, applied the same way on a laptop and in the cluster.

What it teaches
    A pod template holds what every task pod of a team shares (security context, labels, node pool,
    an init container that prepares configuration) so that DAG authors do not repeat it.
    KubernetesPodOperator merges the template under the task's own pod: the task's container is the
    template's first container (``base``); the task's values win, the template's lists (env, mounts,
    init containers) come first. dockpod applies the *same* template when the task runs locally on
    Docker: the template's init container runs first there too, its volume is shared, its environment
    and its pod security context apply. Something a laptop cannot honour (``hostNetwork``, a container
    port, an NFS volume) is refused when the DAG is parsed, not dropped.

Checklist items covered
    Worker pod templates: ``assets/88_03_03_pod_templates/worker-pod-template.yaml`` (a
    KubernetesExecutor worker template, container ``base``, with a DAG-folder check as init container)
    and the task pod template ``task-pod-template.yaml`` that the ``templated_task`` below uses.
    Scheduler pod template: ``scheduler-pod-template.yaml`` (waits for the database migrations in an
    init container, liveness probe on the scheduler job). Webserver: Airflow 3 has no webserver; its
    API server is deployed from a Deployment like the scheduler (issue "deployable platform").
    Init containers: ``prepare-config`` in the task template writes the settings the task reads.
    ``check_templates`` validates all three templates against the Kubernetes schema (strict) and
    ``merged_pod`` renders the task's production pod, merged by the provider's own code.

    The worker and scheduler templates name an Airflow image this example does not build; they are
    validated, not run. The task template runs for real, locally and as a pod under podman.

Run it
    AIRFLOW_ENVIRONMENT=local airflow dags test 88_03_03_pod_templates
    dockpod render examples/section_88/88_03_03_pod_templates.py --env production --validate
    dockpod parity examples/section_88/88_03_03_pod_templates.py   (the DAG file in the DAGs folder)
    (tests/examples/test_88_03_03_pod_templates.py does all three.)
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from airflow.sdk import DAG, task

from dockpod import container_task

ASSETS = Path(__file__).parent / "assets" / "88_03_03_pod_templates"
TASK_TEMPLATE = ASSETS / "task-pod-template.yaml"
TEMPLATES = ("task-pod-template.yaml", "worker-pod-template.yaml", "scheduler-pod-template.yaml")
ETL_IMAGE = "registry.localhost/dockpod/etl:1.0"

#: The task reads what the template's init container prepared and the environment the template adds.
READ_SETTINGS = (
    "import json, os; settings = json.load(open(os.environ['PIPELINE_SETTINGS'])); "
    "json.dump({'settings': settings, 'log_format': os.environ['LOG_FORMAT'], 'uid': os.getuid(), "
    "'gids': sorted(os.getgroups())}, open('/airflow/xcom/return.json', 'w'))"
)

with DAG(
    dag_id="88_03_03_pod_templates",
    schedule=None,
    start_date=datetime(2024, 1, 1),
    catchup=False,
    tags=["reference", "core", "intermediate", "success"],
    doc_md=__doc__,
):

    @task
    def check_templates() -> dict[str, list[str]]:
        """Every template against the Kubernetes schema (strict): the problems of each, none expected."""
        from ruamel.yaml import YAML

        from dockpod.render.validate import validate_manifest

        return {name: validate_manifest(YAML(typ="safe").load(ASSETS / name)) for name in TEMPLATES}

    templated = container_task(
        task_id="templated_task",
        image=ETL_IMAGE,
        entrypoint=["python3", "-c", READ_SETTINGS],
        pod_template_file=str(TASK_TEMPLATE),
        resources={"cpu_request": "100m", "cpu_limit": "250m", "memory_request": "32Mi", "memory_limit": "64Mi"},
        xcom=True,
    )

    @task
    def merged_pod() -> dict[str, object]:
        """The templated task's production pod, merged by the cncf.kubernetes provider: what the cluster gets."""
        from dockpod.render import render_paths

        rendered = render_paths([Path(__file__)], "production")
        pod = next(t.manifest for t in rendered.tasks if t.task_id == "templated_task")
        return {
            "init_containers": [c["name"] for c in pod["spec"].get("initContainers", [])],
            "node_selector": pod["spec"].get("nodeSelector"),
            "security_context": pod["spec"].get("securityContext"),
            "labels": {k: v for k, v in pod["metadata"]["labels"].items() if k == "team"},
        }

    check_templates() >> templated >> merged_pod()
