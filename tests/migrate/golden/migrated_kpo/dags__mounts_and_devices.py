from datetime import datetime

from airflow.providers.docker.operators.docker import DockerOperator
from airflow.sdk import DAG
from docker.types import DeviceRequest, Mount

SCRATCH = [Mount("/scratch", None, type="tmpfs", tmpfs_size=268435456)]

with DAG("training", start_date=datetime(2024, 1, 1), schedule=None):
    # dockpod: mounts come from [Mount("/models", "/srv/models", type="bind"), *SCRATCH], which is known
    #   only at run time; check that each one becomes the right volume.
    # dockpod: device_requests translate for GPUs only (to limits nvidia.com/gpu, 'all' becomes 1);
    #   check the count and that nothing else was requested.
    # dockpod: env_file is read into env_vars once, when the DAG is migrated; later edits of that file
    #   will not reach the task.
    # dockpod: mounts=[Mount("/models", "/srv/models", type="bind"), *SCRATCH] is known only at run
    #   time, and KubernetesPodOperator needs it translated (volume_mounts, volumes); write it by
    #   hand.
    DockerOperator(
        task_id="train",
        image="registry.example.com/ml/train:cuda12",
        mounts=[Mount("/models", "/srv/models", type="bind"), *SCRATCH],
        device_requests=[DeviceRequest(count=-1, capabilities=[["gpu"]])],
        env_file="{{ var.value.train_env }}",
    )
    # dockpod: mounts come from SCRATCH, which is known only at run time; check that each one becomes
    #   the right volume.
    # dockpod: private_environment={'API_KEY': "{{ var.value.api_key }}"}: it holds secret values in the
    #   DAG. Put the value in a Kubernetes Secret and pass it with secrets=[Secret("env", VAR,
    #   name, key)] (airflow.providers.cncf.kubernetes.secret).
    # dockpod: xcom_all=True: KubernetesPodOperator pushes the JSON result, not log lines. Write the
    #   value as JSON to /airflow/xcom/return.json.
    DockerOperator(
        task_id="evaluate",
        image="registry.example.com/ml/train:cuda12",
        mounts=SCRATCH,
        private_environment={"API_KEY": "{{ var.value.api_key }}"},
        xcom_all=True,
    )
