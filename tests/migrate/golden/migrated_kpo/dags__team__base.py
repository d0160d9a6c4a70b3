from airflow.providers.docker.operators.docker import DockerOperator


class TeamBaseOperator(DockerOperator):
    """Trivial: a docstring and the UI colour."""

    ui_color = "#ffcc00"
