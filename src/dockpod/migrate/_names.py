"""What the audit looks for, as data: qualified names, byte markers and pattern-level findings."""

from __future__ import annotations

#: Every import path under which DockerOperator has been published.
DOCKER_OPERATOR = frozenset({
    "airflow.providers.docker.operators.docker.DockerOperator",
    "airflow.operators.docker_operator.DockerOperator",  # Airflow 1.10
    "airflow.contrib.operators.docker_operator.DockerOperator",
})

#: Every import path under which KubernetesPodOperator has been published.
KUBERNETES_POD_OPERATOR = frozenset({
    "airflow.providers.cncf.kubernetes.operators.pod.KubernetesPodOperator",
    "airflow.providers.cncf.kubernetes.operators.kubernetes_pod.KubernetesPodOperator",
    "airflow.contrib.operators.kubernetes_pod_operator.KubernetesPodOperator",
})

#: The ``task`` objects whose ``.docker`` attribute is the DockerOperator decorator.
TASK_DECORATOR = frozenset({"airflow.decorators.task", "airflow.sdk.task"})
#: The decorator itself, imported directly.
DOCKER_DECORATOR = frozenset({
    "airflow.providers.docker.decorators.docker.docker_task",
    "airflow.decorators.task.docker",
    "airflow.sdk.task.docker",
})

#: Arguments of @task.docker that belong to the decorator (the Python callable), not to DockerOperator.
DECORATOR_ONLY = ("python_command", "expect_airflow", "serializer", "use_dill", "op_args", "op_kwargs",
                  "templates_dict", "templates_exts", "show_return_value_in_logs", "python_callable")

#: The DAG constructors and decorators whose ``default_args`` reach the operators inside them.
DAG_CONSTRUCTOR = frozenset({"airflow.DAG", "airflow.models.DAG", "airflow.models.dag.DAG", "airflow.sdk.DAG"})
DAG_DECORATOR = frozenset({"airflow.decorators.dag", "airflow.sdk.dag", "airflow.models.dag.dag"})

#: Mount types of the docker SDK, whose calls the audit reads as literal mounts.
MOUNT = frozenset({"docker.types.Mount", "docker.types.services.Mount"})

#: A file is parsed only when its bytes hold one of these.
MARKERS = (b"DockerOperator", b"docker_operator", b"task.docker", b"docker_task", b"KubernetesPodOperator",
           b"kubernetes_pod")

#: Folders never walked into: tool caches, virtual environments, version control.
SKIP_DIRS = frozenset({"__pycache__", "node_modules", "site-packages", "venv"})

#: Findings that come from how DockerOperator is used, not from its arguments: (verdict, reason).
PATTERN_FINDINGS: dict[str, tuple[str, str]] = {
    "decorator": ("review", "@task.docker pickles the decorated Python function into the image and its return "
                            "value back; dockpod runs a command and reads JSON, so the function must become a "
                            "script in the image."),
    "subclass": ("review", "this class subclasses DockerOperator; its own methods and arguments do not migrate "
                           "and must be rewritten on container_task."),
    "subclass_call": ("review", "{operator} subclasses DockerOperator (line {line}); check what its own code adds."),
    "subclass_call_elsewhere": ("review", "{operator} subclasses DockerOperator ({file}, line {line}); check what "
                                          "its own code adds."),
    "partial": ("review", "container_task has no .partial()/.expand() form yet, so this mapped task is not "
                          "rewritten automatically; the values given to .expand() are known only at run time."),
}
