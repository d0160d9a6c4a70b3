"""One row per rule of dockpod.migrate.assess: (kwargs, options, expected verdict, words in the reasons)."""

import pytest

from dockpod.migrate.assess import Assessment, Dynamic, assess, worst

BIND = {"Type": "bind", "Source": "/srv/data", "Target": "/data", "ReadOnly": False}
NAMED = {"Type": "volume", "Source": "shared_data", "Target": "/data", "ReadOnly": True}

CASES = [
    # id, kwargs, options, verdict, fragments that must appear in the reasons
    ("plain-call", {"task_id": "t", "image": "etl:1.0", "command": ["run"]}, {}, "auto", []),
    ("base-operator-args-pass", {"task_id": "t", "image": "etl:1.0", "retries": 3, "pool": "p",
                                 "execution_timeout": Dynamic("timedelta(minutes=5)")}, {}, "auto", []),
    ("unknown-argument", {"image": "etl:1.0", "volumes": ["/a:/b"]}, {}, "manual", ["volumes is an unknown argument"]),
    ("rejected-literal", {"image": "etl:1.0", "privileged": True}, {}, "manual",
     ["privileged=True: a privileged container", "capabilities_add"]),
    ("rejected-accepted-literal", {"image": "etl:1.0", "privileged": False}, {}, "auto", []),
    ("rejected-network-host", {"image": "etl:1.0", "network_mode": "host"}, {}, "manual", ["network_mode='host'"]),
    ("rejected-network-user-defined", {"image": "etl:1.0", "network_mode": "etl_net"}, {}, "auto", []),
    ("rejected-remote-engine", {"image": "etl:1.0", "docker_url": "tcp://builder:2375"}, {}, "manual",
     ["remote Docker engine"]),
    ("rejected-local-engine", {"image": "etl:1.0", "docker_url": "unix://var/run/docker.sock"}, {}, "auto", []),
    ("rejected-dynamic", {"image": "etl:1.0", "docker_url": Dynamic("Variable.get('engine')")}, {}, "manual",
     ["cannot tell at parse time whether docker_url=Variable.get('engine')"]),
    ("profile-not-accepted", {"image": "etl:1.0", "tls_ca_cert": "/certs/ca.pem"}, {}, "review", ["tls_ca_cert"]),
    ("profile-accepted", {"image": "etl:1.0", "docker_conn_id": "registry"}, {}, "auto", []),
    ("runtime-not-accepted", {"image": "etl:1.0", "container_name": "etl"}, {}, "review",
     ["names containers per run"]),
    ("runtime-accepted", {"image": "etl:1.0", "auto_remove": "success", "mount_tmp_dir": False}, {}, "auto", []),
    ("runtime-dynamic", {"image": "etl:1.0", "tty": Dynamic("debug")}, {}, "review", ["tty=debug is known only"]),
    ("carried-dynamic", {"task_id": Dynamic('f"load_{t}"'), "image": Dynamic("IMAGES[t]"),
                         "command": ["load", Dynamic("t")], "environment": {"T": Dynamic("t")},
                         "mem_limit": Dynamic("size")}, {}, "auto", []),
    ("templated-string-is-dynamic", {"image": "etl:1.0", "command": Dynamic('"{{ params.cmd }}"')}, {}, "auto", []),
    ("translated-dynamic-not-carried", {"image": "etl:1.0", "mounts": [NAMED], "force_pull": True,
                                        "skip_on_exit_code": Dynamic("codes")}, {}, "auto", []),
    ("mounts-named", {"image": "etl:1.0", "mounts": [NAMED]}, {}, "auto", []),
    ("mounts-bind", {"image": "etl:1.0", "mounts": [BIND]}, {}, "review", ["hostPath"]),
    ("mounts-dynamic", {"image": "etl:1.0", "mounts": Dynamic("MOUNTS")}, {}, "review", ["mounts come from MOUNTS"]),
    ("mounts-dynamic-entry", {"image": "etl:1.0", "mounts": [NAMED, Dynamic("extra")]}, {}, "review",
     ["known only at run time"]),
    ("env-file", {"image": "etl:1.0", "env_file": "A=1\n"}, {}, "review", ["env_file is read into env once"]),
    ("device-requests", {"image": "etl:1.0", "device_requests": Dynamic("[DeviceRequest(count=-1)]")}, {},
     "review", ["GPUs only"]),
    ("spec-error-is-manual", {"image": "etl:1.0", "user": "airflow"}, {}, "manual", ["security.user='airflow'"]),
    ("bad-size-is-manual", {"image": "etl:1.0", "mem_limit": "lots"}, {}, "manual", ["memory_limit"]),
    ("unreadable-value-is-manual", {"image": "etl:1.0", "cpus": "two"}, {}, "manual", ["cannot be read"]),
    ("xcom-read", {"task_id": "t", "image": "etl:1.0"}, {"xcom_used": True}, "review", ["last log line"]),
    ("xcom-read-but-off", {"image": "etl:1.0", "do_xcom_push": False}, {"xcom_used": True}, "auto", []),
    ("xcom-read-dynamic", {"image": "etl:1.0", "do_xcom_push": Dynamic("PUSH")}, {"xcom_used": True}, "review",
     ["last log line"]),
    ("xcom-unknown", {"image": "etl:1.0", "do_xcom_push": True}, {"xcom_used": None}, "auto", []),
    ("xcom-not-read", {"image": "etl:1.0"}, {"xcom_used": False}, "auto", []),
    ("opaque", {"image": "etl:1.0"}, {"opaque": ("**common",)}, "review", ["cannot see **common"]),
    ("manual-beats-review", {"image": "etl:1.0", "privileged": True, "mounts": [BIND]}, {"opaque": ("*args",)},
     "manual", ["privileged", "hostPath", "*args"]),
    ("no-image-is-not-judged-here", {"task_id": "t"}, {}, "auto", []),
]


@pytest.mark.parametrize(("kwargs", "options", "verdict", "fragments"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_assess(kwargs, options, verdict, fragments):
    result = assess(kwargs, **options)
    assert result.verdict == verdict, result.reasons
    text = " ".join(result.reasons)
    for fragment in fragments:
        assert fragment in text
    if verdict == "auto":
        assert result.reasons == ()
    assert all(reason.endswith(".") or reason.endswith(").") for reason in result.reasons), result.reasons


def test_assessment_is_frozen():
    result = assess({"image": "etl:1.0"})
    with pytest.raises(AttributeError):
        result.verdict = "manual"  # type: ignore[misc]


def test_worst_keeps_the_most_severe_verdict_and_every_reason_once():
    merged = worst(Assessment("review", ("a.", "b.")), Assessment("manual", ("b.", "c.")), Assessment("auto"))
    assert merged == Assessment("manual", ("a.", "b.", "c."))
    assert worst(Assessment("auto")) == Assessment("auto")


# --- the reasons' wording follows the target ----------------------------------------------------

#: For each argument: values that give a reason (not accepted, or known only at run time).
_REASON_VALUES = {
    "auto_remove": "never", "container_name": "etl", "api_version": Dynamic("v"), "docker_conn_id": Dynamic("c"),
    "tls_ca_cert": "/ca.pem", "tls_verify": False, "xcom_all": True, "privileged": True,
    "docker_url": "tcp://builder:2375", "network_mode": "host", "private_environment": {"K": "v"},
    "retrieve_output": True, "retrieve_output_path": "/out", "ipc_mode": "host", "env_file": "/x.env",
    "tty": True, "user": "root", "cpus": float("nan"), "mem_limit": "2q", "mount_tmp_dir": Dynamic("m"),
}


@pytest.mark.parametrize("name", sorted(_REASON_VALUES))
def test_kpo_reasons_never_speak_of_dockpod(name):
    """``--target kpo`` writes no dockpod: its reasons name no dockpod runtime, profile or spec field."""
    kwargs = {"image": "etl:1.0", name: _REASON_VALUES[name]}
    dockpod = assess(kwargs, xcom_used=True)
    kpo = assess(kwargs, xcom_used=True, target="kpo")
    assert kpo.verdict == dockpod.verdict and len(kpo.reasons) == len(dockpod.reasons) >= 2
    for reason in kpo.reasons:
        assert "dockpod" not in reason and "profile" not in reason and "container_task" not in reason, reason
        assert not reason.startswith(("resources.", "security.")), reason
    assert any("dockpod" in reason for reason in assess({"image": "etl:1.0"}, xcom_used=True).reasons)


def test_kpo_xcom_and_spec_field_wording():
    kpo = assess({"image": "etl:1.0", "mem_limit": "2q"}, xcom_used=True, target="kpo")
    assert "KubernetesPodOperator pushes only the JSON" in kpo.reasons[0]
    assert kpo.reasons[1].startswith("mem_limit='2q' has an unknown unit")
