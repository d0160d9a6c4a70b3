"""The compose stacks of ``deploy/compose/`` (or a scaffolded project's), driven for real: up, health, REST API, down.

``make dev-up`` / ``make prod-up`` / ``make stack-test``, the stack tests and the Section 88 examples on compose all
go through :class:`ComposeStack`::

    stack = ComposeStack(Path("deploy/compose/prod"), env={"AIRFLOW_API_PORT": "18080"})
    seconds = stack.up()                    # .env and secrets made once, `up --wait`; time to all-healthy
    api = stack.api()                       # token from the admin password secret (prod) or none needed (dev)
    run = api.trigger("portable_pipeline", conf={"rows": 200})
    api.wait(run)                           # -> "success"
    stack.down()                            # `down -v`; returns what is left (nothing, or the names)

Only the standard library: the REST API through urllib, compose through its CLI (``docker compose``). Every child
process gets an empty stdin: inside an Airflow task, stdin is the channel to the task's supervisor, and a docker
CLI that inherits it can hang.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dockpod.errors import DockpodError

TERMINAL_RUN_STATES = frozenset({"success", "failed"})


class StackError(DockpodError):
    """A compose stack did not come up, answer or go away as asked."""


@dataclass(frozen=True)
class ServiceState:
    """One container of the stack as ``docker compose ps`` sees it."""

    name: str
    service: str
    state: str
    health: str
    exit_code: int

    @property
    def ready(self) -> bool:
        """Healthy, or running without a health check, or a one-shot that exited 0."""
        if self.state == "exited":
            return self.exit_code == 0
        return self.state == "running" and self.health in ("", "healthy")


@dataclass
class Leftovers:
    """What ``down`` left behind: containers, networks and volumes of the project (empty when clean)."""

    containers: list[str] = field(default_factory=list)
    networks: list[str] = field(default_factory=list)
    volumes: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.containers or self.networks or self.volumes)


@dataclass
class ComposeStack:
    """A compose project in ``directory`` (compose.yaml, .env.example, optional secrets.sh).

    ``env`` overrides variables of .env for this process's compose calls (a port, the DAG folder...).
    """

    directory: Path
    env: dict[str, str] = field(default_factory=dict)
    project: str | None = None

    def __post_init__(self) -> None:
        self.directory = Path(self.directory).resolve()
        if not (self.directory / "compose.yaml").is_file():
            raise StackError(f"{self.directory} has no compose.yaml.",
                             fix="Point at deploy/compose/dev or deploy/compose/prod (or run dockpod scaffold).")
        if shutil.which("docker") is None:
            raise StackError("the docker CLI is not on PATH.", fix="Run make setup.")

    # -- compose -----------------------------------------------------------------------------------------------
    def compose(self, *args: str, check: bool = True, timeout: float = 900) -> subprocess.CompletedProcess[str]:
        """Run ``docker compose ARGS`` for this project; a failure raises StackError with compose's last lines."""
        command = ["docker", "compose", "--project-directory", str(self.directory),
                   "-f", str(self.directory / "compose.yaml")]
        if self.project:
            command += ["--project-name", self.project]
        result = subprocess.run([*command, *args], capture_output=True, text=True, timeout=timeout, check=False,
                                stdin=subprocess.DEVNULL,
                                env={**os.environ, **self.env})
        if check and result.returncode != 0:
            tail = "\n".join((result.stderr or result.stdout).strip().splitlines()[-8:])
            raise StackError(f"docker compose {' '.join(args)} exited {result.returncode}:\n{tail}",
                             fix=f"See `docker compose -f {self.directory / 'compose.yaml'} logs`.")
        return result

    def config(self) -> dict[str, Any]:
        """The project as compose resolves it (``config --format json``): variables, .env and ``env`` applied."""
        return json.loads(self.compose("config", "--format", "json").stdout)

    @property
    def name(self) -> str:
        """The compose project name (from compose.yaml's ``name``, COMPOSE_PROJECT_NAME or ``project``)."""
        return self.config()["name"]

    def prepare(self) -> list[str]:
        """Make .env from .env.example (the Docker socket's group, GENERATE values random) and the secrets, once each.

        Returns what was made. Existing files are kept: they may hold a user's settings, and the database was
        initialised with the passwords of the secrets it found first.
        """
        made = []
        env_file, example = self.directory / ".env", self.directory / ".env.example"
        if not env_file.exists() and example.is_file():
            socket = self.env.get("DOCKER_SOCKET") or os.environ.get("DOCKER_SOCKET") or "/var/run/docker.sock"
            gid = os.stat(socket).st_gid if os.path.exists(socket) else 0
            lines = [f"DOCKER_GID={gid}" if line.startswith("DOCKER_GID=") else _generated(line)
                     for line in example.read_text().splitlines()]
            try:
                fd = os.open(env_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)  # it may hold keys
            except FileExistsError:
                pass  # another run of this stack made it a moment ago
            else:
                with os.fdopen(fd, "w") as handle:
                    handle.write("\n".join(lines) + "\n")
                made.append(str(env_file))
        script = self.directory / "secrets.sh"
        if script.is_file():
            result = subprocess.run(["bash", str(script)], capture_output=True, text=True, check=False, timeout=60,
                                    stdin=subprocess.DEVNULL)
            if result.returncode != 0:
                raise StackError(f"{script} failed: {result.stderr.strip()[-300:]}", fix="Run it by hand to see why.")
            made.append(result.stderr.strip())
        return made

    def up(self, timeout: int = 600) -> float:
        """``up --wait``: seconds from the call until every service is healthy (or a one-shot exited 0)."""
        self.prepare()
        start = time.monotonic()
        result = self.compose("--progress", "quiet", "up", "--detach", "--wait", "--wait-timeout", str(timeout),
                              check=False, timeout=timeout + 120)
        elapsed = time.monotonic() - start
        if result.returncode != 0:
            states = ", ".join(f"{s.service} {s.state}{' ' + s.health if s.health else ''}"
                               for s in self.services() if not s.ready)
            raise StackError(f"the stack in {self.directory} did not become healthy within {timeout}s "
                             f"(not ready: {states or 'unknown'}): {result.stderr.strip()[-300:]}",
                             fix=f"See `docker compose -f {self.directory / 'compose.yaml'} logs SERVICE`.")
        return elapsed

    @property
    def edge_network(self) -> str:
        """The network task containers join: compose.yaml's ``edge`` network as this stack resolves it."""
        networks = self.config().get("networks") or {}
        if "edge" not in networks:
            raise StackError(f"{self.directory / 'compose.yaml'} has no network `edge`.",
                             fix="Task containers join the stack's `edge` network; dockpod scaffold writes one.")
        return networks["edge"]["name"]

    def task_containers(self, dag_id: str | None = None, run_id: str | None = None) -> list[str]:
        """Names of the containers (running or not) dockpod started for tasks on this stack's edge network.

        Only this stack's: another stack on the engine may run the same DAG at the same time.
        """
        filters = ["--filter", f"network={self.edge_network}",
                   "--filter", "label=io.dockpod.dag_id" + (f"={dag_id}" if dag_id else "")]
        if run_id:
            filters += ["--filter", f"label=io.dockpod.run_id={run_id}"]
        return _docker("ps", "-a", *filters, "--format", "{{.Names}}").split()

    def services(self) -> list[ServiceState]:
        """Every container of the project, one-shots included."""
        out = self.compose("ps", "--all", "--format", "json").stdout.strip()
        rows = json.loads(out) if out.startswith("[") else [json.loads(line) for line in out.splitlines() if line]
        return [ServiceState(r["Name"], r["Service"], r["State"], r.get("Health") or "", int(r.get("ExitCode") or 0))
                for r in rows]

    def container(self, service: str, index: int = 1) -> str:
        """The container id of a service's replica ``index``."""
        ids = self.compose("ps", "--all", "--quiet", service).stdout.split()
        names = {cid: _docker("inspect", "-f", "{{index .Config.Labels \"com.docker.compose.container-number\"}}",
                              cid).strip() for cid in ids}
        for cid, number in names.items():
            if number == str(index):
                return cid
        raise StackError(f"service {service} has no replica {index}.", fix="Is the stack up?")

    def peak_memory(self) -> dict[str, int]:
        """Peak memory (bytes) of each running container since it started, from its cgroup (v1 or v2)."""
        peaks = {}
        for state in self.services():
            if state.state != "running":
                continue
            out = subprocess.run(
                ["docker", "exec", state.name, "cat", "/sys/fs/cgroup/memory/memory.max_usage_in_bytes"],
                capture_output=True, text=True, check=False, timeout=30, stdin=subprocess.DEVNULL)
            if out.returncode != 0:
                out = subprocess.run(["docker", "exec", state.name, "cat", "/sys/fs/cgroup/memory.peak"],
                                     capture_output=True, text=True, check=False, timeout=30,
                                     stdin=subprocess.DEVNULL)
            if out.returncode == 0 and out.stdout.strip().isdigit():
                peaks[state.name] = int(out.stdout.strip())
        return peaks

    def image_sizes(self) -> dict[str, int]:
        """Size in bytes of each image the stack runs."""
        services = self.config()["services"]
        images = {services[s]["image"] for s in {state.service for state in self.services()}}
        return {image: int(_docker("image", "inspect", "-f", "{{.Size}}", image)) for image in sorted(images)}

    def down(self) -> Leftovers:
        """``down -v``; then whatever still carries the project's label (nothing, when all went well).

        A network of the project that compose no longer knows by that name (the stack came up with another
        ``EDGE_NETWORK`` than this call sees) is removed by its label, unless a container still uses it.
        """
        name = self.name
        self.compose("down", "--volumes", "--remove-orphans", "--timeout", "30")
        label = f"label=com.docker.compose.project={name}"
        for network in _docker("network", "ls", "--filter", label, "--format", "{{.Name}}").split():
            subprocess.run(["docker", "network", "rm", network], capture_output=True, check=False, timeout=60,
                           stdin=subprocess.DEVNULL)
        return Leftovers(
            containers=_docker("ps", "-a", "--filter", label, "--format", "{{.Names}}").split(),
            networks=_docker("network", "ls", "--filter", label, "--format", "{{.Name}}").split(),
            volumes=_docker("volume", "ls", "--filter", label, "--format", "{{.Name}}").split(),
        )

    # -- the REST API ------------------------------------------------------------------------------------------
    def api_url(self) -> str:
        """The api-server's published address on the host."""
        port = self.compose("port", "airflow-api-server", "8080").stdout.strip().rsplit(":", 1)[-1]
        return f"http://127.0.0.1:{port}"

    def api(self, user: str = "admin") -> AirflowApi:
        """A REST API client: logged in with the admin password secret when the stack has one."""
        secret = self.directory / "secrets" / "admin_password"
        password = secret.read_text().strip() if secret.is_file() else None
        return AirflowApi(self.api_url(), user=user, password=password)


def run_names(prefix: str) -> dict[str, str]:
    """A compose project and an edge network that no other run uses: ``PREFIX-<8 hex>`` and ``PREFIX-<8 hex>-edge``.

    Pass them as ``ComposeStack(..., project=names["project"], env={"EDGE_NETWORK": names["edge_network"]})``:
    the stacks of deploy/compose name their edge network (and dockpod.toml's ``network``) after ``EDGE_NETWORK``,
    so two runs of one stack directory (two CI jobs, a test beside ``make dev-up``) share one engine safely, and a
    stack left by a killed run stands in nobody's way.
    """
    project = f"{prefix}-{secrets.token_hex(4)}"
    return {"project": project, "edge_network": f"{project}-edge"}


def new_run(directory: Path, prefix: str, *dag_files: Path, dag_texts: dict[str, str] | None = None,
            volumes: tuple[str, ...] = ()) -> dict[str, Any]:
    """Plain values (an XCom) for one throwaway run of the stack in ``directory``, for ``run_stack`` and ``end_run``.

    The run gets its own compose project and edge network (``run_names``), a free API port and a temporary DAG
    folder holding copies of ``dag_files`` and the files ``dag_texts`` names. ``volumes`` are named volumes its
    DAGs make (portable_pipeline's ``dockpod_demo_data``): those that do not exist yet are ``end_run``'s to remove.
    """
    dags = dag_folder(*dag_files, prefix=f"{prefix}-dags-")
    for name, text in (dag_texts or {}).items():
        write_dag(dags, name, text)
    new_volumes = [v for v in volumes if subprocess.run(["docker", "volume", "inspect", v], capture_output=True,
                                                        check=False, stdin=subprocess.DEVNULL).returncode != 0]
    return {**run_names(prefix), "directory": str(Path(directory).resolve()), "dags": str(dags), "port": free_port(),
            "new_volumes": new_volumes}


def run_stack(run: dict[str, Any]) -> ComposeStack:
    """The stack of a run ``new_run`` made: its directory, project, edge network, API port and DAG folder."""
    return ComposeStack(Path(run["directory"]), project=run["project"],
                        env={"AIRFLOW_API_PORT": str(run["port"]), "DAGS_DIR": run["dags"],
                             "EDGE_NETWORK": run["edge_network"]})


def end_run(run: dict[str, Any]) -> dict[str, Any]:
    """Tear a run down: ``down -v``, the DAG folder, the volumes it made; StackError when anything is left.

    Task containers still on the run's edge network count as left (only this stack's: another stack may run the
    same DAGs). Returns what was found: ``left`` (containers, networks, volumes of the project), ``task_containers``
    and ``volumes_removed``.
    """
    stack = run_stack(run)
    task_containers = stack.task_containers()
    left = stack.down()
    shutil.rmtree(run["dags"], ignore_errors=True)
    removed = [v for v in run["new_volumes"] if subprocess.run(["docker", "volume", "rm", v], capture_output=True,
                                                               check=False, stdin=subprocess.DEVNULL).returncode == 0]
    if left or task_containers:
        raise StackError(f"compose project {run['project']} left behind {left}; task containers: {task_containers}.",
                         fix=f"docker compose -p {run['project']} down -v; docker rm -f the task containers.")
    return {"left": {"containers": left.containers, "networks": left.networks, "volumes": left.volumes},
            "task_containers": task_containers, "volumes_removed": removed}


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now: AIRFLOW_API_PORT for a stack that must not collide with another."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def dag_folder(*sources: Path, prefix: str = "dockpod-stack-dags-") -> Path:
    """A fresh temporary DAG folder for a stack (DAGS_DIR), holding copies of ``sources``.

    World-readable (0755, files 0644): the Airflow services run as uid 50000. The caller removes it.
    """
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    folder.chmod(0o755)
    for source in sources:
        shutil.copyfile(source, folder / Path(source).name)
        (folder / Path(source).name).chmod(0o644)
    return folder


def write_dag(folder: Path, name: str, text: str) -> Path:
    """Write a DAG file in one step (write, then rename): the dag-processor never reads half a file."""
    path, tmp = folder / name, folder / f".{name}.tmp"
    tmp.write_text(text)
    tmp.chmod(0o644)
    os.replace(tmp, path)
    return path


def _generated(line: str) -> str:
    """``NAME=GENERATE`` -> a random value: a Fernet key for ``*FERNET_KEY``, else 64 hex digits."""
    name, sep, value = line.partition("=")
    if not sep or value.strip() != "GENERATE" or name.lstrip().startswith("#"):
        return line
    if name.endswith("FERNET_KEY"):
        return f"{name}={base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()}"
    return f"{name}={secrets.token_hex(32)}"


def kill_container_process(container: str) -> int:
    """SIGKILL a container's main process from the host, as a crash or the kernel would; returns the PID.

    Not ``docker kill``, which Docker may count as a manual stop that its restart policy leaves alone.
    """
    pid = int(_docker("inspect", "-f", "{{.State.Pid}}", container).strip())
    if pid <= 0:
        raise StackError(f"container {container} is not running.", fix="Pick a running container.")
    os.kill(pid, 9)
    return pid


@dataclass
class AirflowApi:
    """Airflow 3's REST API (``/api/v2``) with a JWT from ``/auth/token`` when a password is given."""

    base_url: str
    user: str = "admin"
    password: str | None = None
    _token: str | None = None

    def request(self, method: str, path: str, body: Any = None, *, auth: bool = True) -> Any:
        """One call; returns the parsed JSON body. HTTP errors raise StackError with the status and detail."""
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if auth and self.password is not None:
            headers["Authorization"] = f"Bearer {self.token()}"
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.base_url + path, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                raw = response.read()
        except urllib.error.HTTPError as error:
            detail = error.read().decode(errors="replace")[:300]
            raise StackError(f"{method} {path} answered {error.code}: {detail}",
                             fix="Check the DAG id, the run id and the credentials.") from None
        except (urllib.error.URLError, OSError) as error:
            raise StackError(f"{method} {self.base_url}{path} failed: {error}", fix="Is the stack up?") from None
        return json.loads(raw) if raw.strip() else None

    def status(self, path: str) -> int:
        """The HTTP status of an unauthenticated GET (to prove that authentication is required)."""
        try:
            with urllib.request.urlopen(self.base_url + path, timeout=30) as response:
                return response.status
        except urllib.error.HTTPError as error:
            return error.code

    def token(self) -> str:
        """A JWT for the user (cached)."""
        if self._token is None:
            answer = self.request("POST", "/auth/token", {"username": self.user, "password": self.password},
                                  auth=False)
            self._token = answer["access_token"]
        return self._token

    def wait_for_dag(self, dag_id: str, timeout: float = 180) -> dict[str, Any]:
        """The DAG's record, once the dag-processor has parsed it."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                return self.request("GET", f"/api/v2/dags/{_q(dag_id)}")
            except StackError:
                if time.monotonic() > deadline:
                    errors = self.request("GET", "/api/v2/importErrors")["import_errors"]
                    shown = "; ".join(f"{e['filename']}: {e['stack_trace'].strip().splitlines()[-1]}" for e in errors)
                    raise StackError(f"DAG {dag_id} did not appear within {timeout:.0f}s"
                                     + (f" (import errors: {shown})" if shown else ""),
                                     fix="Fix the DAG file, or check the dag-processor's log and the DAG folder mount."
                                     ) from None
                time.sleep(2)

    def trigger(self, dag_id: str, conf: dict[str, Any] | None = None) -> tuple[str, str]:
        """Unpause the DAG and start a run; returns (dag_id, run_id)."""
        self.request("PATCH", f"/api/v2/dags/{_q(dag_id)}", {"is_paused": False})
        run = self.request("POST", f"/api/v2/dags/{_q(dag_id)}/dagRuns", {"logical_date": None, "conf": conf or {}})
        return dag_id, run["dag_run_id"]

    def run_state(self, run: tuple[str, str]) -> str:
        """The run's state (queued, running, success, failed)."""
        return self.request("GET", f"/api/v2/dags/{_q(run[0])}/dagRuns/{_q(run[1])}")["state"]

    def wait(self, run: tuple[str, str], timeout: float = 600) -> str:
        """Poll until the run is finished; returns its final state."""
        deadline = time.monotonic() + timeout
        while (state := self.run_state(run)) not in TERMINAL_RUN_STATES:
            if time.monotonic() > deadline:
                raise StackError(f"run {run[1]} of {run[0]} still {state} after {timeout:.0f}s.",
                                 fix="Look at the scheduler's and workers' logs.")
            time.sleep(2)
        return state

    def task_instances(self, run: tuple[str, str]) -> dict[str, dict[str, Any]]:
        """The run's task instances by task id."""
        answer = self.request("GET", f"/api/v2/dags/{_q(run[0])}/dagRuns/{_q(run[1])}/taskInstances")
        return {ti["task_id"]: ti for ti in answer["task_instances"]}

    def xcom(self, run: tuple[str, str], task_id: str, key: str = "return_value") -> Any:
        """A task's XCom value (deserialized)."""
        path = f"/api/v2/dags/{_q(run[0])}/dagRuns/{_q(run[1])}/taskInstances/{_q(task_id)}/xcomEntries/{_q(key)}"
        return self.request("GET", path + "?deserialize=true")["value"]

    def log(self, run: tuple[str, str], task_id: str, try_number: int = 1) -> str:
        """A task try's log as text."""
        path = f"/api/v2/dags/{_q(run[0])}/dagRuns/{_q(run[1])}/taskInstances/{_q(task_id)}/logs/{try_number}"
        answer = self.request("GET", path + "?full_content=true")
        content = answer.get("content", "")
        if isinstance(content, list):
            return "\n".join(line.get("event", "") if isinstance(line, dict) else str(line) for line in content)
        return str(content)


def _q(text: str) -> str:
    return urllib.parse.quote(text, safe="")


def _docker(*args: str) -> str:
    result = subprocess.run(["docker", *args], capture_output=True, text=True, check=False, timeout=120,
                            stdin=subprocess.DEVNULL)
    if result.returncode != 0:
        raise StackError(f"docker {' '.join(args)} failed: {result.stderr.strip()[-300:]}",
                         fix="Is the Docker engine up? (make setup)")
    return result.stdout


def main(argv: list[str] | None = None) -> int:
    """``python -m dockpod.runtime.stack up|down|ps DIR``: what make dev-up/prod-up/...-down run."""
    import sys

    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 2 or args[0] not in ("up", "down", "ps"):
        print("usage: python -m dockpod.runtime.stack up|down|ps COMPOSE_DIR", file=sys.stderr)
        return 2
    try:
        stack = ComposeStack(Path(args[1]))
        if args[0] == "up":
            print(f"stack: starting {stack.directory} (waiting for every service to be healthy)", file=sys.stderr)
            seconds = stack.up()
            print(f"stack: healthy in {seconds:.0f}s; API and UI at {stack.api_url()}", file=sys.stderr)
        elif args[0] == "down":
            left = stack.down()
            if left:
                print(f"stack: left behind: {left}", file=sys.stderr)
                return 1
            print("stack: down; no container, network or volume left", file=sys.stderr)
        else:
            for state in stack.services():
                print(f"{state.service:24} {state.state:10} {state.health or '-':10} {state.name}")
    except (DockpodError, subprocess.TimeoutExpired) as error:
        print(f"stack: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
