import shlex

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dockpod.errors import SpecError
from dockpod.spec import format_cpu, format_memory, parse_cpu, parse_memory, split_command, split_volume

MEMORY = [
    ("docker-m", "512m", 512 * 1024**2),
    ("docker-g", "2g", 2 * 1024**3),
    ("docker-k", "1024k", 1024 * 1024),
    ("docker-gb", "2gb", 2 * 1024**3),
    ("docker-GB", "2GB", 2 * 1024**3),
    ("docker-fraction", "1.5g", 1536 * 1024**2),
    ("k8s-Mi", "512Mi", 512 * 1024**2),
    ("k8s-Gi", "2Gi", 2 * 1024**3),
    ("k8s-G", "1G", 10**9),
    ("k8s-M", "500M", 500 * 10**6),
    ("k8s-exponent", "1e9", 10**9),
    ("bytes-int", 1048576, 1048576),
    ("bytes-str", "1048576", 1048576),
]


@pytest.mark.parametrize(("value", "expected"), [row[1:] for row in MEMORY], ids=[row[0] for row in MEMORY])
def test_memory_forms(value, expected):
    assert parse_memory(value) == expected


@pytest.mark.parametrize("value", ["2q", "", "-1g", "abc", 0, True, None, [1], "1.5.5g"])
def test_memory_rejects(value):
    with pytest.raises(SpecError) as info:
        parse_memory(value, "resources.memory_limit")
    assert "resources.memory_limit" in str(info.value)
    assert "512Mi" in str(info.value) or "zero" in str(info.value)  # the accepted forms, or the bound


CPU = [("float", 2.5, 2500), ("int", 2, 2000), ("milli", "500m", 500), ("str-cores", "2", 2000),
       ("small", 0.1, 100), ("str-float", "0.25", 250)]


@pytest.mark.parametrize(("value", "expected"), [row[1:] for row in CPU], ids=[row[0] for row in CPU])
def test_cpu_forms(value, expected):
    assert parse_cpu(value) == expected


@pytest.mark.parametrize("value", ["2Gi", 0, -1, "0.0001", "x", True, 0.0005])
def test_cpu_rejects(value):
    with pytest.raises(SpecError):
        parse_cpu(value)


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf"), "1e999999999"])
def test_cpu_rejects_non_finite_and_out_of_range_numbers_as_a_spec_error(value):
    """Not decimal's InvalidOperation or Overflow: one sentence naming the field, the value, the forms."""
    with pytest.raises(SpecError) as info:
        parse_cpu(value, "resources.cpu_request")
    message = str(info.value)
    assert message.startswith(f"resources.cpu_request={value!r} is not valid; expected a number of cores")
    assert message.count(". ") == 0 and message.endswith(".")


def test_docker_cpus_nan_is_a_spec_error_and_a_manual_verdict():
    from dockpod.backends.docker import spec_from_operator_kwargs
    from dockpod.migrate import assess

    with pytest.raises(SpecError, match=r"^resources\.cpu_request=nan is not valid"):
        spec_from_operator_kwargs({"image": "etl:1", "cpus": float("nan")})
    assessment = assess({"image": "etl:1", "cpus": float("inf")})
    assert assessment.verdict == "manual" and "cpu_request=inf is not valid" in assessment.reasons[0]


@given(st.integers(min_value=1, max_value=2**62))
def test_memory_format_round_trip(num_bytes):
    assert parse_memory(format_memory(num_bytes)) == num_bytes


@given(st.integers(min_value=1, max_value=10**7))
def test_cpu_format_round_trip(millicores):
    assert parse_cpu(format_cpu(millicores)) == millicores
    assert parse_cpu(millicores / 1000) == millicores  # Docker's float cores, as DockerOperator's cpus


@given(st.integers(min_value=1, max_value=2**40))
def test_memory_int_is_bytes(num_bytes):
    assert parse_memory(num_bytes) == num_bytes


_word = st.text(st.characters(min_codepoint=33, max_codepoint=126, exclude_characters="{}%"), min_size=1,
                max_size=8)


@given(st.lists(_word, min_size=1, max_size=6))
def test_split_command_inverts_shell_quoting(words):
    assert split_command(shlex.join(words)) == words


def test_split_command_keeps_templates_whole():
    assert split_command("transform --rows {{ ti.xcom_pull('extract')['rows'] }} --x 'a b'") == [
        "transform", "--rows", "{{ ti.xcom_pull('extract')['rows'] }}", "--x", "a b"]


VOLUMES = [
    ("named", "shared_data:/data", ("shared_data", "/data", False)),
    ("named-ro", "shared_data:/data:ro", ("shared_data", "/data", True)),
    ("bind-rw", "/srv/in:/in:rw", ("/srv/in", "/in", False)),
    ("anonymous", "/scratch", (None, "/scratch", False)),
]


@pytest.mark.parametrize(("text", "expected"), [r[1:] for r in VOLUMES], ids=[r[0] for r in VOLUMES])
def test_split_volume(text, expected):
    assert split_volume(text) == expected


@pytest.mark.parametrize(("text", "words"), [("a:b", "absolute"), ("/a:/b:z", "no Kubernetes counterpart"),
                                              ("/a:/b:ro,rw", "both"), ("a:b:c:d", "expected"),
                                              ("bad name!:/x", "invalid volume")])
def test_split_volume_rejects(text, words):
    with pytest.raises(SpecError, match=words):
        split_volume(text)
