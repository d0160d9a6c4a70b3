"""Re-make the task log fixtures in tests/doctor/logs/ by running real failing tasks.

    .venv/bin/python tests/doctor/capture_logs.py [CASE ...]

Each case is a one-task DAG run with ``airflow dags test`` in a private AIRFLOW_HOME against the real
Docker engine and registry; the command's whole output (the task log Airflow prints) is saved as
``logs/CASE.log``. The ``kpo_*`` cases cannot reach a cluster (none exists here): their task calls the
real provider's ``KubernetesPodOperator.cleanup`` with a pod status built as the API returns it, so the
failure text is the provider's own while the status is made up; each such log says so in its first line.
Containers get the label io.dockpod.test=doctor and are removed; nothing else is left behind.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
AIRFLOW = REPO / ".venv" / "bin" / "airflow"
ETL = "localhost:5000/dockpod/etl:1.0"
ARM_IMAGE = "dockpod-test/arm64only:doctor-logs"

HEAD = '''
import pendulum
from airflow.sdk import DAG
START = pendulum.datetime(2024, 1, 1, tz="UTC")
'''
DOCKPOD = HEAD + "from dockpod import container_task, Volume\n"
PLAIN = HEAD + ("from airflow.providers.docker.operators.docker import DockerOperator\n"
                "from docker.types import Mount\n")
LABELS = "{'io.dockpod.test': 'doctor'}"


def kpo(state: str, *, init: str = "None", limit: str = "'256Mi'") -> str:
    return HEAD + textwrap.dedent(f'''
        from kubernetes.client import models as k8s
        from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator

        class StatusOnly(KubernetesPodOperator):
            """No cluster here: hand the provider's own clean-up a pod status as the API returns it."""
            # The three calls that would reach the API server; everything else is the provider's code.
            def is_istio_enabled(self, pod):
                return False
            def patch_already_checked(self, pod, *, reraise=True):
                return None
            def process_pod_deletion(self, pod, *, reraise=True):
                return None
            def execute(self, context):
                pod = self.build_pod_request_obj(context)
                pod.metadata.name = "etl-7f3k2"
                remote = k8s.V1Pod(metadata=pod.metadata, spec=pod.spec, status=k8s.V1PodStatus(
                    phase="Failed", init_container_statuses={init},
                    container_statuses=[k8s.V1ContainerStatus(name="base", image=self.image, image_id="",
                                                              ready=False, restart_count=0, state={state})]))
                self.log.info("NOTE: no Kubernetes cluster; this pod status is built in the task, the failure "
                              "text below is the provider's own")
                self.cleanup(pod, remote, context=context)
        ''')


def kpo_task(image: str = "registry.example.com/dockpod/etl:1.0") -> str:
    return (f'StatusOnly(task_id="t", image={image!r}, name="etl", namespace="airflow", '
            'on_finish_action="keep_pod", container_resources=k8s.V1ResourceRequirements('
            'limits={"memory": "256Mi"}), config_file=KUBECONFIG)')


TERM = "k8s.V1ContainerState(terminated=k8s.V1ContainerStateTerminated(exit_code={code}, reason={reason!r}))"
WAIT = "k8s.V1ContainerState(waiting=k8s.V1ContainerStateWaiting(reason={reason!r}, message={message!r}))"


def cases(bind_dir: str, kubeconfig: str) -> dict[str, tuple[str, str]]:
    """name -> (DAG header, task source)."""
    k = f"KUBECONFIG = {kubeconfig!r}\n"
    return {
        "dockpod_oom": (DOCKPOD, f'container_task(task_id="t", image={ETL!r}, command=["alloc", "300"], '
                                 'resources={"memory_limit": "64Mi"})'),
        "dockpod_image_not_found": (DOCKPOD, 'container_task(task_id="t", image="localhost:5000/dockpod/etl:9.9", '
                                             'command=["env"])'),
        "dockpod_registry_unreachable": (DOCKPOD, 'container_task(task_id="t", image="localhost:5999/dockpod/etl:1.0",'
                                                  ' command=["env"])'),
        "dockpod_command_not_found": (DOCKPOD, f'container_task(task_id="t", image={ETL!r}, '
                                               'entrypoint=["etl-run"], command=["extract"])'),
        "dockpod_permission_denied": (DOCKPOD, f'container_task(task_id="t", image={ETL!r}, command=["extract", '
                                               f'"--rows", "5", "--out", "/data/rows.json"], '
                                               f'volumes=[Volume.bind({bind_dir!r}, "/data")])'),
        "dockpod_exec_format": (DOCKPOD, f'container_task(task_id="t", image={ARM_IMAGE!r}, '
                                         'image_pull_policy="Never", security={"user": "1000:1000"})'),
        "dockpod_exit_code": (DOCKPOD, f'container_task(task_id="t", image={ETL!r}, command=["exit", "3"])'),
        "docker_operator_oom": (PLAIN, f'DockerOperator(task_id="t", image={ETL!r}, command=["alloc", "300"], '
                                       f'mem_limit="64m", labels={LABELS}, auto_remove="force")'),
        "docker_operator_command_not_found": (PLAIN, f'DockerOperator(task_id="t", image={ETL!r}, '
                                                     f'entrypoint=["etl-run"], labels={LABELS}, auto_remove="force")'),
        "docker_operator_image_not_found": (PLAIN, 'DockerOperator(task_id="t", image="localhost:5000/dockpod/etl:9.9",'
                                                   f' labels={LABELS}, auto_remove="force")'),
        "docker_operator_exec_format": (PLAIN, f'DockerOperator(task_id="t", image={ARM_IMAGE!r}, labels={LABELS}, '
                                               'auto_remove="force")'),
        "docker_operator_permission_denied": (PLAIN, f'DockerOperator(task_id="t", image={ETL!r}, command=['
                                                     '"extract", "--rows", "5", "--out", "/data/rows.json"], '
                                                     f'mounts=[Mount("/data", {bind_dir!r}, type="bind")], '
                                                     f'labels={LABELS}, auto_remove="force")'),
        "kpo_oom": (kpo(TERM.format(code=137, reason="OOMKilled")) + k, kpo_task()),
        "kpo_exit_code": (kpo(TERM.format(code=3, reason="Error")) + k, kpo_task()),
        "kpo_image_pull": (kpo(WAIT.format(reason="ErrImagePull", message=(
            'rpc error: code = NotFound desc = failed to pull and unpack image "registry.example.com/dockpod/'
            'etl:9.9": failed to resolve reference "registry.example.com/dockpod/etl:9.9": '
            'registry.example.com/dockpod/etl:9.9: not found'))) + k,
            kpo_task("registry.example.com/dockpod/etl:9.9")),
        "kpo_crash_loop": (kpo(WAIT.format(reason="CrashLoopBackOff", message=(
            "back-off 40s restarting failed container=base pod=etl-7f3k2_airflow(0b1c)")))
            .replace("restart_count=0", "restart_count=3, last_state=k8s.V1ContainerState(terminated="
                     "k8s.V1ContainerStateTerminated(exit_code=1, reason='Error'))") + k, kpo_task()),
    }


def main(selected: list[str]) -> None:
    sys.path.insert(0, str(HERE.parent))
    from doctor.foreign_arch import build_foreign_arch_image

    home = Path(tempfile.mkdtemp(prefix="dockpod-doctor-capture-"))
    bind_dir = tempfile.mkdtemp(prefix="dockpod-doctor-root0700-")
    os.chmod(bind_dir, 0o700)  # owned by root (this script runs as root), the container runs as uid 1000
    kubeconfig = home / "kubeconfig"
    kubeconfig.write_text(textwrap.dedent("""
        apiVersion: v1
        kind: Config
        clusters: [{name: none, cluster: {server: "https://127.0.0.1:1"}}]
        users: [{name: none, user: {token: not-a-secret}}]
        contexts: [{name: none, context: {cluster: none, user: none, namespace: airflow}}]
        current-context: none
    """))
    env = {**os.environ, "AIRFLOW_HOME": str(home), "AIRFLOW__CORE__DAGS_FOLDER": str(home / "dags"),
           "AIRFLOW__CORE__LOAD_EXAMPLES": "False", "AIRFLOW_ENVIRONMENT": "local"}
    env.pop("DOCKPOD_CONFIG", None)
    (home / "dags").mkdir()
    subprocess.run([str(AIRFLOW), "db", "migrate"], env=env, check=True, capture_output=True)
    build_foreign_arch_image(ARM_IMAGE)
    try:
        for name, (header, task) in cases(bind_dir, str(kubeconfig)).items():
            if selected and name not in selected:
                continue
            dag_id = f"doctor_{name}"
            source = f"{header}\nwith DAG({dag_id!r}, start_date=START, schedule=None) as dag:\n    {task}\n"
            (home / "dags" / f"{dag_id}.py").write_text(source)
            run = subprocess.run([str(AIRFLOW), "dags", "test", dag_id], env=env, capture_output=True, text=True,
                                 timeout=600)
            text = run.stdout + run.stderr
            for secretish in (str(home), bind_dir):
                text = text.replace(secretish, "/tmp/" + Path(secretish).name)
            (HERE / "logs" / f"{name}.log").write_text(text)
            print(f"{name}: exit {run.returncode}, {len(text.splitlines())} lines")
            (home / "dags" / f"{dag_id}.py").unlink()
    finally:
        left = subprocess.run(["docker", "ps", "-aq", "--filter", "label=io.dockpod.test=doctor"],
                              capture_output=True, text=True).stdout.split()
        if left:
            subprocess.run(["docker", "rm", "-f", *left], capture_output=True)
        subprocess.run(["docker", "rmi", ARM_IMAGE], capture_output=True)
        subprocess.run(["rm", "-rf", str(home), bind_dir], check=False)


if __name__ == "__main__":
    main(sys.argv[1:])
