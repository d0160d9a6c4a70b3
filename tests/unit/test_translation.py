"""Table-driven translation: one spec field per row, checked in the Docker create body and in the
pod that the cncf.kubernetes provider's own builder makes from dockpod's arguments."""

import inspect

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dockpod.backends import docker as dk
from dockpod.backends import kubernetes as kb
from dockpod.backends.table import BASE_OPERATOR_PASSTHROUGH, DOCKER_ARGUMENTS, render_markdown
from dockpod.errors import TranslationError
from dockpod.profiles import get_profile
from dockpod.spec import ContainerSpec, Secret, Volume

IMAGE = "registry.localhost/dockpod/etl:1.0"
LOCAL = get_profile("local")
PROD = get_profile("production")


class _Op:
    """The DockerOperator attributes create_body reads, straight from operator_kwargs."""

    def __init__(self, kwargs):
        self.__dict__.update(kwargs)
        self.environment = kwargs["environment"]


def docker_body(spec):
    kwargs = dk.operator_kwargs(spec, LOCAL)
    mounts, env, labels = dk.placeholder_run(spec, _Op(kwargs))
    return dk.create_body(_Op(kwargs), dk.host_config_extras(spec), run_mounts=mounts, private_env=env,
                          run_labels=labels, healthcheck=dk.healthcheck(spec))


def pod_of(spec, profile=PROD):
    from kubernetes.client import ApiClient

    from dockpod.operators._kubernetes import DockpodKubernetesPodOperator

    op = DockpodKubernetesPodOperator(spec=spec, profile=profile, task_id="t", **kb.operator_kwargs(spec, profile))
    return ApiClient().sanitize_for_serialization(op.build_pod_request_obj(dry_run=True))


def base(pod):
    return next(c for c in pod["spec"]["containers"] if c["name"] == "base")


ROWS = [
    # id, spec fields, (path in docker body, value), (path in pod, value)
    ("image-rewrite", {}, ("Image", "localhost:5000/dockpod/etl:1.0"),
     ("spec.containers.base.image", IMAGE)),
    ("entrypoint", {"entrypoint": ["python3", "-m", "x"]}, ("Entrypoint", ["python3", "-m", "x"]),
     ("spec.containers.base.command", ["python3", "-m", "x"])),
    ("command", {"command": ["extract", "--rows", "5"]}, ("Cmd", ["extract", "--rows", "5"]),
     ("spec.containers.base.args", ["extract", "--rows", "5"])),
    ("working-dir", {"working_dir": "/data"}, ("WorkingDir", "/data"), ("spec.containers.base.workingDir", "/data")),
    ("env", {"env": {"A": "1"}}, ("Env", ["A=1"]), ("spec.containers.base.env", [{"name": "A", "value": "1"}])),
    ("cpu-request", {"resources": {"cpu_request": "500m"}}, ("HostConfig.CpuShares", 512),
     ("spec.containers.base.resources.requests.cpu", "500m")),
    ("cpu-limit", {"resources": {"cpu_limit": 1.5}}, ("HostConfig.NanoCpus", 1_500_000_000),
     ("spec.containers.base.resources.limits.cpu", "1500m")),
    ("memory-limit", {"resources": {"memory_limit": "512m"}}, ("HostConfig.Memory", 512 * 1024**2),
     ("spec.containers.base.resources.limits.memory", "512Mi")),
    ("memory-request", {"resources": {"memory_request": "256Mi"}}, ("HostConfig.MemoryReservation", 256 * 1024**2),
     ("spec.containers.base.resources.requests.memory", "256Mi")),
    ("shm", {"resources": {"shm_size": "64m"}}, ("HostConfig.ShmSize", 64 * 1024**2), None),
    ("gpus", {"resources": {"gpus": 1}}, ("HostConfig.DeviceRequests", [{"Driver": "", "Count": 1,
     "DeviceIDs": [], "Capabilities": [["gpu"]], "Options": {}}]),
     ("spec.containers.base.resources.limits.nvidia.com/gpu", "1")),
    ("user", {"security": {"user": "1000:1000"}}, ("User", "1000:1000"),
     ("spec.containers.base.securityContext.runAsGroup", 1000)),
    ("fs-group", {"security": {"user": "1000:2000"}}, None, ("spec.securityContext.fsGroup", 2000)),
    ("non-root", {}, None, ("spec.containers.base.securityContext.runAsNonRoot", True)),
    ("read-only-root", {"security": {"read_only_root_filesystem": True}}, ("HostConfig.ReadonlyRootfs", True),
     ("spec.containers.base.securityContext.readOnlyRootFilesystem", True)),
    ("cap-drop", {}, ("HostConfig.CapDrop", ["ALL"]),
     ("spec.containers.base.securityContext.capabilities.drop", ["ALL"])),
    ("cap-add", {"security": {"capabilities_add": ["NET_BIND_SERVICE"]}}, ("HostConfig.CapAdd", ["NET_BIND_SERVICE"]),
     ("spec.containers.base.securityContext.capabilities.add", ["NET_BIND_SERVICE"])),
    ("no-new-privileges", {}, ("HostConfig.SecurityOpt", ["no-new-privileges"]),
     ("spec.containers.base.securityContext.allowPrivilegeEscalation", False)),
    ("privileged", {"security": {"privileged": True, "allow_privilege_escalation": True}},
     ("HostConfig.Privileged", True), ("spec.containers.base.securityContext.privileged", True)),
    ("hostname", {"hostname": "worker"}, ("Hostname", "worker"), ("spec.hostname", "worker")),
    ("extra-hosts", {"extra_hosts": {"db.local": "10.0.0.5"}}, ("HostConfig.ExtraHosts", ["db.local:10.0.0.5"]),
     ("spec.hostAliases", [{"hostnames": ["db.local"], "ip": "10.0.0.5"}])),
    ("dns", {"dns": ["10.0.0.2"]}, ("HostConfig.Dns", ["10.0.0.2"]), ("spec.dnsConfig.nameservers", ["10.0.0.2"])),
    ("dns-policy", {"dns": ["10.0.0.2"]}, None, ("spec.dnsPolicy", "None")),
    ("dns-search", {"dns_search": ["corp"]}, ("HostConfig.DnsSearch", ["corp"]), ("spec.dnsConfig.searches", ["corp"])),
    ("labels", {"labels": {"team": "data"}}, ("Labels.team", "data"), ("metadata.labels.team", "data")),
    ("annotations", {"annotations": {"owner": "x"}}, ("Labels.io.dockpod.annotation/owner", "x"),
     ("metadata.annotations.owner", "x")),
    ("pull-policy", {"image_pull_policy": "Always"}, None, ("spec.containers.base.imagePullPolicy", "Always")),
    ("timeout", {"timeout": 600}, None, ("spec.activeDeadlineSeconds", 600)),
    ("named-volume", {"volumes": ["shared_data:/data:ro"]},
     ("HostConfig.Mounts", [{"Target": "/data", "Source": "shared_data", "Type": "volume", "ReadOnly": True}]),
     ("spec.volumes", [{"name": "claim-0", "persistentVolumeClaim": {"claimName": "shared-data"}}])),
    ("tmpfs", {"volumes": [Volume.tmpfs("/work", size="64Mi")]},
     ("HostConfig.Mounts", [{"Target": "/work", "Source": None, "Type": "tmpfs", "ReadOnly": False,
                             "TmpfsOptions": {"SizeBytes": 64 * 1024**2}}]),
     ("spec.volumes", [{"name": "scratch-0", "emptyDir": {"medium": "Memory", "sizeLimit": "64Mi"}}])),
    ("empty-dir", {"volumes": ["/scratch"]},
     ("HostConfig.Mounts", [{"Target": "/scratch", "Source": "<per-run scratch volume>", "Type": "volume",
                             "ReadOnly": False, "VolumeOptions": {"NoCopy": True}}]),
     ("spec.volumes", [{"name": "scratch-0", "emptyDir": {}}])),
    ("config", {"volumes": [Volume.config("etl-config", "/etc/etl")]}, None,
     ("spec.volumes", [{"name": "config-0", "configMap": {"name": "etl-config"}}])),
    ("secret-env", {"secrets": [Secret("db-creds", "password", env="DB_PASSWORD")]},
     ("Env", ["DB_PASSWORD=<secret db-creds/password>"]),
     ("spec.containers.base.env", [{"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {
         "name": "db-creds", "key": "password"}}}])),
    ("secret-all-keys", {"secrets": [Secret("db-creds")]}, None,
     ("spec.containers.base.envFrom", [{"secretRef": {"name": "db-creds"}}])),
    ("secret-file", {"secrets": [Secret("db-creds", "password", path="/run/secrets/password")]},
     ("HostConfig.Mounts", [{"Target": "/run/secrets", "Source": "<per-run secrets volume>", "Type": "volume",
                             "ReadOnly": True, "VolumeOptions": {"NoCopy": True}}]),
     ("spec.containers.base.volumeMounts", [{"name": "secret-0", "mountPath": "/run/secrets/password",
                                              "subPath": "password", "readOnly": True}])),
    ("xcom", {"xcom": True}, ("HostConfig.Mounts", [{"Target": "/airflow/xcom", "Source": "<per-run xcom directory>",
                                                    "Type": "bind", "ReadOnly": False}]),
     ("spec.containers.airflow-xcom-sidecar.volumeMounts", [{"mountPath": "/airflow/xcom", "name": "xcom"}])),
    ("init-container", {"init_containers": [{"name": "wait", "image": IMAGE, "command": ["sleep", "1"]}]}, None,
     ("spec.initContainers.wait.args", ["sleep", "1"])),
    ("native-sidecar", {"sidecars": [{"name": "proxy", "image": IMAGE}]}, None,
     ("spec.initContainers.proxy.restartPolicy", "Always")),
    ("liveness-probe", {"liveness_probe": {"exec": ["test", "-f", "/tmp/ok"], "period_seconds": 2,
                                           "failure_threshold": 4, "initial_delay_seconds": 5}},
     ("Healthcheck", {"Test": ["CMD", "test", "-f", "/tmp/ok"], "Interval": 2_000_000_000,
                      "Timeout": 1_000_000_000, "Retries": 4, "StartPeriod": 5_000_000_000}),
     ("spec.containers.base.livenessProbe", {"exec": {"command": ["test", "-f", "/tmp/ok"]}, "periodSeconds": 2,
                                             "failureThreshold": 4, "initialDelaySeconds": 5, "timeoutSeconds": 1,
                                             "successThreshold": 1})),
    ("sidecar-readiness-is-also-startup", {"sidecars": [{"name": "proxy", "image": IMAGE, "readiness_probe": {
        "exec": ["true"], "period_seconds": 1}}]}, None,
     ("spec.initContainers.proxy.startupProbe.exec", {"command": ["true"]})),
    ("pid-1-is-an-init", {}, ("HostConfig.Init", True), None),
]


def lookup(doc, path):
    """Follow a dotted path; a list of named items is indexed by name; unmatched keys keep their dots."""
    node = doc
    parts = path.split(".")
    while parts:
        part = parts.pop(0)
        if isinstance(node, list):
            node = next(item for item in node if item.get("name") == part)
            continue
        while part not in node and parts:
            part = f"{part}.{parts.pop(0)}"
        node = node[part]
    return node


@pytest.mark.parametrize(("fields", "docker", "pod"), [r[1:] for r in ROWS], ids=[r[0] for r in ROWS])
def test_field_translation(fields, docker, pod):
    spec = ContainerSpec(image=IMAGE, **fields)
    if docker is not None:
        assert lookup(docker_body(spec), docker[0]) == docker[1]
    if pod is not None:
        assert lookup(pod_of(spec), pod[0]) == pod[1]


def test_http_probe_is_a_parse_time_error_locally():
    spec = ContainerSpec(image=IMAGE, sidecars=[{"name": "proxy", "image": IMAGE, "readiness_probe": {
        "http_get": "/healthz", "port": 8080}}])
    with pytest.raises(TranslationError, match="readiness_probe of proxy cannot run on the docker backend: a "
                       "http_get probe cannot run locally.*Use an exec probe"):
        dk.operator_kwargs(spec, LOCAL)
    assert lookup(pod_of(spec), "spec.initContainers.proxy.readinessProbe.httpGet") == {"path": "/healthz",
                                                                                         "port": 8080}


def test_different_checks_on_one_container_are_a_parse_time_error_locally():
    spec = ContainerSpec(image=IMAGE, liveness_probe={"exec": ["a"]}, readiness_probe={"exec": ["b"]})
    with pytest.raises(TranslationError, match="one healthcheck per container"):
        dk.operator_kwargs(spec, LOCAL)


def test_docker_command_never_becomes_kubernetes_command():
    """The seed's mistake: Docker's command mapped to cmds silently replaces the ENTRYPOINT in production."""
    pod = pod_of(ContainerSpec(image=IMAGE, command=["extract"]))
    assert base(pod)["args"] == ["extract"]
    assert not base(pod).get("command")


def test_scratch_volume_shared_by_path_between_containers():
    spec = ContainerSpec(image=IMAGE, volumes=["/shared"],
                         init_containers=[{"name": "prepare", "image": IMAGE, "volumes": ["/shared"]}])
    pod = pod_of(spec)
    init = pod["spec"]["initContainers"][0]
    assert init["volumeMounts"][0]["name"] == next(m for m in base(pod)["volumeMounts"]
                                                   if m["mountPath"] == "/shared")["name"]


def test_host_path_is_warned_about_in_production_and_can_be_rejected():
    spec = ContainerSpec(image=IMAGE, volumes=["/srv/in:/in:ro"])
    with pytest.warns(UserWarning, match="hostPath"):
        kb.operator_kwargs(spec, PROD)
    strict = PROD.model_copy(update={"host_path": "reject"})
    with pytest.raises(TranslationError, match="PersistentVolumeClaim"):
        kb.operator_kwargs(spec, strict)


def test_air_gapped_settings_reach_the_pod():
    profile = PROD.model_copy(update={"image_pull_secrets": ("regcred",), "service_account": "runner",
                                      "registry_rewrites": {"registry.localhost": "registry.example.com"}})
    pod = pod_of(ContainerSpec(image=IMAGE), profile)
    assert pod["spec"]["imagePullSecrets"] == [{"name": "regcred"}]
    assert pod["spec"]["serviceAccountName"] == "runner"
    assert base(pod)["image"] == "registry.example.com/dockpod/etl:1.0"


# --- the table --------------------------------------------------------------------------------


def test_every_docker_operator_argument_is_covered():
    from airflow.providers.docker.operators.docker import DockerOperator

    params = set(inspect.signature(DockerOperator.__init__).parameters) - {"self", "kwargs"}
    missing = params - set(DOCKER_ARGUMENTS)
    assert not missing, f"DockerOperator arguments without a translation rule: {sorted(missing)}"


def test_translation_doc_matches_the_code():
    from pathlib import Path

    doc = Path(__file__).resolve().parents[2] / "docs" / "translation.md"
    assert doc.read_text() == render_markdown(), "run `dockpod docs translation`"


REJECTED = [
    ("privileged", {"privileged": True}, "capabilities"),
    ("host-network", {"network_mode": "host"}, "network"),
    ("remote-engine", {"docker_url": "tcp://build-host:2376"}, "profile"),
    ("pickled-output", {"retrieve_output": True}, "JSON"),
    ("secret-values", {"private_environment": {"TOKEN": "x"}}, "Secret("),
    ("ports", {"port_bindings": {8080: 8080}}, "Service"),
    ("ulimits", {"ulimits": ["nofile=1024"]}, "ulimits"),
    ("xcom-all", {"xcom_all": True}, "JSON"),
    ("ipc", {"ipc_mode": "host"}, "ipc_mode"),
]


@pytest.mark.parametrize(("kwargs", "fix"), [r[1:] for r in REJECTED], ids=[r[0] for r in REJECTED])
def test_untranslatable_docker_arguments_are_rejected_with_a_fix(kwargs, fix):
    with pytest.raises(TranslationError) as info:
        dk.spec_from_operator_kwargs({"image": "etl:1", **kwargs})
    assert fix in str(info.value)


def test_base_operator_arguments_pass_through_and_notes_are_reported():
    spec, notes = dk.spec_from_operator_kwargs({
        "task_id": "t", "retries": 2, "image": "etl:1", "mounts": [{"Target": "/in", "Source": "/srv", "Type": "bind"}],
        "do_xcom_push": True, "auto_remove": "never", "network_mode": "edge"})
    assert spec.volumes[0].kind == "bind"
    assert any("hostPath" in n for n in notes) and any("return.json" in n for n in notes)
    assert any("auto_remove" in n for n in notes)
    assert "task_id" in BASE_OPERATOR_PASSTHROUGH


# --- spec -> Docker kwargs -> spec ------------------------------------------------------------

_name = st.from_regex(r"[A-Z][A-Z0-9_]{0,8}", fullmatch=True)
_text = st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=12)
_path = st.from_regex(r"/[a-z]{1,6}(/[a-z]{1,6})?", fullmatch=True)


@st.composite
def specs(draw):
    targets = draw(st.lists(_path, unique=True, max_size=3))
    volumes = []
    for target in targets:
        kind = draw(st.sampled_from(["named", "bind", "tmpfs"]))
        if kind == "named":
            volumes.append(Volume.named(draw(st.from_regex(r"[a-z][a-z0-9_]{0,8}", fullmatch=True)), target,
                                        read_only=draw(st.booleans())))
        elif kind == "bind":
            volumes.append(Volume.bind(draw(_path), target, read_only=draw(st.booleans())))
        else:
            volumes.append(Volume.tmpfs(target, size=draw(st.none() | st.integers(1, 2**30))))
    return ContainerSpec(
        image=draw(st.sampled_from(["etl:1.0", "localhost:5000/a/b:2", "python:3.11-slim"])),
        entrypoint=draw(st.none() | st.lists(_text, min_size=1, max_size=3)),
        command=draw(st.none() | st.lists(_text, max_size=4)),
        env=draw(st.dictionaries(_name, _text, max_size=4)),
        volumes=volumes,
        resources={"memory_limit": draw(st.none() | st.integers(4 * 1024**2, 2**36)),
                   "cpu_request": draw(st.none() | st.integers(1, 64000).map(lambda m: m / 1000)),
                   "shm_size": draw(st.none() | st.integers(1, 2**30))},
        security={"user": draw(st.none() | st.from_regex(r"[1-9][0-9]{0,4}(:[0-9]{1,5})?", fullmatch=True)),
                  "capabilities_add": draw(st.lists(st.sampled_from(["NET_ADMIN", "SYS_TIME", "CHOWN"]),
                                                    unique=True))},
        hostname=draw(st.none() | st.from_regex(r"[a-z]{1,8}", fullmatch=True)),
        dns=draw(st.lists(st.sampled_from(["10.0.0.2", "1.1.1.1"]), unique=True)),
        extra_hosts=draw(st.dictionaries(st.from_regex(r"[a-z]{1,6}\.local", fullmatch=True),
                                         st.sampled_from(["10.0.0.5", "127.0.0.1"]), max_size=2)),
        labels=draw(st.dictionaries(st.from_regex(r"[a-z]{1,6}", fullmatch=True), _text, max_size=2)),
        skip_on_exit_code=draw(st.lists(st.integers(1, 255), unique=True, max_size=2)),
        xcom=draw(st.booleans()),
        image_pull_policy=draw(st.sampled_from([None, "Always"])),
    )


ROUND_TRIP_FIELDS = ("image", "entrypoint", "command", "env", "volumes", "hostname", "dns", "extra_hosts",
                     "labels", "skip_on_exit_code", "xcom", "image_pull_policy")


@settings(max_examples=150, deadline=None)
@given(specs())
def test_spec_to_docker_kwargs_and_back(spec):
    kwargs = dk.operator_kwargs(spec, LOCAL)
    back, _notes = dk.spec_from_operator_kwargs(kwargs)
    for name in ROUND_TRIP_FIELDS:
        assert getattr(back, name) == getattr(spec, name), name
    for name in ("memory_limit", "shm_size"):
        assert getattr(back.resources, name) == getattr(spec.resources, name), name
    # DockerOperator's default cpus=1.0 (1024 shares) cannot be told apart from a request of one core.
    assert back.resources.cpu_request == (None if spec.resources.cpu_request == 1000 else spec.resources.cpu_request)
    assert back.security.user == spec.security.user
    assert back.security.capabilities_add == spec.security.capabilities_add
