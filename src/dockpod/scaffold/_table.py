"""What the scaffold writes, as data: groups, files, executors, and which option sets which template variable.

Adding a group (say ``compose-dev``) is adding rows here and templates under ``templates/``: one
:class:`Group` row, one :class:`Asset` row per file, and the file's template at
``templates/<path>.jinja``. Nothing else in the package names a group or a file.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dockpod.scaffold._options import ScaffoldOptions

__all__ = ["AIRFLOW_VERSION", "ASSETS", "EXECUTORS", "FINAL_STEPS", "GROUPS", "VARIABLES", "Asset", "Executor",
           "Group", "Variable"]

#: The Airflow version of the image the assets run (its tag).
AIRFLOW_VERSION = "3.3.2"


@dataclass(frozen=True)
class Group:
    """A ``--with`` group: a set of files written together, and the commands to run once they are."""

    name: str
    summary: str
    always: bool = False  # written whatever --with says
    next_steps: tuple[str, ...] = ()  # str.format() fields: the template variables of VARIABLES


@dataclass(frozen=True)
class Asset:
    """One file the scaffold writes: its path in the project, its group, its mode, and when it is written.

    The template is ``templates/<path>.jinja`` in this package. ``when`` names a boolean template variable
    (a row of :data:`VARIABLES`); the file is written only when it is true.
    """

    group: str
    path: str
    executable: bool = False
    when: str | None = None

    @property
    def template(self) -> str:
        """The template's path under ``templates/``."""
        return f"{self.path}.jinja"


@dataclass(frozen=True)
class Executor:
    """What ``--executor`` puts in the files: the Helm ``executor`` (prod and enterprise) and the raw manifests'."""

    name: str
    helm: str  # values-prod/-enterprise `executor` (values-dev stays LocalExecutor)
    helm_comment: str  # the line of values-prod.yaml's header that says what runs the tasks
    core: str  # AIRFLOW__CORE__EXECUTOR of deploy/k8s/config.yaml
    celery: bool  # Celery workers, Redis, the worker StatefulSet and its Service


EXECUTORS: dict[str, Executor] = {e.name: e for e in (
    Executor("local", "LocalExecutor", "LocalExecutor (tasks run inside the scheduler pods, no workers, no Redis)",
             "LocalExecutor", celery=False),
    Executor("celery", "CeleryExecutor,KubernetesExecutor",
             "CeleryExecutor with KubernetesExecutor as a second executor (tasks pick one with `executor=`)",
             "CeleryExecutor", celery=True),
    Executor("kubernetes", "KubernetesExecutor", "KubernetesExecutor (every task in a pod of its own, no Redis)",
             "KubernetesExecutor", celery=False),
)}


@dataclass(frozen=True)
class Variable:
    """A template variable: the options it comes from, the files it changes, and its value for some options."""

    name: str
    options: str
    changes: str
    value: Callable[[ScaffoldOptions], object]


def _image_repository(o: ScaffoldOptions) -> str:
    return f"{o.registry}/{o.project}/airflow"


#: Every template variable, with the options behind it. This table is the whole answer to "which option
#: changes what": templates read nothing else.
VARIABLES: tuple[Variable, ...] = (
    Variable("base_image", "--base-image", "ARG BASE_IMAGE default of deploy/images/airflow/Dockerfile",
             lambda o: o.base_image),
    Variable("image_repository", "--registry, --project", "defaultAirflowRepository of the three Helm values files",
             _image_repository),
    Variable("image", "--registry, --project", "image of every container in deploy/k8s",
             lambda o: f"{_image_repository(o)}:{AIRFLOW_VERSION}"),
    Variable("helm_executor", "--executor", "executor of values-prod.yaml and values-enterprise.yaml",
             lambda o: EXECUTORS[o.executor].helm),
    Variable("helm_executor_comment", "--executor", "the header line of values-prod.yaml that names the executor",
             lambda o: EXECUTORS[o.executor].helm_comment),
    Variable("core_executor", "--executor", "AIRFLOW__CORE__EXECUTOR in deploy/k8s/config.yaml",
             lambda o: EXECUTORS[o.executor].core),
    Variable("celery", "--executor", "Redis and the result backend Secret in the prod and enterprise values; "
             "deploy/k8s/worker.yaml and the airflow-worker Service written or not",
             lambda o: EXECUTORS[o.executor].celery),
    Variable("helm_workers", "--workers", "workers.replicas of values-prod.yaml and values-enterprise.yaml (Celery; "
             "default 3)", lambda o: o.workers or 3),
    Variable("compose_image", "--project", "the default AIRFLOW_IMAGE of the compose stacks: the image built and "
             "pushed to the local registry (localhost:5000)",
             lambda o: f"localhost:5000/{o.project}/airflow:{AIRFLOW_VERSION}"),
    Variable("compose_project", "--project", "the compose project names (<project>-dev, <project>-prod) and their "
             "edge networks", lambda o: o.project),
    Variable("compose_workers", "--workers", "AIRFLOW_WORKERS, the Celery worker replicas of the prod compose stack "
             "(default 2)", lambda o: o.workers or 2),
    Variable("dags_dir", "--dags-dir", "the DAG folder the compose stacks mount (relative to the project)",
             lambda o: o.dags_dir),
    Variable("k8s_workers", "--workers", "replicas of the airflow-worker StatefulSet in deploy/k8s/worker.yaml "
             "(default 2)", lambda o: o.workers or 2),
)

GROUPS: dict[str, Group] = {g.name: g for g in (
    Group("image", "deploy/images/airflow/: the Airflow image (Dockerfile, entrypoint, health check, README)",
          always=True,
          next_steps=("docker build -t {image} --build-arg BASE_IMAGE={base_image} deploy/images/airflow"
                      "   # with the wheelhouse in deploy/images/airflow/wheels/ (its README.md)",
                      "docker push {image}")),
    Group("helm", "deploy/helm/values-{dev,prod,enterprise}.yaml for the official Apache Airflow chart",
          next_steps=("helm upgrade --install airflow apache-airflow/airflow -n airflow --create-namespace "
                      "-f deploy/helm/values-dev.yaml",)),
    Group("compose-dev", "deploy/compose/dev/: LocalExecutor + PostgreSQL on one Docker host, DAGs from the working "
          "tree (and deploy/images/postgres/)",
          next_steps=("docker build -t localhost:5000/dockpod/postgres:15 deploy/images/postgres"
                      " && docker push localhost:5000/dockpod/postgres:15",
                      "docker compose -f deploy/compose/dev/compose.yaml up -d --wait   # after cp .env.example .env")),
    Group("compose-prod", "deploy/compose/prod/: Celery, PostgreSQL, Redis, workers, health checks, limits, secrets "
          "as files (and deploy/images/{postgres,redis}/)",
          next_steps=("bash deploy/compose/prod/secrets.sh",
                      "docker compose -f deploy/compose/prod/compose.yaml up -d --wait"
                      "   # after cp .env.example .env")),
    Group("k8s", "deploy/k8s/*.yaml: raw manifests for teams without Helm",
          next_steps=("kubectl apply -f deploy/k8s/namespace.yaml -f deploy/k8s/rbac.yaml -f deploy/k8s/config.yaml "
                      "-f deploy/k8s/storage.yaml -f deploy/k8s/",)),
)}

#: Commands printed after every group's own.
FINAL_STEPS: tuple[str, ...] = ("dockpod lint deploy/",)

_K8S = ("namespace", "rbac", "config", "storage", "migrate-job", "scheduler", "api-server", "dag-processor",
        "triggerer", "services", "ingress", "networkpolicy")

ASSETS: tuple[Asset, ...] = (
    Asset("image", "deploy/images/airflow/Dockerfile"),
    Asset("image", "deploy/images/airflow/.dockerignore"),
    Asset("image", "deploy/images/airflow/entrypoint.sh", executable=True),
    Asset("image", "deploy/images/airflow/healthcheck.py", executable=True),
    Asset("image", "deploy/images/airflow/README.md"),
    Asset("helm", "deploy/helm/values-dev.yaml"),
    Asset("helm", "deploy/helm/values-prod.yaml"),
    Asset("helm", "deploy/helm/values-enterprise.yaml"),
    *(Asset("k8s", f"deploy/k8s/{name}.yaml") for name in _K8S),
    Asset("k8s", "deploy/k8s/worker.yaml", when="celery"),
    *(Asset(group, f"deploy/images/postgres/{name}", executable=name.endswith(".sh"))
      for group in ("compose-dev", "compose-prod") for name in ("Dockerfile", "entrypoint.sh")),
    *(Asset("compose-prod", f"deploy/images/redis/{name}", executable=name.endswith(".sh"))
      for name in ("Dockerfile", "entrypoint.sh", "healthcheck.sh")),
    *(Asset("compose-dev", f"deploy/compose/dev/{name}")
      for name in ("compose.yaml", ".env.example", "dockpod.toml", "plugins/README.md")),
    *(Asset("compose-prod", f"deploy/compose/prod/{name}", executable=name.endswith(".sh"))
      for name in ("compose.yaml", ".env.example", "dockpod.toml", "secrets.sh")),
)
