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

#: Class attributes a DockerOperator subclass may set and still be trivial: its calls migrate as
#: DockerOperator's (templated fields and the colours of the Airflow UI shape no container).
HARMLESS_ATTRIBUTES = frozenset({"template_fields", "template_ext", "template_fields_renderers", "ui_color",
                                 "ui_fgcolor", "custom_operator_name"})

_SUBCLASS_ADVICE = ("move its behaviour into the image or a plain task, then rewrite the call{s} "
                    "(migrate leaves {it}, since the subclass's own code would be dropped).")

#: Findings that come from how DockerOperator is used, not from its arguments: (verdict, reason).
#: ``{operator}`` is the subclass, ``{where}`` where it is defined (``defined in plugins/ops.py``).
PATTERN_FINDINGS: dict[str, tuple[str, str]] = {
    "decorator": ("review", "@task.docker pickles the decorated Python function into the image and its return "
                            "value back; dockpod runs a command and reads JSON, so the function must become a "
                            "script in the image."),
    "subclass": ("manual", "this class subclasses DockerOperator with code or arguments of its own, which do "
                           "not migrate: " + _SUBCLASS_ADVICE.format(s="s", it="them")),
    "subclass_trivial": ("review", "this class adds only class attributes to DockerOperator: its calls migrate "
                                   "as DockerOperator's; remove the class once nothing uses it."),
    "subclass_call": ("manual", "subclass {operator} of DockerOperator ({where}): "
                                + _SUBCLASS_ADVICE.format(s="", it="it")),
    "subclass_call_elsewhere": ("manual", "subclass {operator} of DockerOperator ({where}): "
                                + _SUBCLASS_ADVICE.format(s="", it="it")),
    "partial": ("review", "container_task has no .partial()/.expand() form yet, so this mapped task is not "
                          "rewritten automatically; the values given to .expand() are known only at run time."),
}

#: A call whose DAG's default_args give it DockerOperator arguments known only at run time (``{keys}``).
DEFAULT_ARGS_KEPT = ("default_args {keys}: known only at run time, so the rewrite does not carry them into "
                     "this task; set them on it by hand.")
