"""The local operator: a real DockerOperator that runs a :class:`ContainerSpec` with dockpod's semantics.

What it adds to the provider's ``execute`` (see DESIGN.md, "Semantics that must be identical"):

* Kubernetes' image pull policies and ``runAsNonRoot`` check, with Kubernetes' wording;
* per-run resources, all labelled ``io.dockpod.run=<id>``: the XCom folder at ``/airflow/xcom``, a
  volume per ``empty_dir`` and read-only volumes of secret files, made writable (or filled) for the
  container's user before it starts. The XCom folder is a private host directory (mode 1777 inside a
  0700 one) bind-mounted when the engine shares the worker's file system, which needs no archive call
  before the start nor after the exit; else (or when the engine turns out not to see the directory) a
  volume like the others. ``dockpod render --env local`` shows which;
* secrets read at execute time from the profile's source, passed as private environment or files,
  masked in the task log and never in a templated field or XCom;
* the container created with one call from :func:`dockpod.backends.docker.create_body` (what
  ``dockpod render --env local`` prints), its logs streamed line by line, the spec's timeout;
* the result read as JSON from ``/airflow/xcom/return.json`` (never unpickled; a symbolic link, FIFO
  or folder there is refused, never followed on the host) and failures explained
  (OOM at which limit, command not found, ...) from the container's state, read before removal;
* everything removed afterwards, also on failure and ``on_kill``.
"""

from __future__ import annotations

import codecs
import errno
import io
import json
import os
import posixpath
import re
import shutil
import stat
import tarfile
import tempfile
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.sdk import AirflowSkipException
from airflow.providers.docker.operators.docker import DockerOperator
from docker.errors import APIError, DockerException, NotFound
from docker.types import Mount

from dockpod.backends.docker import (
    LABEL_PREFIX,
    XCOM_DIR,
    XCOM_FILE,
    create_body,
    healthcheck,
    host_config_extras,
    operator_kwargs,
    placeholder_run,
    run_volumes,
)
from dockpod.errors import ContainerFailed, TranslationError
from dockpod.profiles import Profile
from dockpod.spec import ContainerSpec

if TYPE_CHECKING:
    from airflow.sdk import Context

    from dockpod.operators._diagnosis import Diagnosis
    from dockpod.operators._pod import LocalPod
    from dockpod.operators._secrets import ResolvedSecrets

__all__ = ["RUN_LABEL", "DockpodDockerOperator"]

#: The label every per-run container and volume carries; its value is the run's id.
RUN_LABEL = f"{LABEL_PREFIX}.run"
#: Mode of the XCom and scratch volumes: writable by any container user, like /tmp.
SCRATCH_MODE = 0o1777
SECRET_DIR_MODE = 0o755
SECRET_FILE_MODE = 0o444
#: Directories a secret file may not be mounted into: Docker 20.10 (API 1.41) cannot mount one file of a
#: volume, so a file secret's volume is mounted at its directory, which would hide the image's files.
PROTECTED_DIRS = frozenset({
    "/", "/app", "/bin", "/boot", "/dev", "/etc", "/home", "/lib", "/lib32", "/lib64", "/opt", "/proc",
    "/root", "/run", "/sbin", "/srv", "/sys", "/tmp", "/usr", "/usr/bin", "/usr/lib", "/usr/local",
    "/usr/local/bin", "/usr/local/lib", "/usr/sbin", "/usr/share", "/var", "/var/lib", "/var/run", "/var/tmp",
})
_NAME_CHARS = re.compile(r"[^a-zA-Z0-9_.-]+")
#: Engines (by docker_url) that could not see a host directory of this process: their XCom folder is a
#: volume from then on, without trying again.
_HOST_DIRS_UNSEEN: set[str] = set()
#: The client's base_url when it talks to the engine through a unix socket.
_UNIX_SOCKET_BASE_URL = "http+docker://localhost"


@dataclass
class _RunVolume:
    """A volume made for one run: where it is mounted, how, and what is put in it before the start.

    With ``host_path`` it is a host directory made ready by this process and bind-mounted instead.
    """

    name: str
    target: str
    read_only: bool
    mode: int
    files: dict[str, bytes] = field(default_factory=dict)
    host_path: str | None = None
    role: str = "scratch"
    driver_opts: dict[str, str] | None = None


@dataclass
class _Run:
    """What one execution created, so that it can be removed whatever happens."""

    id: str
    name: str
    labels: dict[str, str]
    container_id: str | None = None
    helper_ids: list[str] = field(default_factory=list)
    volumes: list[str] = field(default_factory=list)
    host_dirs: list[str] = field(default_factory=list)
    timed_out: bool = False
    killed: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)
    pod: LocalPod | None = None


@dataclass(frozen=True)
class _XcomOnly:
    """What :func:`placeholder_run` reads of an operator, for a container that is not the task's own."""

    do_xcom_push: bool
    docker_url: str | None = None


class DockpodDockerOperator(DockerOperator):
    """A DockerOperator built from a :class:`ContainerSpec` and a profile, run with dockpod's semantics.

    ``kwargs`` are :func:`dockpod.backends.docker.operator_kwargs` merged with BaseOperator's
    (``task_id``, ``retries``...); when they hold no ``image``, the spec's are computed here. The
    templated fields (image, command, environment, mounts...) render as in any DockerOperator.
    """

    def __init__(self, *, spec: ContainerSpec, profile: Profile, **kwargs: Any) -> None:
        if "image" not in kwargs:
            kwargs = {**operator_kwargs(spec, profile), **kwargs}
        _secret_mount_dirs(spec, ())  # refuse impossible secret files at DAG parse time
        super().__init__(**kwargs)
        self.spec = spec
        self.profile = profile
        self._run: _Run | None = None

    # --- the run ----------------------------------------------------------------------------------

    def execute(self, context: Context) -> Any:
        """Run the container once; return its parsed ``return.json`` (when XCom is on)."""
        self._normalize_mounts()
        run = self._run = self._new_run(context)
        pod = None
        try:
            secrets = self._resolve_secrets()
            leftover = self._clear_leftovers(run)
            if leftover is not None:
                return self._reattach(run, leftover, secrets)
            image = self._ensure_image()
            self._check_non_root(image)
            workdir = self.working_dir or (image.get("Config") or {}).get("WorkingDir") or "/"
            volumes = self._plan_volumes(run, secrets, workdir)
            if self.spec.init_containers or self.spec.sidecars or self.spec.liveness_probe:
                from dockpod.operators._pod import LocalPod

                pod = run.pod = LocalPod(self, run)
                extra = pod.plan(volumes)
                self._create_volumes(run, [*volumes, *extra])
                pod.start_holder()
                self._create_container(run, volumes, secrets)
                self._prepare_volumes(run, [*volumes, *extra], helper=True)
                pod.run_init_containers()
                pod.start_sidecars()
                pod.watch(run.container_id or "")
            else:
                self._create_volumes(run, volumes)
                self._create_container(run, volumes, secrets)
                self._prepare_volumes(run, volumes)
            tail, status = self._run_container(run, secrets)
            if run.killed:
                raise _killed()
            if pod is not None and pod.liveness_failed:
                raise ContainerFailed(
                    "The main container failed its liveness probe and was stopped, as the kubelet does.",
                    exit_code=status.get("StatusCode") if status else None, cause="liveness_failed",
                    fix="Check what the probe runs and that the program answers it within its timeout.")
            if status is None or status.get("StatusCode") != 0 or status.get("Error"):
                # Only the state tells OOM, the limit, or why the start failed; a clean exit 0 (the
                # wait's status carries the state's exit code and error) needs nothing more.
                self._judge(self.cli.inspect_container(run.container_id), tail, secrets)
            return self._read_result(run, volumes, secrets) if self.do_xcom_push else None
        except (DockerException, OSError):
            if run.killed:  # on_kill removed the container under our feet: say so, not "404 Not Found"
                raise _killed() from None
            raise
        finally:
            if pod is not None:
                pod.stop()
            self._cleanup(run)

    def on_kill(self) -> None:
        """Stop the container (SIGTERM, then SIGKILL after a short grace) and remove everything."""
        run = self._run
        if run is None:
            return
        run.killed = True
        if run.container_id:
            self.log.info("Stopping container %s (%s s grace)", run.name, self.spec.grace_seconds)
            try:
                self.cli.stop(run.container_id, timeout=self.spec.grace_seconds)
            except (DockerException, OSError) as exc:
                self.log.info("Stopping %s failed, it may be gone already: %s", run.name, exc)
        self._cleanup(run)

    def _new_run(self, context: Context | None) -> _Run:
        ti = (context or {}).get("ti")
        run_id = str((context or {}).get("run_id") or getattr(ti, "run_id", "") or "")
        short = uuid.uuid4().hex[:12]
        dag_id = str(getattr(ti, "dag_id", None) or self.dag_id)
        labels = {
            RUN_LABEL: short,
            f"{LABEL_PREFIX}.dag_id": dag_id,
            f"{LABEL_PREFIX}.task_id": self.task_id,
            f"{LABEL_PREFIX}.run_id": run_id,
            f"{LABEL_PREFIX}.try_number": str(getattr(ti, "try_number", 0)),
            f"{LABEL_PREFIX}.map_index": str(getattr(ti, "map_index", -1)),
        }
        base = self.container_name or "dockpod"
        name = _NAME_CHARS.sub("-", f"{base}-{dag_id[:40]}-{self.task_id[:40]}-{short}").strip("-._")
        return _Run(id=short, name=name, labels=labels)

    # --- what an earlier try left behind ---------------------------------------------------------------

    def _clear_leftovers(self, run: _Run) -> dict[str, Any] | None:
        """Find the containers of earlier tries of this task instance; return one to reattach to.

        A worker killed with SIGKILL cannot remove what it started. Like KubernetesPodOperator's
        reattach, the next try looks for them by label (dag_id, task_id, run_id, map_index): a main
        container still running is adopted (its logs followed, its result read); anything else of those
        runs is removed (containers, volumes, host directories).
        """
        if not run.labels.get(f"{LABEL_PREFIX}.run_id"):
            return None  # not a task instance (a direct execute() call): nothing identifies earlier tries
        keys = ("dag_id", "task_id", "run_id", "map_index")
        found = self.cli.containers(all=True, filters={"label": [
            f"{LABEL_PREFIX}.{key}={run.labels[f'{LABEL_PREFIX}.{key}']}" for key in keys]})
        adopt = None
        runs: dict[str, list[dict[str, Any]]] = {}
        for container in found:
            runs.setdefault((container.get("Labels") or {}).get(RUN_LABEL, ""), []).append(container)
        for old_run, containers in runs.items():
            main = next((c for c in containers if (c.get("Labels") or {}).get(f"{LABEL_PREFIX}.role", "main")
                         == "main"), None)
            if adopt is None and main is not None and main.get("State") == "running":
                adopt = main
                self.log.info("Reattaching to container %s of try %s, still running", main["Names"][0].lstrip("/"),
                              (main.get("Labels") or {}).get(f"{LABEL_PREFIX}.try_number"))
            else:
                self.log.info("Removing %d container(s) left behind by an earlier try (run %s)", len(containers),
                              old_run)
            with run.lock:  # whatever happens next, it is removed with this run's objects
                run.helper_ids.extend(c["Id"] for c in containers if c is not adopt)
                run.volumes.extend(v["Name"] for v in self._labelled_volumes(old_run))
                run.host_dirs.extend(_host_dirs_of(containers))
        if adopt is None:
            self._cleanup(run)
        return adopt

    def _labelled_volumes(self, run_id: str) -> list[dict[str, Any]]:
        return (self.cli.volumes(filters={"label": f"{RUN_LABEL}={run_id}"}) or {}).get("Volumes") or []

    def _reattach(self, run: _Run, container: dict[str, Any], secrets: ResolvedSecrets) -> Any:
        """Follow an adopted container to its exit, judge it and read its result like one started here."""
        run.container_id = container["Id"]
        stream = self.cli.attach(run.container_id, stdout=True, stderr=True, stream=True, logs=False)
        try:
            tail = self._stream_logs(stream, secrets)
            status = self.cli.wait(run.container_id)
        finally:
            stream.close()
        if run.killed:
            raise _killed()
        if not isinstance(status, dict) or status.get("StatusCode") != 0 or status.get("Error"):
            self._judge(self.cli.inspect_container(run.container_id), tail, secrets)
        return self._read_result(run, [], secrets) if self.do_xcom_push else None

    # --- before the container exists ----------------------------------------------------------------

    def _resolve_secrets(self) -> ResolvedSecrets:
        """Read the spec's secret values from the profile's source and register them with the log masker."""
        if not self.spec.secrets and not self.spec.secret_files():
            return _secrets().ResolvedSecrets()
        resolved = _secrets().resolve_secrets(self.spec, self.profile.secrets)
        from airflow.sdk.log import mask_secret

        for part in resolved.patterns:
            mask_secret(part)
        self.log.info("Resolved %d secret value(s) from the profile's %s source",
                      len(resolved.env) + len(resolved.files), self.profile.secrets.kind)
        return resolved

    def _ensure_image(self, name: str | None = None, pull_policy: str | None = None) -> dict[str, Any]:
        """Apply the pull policy (Always / IfNotPresent / Never); return the image's inspect data.

        Without arguments, for the task's own image; else for the image ``name`` (before the profile's
        registry rewrite) of an init container or sidecar.
        """
        if name is None:
            image_name = self.image
            policy = "Always" if self.force_pull else (self.spec.image_pull_policy or "IfNotPresent")
        else:
            image_name, policy = self.profile.rewrite_image(name), pull_policy or "IfNotPresent"
        image = self._inspect_image(image_name)
        if policy == "Always" or (image is None and policy == "IfNotPresent"):
            self._pull(image_name)
            image = self._inspect_image(image_name)
        if image is None:
            raise _failure(_diagnosis().diagnose_missing_image(image_name))
        return image

    def _inspect_image(self, name: str) -> dict[str, Any] | None:
        try:
            return self.cli.inspect_image(name)
        except NotFound:
            return None

    def _pull(self, name: str) -> None:
        self.log.info("::group::Pulling image %s", name)
        latest: dict[str, str] = {}
        try:
            for item in self.cli.pull(name, stream=True, decode=True):
                if not isinstance(item, dict):
                    continue
                if item.get("error"):
                    raise _failure(_diagnosis().diagnose_pull(name, str(item["error"])))
                status, layer = item.get("status"), item.get("id")
                if status and latest.get(layer or "") != status:
                    latest[layer or ""] = status
                    self.log.info("%s%s", f"{layer}: " if layer else "", status)
        except APIError as exc:
            raise _failure(_diagnosis().diagnose_pull(name, _api_text(exc))) from None
        finally:
            self.log.info("::endgroup::")

    def _check_non_root(self, image: dict[str, Any]) -> None:
        """Refuse, before anything starts, an image that would run as root under run_as_non_root."""
        if not self.spec.security.run_as_non_root:
            return
        user = str(self.user) if self.user is not None else (image.get("Config") or {}).get("User")
        diagnosis = _diagnosis().diagnose_non_root(self.image, user)
        if diagnosis is not None:
            raise _failure(diagnosis)

    def _plan_volumes(self, run: _Run, secrets: ResolvedSecrets, workdir: str, *, spec: ContainerSpec | None = None,
                      xcom: bool | None = None, prefix: str = "") -> list[_RunVolume]:
        """Plan the per-run volumes: XCom, one per empty_dir, one per directory of secret files.

        The plan is :func:`dockpod.backends.docker.placeholder_run`'s mounts, the ones ``dockpod
        render`` shows: a ``bind`` there is a host directory made here. ``spec`` is the task's own
        unless an init container's or sidecar's (``prefix``: its name, in the volumes' names).
        """
        spec = spec or self.spec
        xcom = bool(self.do_xcom_push) if xcom is None else xcom
        _secret_mount_dirs(spec, (workdir,))
        for volume in spec.volumes:
            if volume.kind == "empty_dir" and volume.size:
                self.log.warning("empty_dir %s: its size limit is enforced in Kubernetes only; the local "
                                 "Docker volume is not limited", volume.target)
        files: dict[str, dict[str, bytes]] = {}
        for path, content in secrets.files.items():
            directory, name = posixpath.split(path)
            files.setdefault(directory, {})[name] = content
        volumes = []
        plan = run_volumes(spec, xcom=xcom)
        shown, _env, _labels = placeholder_run(spec, _XcomOnly(xcom) if prefix else self)
        for index, ((role, target, read_only), mount) in enumerate(zip(plan, shown, strict=True)):
            is_secret = role == "secrets"
            volume = _RunVolume(
                f"{run.name}-{prefix + '-' if prefix else ''}{role}-{index}", target, read_only=read_only,
                mode=SECRET_DIR_MODE if is_secret else SCRATCH_MODE,
                files=files.get(target.rstrip("/") or "/", {}) if is_secret else {}, role=role,
            )
            if mount["Type"] == "bind" and self._engine_sees_host_dirs():
                volume.host_path = self._make_host_dir(run, role, volume.mode)
            volumes.append(volume)
        return volumes

    def _new_volume(self, run: _Run, role: str, target: str) -> _RunVolume:
        """A per-run volume at ``target``; ``tmpfs``: in memory, for a tmpfs several containers share."""
        opts = {"type": "tmpfs", "device": "tmpfs", "o": "mode=1777"} if role == "tmpfs" else None
        index = len(run.volumes) + len(run.host_dirs)
        return _RunVolume(f"{run.name}-{role}-shared-{index}", target, read_only=False, mode=SCRATCH_MODE,
                          role=role, driver_opts=opts)

    def _engine_sees_host_dirs(self) -> bool:
        """The engine is reached through a unix socket and has not been seen missing our directories."""
        return self.cli.base_url == _UNIX_SOCKET_BASE_URL and str(self.docker_url) not in _HOST_DIRS_UNSEEN

    def _make_host_dir(self, run: _Run, role: str, mode: int) -> str:
        """A directory with ``mode`` inside a private (0700) one of the host's temporary folder.

        The private parent keeps other host users out of a world-writable folder (they could plant a
        result); the container reaches the inner one through the bind mount only.
        """
        parent = tempfile.mkdtemp(prefix=f"dockpod-run-{run.id}-", dir=self.host_tmp_dir)
        with run.lock:
            run.host_dirs.append(parent)
        path = os.path.join(parent, role)
        os.mkdir(path)
        os.chmod(path, mode)  # mkdir's mode is cut by the umask
        return path

    def _create_volumes(self, run: _Run, volumes: list[_RunVolume]) -> None:
        for volume in volumes:
            if volume.host_path is None and volume.name not in run.volumes:
                self.cli.create_volume(volume.name, driver="local", driver_opts=volume.driver_opts,
                                       labels=run.labels)
                run.volumes.append(volume.name)

    def _create_container(self, run: _Run, volumes: list[_RunVolume], secrets: ResolvedSecrets) -> None:
        """Create the container with one call, from the same body ``dockpod render --env local`` prints."""
        mounts = [_mount(v, read_only=v.read_only) for v in volumes]
        labels = {**run.labels, f"{LABEL_PREFIX}.role": "main", f"{LABEL_PREFIX}.container": "base"}
        pod = run.pod
        if pod is not None:
            shared_tmpfs = pod.tmpfs_mounts(self.spec)
            mounts += [_mount(v, read_only=False) for v in shared_tmpfs]
            labels = pod._labels("main", "base")
        body = create_body(self, host_config_extras(self.spec), run_mounts=mounts, private_env=secrets.env,
                           run_labels=labels, healthcheck=healthcheck(self.spec),
                           pod=pod.holder_id if pod is not None else None)
        if pod is not None and shared_tmpfs:  # the shared per-run memory volume stands for the private tmpfs
            taken = {v.target for v in shared_tmpfs}
            host_config = body["HostConfig"]
            host_config["Mounts"] = [m for m in host_config["Mounts"]
                                     if m.get("Type") != "tmpfs" or m.get("Target") not in taken]
        try:
            created = self.cli.create_container_from_config(body, name=run.name)
        except APIError as exc:
            text = _api_text(exc)
            unseen = [v for v in volumes if v.host_path is not None and v.host_path in text]
            if not unseen:
                raise _failure(_diagnosis().diagnose_exit(-1, error=secrets.redact(text))) from None
            self._use_volumes_instead(run, unseen, secrets.redact(text))
            self._create_container(run, volumes, secrets)
            return
        run.container_id = created["Id"]
        self.container = created
        for warning in created.get("Warnings") or ():
            self.log.info("Docker: %s", warning)
        self.log.info("Created container %s from %s", run.name, self.image)

    def _use_volumes_instead(self, run: _Run, unseen: list[_RunVolume], error: str) -> None:
        """Turn host directories the engine cannot see into volumes, as for a remote engine.

        That is the case of a worker in a container that talks to the host's engine through its socket.
        """
        self.log.info("The Docker engine cannot use a host directory of this worker (%s); the XCom folder "
                      "is a volume instead", error)
        _HOST_DIRS_UNSEEN.add(str(self.docker_url))
        for volume in unseen:
            _remove_host_dir(os.path.dirname(volume.host_path or ""), self.log)
            volume.host_path = None
        self._create_volumes(run, unseen)

    def _prepare_volumes(self, run: _Run, volumes: list[_RunVolume], *, helper: bool = False) -> None:
        """Make scratch volumes writable by any user and fill the secret volumes, before the start.

        Fresh volumes are root-owned 0755; the directory entries of one tar extracted at ``/`` set each
        volume's root to its mode. The engine refuses to extract into a read-only mount or a read-only
        root file system, so then a never-started helper container mounting the same volumes writable
        takes the archive instead. Host directories are ready already: with none of those volumes,
        there is no call at all.
        """
        volumes = [v for v in volumes if v.host_path is None]
        if not volumes:
            return
        archive = _volume_archive(volumes)
        needs_helper = helper or any(v.read_only for v in volumes) or self.spec.security.read_only_root_filesystem
        target = self._create_helper(run, volumes) if needs_helper else run.container_id
        try:
            self.cli.put_archive(target, "/", archive)
        finally:
            if needs_helper:
                self._remove_container(target)
                run.helper_ids.remove(target)

    def _create_helper(self, run: _Run, volumes: list[_RunVolume]) -> str:
        mounts = [_mount(v, read_only=False) for v in volumes]
        helper = self.cli.create_container(
            self.image,
            entrypoint=["/nonexistent/never-started"],
            name=f"{run.name}-prepare",
            labels=run.labels,
            network_disabled=True,
            host_config=self.cli.create_host_config(mounts=mounts, network_mode="none"),
        )
        run.helper_ids.append(helper["Id"])
        return helper["Id"]

    # --- while it runs --------------------------------------------------------------------------------

    def _run_container(self, run: _Run, secrets: ResolvedSecrets) -> tuple[list[str], dict[str, Any] | None]:
        """Start the container, stream its output to the task log, wait for the exit.

        Returns the last lines and the wait's status (exit code and error), None when the runtime
        refused the start (command not found...): that is not raised here, the container's state holds
        the reason and :meth:`_judge` explains it.
        """
        cid = run.container_id
        stream = self.cli.attach(cid, stdout=True, stderr=True, stream=True)
        try:
            try:
                self.cli.start(cid)
            except APIError as exc:
                self.log.info("The container could not start: %s", secrets.redact(_api_text(exc)))
                return [], None
            watchdog = self._watchdog(run)
            try:
                tail = self._stream_logs(stream, secrets)
                status = self.cli.wait(cid)
            finally:
                if watchdog is not None:
                    watchdog.cancel()
        finally:
            stream.close()
        if run.timed_out:
            raise _failure(_diagnosis().diagnose_timeout(self.spec.timeout or 0, tail))
        return tail, status if isinstance(status, dict) else None

    def _watchdog(self, run: _Run) -> threading.Timer | None:
        """Stop the container when the spec's timeout has passed."""
        if not self.spec.timeout:
            return None

        def expire() -> None:
            run.timed_out = True
            self.log.error("The container ran longer than its timeout of %s s; stopping it",
                           self.spec.timeout)
            try:
                self.cli.stop(run.container_id, timeout=self.spec.grace_seconds)
            except (DockerException, OSError) as exc:
                self.log.warning("Stopping the timed-out container failed: %s", exc)

        timer = threading.Timer(self.spec.timeout, expire)
        timer.daemon = True
        timer.start()
        return timer

    def _stream_logs(self, chunks: Iterable[bytes | str], secrets: ResolvedSecrets, prefix: str | None = None
                     ) -> list[str]:
        """Log every line of stdout and stderr as it comes, secret values replaced; return the last few.

        The values are also registered with Airflow's masker, but that only acts where Airflow's log
        processors mask (a worker's supervisor), not e.g. under ``dag.test()``: redacting here holds
        everywhere.
        """
        tail: deque[str] = deque(maxlen=_diagnosis().LAST_LINES)
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        buffer = ""
        if prefix is None and self._run is not None and self._run.pod is not None:
            prefix = "base"  # a multi-container task: every line says which container wrote it
        for chunk in chunks:
            buffer += decoder.decode(chunk) if isinstance(chunk, bytes) else chunk
            *lines, buffer = buffer.split("\n")
            for line in lines:
                self._log_line(line, tail, secrets, prefix)
        buffer += decoder.decode(b"", final=True)
        if buffer:
            self._log_line(buffer, tail, secrets, prefix)
        return list(tail)

    def _log_line(self, line: str, tail: deque[str], secrets: ResolvedSecrets, prefix: str | None = None) -> None:
        line = secrets.redact(line.rstrip())
        if prefix:
            self.log.info("[%s] %s", prefix, line)
        else:
            self.log.info("%s", line)
        tail.append(line)

    # --- after the exit, before removal ----------------------------------------------------------------

    def _judge(self, info: dict[str, Any], tail: list[str], secrets: ResolvedSecrets) -> None:
        """Success, skip (exit code in skip_on_exit_code) or ContainerFailed with the diagnosed cause."""
        state = info.get("State") or {}
        code = int(state.get("ExitCode", -1))
        error = state.get("Error") or ""
        if code == 0 and not error:
            return
        if code in self.skip_on_exit_code and not error:
            raise AirflowSkipException(
                f"The container exited with code {code}, which is in skip_on_exit_code: the task is skipped.")
        limit = (info.get("HostConfig") or {}).get("Memory") or None
        diagnosis = _diagnosis().diagnose_exit(code, oom_killed=bool(state.get("OOMKilled")), memory_limit=limit,
                                  error=secrets.redact(error), last_lines=tail)
        raise _failure(diagnosis, exit_code=code)

    def _read_result(self, run: _Run, volumes: list[_RunVolume], secrets: ResolvedSecrets) -> Any:
        """Parse ``return.json`` of the XCom folder as JSON; None when the container wrote none.

        From a host directory it is a plain file read (a symbolic link there is refused, never followed
        on the host); from a volume, or a file this process may not read, the engine's archive of it.
        """
        xcom = next((v for v in volumes if v.target == XCOM_DIR), None)
        content = None
        if xcom is not None and xcom.host_path is not None:
            content = _read_host_file(os.path.join(xcom.host_path, posixpath.basename(XCOM_FILE)))
        if content is _ASK_ENGINE or xcom is None or xcom.host_path is None:
            content = self._read_archived_result(run.container_id)
        if content is None:
            self.log.info("The container wrote no %s; the task's XCom value is None", XCOM_FILE)
            return None
        if not content.strip():
            return None
        try:
            value = json.loads(content)
        except ValueError as exc:
            where = ""
            if isinstance(exc, json.JSONDecodeError):
                where = f" ({exc.msg} at line {exc.lineno} column {exc.colno})"
            raise ContainerFailed(
                f"The container's result file {XCOM_FILE} is not valid JSON{where}.", exit_code=0,
                cause="invalid_result",
                fix="Write the result with json.dump; dockpod reads JSON only and never unpickles.",
            ) from None
        return self._without_secrets(value, secrets)

    def _read_archived_result(self, cid: str | None) -> bytes | None:
        try:
            chunks, _stat = self.cli.get_archive(cid, XCOM_FILE)
        except NotFound:
            return None
        with tarfile.open(fileobj=io.BytesIO(b"".join(chunks))) as tar:
            member = tar.next()
            handle = tar.extractfile(member) if member is not None and member.isfile() else None
            if handle is None:
                raise _not_a_file()
            return handle.read()

    def _without_secrets(self, value: Any, secrets: ResolvedSecrets) -> Any:
        """Replace any secret value in the result by ``***``: a secret never goes to XCom."""
        if not secrets.values():
            return value
        cleaned = _map_strings(value, secrets.redact)
        if cleaned != value:
            self.log.warning("The container's result held a secret value; it is replaced by *** in XCom")
        return cleaned

    # --- clean-up ---------------------------------------------------------------------------------------

    def _cleanup(self, run: _Run) -> None:
        """Remove the run's containers, volumes and host directories; safe to call twice and from on_kill."""
        with run.lock:
            containers = [*run.helper_ids, *([run.container_id] if run.container_id else [])]
            volumes = list(run.volumes)
            host_dirs = list(run.host_dirs)
            run.helper_ids.clear()
            run.volumes.clear()
            run.host_dirs.clear()
            run.container_id = None
        for cid in containers:
            self._remove_container(cid)
        for name in volumes:
            self._remove_volume(name)
        for path in host_dirs:
            _remove_host_dir(path, self.log)

    def _remove_container(self, cid: str) -> None:
        try:
            self.cli.remove_container(cid, force=True)
        except NotFound:
            pass
        except (DockerException, OSError) as exc:
            self.log.warning("Could not remove container %s: %s", cid[:12], exc)

    def _remove_volume(self, name: str) -> None:
        for attempt in range(3):
            try:
                self.cli.remove_volume(name, force=True)
                return
            except NotFound:
                return
            except (DockerException, OSError) as exc:
                if attempt == 2:
                    self.log.warning("Could not remove volume %s: %s", name, exc)
                time.sleep(0.2)


def _failure(diagnosis: Diagnosis, *, exit_code: int | None = None) -> ContainerFailed:
    return ContainerFailed(diagnosis.message, exit_code=exit_code, cause=diagnosis.cause, fix=diagnosis.advice)


def _killed() -> ContainerFailed:
    return ContainerFailed("The container was stopped and removed because the task was killed.",
                           exit_code=None, cause="killed")


def _not_a_file() -> ContainerFailed:
    return ContainerFailed(f"The container's result {XCOM_FILE} is not a regular file.", exit_code=0,
                           cause="invalid_result", fix="Write the JSON result to that path as a file.")


#: :func:`_read_host_file` could not read the file itself: the engine's archive of it decides.
_ASK_ENGINE: Any = object()


def _read_host_file(path: str) -> bytes | None:
    """The content of the result file in a host directory; None when there is none.

    A symbolic link is refused, never followed (it would read the host's files, not the container's);
    so is anything but a regular file (a FIFO would block). A file this process may not read (written
    0600 by another uid) returns :data:`_ASK_ENGINE`.
    """
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        return None
    except OSError as exc:
        try:
            is_link = stat.S_ISLNK(os.lstat(path).st_mode)
        except OSError:
            is_link = False
        if is_link or exc.errno == errno.ELOOP:
            raise _not_a_file() from None
        return _ASK_ENGINE
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise _not_a_file()
        with os.fdopen(fd, "rb", closefd=False) as handle:
            return handle.read()
    finally:
        os.close(fd)


def _host_dirs_of(containers: list[dict[str, Any]]) -> list[str]:
    """The private per-run host directories (``dockpod-run-*``) the containers bind-mount."""
    dirs = []
    for container in containers:
        for mount in container.get("Mounts") or ():
            parent = os.path.dirname(str(mount.get("Source") or ""))
            if mount.get("Type") == "bind" and os.path.basename(parent).startswith("dockpod-run-"):
                dirs.append(parent)
    return dirs


def _remove_host_dir(path: str, log: Any) -> None:
    """Remove a per-run host directory and what the container left in it."""
    try:
        shutil.rmtree(path)
    except FileNotFoundError:
        pass
    except OSError as exc:  # e.g. a folder the container made as another uid, when the worker is not root
        shutil.rmtree(path, ignore_errors=True)
        log.warning("Could not remove all of %s: %s", path, exc)


def _api_text(exc: APIError) -> str:
    explanation = exc.explanation
    if isinstance(explanation, bytes):
        explanation = explanation.decode(errors="replace")
    return str(explanation or exc)


def _secret_mount_dirs(spec: ContainerSpec, extra_protected: Iterable[str]) -> list[str]:
    """Where the secret volumes go: a directory secret's path, a file secret's directory.

    Raises :class:`TranslationError` when a file secret's directory would hide the image's files or
    collides with another mount.
    """
    protected = PROTECTED_DIRS | {d.rstrip("/") or "/" for d in extra_protected}
    taken = {v.target: v.docker_notation() for v in spec.volumes if v.kind != "secret"}
    if spec.xcom:
        taken[XCOM_DIR] = "the XCom folder"
    dirs: list[str] = []
    for secret in spec.secret_files():
        path = (secret.path or "").rstrip("/") or "/"
        directory = posixpath.dirname(path) if secret.key else path
        if secret.key and directory in protected:
            raise TranslationError(
                "secrets", "docker",
                f"the secret file {path} would be mounted as the whole directory {directory} (Docker 20.10 "
                "cannot mount a single file of a volume), hiding the image's files there",
                fix="Put secret files in a directory of their own, e.g. "
                f"/run/secrets/{posixpath.basename(path)}.",
            )
        if directory in taken:
            raise TranslationError(
                "secrets", "docker",
                f"the secret files of {secret.describe()} go to {directory}, which is already the mount of "
                f"{taken[directory]}",
                fix="Mount secrets in a directory of their own.",
            )
        if directory not in dirs:
            dirs.append(directory)
    return dirs


def _mount(volume: _RunVolume, *, read_only: bool) -> Mount:
    """Mount a per-run volume; no_copy keeps it empty (like an emptyDir) and keeps its root's mode.

    A host directory is bind-mounted (what ``dockpod render`` shows as ``<per-run ... directory>``).
    """
    if volume.host_path is not None:
        return Mount(volume.target, volume.host_path, type="bind", read_only=read_only)
    return Mount(volume.target, volume.name, type="volume", read_only=read_only, no_copy=True)


def _volume_archive(volumes: list[_RunVolume]) -> bytes:
    """One tar, to extract at ``/``: each volume's root directory with its mode, then its files."""
    now = time.time()
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for volume in volumes:
            root = volume.target.strip("/")
            tar.addfile(_tar_entry(root, tarfile.DIRTYPE, volume.mode, now))
            for name, content in sorted(volume.files.items()):
                entry = _tar_entry(f"{root}/{name}", tarfile.REGTYPE, SECRET_FILE_MODE, now, len(content))
                tar.addfile(entry, io.BytesIO(content))
    return buffer.getvalue()


def _tar_entry(name: str, kind: bytes, mode: int, mtime: float, size: int = 0) -> tarfile.TarInfo:
    entry = tarfile.TarInfo(name)
    entry.type = kind
    entry.mode = mode
    entry.mtime = int(mtime)
    entry.size = size
    entry.uid = entry.gid = 0
    return entry


def _map_strings(value: Any, func: Callable[[str], str]) -> Any:
    if isinstance(value, str):
        return func(value)
    if isinstance(value, list):
        return [_map_strings(v, func) for v in value]
    if isinstance(value, dict):
        return {func(k) if isinstance(k, str) else k: _map_strings(v, func) for k, v in value.items()}
    return value


def _diagnosis() -> Any:
    """The failure explanations, loaded when a run needs them, not when a DAG file is parsed."""
    from dockpod.operators import _diagnosis as module

    return module


def _secrets() -> Any:
    """Secret resolution, loaded when a run needs it, not when a DAG file is parsed."""
    from dockpod.operators import _secrets as module

    return module
