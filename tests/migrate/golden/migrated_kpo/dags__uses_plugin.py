from datetime import datetime

from airflow.sdk import DAG

from company_operators import SparkSubmitDockerOperator

# A subclass defined in another module of the tree (plugins/): the audit follows the import.
with DAG("spark", start_date=datetime(2024, 1, 1), schedule=None):
    # dockpod: the audit cannot see what SparkSubmitDockerOperator does with its own argument
    #   application; check what it passes.
    # dockpod: subclass SparkSubmitDockerOperator of DockerOperator (defined in
    #   corpus/plugins/company_operators.py): move its behaviour into the image or a plain task,
    #   then rewrite the call (migrate leaves it, since the subclass's own code would be
    #   dropped).
    SparkSubmitDockerOperator(task_id="aggregate", application="/jobs/aggregate.py")
