"""ComposeStack against a small real compose project: run-unique names, and a down that leaves nothing behind."""

from __future__ import annotations

import subprocess

import pytest

from dockpod.runtime.stack import ComposeStack, run_names

pytestmark = pytest.mark.integration

COMPOSE = """\
services:
  app:
    image: localhost:5000/dockpod/debian:bookworm
    command: ["sleep", "300"]
    init: true
    networks: [edge]
    volumes: [data:/data]
networks:
  edge:
    name: ${EDGE_NETWORK:-dockpod-small-edge}
volumes:
  data: {}
"""


def _names(kind: str, project: str) -> list[str]:
    return subprocess.run(["docker", kind, "ls", "--filter", f"label=com.docker.compose.project={project}",
                           "--format", "{{.Name}}"], capture_output=True, text=True, check=True).stdout.split()


def test_two_runs_of_one_directory_share_the_engine_and_down_finds_a_renamed_network(tmp_path):
    (tmp_path / "compose.yaml").write_text(COMPOSE)
    first, second = run_names("dp-small"), run_names("dp-small")
    assert first["project"] != second["project"] and first["edge_network"] == f"{first['project']}-edge"
    stacks = [ComposeStack(tmp_path, project=n["project"], env={"EDGE_NETWORK": n["edge_network"]})
              for n in (first, second)]
    try:
        for stack in stacks:
            stack.compose("up", "-d", "--wait")
        assert {s.state for stack in stacks for s in stack.services()} == {"running"}
        assert _names("network", first["project"]) == [first["edge_network"]]
        # Brought down by a caller that does not know the EDGE_NETWORK the stack came up with (a killed run's
        # leftover, `make dev-down` after .env changed): compose alone would leave the network behind.
        left = ComposeStack(tmp_path, project=first["project"]).down()
        assert not left, left
        assert _names("network", first["project"]) == [] and _names("volume", first["project"]) == []
        assert {s.state for s in stacks[1].services()} == {"running"}  # the other run's stack is untouched
    finally:
        for stack in stacks:
            stack.down()
    assert _names("network", second["project"]) == [] and _names("volume", second["project"]) == []


def test_task_containers_are_those_on_the_stacks_own_edge_network(tmp_path):
    (tmp_path / "compose.yaml").write_text(COMPOSE)
    names = [run_names("dp-small") for _ in range(2)]
    stacks = [ComposeStack(tmp_path, project=n["project"], env={"EDGE_NETWORK": n["edge_network"]}) for n in names]
    try:
        for stack in stacks:
            stack.compose("up", "-d", "--wait")
        assert [stack.edge_network for stack in stacks] == [n["edge_network"] for n in names]
        # A finished task container of the same DAG on each stack's network, as dockpod's DockerOperator labels them.
        for index, stack in enumerate(stacks):
            subprocess.run(["docker", "run", "--name", f"{names[index]['project']}-task", "--network",
                            stack.edge_network, "--label", "io.dockpod.dag_id=portable_pipeline", "--label",
                            f"io.dockpod.run_id=manual__{index}", "localhost:5000/dockpod/debian:bookworm", "true"],
                           check=True, capture_output=True)
        first = f"{names[0]['project']}-task"
        assert stacks[0].task_containers() == [first]
        assert stacks[0].task_containers("portable_pipeline", run_id="manual__0") == [first]
        assert stacks[0].task_containers("portable_pipeline", run_id="manual__1") == []
        assert stacks[0].task_containers("another_dag") == []
    finally:
        for n in names:
            subprocess.run(["docker", "rm", "-f", f"{n['project']}-task"], capture_output=True, check=False)
        for stack in stacks:
            stack.down()
