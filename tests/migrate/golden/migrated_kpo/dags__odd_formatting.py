from datetime import datetime
from airflow.providers.docker.operators.docker import (  # the provider
    DockerOperator,
)
from airflow.sdk import DAG, chain
from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator
from kubernetes.client import models as k8s
with DAG("odd", start_date=datetime(2024, 1, 1), schedule=None):
    # dockpod: review: set namespace=... (without it the pod goes to the namespace of the Kubernetes
    #   connection, else 'default').
    # dockpod: user='nobody' is not valid; expected a numeric uid or uid:gid, e.g. '1000' or
    #   '1000:1000'. Kubernetes runAsUser/runAsGroup take numbers only; look the ids up with
    #   `docker run --rm IMAGE id`.
    chain(KubernetesPodOperator(task_id = "a" , image = "alpine:3.20" ,  # comment after an argument
                         arguments = [ "sh" , "-c" ,
                                     # a comment inside the list
                                     "echo a" ] ,  container_security_context=k8s.V1SecurityContext(allow_privilege_escalation=False, read_only_root_filesystem=False, run_as_non_root=False) , on_finish_action="delete_pod") ,
          KubernetesPodOperator(
              # a comment before the first argument
              task_id=(
                  "b"
              ),
              image=\
                  "alpine:3.20",
              container_resources=k8s.V1ResourceRequirements(requests={"cpu": "2"}),
              volume_mounts=[k8s.V1VolumeMount(mount_path="/dev/shm", name="shm-0")],
              volumes=[k8s.V1Volume(empty_dir=k8s.V1EmptyDirVolumeSource(medium="Memory", size_limit="256Mi"), name="shm-0")],
              container_security_context=k8s.V1SecurityContext(allow_privilege_escalation=False, read_only_root_filesystem=False, run_as_non_root=False),
              on_finish_action="delete_pod",
          ),
    ); DockerOperator(task_id="c", image="alpine:3.20", user="nobody")
    # dockpod: review: set namespace=... (without it the pod goes to the namespace of the Kubernetes
    #   connection, else 'default').
    nested = [KubernetesPodOperator(
        task_id=f"n{i}",
        image="alpine:3.20",
        labels={"team": "", "data": ""},
        container_security_context=k8s.V1SecurityContext(allow_privilege_escalation=False, read_only_root_filesystem=False, run_as_non_root=False),
        on_finish_action="delete_pod",
    ) for i in range(2)]
