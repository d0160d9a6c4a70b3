"""Company-wide operators (a plugin module, imported by DAGs)."""
from airflow.providers.docker.operators.docker import DockerOperator


class SparkSubmitDockerOperator(DockerOperator):
    """Runs spark-submit in the team's Spark image."""

    def __init__(self, *, application: str, **kwargs):
        super().__init__(image="registry.example.com/spark:3.5", command=["spark-submit", application],
                         shm_size="2g", **kwargs)


class PrivilegedSparkOperator(SparkSubmitDockerOperator):
    """Spark with access to the host's devices."""

    def __init__(self, **kwargs):
        super().__init__(privileged=True, **kwargs)


def default_job():
    # dockpod: the audit cannot see what SparkSubmitDockerOperator does with its own argument
    #   application; check what it passes.
    # dockpod: subclass SparkSubmitDockerOperator of DockerOperator (defined in this file): move its
    #   behaviour into the image or a plain task, then rewrite the call (migrate leaves it, since
    #   the subclass's own code would be dropped).
    return SparkSubmitDockerOperator(task_id="spark_default", application="/jobs/default.py")
