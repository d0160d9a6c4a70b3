from datetime import timedelta

import pytest

from dockpod.errors import SpecError
from dockpod.spec import ContainerSpec, Resources, Secret, Security, Volume

IMAGE = "registry.localhost/dockpod/etl:1.0"


def test_docker_notation_volumes_are_parsed():
    spec = ContainerSpec(image=IMAGE, volumes=["shared_data:/data:ro", "/srv:/srv", "/scratch"])
    assert [(v.kind, v.source, v.target, v.read_only) for v in spec.volumes] == [
        ("named", "shared_data", "/data", True),
        ("bind", "/srv", "/srv", False),
        ("empty_dir", None, "/scratch", False),
    ]
    assert spec.volumes[0].claim_name == "shared-data"


def test_constructors_and_normalization():
    spec = ContainerSpec(
        image=IMAGE, command="extract --rows {{ params.rows }}", env={"N": 3, "FLAG": True},
        resources={"memory_limit": "2g", "memory_request": "512Mi", "cpu_request": 0.5, "cpu_limit": "2"},
        security={"user": 1000, "capabilities_add": ["cap_net_bind_service"]},
        volumes=[Volume.tmpfs("/tmp/work", size="64m"), Volume.config("etl-config", "/etc/etl")],
        secrets=[Secret("db-creds", "password", env="DB_PASSWORD"), Secret("tls", path="/etc/tls")],
        timeout=timedelta(minutes=5), skip_on_exit_code=99,
    )
    assert spec.command == ("extract", "--rows", "{{ params.rows }}")
    assert spec.env == {"N": "3", "FLAG": "true"}
    assert spec.resources == Resources(memory_limit=2 * 1024**3, memory_request=512 * 1024**2,
                                       cpu_request=0.5, cpu_limit=2)
    assert spec.security.capabilities_add == ("NET_BIND_SERVICE",)
    assert spec.security.user == "1000"
    assert spec.volumes[0].size == 64 * 1024**2
    assert spec.timeout == 300 and spec.skip_on_exit_code == (99,)


def test_safe_defaults():
    security = ContainerSpec(image=IMAGE).security
    assert security.run_as_non_root and not security.privileged and not security.allow_privilege_escalation
    assert security.capabilities_drop == ("ALL",)


INVALID = [
    ("image", {"image": "Not An Image"}, "image="),
    ("unknown-field", {"image": IMAGE, "cmds": ["x"]}, "cmds="),
    ("memory", {"image": IMAGE, "resources": {"memory_limit": "lots"}}, "resources.memory_limit="),
    ("cpu", {"image": IMAGE, "resources": {"cpu_limit": "2Gi"}}, "resources.cpu_limit="),
    ("request-above-limit", {"image": IMAGE, "resources": {"memory_request": "2g", "memory_limit": "1g"}},
     "memory_request"),
    ("user-name", {"image": IMAGE, "security": {"user": "etl"}}, "security.user="),
    ("root-non-root", {"image": IMAGE, "security": {"user": "0:0"}}, "run_as_non_root"),
    ("privileged-no-escalation", {"image": IMAGE, "security": {"privileged": True}}, "privileged"),
    ("capability", {"image": IMAGE, "security": {"capabilities_add": ["FLY"]}}, "capabilities_add"),
    ("volume", {"image": IMAGE, "volumes": ["data:relative"]}, "volumes="),
    ("volume-twice", {"image": IMAGE, "volumes": ["a:/x", "b:/x"]}, "mounted twice"),
    ("secret-name", {"image": IMAGE, "secrets": [{"name": "Bad_Name", "key": "k", "env": "X"}]}, "secrets.name"),
    ("secret-env-needs-key", {"image": IMAGE, "secrets": [{"name": "db", "env": "X"}]}, "key"),
    ("secret-env-and-plain", {"image": IMAGE, "env": {"X": "1"}, "secrets": [Secret("db", "k", env="X")]}, "env="),
    ("working-dir", {"image": IMAGE, "working_dir": "data"}, "working_dir="),
    ("timeout", {"image": IMAGE, "timeout": -5}, "timeout="),
    ("env-value", {"image": IMAGE, "env": {"X": None}}, "env.X="),
    ("extra-hosts", {"image": IMAGE, "extra_hosts": {"db": "not-an-ip"}}, "extra_hosts.db="),
    ("sidecar-name", {"image": IMAGE, "sidecars": [{"image": IMAGE}]}, "no name"),
    ("sidecar-dup", {"image": IMAGE, "sidecars": [{"image": IMAGE, "name": "base"}]}, "repeat"),
    ("probe-none", {"image": IMAGE, "liveness_probe": {}}, "exactly one kind of check"),
    ("probe-two-kinds", {"image": IMAGE, "liveness_probe": {"exec": ["true"], "tcp_socket": True, "port": 1}},
     "mixes kinds"),
    ("probe-port-missing", {"image": IMAGE, "readiness_probe": {"http_get": "/healthz"}},
     "port=None is required by http_get"),
    ("probe-path", {"image": IMAGE, "readiness_probe": {"http_get": "healthz", "port": 80}}, "URL path"),
    ("probe-period", {"image": IMAGE, "readiness_probe": {"exec": ["true"], "period_seconds": 0}}, "at least 1"),
    ("liveness-success-threshold", {"image": IMAGE, "liveness_probe": {"exec": ["true"], "success_threshold": 2}},
     "must be 1"),
    ("init-probe", {"image": IMAGE, "init_containers": [{"name": "i", "image": IMAGE, "readiness_probe": {
        "exec": ["true"]}}]}, "cannot have probes"),
    ("tmpfs-on-named", {"image": IMAGE, "volumes": [{"kind": "named", "source": "a", "target": "/a", "size": 5}]},
     "size"),
]


@pytest.mark.parametrize(("kwargs", "field"), [r[1:] for r in INVALID], ids=[r[0] for r in INVALID])
def test_invalid_input_names_the_field(kwargs, field):
    with pytest.raises(SpecError) as info:
        ContainerSpec(**kwargs)
    assert field in str(info.value)
    assert "Traceback" not in str(info.value)


def test_secret_positional_and_description_hold_no_value():
    secret = Secret("db-creds", "password", env="DB_PASSWORD")
    assert (secret.name, secret.key, secret.env) == ("db-creds", "password", "DB_PASSWORD")
    assert secret.describe() == "secret db-creds/password -> env DB_PASSWORD"


def test_secret_volume_is_a_secret_file():
    spec = ContainerSpec(image=IMAGE, volumes=[Volume.secret("tls", "/etc/tls")])
    assert spec.secret_files() == [Secret("tls", path="/etc/tls")]


def test_profile_defaults_do_not_override_task_settings():
    spec = ContainerSpec(image=IMAGE, resources={"cpu_request": "250m"}, security={"user": "1000:1000"})
    merged = spec.with_defaults(Resources(cpu_request=1, memory_limit="1g"), Security(read_only_root_filesystem=True))
    assert merged.resources.cpu_request == 250 and merged.resources.memory_limit == 1024**3
    assert merged.security.user == "1000:1000" and merged.security.read_only_root_filesystem


def test_profile_defaults_are_checked_together_with_the_task():
    spec = ContainerSpec(image=IMAGE, resources={"memory_request": "2g"})
    with pytest.raises(SpecError, match="memory_request"):
        spec.with_defaults(Resources(memory_limit="1g"), Security())
