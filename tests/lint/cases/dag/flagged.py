# Each line that must be flagged says which rule, in a comment: tests/lint/test_lint.py reads them.
from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator
from airflow.sdk import DAG

from dockpod import Volume
from dockpod import container_task as task

with DAG("flagged"):
    task(task_id="a", image="registry.example.com/etl")  # expect: DP501 DP502
    task(
        task_id="b",
        image="registry.example.com/etl:latest",  # expect: DP501
        env={"DB_PASSWORD": "hunter2", "MODE": "fast"},  # expect: DP503
        volumes=["/srv/data:/data"],  # expect: DP504
        resources={"memory_limit": "1Gi"},
    )
    task(task_id="c", image="registry.example.com/etl:1.0", resources={"memory_limit": "big"})  # expect: DP506
    task(task_id="d", image="registry.example.com/etl:1.0", resources={"memory_limit": "1Gi"},
         volumes=[Volume.bind("/srv/x", "/x")])  # expect: DP504
    KubernetesPodOperator(task_id="e", image="registry.example.com/etl:1.0",
                          cmds=["extract", "--rows", "5"])  # expect: DP505
    KubernetesPodOperator(task_id="f", image="registry.example.com/etl:1.0",
                          env_vars={"API_TOKEN": "{{ var.value.token }}"})  # expect: DP503
    # expect-below: DP001 (the ignore below has no reason, so it is reported; it still applies)
    task(task_id="g", image="registry.example.com/etl:latest")  # dockpod: ignore[DP501, DP502]
    task(task_id="h", image="registry.example.com/etl:1.0", resources={"cpu_limit": "1"},
         env={"SECRET_KEY": "x"})  # dockpod: ignore[DP503] test fixture, not a real key
