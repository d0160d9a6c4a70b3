"""A task's init containers and sidecars on the Docker engine, with a pod's semantics.

What Kubernetes does for a pod, done here with the docker SDK for the local operator
(:class:`dockpod.operators._docker.DockpodDockerOperator` owns the main container and calls this):

* one network namespace per run, held by a small container every other container joins
  (``network_mode=container:<holder>``): sidecars answer on ``localhost``, as in a pod;
* scratch volumes shared by mount path, as the pod renders them (one emptyDir per path), made for
  the run like the main container's;
* init containers run one after the other, each to exit 0; the first that fails fails the task,
  named, with the diagnosis of its exit;
* sidecars started before the main container, their readiness (startup or readiness probe, run as the
  Docker healthcheck) awaited; stopped and removed after the main container exits;
* every container's log lines in the task log, each prefixed with its container name;
* liveness: a main container whose healthcheck turns unhealthy is stopped and the task fails, as the
  kubelet kills it; an unhealthy sidecar is reported in the log.
"""

from __future__ import annotations

import contextlib
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from docker.errors import APIError, DockerException

from dockpod.backends.docker import (
    LABEL_PREFIX,
    ContainerArgs,
    create_body,
    healthcheck,
    host_config_extras,
    local_probe,
    pod_holder_body,
)
from dockpod.errors import ContainerFailed
from dockpod.spec import ContainerSpec

if TYPE_CHECKING:
    from dockpod.operators._docker import DockpodDockerOperator, _Run, _RunVolume
    from dockpod.operators._secrets import ResolvedSecrets

#: The label naming a container's part in the task: ``pod``, ``init``, ``sidecar`` or ``main``.
ROLE_LABEL = f"{LABEL_PREFIX}.role"
#: The label naming the container within the task (``base`` for the main one, as in the pod).
CONTAINER_LABEL = f"{LABEL_PREFIX}.container"
#: How often health is read while waiting or watching.
POLL_SECONDS = 0.1


@dataclass
class Member:
    """An init container or sidecar of the run: its spec, secrets, volumes and, once made, its id."""

    spec: ContainerSpec
    role: str
    secrets: ResolvedSecrets
    volumes: list[_RunVolume] = field(default_factory=list)
    container_id: str | None = None
    logs: threading.Thread | None = None
    tail: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        """The container's name in the pod."""
        return self.spec.name or self.role


class LocalPod:
    """The pod around one run's main container: holder, init containers and sidecars."""

    def __init__(self, op: DockpodDockerOperator, run: _Run) -> None:
        self.op = op
        self.run = run
        self.members: list[Member] = []
        self.holder_id: str | None = None
        self._stop = threading.Event()
        self._watch: threading.Thread | None = None
        self.liveness_failed = False

    # --- before anything starts -----------------------------------------------------------------------

    def plan(self, main_volumes: list[_RunVolume]) -> list[_RunVolume]:
        """Resolve the other containers' secrets, pull their images, plan their volumes; return the new ones.

        A scratch volume (empty_dir) at a path the main container also mounts is the same volume, as one
        emptyDir per path is in the rendered pod; so is a tmpfs mounted by more than one container,
        which becomes a per-run volume in memory (a Docker tmpfs is private to its container).
        """
        from dockpod.operators._docker import _secrets

        op = self.op
        shared = {v.target: v for v in main_volumes if v.role == "scratch"}
        tmpfs_users: dict[str, int] = {}
        for container in (op.spec, *op.spec.init_containers, *op.spec.sidecars):
            for volume in container.volumes:
                if volume.kind == "tmpfs":
                    tmpfs_users[volume.target] = tmpfs_users.get(volume.target, 0) + 1
        self.shared_tmpfs = {target for target, users in tmpfs_users.items() if users > 1}
        new: list[_RunVolume] = []
        for role, specs in (("init", op.spec.init_containers), ("sidecar", op.spec.sidecars)):
            for spec in specs:
                secrets = _secrets().resolve_secrets(spec, op.profile.secrets) if (
                    spec.secrets or spec.secret_files()) else _secrets().ResolvedSecrets()
                member = Member(spec=spec, role=role, secrets=secrets)
                image = op._ensure_image(spec.image, spec.image_pull_policy)
                workdir = spec.working_dir or (image.get("Config") or {}).get("WorkingDir") or "/"
                for volume in op._plan_volumes(self.run, secrets, workdir, spec=spec, xcom=False,
                                               prefix=member.name):
                    if volume.role == "scratch" and volume.target in shared:
                        volume = shared[volume.target]
                    elif volume.role == "scratch":
                        shared[volume.target] = volume
                        new.append(volume)
                    else:
                        new.append(volume)
                    member.volumes.append(volume)
                self.members.append(member)
        for target in sorted(self.shared_tmpfs):
            if target not in shared:
                volume = op._new_volume(self.run, "tmpfs", target)
                shared[target] = volume
                new.append(volume)
        self.shared = shared
        return new

    def tmpfs_mounts(self, spec: ContainerSpec) -> list[_RunVolume]:
        """The per-run memory volumes standing for the tmpfs mounts ``spec`` shares with another container."""
        return [self.shared[v.target] for v in spec.volumes if v.kind == "tmpfs" and v.target in self.shared_tmpfs]

    def start_holder(self) -> str:
        """Create and start the container that holds the run's network namespace; return its id."""
        op = self.op
        image = op.image
        if op.profile.pause_image:
            image = op.profile.rewrite_image(op.profile.pause_image)
            op._ensure_image(op.profile.pause_image)
        keep = [v.name for target, v in self.shared.items() if target in self.shared_tmpfs]
        body = pod_holder_body(op, image, self._labels("pod", "pod"), keep)
        created = op.cli.create_container_from_config(body, name=f"{self.run.name}-pod")
        self.holder_id = created["Id"]
        self.run.helper_ids.append(self.holder_id)
        try:
            op.cli.start(self.holder_id)
        except APIError as exc:
            raise ContainerFailed(
                f"The task's network holder could not start from {image}: {_text(exc)}.", exit_code=None,
                cause="start_failed",
                fix="A multi-container task needs `sleep` in its image, or a `pause_image` in the profile "
                "that has it.",
            ) from None
        return self.holder_id

    # --- init containers and sidecars -----------------------------------------------------------------

    def run_init_containers(self) -> None:
        """Run each init container to its exit, in order; the first that fails fails the task."""
        for member in (m for m in self.members if m.role == "init"):
            self._create(member)
            self.op.log.info("Running init container %s", member.name)
            stream = self.op.cli.attach(member.container_id, stdout=True, stderr=True, stream=True)
            try:
                self._start(member)
                member.tail = self.op._stream_logs(stream, self._redactor(member), prefix=member.name)
                self.op.cli.wait(member.container_id)
            finally:
                stream.close()
            info = self.op.cli.inspect_container(member.container_id)
            state = info.get("State") or {}
            code, error = int(state.get("ExitCode", -1)), state.get("Error") or ""
            if code != 0 or error:
                self._fail(member, info, "init container", "init_failed",
                           fix_prefix="The main container and the sidecars were not started. ")
            self.op._remove_container(member.container_id)
            self.run.helper_ids.remove(member.container_id)

    def start_sidecars(self) -> None:
        """Start every sidecar with its logs streamed, then await the readiness of those with a probe."""
        sidecars = [m for m in self.members if m.role == "sidecar"]
        for member in sidecars:
            self._create(member)
            stream = self.op.cli.attach(member.container_id, stdout=True, stderr=True, stream=True)
            self._start(member)
            member.logs = threading.Thread(target=self._pump, args=(member, stream), daemon=True,
                                           name=f"dockpod-logs-{member.name}")
            member.logs.start()
            self.op.log.info("Started sidecar %s", member.name)
        for member in sidecars:
            if member.spec.startup_probe or member.spec.readiness_probe:
                self._await_ready(member)

    def watch(self, main_id: str) -> None:
        """Watch the liveness of every container that has a liveness probe, until :meth:`stop`."""
        watched = [(m.name, m.container_id) for m in self.members if m.role == "sidecar" and m.spec.liveness_probe]
        if self.op.spec.liveness_probe:
            watched.append(("base", main_id))
        if watched:
            self._watch = threading.Thread(target=self._watch_liveness, args=(watched,), daemon=True,
                                           name="dockpod-liveness")
            self._watch.start()

    def stop(self) -> None:
        """Stop the sidecars together (SIGTERM, SIGKILL after the task's grace) and take their last log lines."""
        self._stop.set()
        sidecars = [m for m in self.members if m.role == "sidecar" and m.container_id is not None]
        stoppers = [threading.Thread(target=self._stop_one, args=(m,), daemon=True) for m in sidecars]
        for thread in stoppers:
            thread.start()
        for thread in stoppers:
            thread.join(timeout=self.op.spec.grace_seconds + 5)
        for member in sidecars:
            if member.logs is not None:
                member.logs.join(timeout=5)
        if self._watch is not None:
            self._watch.join(timeout=2)

    def _stop_one(self, member: Member) -> None:
        try:
            self.op.cli.stop(member.container_id, timeout=self.op.spec.grace_seconds)
        except (DockerException, OSError) as exc:
            self.op.log.info("Stopping sidecar %s failed, it may be gone already: %s", member.name, exc)

    # --- helpers ----------------------------------------------------------------------------------------

    def _labels(self, role: str, name: str) -> dict[str, str]:
        return {**self.run.labels, ROLE_LABEL: role, CONTAINER_LABEL: name}

    def _create(self, member: Member) -> None:
        op = self.op
        from dockpod.operators._docker import _mount

        args = ContainerArgs(member.spec, op.profile)
        shared_tmpfs = {v.target for v in self.tmpfs_mounts(member.spec)}
        args.mounts = [m for m in args.mounts if m.get("Target") not in shared_tmpfs]
        mounts = [_mount(v, read_only=v.read_only) for v in (*member.volumes, *self.tmpfs_mounts(member.spec))]
        body = create_body(args, host_config_extras(member.spec), run_mounts=mounts, private_env=member.secrets.env,
                           run_labels=self._labels(member.role, member.name), healthcheck=healthcheck(member.spec),
                           pod=self.holder_id)
        try:
            created = op.cli.create_container_from_config(body, name=f"{self.run.name}-{member.name}")
        except APIError as exc:
            raise ContainerFailed(
                f"The {member.role} container {member.name} could not be created: "
                f"{member.secrets.redact(_text(exc))}.", exit_code=None, cause="start_failed") from None
        member.container_id = created["Id"]
        self.run.helper_ids.append(member.container_id)

    def _start(self, member: Member) -> None:
        try:
            self.op.cli.start(member.container_id)
        except APIError as exc:
            self.op.log.info("%s could not start: %s", member.name, member.secrets.redact(_text(exc)))

    def _pump(self, member: Member, stream: Any) -> None:
        try:
            member.tail = self.op._stream_logs(stream, self._redactor(member), prefix=member.name)
        except (DockerException, OSError, ValueError):
            pass  # the container was removed under the stream: its lines so far are logged
        finally:
            stream.close()

    def _redactor(self, member: Member) -> ResolvedSecrets:
        return member.secrets

    def _await_ready(self, member: Member) -> None:
        """Wait for the sidecar's healthcheck to say healthy; fail when it says unhealthy or the sidecar exits."""
        probe = local_probe(member.spec)
        assert probe is not None
        deadline = time.monotonic() + probe.initial_delay_seconds + (probe.period_seconds + probe.timeout_seconds) * (
            probe.failure_threshold + 1) + 10
        self.op.log.info("Waiting for sidecar %s to be ready (its probe every %s s)", member.name,
                         probe.period_seconds)
        while True:
            info = self.op.cli.inspect_container(member.container_id)
            state = info.get("State") or {}
            status = (state.get("Health") or {}).get("Status")
            if status == "healthy":
                self.op.log.info("Sidecar %s is ready", member.name)
                return
            if not state.get("Running") or status == "unhealthy" or time.monotonic() > deadline:
                if not state.get("Running"):
                    self._fail(member, info, "sidecar", "sidecar_failed",
                               fix_prefix="It exited before it was ready; the main container was not started. ")
                raise ContainerFailed(
                    f"Sidecar {member.name} never became ready: its probe {list(probe.exec or ())} "
                    f"failed {probe.failure_threshold} time(s){_last_probe(state)}.", exit_code=None,
                    cause="sidecar_not_ready",
                    fix="Check the sidecar's probe command and what it waits for; the main container was "
                    "not started.")
            time.sleep(POLL_SECONDS)

    def _watch_liveness(self, watched: list[tuple[str, str | None]]) -> None:
        reported: set[str] = set()
        while not self._stop.wait(POLL_SECONDS * 5):
            for name, cid in watched:
                if cid is None or name in reported:
                    continue
                try:
                    state = self.op.cli.inspect_container(cid).get("State") or {}
                except (DockerException, OSError):
                    continue
                if (state.get("Health") or {}).get("Status") != "unhealthy":
                    continue
                reported.add(name)
                if name == "base":
                    self.liveness_failed = True
                    self.op.log.error("The main container failed its liveness probe%s; stopping it, as the "
                                      "kubelet would", _last_probe(state))
                    with contextlib.suppress(DockerException, OSError):
                        self.op.cli.stop(cid, timeout=1)
                else:
                    self.op.log.warning("Sidecar %s failed its liveness probe%s (Kubernetes restarts it; "
                                        "locally it is reported only)", name, _last_probe(state))

    def _fail(self, member: Member, info: dict[str, Any], what: str, cause: str, *, fix_prefix: str) -> None:
        from dockpod.operators._docker import _diagnosis

        state = info.get("State") or {}
        limit = (info.get("HostConfig") or {}).get("Memory") or None
        diagnosis = _diagnosis().diagnose_exit(
            int(state.get("ExitCode", -1)), oom_killed=bool(state.get("OOMKilled")), memory_limit=limit,
            error=member.secrets.redact(state.get("Error") or ""), last_lines=member.tail)
        message = diagnosis.message
        message = message[0].lower() + message[1:] if message else message
        raise ContainerFailed(f"The {what} {member.name} failed: {message}", exit_code=int(state.get("ExitCode", -1)),
                              cause=cause, fix=fix_prefix + (diagnosis.advice or ""))


def _last_probe(state: dict[str, Any]) -> str:
    log = (state.get("Health") or {}).get("Log") or []
    if not log:
        return ""
    last = log[-1]
    output = " ".join(str(last.get("Output") or "").split())[:200]
    return f" (last check: exit code {last.get('ExitCode')}{', ' + output if output else ''})"


def _text(exc: APIError) -> str:
    from dockpod.operators._docker import _api_text

    return _api_text(exc)
