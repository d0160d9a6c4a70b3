"""Run one Kubernetes Pod manifest for real under podman and report what happened, as KPO would see it.

The manifest is what ``ApiClient().sanitize_for_serialization(pod)`` gives for a pod built by
``KubernetesPodOperator.build_pod_request_obj()``. :func:`run_pod` adapts it where podman 4.3 differs
from a cluster (see :mod:`dockpod.runtime._pod_adapt`; every difference is listed in
``PodRun.adapted``), pulls its images from the (insecure, local) registry, plays it with
``podman kube play``, waits until the main container ``base`` has exited (kube play returns at once),
reads the XCom value through the sidecar exactly as KubernetesPodOperator does, and always removes
the pod, its per-run volumes and secrets and its temporary files, also on error and timeout.

PersistentVolumeClaims are podman named volumes called after ``claimName``: they outlive the run, so
that consecutive pods sharing a claim see each other's files (remove them with :func:`remove_volumes`).
Each emptyDir is a podman volume of this run only, created world-writable as Kubernetes makes it.
Secret values come from the ``secrets`` argument (Secret name -> key -> value) and are never printed.
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import json
import os
import shutil
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dockpod.errors import DockpodError
from dockpod.operators._diagnosis import Diagnosis, diagnose_exit, diagnose_non_root, diagnose_pull
from dockpod.runtime._pod_adapt import BASE_CONTAINER, PodPlan, adapt_pod, all_containers
from dockpod.spec import parse_memory

__all__ = [
    "BASE_CONTAINER",
    "XCOM_SIDECAR",
    "PodRun",
    "check_podman",
    "podman_available",
    "podman_problem",
    "remove_volumes",
    "run_pod",
]

#: KubernetesPodOperator's XCom sidecar container, and how it reads the result (PodManager.extract_xcom_json).
XCOM_SIDECAR = "airflow-xcom-sidecar"
XCOM_FILE = "/airflow/xcom/return.json"
EMPTY_XCOM_RESULT = "__airflow_xcom_result_empty__"
_XCOM_COMMAND = f"if [ -s {XCOM_FILE} ]; then cat {XCOM_FILE}; else echo {EMPTY_XCOM_RESULT}; fi"
_INSECURE = "--tls-verify=false"
_DONE = ("exited", "stopped")
_PODMAN_NOISE = ("failed to connect to syslog",)
_PODMAN_OK = False

Log = Callable[[str], None]


@dataclass(frozen=True)
class PodRun:
    """What happened to one pod, as KubernetesPodOperator would see it.

    ``exit_code`` is the main container's (None when it never ran: image not pulled, a missing Secret,
    a failed init container, a timeout); ``reason`` is one sentence ("completed", or why it failed) and
    ``fix`` what to do about a failure. ``xcom`` is the parsed JSON the container wrote to
    ``/airflow/xcom/return.json`` (None without XCom sidecar or file); ``xcom_error`` says why it could
    not be read, which fails the task in KPO. ``logs`` are the main container's lines and
    ``container_logs`` every container's, init containers and sidecars included. ``adapted`` lists what
    was changed because podman cannot run it as written. ``duration_s`` is the whole run, pulls and
    teardown included; ``leftovers`` names anything teardown could not remove; ``run_id`` is the tag in
    the names of the run's own podman volumes and secrets (``dockpod-<run_id>-...``).
    """

    pod_name: str
    exit_code: int | None
    reason: str
    fix: str | None = None
    xcom: Any = None
    xcom_error: str | None = None
    logs: tuple[str, ...] = ()
    container_logs: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    oom_killed: bool = False
    timed_out: bool = False
    duration_s: float = 0.0
    adapted: tuple[str, ...] = ()
    leftovers: tuple[str, ...] = ()
    run_id: str = ""

    @property
    def succeeded(self) -> bool:
        """True when the main container exited 0 and its XCom value (if any) could be read."""
        return self.exit_code == 0 and self.xcom_error is None


def podman_problem() -> str | None:
    """Why podman cannot run pods here, or None when ``podman info`` answers (remembered once it did)."""
    global _PODMAN_OK
    if _PODMAN_OK:
        return None
    if shutil.which("podman") is None:
        return "podman is not installed (apt-get install -y podman catatonit)"
    try:
        result = _podman("info", "--format", "{{.Host.OCIRuntime.Name}}", timeout=60)
    except subprocess.TimeoutExpired:
        return "podman info did not answer within 60 s"
    if result.returncode != 0:
        return f"podman info failed: {_clip(_stderr(result))}"
    _PODMAN_OK = True
    return None


def podman_available() -> bool:
    """True when podman is installed and ``podman info`` answers."""
    return podman_problem() is None


def check_podman() -> None:
    """Raise :class:`DockpodError` naming the problem when podman is not usable."""
    problem = podman_problem()
    if problem:
        raise DockpodError(f"Pods cannot run under podman here: {problem}.",
                           fix="Run make setup: it installs podman and writes /etc/containers/containers.conf.")


def remove_volumes(names: Iterable[str]) -> list[str]:
    """Remove podman volumes (e.g. the ones standing for PersistentVolumeClaims); returns the ones left."""
    return [name for name in names if not _remove("volume", name)]


def run_pod(
    manifest: Mapping[str, Any],
    *,
    image_rewrites: Mapping[str, str] | None = None,
    secrets: Mapping[str, Mapping[str, str]] | None = None,
    config_maps: Mapping[str, Mapping[str, str]] | None = None,
    timeout: float = 300,
    log: Log | None = None,
) -> PodRun:
    """Run the pod ``manifest`` under podman until its ``base`` container exits, then tear it down.

    ``image_rewrites`` maps image prefixes to replacements (``{"registry.localhost": "localhost:5000"}``);
    ``secrets`` and ``config_maps`` give the values of the Secrets and ConfigMaps the pod references, by
    name then key (values are never logged). ``timeout`` bounds the whole run in seconds (the pod's
    ``activeDeadlineSeconds`` too, from the pod's start). ``log`` receives progress lines and the
    containers' output, prefixed ``[container]``. Raises :class:`DockpodError` when podman is unusable or
    the pod uses something podman cannot run; every failure of the pod itself is reported in the result.
    """
    check_podman()
    run = _PodmanRun(manifest, image_rewrites=image_rewrites, secrets=secrets, config_maps=config_maps,
                     timeout=timeout, log=log or _quiet)
    return run.execute()


class _PodmanRun:
    """One run: adapt, prepare, pull, play, wait, collect; teardown in any case."""

    def __init__(self, manifest: Mapping[str, Any], *, image_rewrites: Mapping[str, str] | None,
                 secrets: Mapping[str, Mapping[str, str]] | None,
                 config_maps: Mapping[str, Mapping[str, str]] | None, timeout: float, log: Log) -> None:
        self.started = time.monotonic()
        self.deadline = self.started + timeout
        self.timeout = timeout
        self.say = log
        self.workdir = Path(tempfile.mkdtemp(prefix="dockpod-pod-"))
        try:
            self.run_id = uuid.uuid4().hex[:8]
            self.plan: PodPlan = adapt_pod(manifest, run_id=self.run_id, workdir=self.workdir,
                                           image_rewrites=image_rewrites, secrets=secrets,
                                           config_maps=config_maps)
        except BaseException:
            shutil.rmtree(self.workdir, ignore_errors=True)
            raise
        self.pod = self.plan.name
        self.played = False
        self.pod_started: float | None = None

    def execute(self) -> PodRun:
        """Run the pod and tear everything down; the result carries the duration and the leftovers."""
        try:
            if _exists("pod", self.pod):
                raise DockpodError(f"A podman pod named {self.pod!r} already exists; running this manifest would "
                                   "clash with it.", fix=f"Remove it first: podman pod rm -f {self.pod}")
            for note in self.plan.notes:
                self.say(f"pod {self.pod}: adapted for podman: {note}")
            result = self._run()
        finally:
            leftovers = self._teardown()
        return _replace(result, duration_s=round(time.monotonic() - self.started, 3),
                        adapted=tuple(self.plan.notes), leftovers=tuple(leftovers), run_id=self.run_id)

    # -- the steps ------------------------------------------------------------------------------------

    def _run(self) -> PodRun:
        if self.plan.problems:
            return self._not_started(Diagnosis(
                "config_error",
                f"The pod cannot start: {'; '.join(self.plan.problems)} (Kubernetes reports "
                "CreateContainerConfigError and the pod stays Pending).",
                "Pass the values of the Secrets and ConfigMaps the pod references in secrets= / config_maps=, "
                "by name and key."))
        self._prepare()
        images = {str(c["image"]): c.get("imagePullPolicy") for c in all_containers(self.plan.manifest["spec"])}
        for image, policy in images.items():
            failure = self._pull(image, policy)
            if failure:
                return self._not_started(failure)
        if self.plan.volumes:
            _settle_scratch_volumes(self.plan.volumes, next(iter(images)))
        refused = self._check_non_root()
        if refused:
            return self._not_started(refused)
        played = self._play()
        if isinstance(played, PodRun):
            return played
        return self._wait_and_collect()

    def _prepare(self) -> None:
        """Create the scratch volumes, the podman secrets, the files of Secret/ConfigMap volumes, the kube file."""
        for name in self.plan.volumes:
            _create_scratch_volume(name)
        for name, values in self.plan.secrets.items():
            payload = json.dumps({key: _b64(value) for key, value in values.items()})
            result = _podman("secret", "create", name, "-", input=payload)
            if result.returncode != 0:
                raise DockpodError(f"podman secret create {name} failed: {_clip(_stderr(result))}.",
                                   fix="Check podman secret ls and the podman storage.")
        for folder in self.plan.folders:
            folder.mkdir(mode=0o755, parents=True, exist_ok=True)
            folder.chmod(0o755)
        for path, (content, mode) in self.plan.files.items():
            path.parent.mkdir(mode=0o755, parents=True, exist_ok=True)
            path.write_bytes(content)
            path.chmod(mode)
        documents = "\n---\n".join(json.dumps(doc) for doc in self.plan.documents)
        (self.workdir / "pod.yaml").write_text(documents + "\n")

    def _pull(self, image: str, policy: str | None) -> Diagnosis | None:
        """Pull ``image`` as its imagePullPolicy says; a Diagnosis when it cannot be had."""
        policy = policy or _default_pull_policy(image)
        present = _exists("image", image)
        if policy == "Never" or (policy == "IfNotPresent" and present):
            if present:
                return None
            return Diagnosis("image_not_found",
                             f"The image {image} is not in podman's image store and imagePullPolicy is Never "
                             "(Kubernetes reports ErrImageNeverPull).",
                             f"Pull it first (podman pull {_INSECURE} {image}) or use IfNotPresent.")
        self.say(f"pod {self.pod}: pulling {image}")
        try:
            result = _podman("pull", _INSECURE, "--quiet", image, timeout=self._remaining())
        except subprocess.TimeoutExpired:
            return Diagnosis("timeout", f"Pulling {image} did not finish within the run's {self.timeout:g} s.",
                             "Check the registry, or raise the timeout.")
        if result.returncode == 0:
            return None
        diagnosis = diagnose_pull(image, _stderr(result))
        registry = image.split("/", 1)[0]
        fix = {
            "image_not_found": "Check the image name and tag, and push the image (e.g. make image); "
                               "image_rewrites maps the pod's registry to the one podman pulls from.",
            "registry_unreachable": f"Start the registry (make setup) or fix image_rewrites; {registry} is "
                                    "pulled from with --tls-verify=false.",
            "auth_required": f"Log podman in to the registry: podman login {_INSECURE} {registry}.",
        }.get(diagnosis.cause, diagnosis.fix)
        return Diagnosis(diagnosis.cause, diagnosis.message.rstrip(".") + " (Kubernetes reports ErrImagePull).",
                         fix)

    def _check_non_root(self) -> Diagnosis | None:
        """Refuse, as the kubelet does, a container that would run as root under runAsNonRoot."""
        spec = self.plan.manifest["spec"]
        pod_context = spec.get("securityContext") or {}
        for container in all_containers(spec):
            context = container.get("securityContext") or {}
            if not context.get("runAsNonRoot", pod_context.get("runAsNonRoot")):
                continue
            uid = context.get("runAsUser", pod_context.get("runAsUser"))
            if uid is None:
                user = _podman("image", "inspect", "--format", "{{.Config.User}}", container["image"])
                found = diagnose_non_root(container["image"], user.stdout.strip() if user.returncode == 0 else None)
                if found:
                    return Diagnosis(found.cause, f"Container {container['name']!r}: {found.message}", found.fix)
            elif int(uid) == 0:
                return Diagnosis("runs_as_root",
                                 f"Container {container['name']!r}: container's runAsUser breaks non-root policy "
                                 "(runAsUser 0 with runAsNonRoot); Kubernetes would refuse to start it the same way.",
                                 "Use a non-zero runAsUser, or drop runAsNonRoot if the task truly needs root.")
        return None

    def _play(self) -> PodRun | None:
        """``podman kube play``: creates the pod, runs the init containers, starts the containers."""
        self.say(f"pod {self.pod}: starting under podman")
        self.played = True
        self.pod_started = time.monotonic()
        ordered = bool(self.plan.start_order)
        try:
            result = _podman("kube", "play", _INSECURE, "--build=false", *(["--start=false"] if ordered else []),
                             str(self.workdir / "pod.yaml"), timeout=self._remaining(), cwd=self.workdir)
            if result.returncode == 0 and ordered:
                return self._start_in_order()
        except subprocess.TimeoutExpired:
            return self._timed_out()
        if result.returncode == 0:
            return None
        state = inspect_container(self._name(BASE_CONTAINER))
        if state is not None and state["State"]["Status"] in (*_DONE, "running"):
            return None  # the main container ran: a sidecar failed to start, which KPO does not wait for
        return self._start_failure(_stderr(result), state)

    def _start_in_order(self) -> PodRun | None:
        """Start a pod with native sidecars the way the kubelet does; None once the main container runs.

        Init containers run one by one to exit 0; each sidecar starts in its place and, with a startup
        probe, the next container waits until the probe passes (exec probes, run with podman exec).
        """
        for name, is_sidecar, probe in self.plan.start_order:
            container = self._name(name)
            if not is_sidecar:
                self.say(f"pod {self.pod}: init container {name}")
                _podman("start", "--attach", container, timeout=self._remaining())
                state = inspect_container(container)
                if state is None or state["State"]["ExitCode"] != 0:
                    return self._start_failure("", None)
                continue
            result = _podman("start", container, timeout=self._remaining())
            if result.returncode != 0:
                return self._start_failure(_stderr(result), inspect_container(container))
            self.say(f"pod {self.pod}: sidecar {name} started")
            if probe and not self._await_startup(name, probe):
                return PodRun(self.pod, None, f"Sidecar {name!r} never passed its startup probe, so the main "
                              "container never started (the pod stays in Init in Kubernetes).",
                              "Check the sidecar's probe and what it waits for.",
                              container_logs=self._container_logs([]))
        ordered = {name for name, _sidecar, _probe in self.plan.start_order}
        regular = [c["name"] for c in self.plan.manifest["spec"]["containers"] if c["name"] not in ordered]
        for name in sorted(regular, key=lambda n: n == BASE_CONTAINER):  # the XCom sidecar, ..., then base
            result = _podman("start", self._name(name), timeout=self._remaining())
            if result.returncode != 0:
                return self._start_failure(_stderr(result), inspect_container(self._name(name)))
        return None

    def _await_startup(self, name: str, probe: Mapping[str, Any]) -> bool:
        """Run an exec startup probe until it passes (True) or fails failureThreshold times (False)."""
        command = (probe.get("exec") or {}).get("command")
        if not command:
            self.say(f"pod {self.pod}: sidecar {name}: only exec startup probes are awaited here; not waiting")
            return True
        time.sleep(probe.get("initialDelaySeconds") or 0)
        failures = 0
        while failures < (probe.get("failureThreshold") or 3) and self._remaining() > 0:
            timeout = probe.get("timeoutSeconds") or 1
            try:
                if _podman("exec", self._name(name), *command, timeout=timeout + 5).returncode == 0:
                    self.say(f"pod {self.pod}: sidecar {name} passed its startup probe")
                    return True
            except subprocess.TimeoutExpired:
                pass
            failures += 1
            time.sleep(probe.get("periodSeconds") or 10)
        return False

    def _wait_and_collect(self) -> PodRun:
        base = self._name(BASE_CONTAINER)
        follower = _LogFollower(base, BASE_CONTAINER, self.say)
        state = self._wait(base)
        lines = follower.stop(wait=5.0 if state is not None else 0.0)
        if state is None:
            return self._timed_out(lines)
        exit_code = int(state["State"]["ExitCode"])
        oom = bool(state["State"].get("OOMKilled")) or (exit_code == 137 and kernel_oom_kill(state["Id"]))
        self.say(f"pod {self.pod}: {BASE_CONTAINER} exited with code {exit_code}"
                 f"{' (OOM-killed)' if oom else ''} after {time.monotonic() - self.pod_started:.1f} s")
        xcom, xcom_error = self._read_xcom()
        logs = self._container_logs(lines)
        if exit_code == 0:
            reason, fix = ("completed", None) if xcom_error is None else (xcom_error, "Write valid JSON to "
                                                                          f"{XCOM_FILE}, or nothing.")
        else:
            diagnosis = diagnose_exit(exit_code, oom_killed=oom, memory_limit=self._memory_limit(),
                                      error=state["State"].get("Error") or None, last_lines=lines)
            reason, fix = diagnosis.message, diagnosis.fix
        return PodRun(self.pod, exit_code, reason, fix, xcom=xcom, xcom_error=xcom_error, logs=tuple(lines),
                      container_logs=logs, oom_killed=oom)

    def _wait(self, container: str) -> dict[str, Any] | None:
        """Poll the container until it has exited; None when the run's time is up first."""
        delay = 0.1
        while True:
            state = inspect_container(container)
            if state is None:
                raise DockpodError(f"The container {container} disappeared while the pod ran.",
                                   fix="Something else removed the pod; run it again.")
            if state["State"]["Status"] in _DONE:
                return state
            if self._remaining() <= 0:
                return None
            time.sleep(min(delay, max(self._remaining(), 0.01)))
            delay = min(delay * 1.5, 1.0)

    def _read_xcom(self) -> tuple[Any, str | None]:
        """Read the result as KubernetesPodOperator does: exec ``cat`` in the XCom sidecar, then json.loads."""
        if self.plan.container(XCOM_SIDECAR) is None:
            return None, None
        sidecar = self._name(XCOM_SIDECAR)
        state = inspect_container(sidecar)
        if state is None or state["State"]["Status"] != "running":
            return None, f"{XCOM_SIDECAR} container is not running! Not possible to read xcom from pod: {self.pod}"
        result = _podman("exec", sidecar, "/bin/sh", "-c", _XCOM_COMMAND, timeout=60)
        if result.returncode != 0:
            return None, f"Reading {XCOM_FILE} through {XCOM_SIDECAR} failed: {_clip(_stderr(result))}"
        text = result.stdout
        if not text.strip() or text.rstrip() == EMPTY_XCOM_RESULT:
            return None, None
        try:
            return json.loads(text), None
        except ValueError as exc:
            return None, f"{XCOM_FILE} does not hold valid JSON ({exc}), so KPO cannot push it as XCom"

    def _container_logs(self, base_lines: list[str]) -> dict[str, tuple[str, ...]]:
        logs: dict[str, tuple[str, ...]] = {}
        for container in all_containers(self.plan.manifest["spec"]):
            name = container["name"]
            logs[name] = tuple(base_lines) if name == BASE_CONTAINER else tuple(_logs(self._name(name)))
        return logs

    def _start_failure(self, error: str, state: dict[str, Any] | None) -> PodRun:
        """The kube play failed before ``base`` ran: a failed init container, or ``base`` could not start."""
        logs = self._container_logs([])
        for container in self.plan.manifest["spec"].get("initContainers") or []:
            init = inspect_container(self._name(container["name"]))
            if init is not None and init["State"]["Status"] in _DONE and init["State"]["ExitCode"] != 0:
                code = int(init["State"]["ExitCode"])
                oom = bool(init["State"].get("OOMKilled")) or (code == 137 and kernel_oom_kill(init["Id"]))
                diagnosis = diagnose_exit(code, oom_killed=oom, last_lines=logs.get(container["name"], ()))
                return PodRun(self.pod, None, f"Init container {container['name']!r} failed, so the main container "
                              f"never ran: {diagnosis.message}", diagnosis.fix, container_logs=logs)
        mine = [line for line in error.splitlines() if state is not None and state["Id"] in line]
        detail = mine[0].split(": ", 1)[-1] if mine else error
        if state is None or not mine:
            return PodRun(self.pod, None, f"podman kube play failed: {_clip(detail)}.",
                          "podman refused the pod as adapted (PodRun.adapted lists dockpod's changes); "
                          "fix the manifest field the message names.", container_logs=logs)
        exit_code = _start_exit_code(detail)
        diagnosis = diagnose_exit(exit_code, error=detail)
        return PodRun(self.pod, exit_code, diagnosis.message, diagnosis.fix, container_logs=logs)

    def _not_started(self, diagnosis: Diagnosis) -> PodRun:
        self.say(f"pod {self.pod}: not started: {diagnosis.message}")
        return PodRun(self.pod, None, diagnosis.message, diagnosis.fix)

    def _timed_out(self, lines: list[str] | None = None) -> PodRun:
        deadline = self.plan.manifest["spec"].get("activeDeadlineSeconds")
        if deadline and self._pod_deadline_hit():
            reason = (f"The pod ran longer than its activeDeadlineSeconds ({deadline} s) and was stopped "
                      "(Kubernetes reports DeadlineExceeded).")
        else:
            reason = f"The pod timed out: {BASE_CONTAINER} had not exited after {self.timeout:g} s and was stopped."
        self.say(f"pod {self.pod}: {reason}")
        return PodRun(self.pod, None, reason, "Raise the timeout, or find out why the task ran that long.",
                      logs=tuple(lines or ()), container_logs=self._container_logs(lines or []), timed_out=True)

    def _teardown(self) -> list[str]:
        """Remove the pod, its per-run volumes and secrets and the temporary folder; return what is left."""
        leftovers = []
        if self.played and _exists("pod", self.pod):
            # Stopping first is much faster than rm --force alone (3.4 s -> 0.3 s here: rm then waits
            # for the killed processes' cgroups to go away).
            _podman("pod", "stop", "--time", "0", self.pod, timeout=120)
            result = _podman("pod", "rm", "--force", "--time", "0", self.pod, timeout=120)
            if result.returncode != 0 and _exists("pod", self.pod):
                leftovers.append(f"pod {self.pod}: {_clip(_stderr(result))}")
        leftovers += [f"volume {name}" for name in self.plan.volumes if not _remove("volume", name)]
        leftovers += [f"secret {name}" for name in self.plan.secrets if not _remove("secret", name)]
        shutil.rmtree(self.workdir, ignore_errors=True)
        if self.workdir.exists():
            leftovers.append(f"folder {self.workdir}")
        if self.played:
            self.say(f"pod {self.pod}: removed" + (f", left behind: {', '.join(leftovers)}" if leftovers else ""))
        return leftovers

    # -- small helpers --------------------------------------------------------------------------------

    def _name(self, container: str) -> str:
        return f"{self.pod}-{container}"

    def _remaining(self) -> float:
        now = time.monotonic()
        remaining = self.deadline - now
        deadline = self.plan.manifest["spec"].get("activeDeadlineSeconds")
        if deadline and self.pod_started is not None:
            remaining = min(remaining, self.pod_started + float(deadline) - now)
        return remaining

    def _pod_deadline_hit(self) -> bool:
        deadline = self.plan.manifest["spec"].get("activeDeadlineSeconds")
        started = self.pod_started
        return bool(deadline and started is not None and started + float(deadline) <= self.deadline)

    def _memory_limit(self) -> int | None:
        base = self.plan.container(BASE_CONTAINER) or {}
        limit = ((base.get("resources") or {}).get("limits") or {}).get("memory")
        try:
            return parse_memory(limit, "resources.limits.memory") if limit is not None else None
        except DockpodError:
            return None


class _LogFollower:
    """``podman logs -f`` of one container in a thread: collects its lines and passes each to ``say``."""

    def __init__(self, container: str, label: str, say: Log) -> None:
        self.lines: list[str] = []
        self._label = label
        self._say = say
        self._process = subprocess.Popen(["podman", "logs", "--follow", container], stdout=subprocess.PIPE,
                                         stderr=subprocess.STDOUT, text=True, errors="replace")
        self._thread = threading.Thread(target=self._read, name=f"logs-{container}", daemon=True)
        self._thread.start()

    def _read(self) -> None:
        assert self._process.stdout is not None
        for raw in self._process.stdout:
            line = raw.rstrip("\n")
            self.lines.append(line)
            self._say(f"[{self._label}] {line}")

    def stop(self, wait: float) -> list[str]:
        """Wait up to ``wait`` s for the stream to end (it does when the container exits), then stop it."""
        try:
            self._process.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._thread.join(timeout=5)
        return list(self.lines)


# -- podman commands ----------------------------------------------------------------------------------


def _podman(*args: str, input: str | None = None, timeout: float = 120,
            cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["podman", *args], input=input, capture_output=True, text=True,
                          timeout=max(timeout, 1), cwd=cwd, check=False)


def _exists(kind: str, name: str) -> bool:
    return _podman(kind, "exists", name).returncode == 0


def _remove(kind: str, name: str) -> bool:
    """Remove a podman volume or secret; True when it is gone."""
    args = ("volume", "rm", "--force", name) if kind == "volume" else ("secret", "rm", name)
    _podman(*args)
    if kind == "volume":
        return not _exists("volume", name)
    return _podman("secret", "inspect", name).returncode != 0


def _create_scratch_volume(name: str) -> None:
    """Create an emptyDir's podman volume world-writable (mode 0777), as Kubernetes makes an emptyDir.

    Left to kube play, the volume is created 0755 and owned by the user of the first container that mounts
    it (or by fsGroup), so an init container running as another user would lock the main container out.
    """
    result = _podman("volume", "create", name)
    if result.returncode != 0:
        raise DockpodError(f"podman volume create {name} failed: {_clip(_stderr(result))}.",
                           fix="Check podman volume ls and the podman storage.")
    mountpoint = _podman("volume", "inspect", "--format", "{{.Mountpoint}}", name).stdout.strip()
    if mountpoint:
        with contextlib.suppress(OSError):  # a remote or rootless podman: keep podman's own mode
            os.chmod(mountpoint, 0o777)


def _settle_scratch_volumes(names: list[str], image: str) -> None:
    """Mount the new emptyDir volumes once where the image has nothing, then make them world-writable again.

    podman copies the ownership and mode of the image's folder onto a new volume the first time it is
    mounted: an emptyDir at a path the image has as root 0755 (``/srv``) would lock a non-root container
    out, where Kubernetes gives an empty folder anyone may write. A throw-away container takes that
    first mount at paths that do not exist in the image.
    """
    mounts = [arg for index, name in enumerate(names) for arg in ("-v", f"{name}:/dockpod-settle/{index}")]
    result = _podman("run", "--rm", _INSECURE, "--network", "none", "--entrypoint", "true", *mounts, image)
    if result.returncode != 0:
        return  # an image without `true` (distroless): leave podman's behaviour as it is
    for name in names:
        mountpoint = _podman("volume", "inspect", "--format", "{{.Mountpoint}}", name).stdout.strip()
        if mountpoint:
            with contextlib.suppress(OSError):
                os.chmod(mountpoint, 0o777)


def inspect_container(container: str) -> dict[str, Any] | None:
    """``podman container inspect``'s record of a container, or None when there is none."""
    result = _podman("container", "inspect", container)
    if result.returncode != 0:
        return None
    found = json.loads(result.stdout or "[]")
    return found[0] if found else None


def _logs(container: str) -> list[str]:
    result = subprocess.run(["podman", "logs", container], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, errors="replace", timeout=60, check=False)
    return result.stdout.splitlines() if result.returncode == 0 else []


def kernel_oom_kill(container_id: str) -> bool:
    """Whether the kernel log records an OOM kill in this container's memory cgroup.

    podman 4.3 on cgroup v1 leaves ``State.OOMKilled`` false after a memory-limit kill (seen here: exit code
    137, OOMKilled false), while the kernel logs ``oom-kill:... task_memcg=/libpod_parent/POD/libpod-ID``.
    """
    needle = f"libpod-{container_id}".encode()
    try:
        fd = os.open("/dev/kmsg", os.O_RDONLY | os.O_NONBLOCK)
    except OSError:
        return False
    try:
        while True:
            try:
                record = os.read(fd, 8192)
            except BlockingIOError:
                return False
            except BrokenPipeError:  # the record was overwritten while reading: go on with the next
                continue
            if not record:
                return False
            if needle in record and (b"oom-kill" in record or b"Memory cgroup out of memory" in record):
                return True
    finally:
        os.close(fd)


# -- pure helpers -------------------------------------------------------------------------------------


def _default_pull_policy(image: str) -> str:
    """Kubernetes' default: Always for ``:latest`` or no tag, else IfNotPresent."""
    if "@" in image:
        return "IfNotPresent"
    last = image.rsplit("/", 1)[-1]
    return "IfNotPresent" if ":" in last and not last.endswith(":latest") else "Always"


def _start_exit_code(error: str) -> int:
    """The exit code a start failure gets from Docker and podman: 127 not found, 126 not executable."""
    low = error.lower()
    if "not found" in low or "no such file" in low:
        return 127
    if "permission denied" in low:
        return 126
    return 128


def _b64(value: str) -> str:
    return base64.b64encode(value.encode()).decode()


def _stderr(result: subprocess.CompletedProcess[str]) -> str:
    lines = [line for line in (result.stderr or "").splitlines()
             if line.strip() and not line.startswith(_PODMAN_NOISE)]
    return "\n".join(lines)


def _clip(text: str, width: int = 400) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 3] + "..."


def _quiet(_line: str) -> None:
    return None


def _replace(run: PodRun, **changes: Any) -> PodRun:
    return dataclasses.replace(run, **changes)

