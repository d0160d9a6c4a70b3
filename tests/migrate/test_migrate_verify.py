"""dockpod migrate --verify: the container DockerOperator would create against the one container_task creates."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from dockpod.cli import app
from dockpod.migrate._verify import ALLOWED, Difference, verify_result
from dockpod.migrate.rewrite import migrate_paths, migrate_source

HERE = Path(__file__).resolve().parent
CORPUS = HERE / "corpus"
HEAD = ("from airflow.providers.docker.operators.docker import DockerOperator\n"
        "from docker.types import DeviceRequest, Mount\n\n")

#: One call with nearly every translated argument, all literal.
RICH = HEAD + '''a = DockerOperator(
    task_id="rich",
    image="registry.example.com/etl/orders:1.4.0",
    entrypoint="/bin/sh -c",
    command="run --date {{ ds }} --fast",
    environment={"SOURCE": "orders", "BATCH": 500},
    working_dir="/work",
    user="1000:1000",
    mounts=[Mount(target="/data", source="orders_data", type="volume", read_only=True),
            Mount("/in", "/srv/in", type="bind"), Mount("/scratch", None, type="tmpfs", tmpfs_size=1048576)],
    mem_limit="512m",
    cpus=0.5,
    shm_size="64m",
    cap_add=["NET_ADMIN"],
    dns=["10.0.0.2"],
    dns_search=["example.com"],
    extra_hosts={"db": "10.0.0.5"},
    hostname="orders",
    labels=["team"],
    force_pull=True,
    skip_on_exit_code=99,
    do_xcom_push=True,
    mount_tmp_dir=False,
    auto_remove="success",
    retries=2,
)
'''


def test_corpus_has_no_unexplained_difference() -> None:
    checks = [c for r in migrate_paths([CORPUS]) if r.status != "failed" for c in verify_result(r)]
    compared = [c for c in checks if c.skipped is None]
    assert len(compared) >= 8
    assert {f"{c.task_id}: {d}" for c in compared for d in c.differences} == set()
    assert all(c.allowed for c in compared)  # labels and no-new-privileges at least: the comparison ran


def test_rich_literal_call_has_no_unexplained_difference() -> None:
    result = migrate_source(RICH)
    [check] = verify_result(result)
    assert check.skipped is None, check.skipped
    assert [str(d) for d in check.differences] == []
    fields = {d.field for d in check.allowed}
    assert "HostConfig.Mounts[/airflow/xcom]" in fields and "HostConfig.SecurityOpt" in fields


def test_not_literal_calls_are_skipped_with_the_reason() -> None:
    result = migrate_source(HEAD + 'IMAGE = "etl:1"\na = DockerOperator(task_id="a", image=IMAGE)\n')
    [check] = verify_result(result)
    assert check.skipped is not None and "IMAGE" in check.skipped and not check.ok


def _broken_command_rule(monkeypatch: pytest.MonkeyPatch) -> None:
    """The seed's mistake on purpose: Docker's command rewritten as the entrypoint."""
    from dockpod.migrate import _to_dockpod

    monkeypatch.setitem(_to_dockpod.VALUE_RULES, "command", lambda codemod, arg, value: [("entrypoint", arg.value)])


def test_a_broken_rewrite_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    _broken_command_rule(monkeypatch)
    result = migrate_source(HEAD + 'a = DockerOperator(task_id="a", image="etl:1", command=["run", "--fast"])\n')
    assert "entrypoint=" in result.migrated
    [check] = verify_result(result)
    assert {str(d) for d in check.differences} == {
        'Cmd: before ["run", "--fast"], after null',
        'Entrypoint: before null, after ["run", "--fast"]',
    }


def test_cli_verify_exits_1_on_a_difference(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    dag = tmp_path / "dag.py"
    dag.write_text(RICH)
    runner = CliRunner()
    result = runner.invoke(app, ["migrate", str(dag), "--verify"])
    assert result.exit_code == 0, result.output
    assert "verified 1 call(s): 0 with unexplained differences" in result.output
    _broken_command_rule(monkeypatch)
    result = runner.invoke(app, ["migrate", str(dag), "--verify"])
    assert result.exit_code == 1
    output = " ".join(result.output.split())  # Rich wraps long lines
    assert "differs:" in output and "keyword argument repeated" in output  # entrypoint given twice
    assert dag.read_text() == RICH
    assert runner.invoke(app, ["migrate", str(dag), "--verify", "--target", "kpo"]).exit_code == 2


def test_allow_list_is_narrow() -> None:
    """Only additions by dockpod (or DockerOperator's temporary directory) are explained, never a change."""
    changed = Difference("HostConfig.Memory", 536870912, 268435456)
    dropped_env = Difference("Env.SOURCE", "orders", None)
    assert not any(a.matches(d) for a in ALLOWED for d in (changed, dropped_env))
