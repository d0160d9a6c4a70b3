"""``dockpod parity``: run a DAG's container tasks both ways, for real, and name every difference.

Two legs and a probe pass:

1. local: the DAG through ``dag.test()`` in the local profile (DockerOperator tasks on the engine);
2. production: the same tasks built for a kubernetes profile, played in task order as pods under
   ``podman kube play`` (images rewritten to the local registry, the Secrets filled from the local
   profile's secret source);
3. probe: each task's container description again in both modes with dockpod's probe image
   (deploy/images/probe), which reports what the main process sees: uid, gid and groups, environment,
   mounts and whether they are read-only, cgroup memory and CPU limits, working directory.

Per task it compares the exit code, the XCom value and the runtime view; per named volume (a
PersistentVolumeClaim in production) the files the leg wrote. Differences that come from the platform,
not from the translation, are documented in :data:`IGNORED_ENV` and :data:`IGNORED_MOUNTS` and left out.
Environment values are compared by digest and never shown: some are secrets.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import os
import subprocess
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dockpod.errors import DockpodError

__all__ = ["PROBE_IMAGE", "Difference", "ParityReport", "TaskParity", "run_parity", "runtime_view"]

#: The probe image, built from the local base image by ``make setup``.
PROBE_IMAGE = os.environ.get("DOCKPOD_PROBE_IMAGE", "localhost:5000/dockpod/probe:1")
PROBE_ENTRYPOINT = ("/usr/local/bin/dockpod-probe",)
#: Environment variables each platform sets on its own: the container's hostname, podman's marker,
#: Kubernetes' service links. Documented differences, not translation errors.
IGNORED_ENV = frozenset({"HOSTNAME", "container"})
IGNORED_ENV_PREFIXES = ("KUBERNETES_",)
#: Mounts each runtime adds by itself: the pseudo file systems, the files it writes for name resolution,
#: Docker's init binary (``docker run --init``), podman's marker file and its /dev/shm.
IGNORED_MOUNTS = ("/proc", "/sys", "/dev", "/etc/hosts", "/etc/hostname", "/etc/resolv.conf", "/sbin/docker-init",
                  "/usr/sbin/docker-init", "/run/.containerenv", "/run/secrets")
#: podman invents a passwd entry when the container's uid has none in the image (a Kubernetes runtime does
#: not), mounting these files with a read-only root file system, and its HOME (the working directory)
#: becomes the process's: then neither these mounts nor HOME are compared.
PODMAN_USER_FILES = ("/etc/passwd", "/etc/group")
#: cgroup v1 CPU shares when none are set.
DEFAULT_SHARES = 1024
#: The memory limit cgroup v1 reports when there is none.
UNLIMITED = 2**62

Log = Callable[[str], None]


@dataclass(frozen=True)
class Difference:
    """One thing that is not the same locally and in the pod."""

    task_id: str
    aspect: str
    local: str
    pod: str


@dataclass(frozen=True)
class TaskParity:
    """One task's two runs and what differed."""

    task_id: str
    local_exit: int | str | None
    pod_exit: int | str | None
    local_xcom: Any
    pod_xcom: Any
    view_local: Mapping[str, Any] = field(default_factory=dict)
    view_pod: Mapping[str, Any] = field(default_factory=dict)
    differences: tuple[Difference, ...] = ()


@dataclass(frozen=True)
class ParityReport:
    """The outcome of :func:`run_parity`."""

    dag_id: str
    tasks: tuple[TaskParity, ...]
    volume_differences: tuple[Difference, ...] = ()

    @property
    def differences(self) -> list[Difference]:
        """Every difference, task by task, then the volumes'."""
        return [d for t in self.tasks for d in t.differences] + list(self.volume_differences)

    @property
    def equal(self) -> bool:
        """No difference at all."""
        return not self.differences


def run_parity(
    dag_file: Path,
    dag_id: str | None = None,
    *,
    task_ids: Sequence[str] = (),
    production_env: str = "production",
    image_rewrites: Mapping[str, str] | None = None,
    log: Log | None = None,
) -> ParityReport:
    """Run ``dag_file``'s DAG locally and as pods, probe each container task both ways, compare.

    ``task_ids`` limits the comparison (the whole DAG still runs, for its XCom values);
    ``image_rewrites`` maps the production registry to the local one (default: derived from the
    local and production profiles' rewrites of each task's image).
    """
    from dockpod.profiles import get_profile
    from dockpod.runtime.airflow_run import load_dag, run_dag
    from dockpod.runtime.pod_leg import run_dag_pods

    say = log or (lambda _line: None)
    _check_in_dags_folder(dag_file)
    dag_id = dag_id or _only_dag_id(dag_file)
    local_profile, pod_profile = get_profile("local"), get_profile(production_env)
    if pod_profile.backend != "kubernetes":
        raise DockpodError(f"Profile {production_env!r} is not a kubernetes profile; pass one with --env.")
    with _environment("local"):
        dag = load_dag(dag_file, dag_id)
    specs = {t.task_id: getattr(t, "declared_spec", t.spec) for t in dag.tasks if getattr(t, "spec", None) is not None}
    unknown = sorted(set(task_ids) - set(specs))
    if unknown:
        raise DockpodError(f"{dag_id} has no container task {', '.join(unknown)}; its container tasks are "
                           f"{', '.join(sorted(specs)) or 'none'}.")
    chosen = [t for t in specs if not task_ids or t in task_ids]
    rewrites = dict(image_rewrites or _derived_rewrites(specs.values(), local_profile, pod_profile))
    from dockpod.operators._secrets import secret_values

    secrets = secret_values(specs.values(), local_profile.secrets)
    claims = _claims(specs.values())

    say("local leg: dag.test() on the Docker engine")
    before = {name: _docker_volume_files(name) for name in claims}
    with _environment("local"):
        local = run_dag(load_dag(dag_file, dag_id))
    local_files = {name: _changed(before[name], _docker_volume_files(name)) for name in claims}

    say("production leg: the pods under podman kube play")
    before = {claim: _podman_volume_files(claim) for claim in claims.values()}
    with _environment(production_env):
        pods = run_dag_pods(load_dag(dag_file, dag_id), image_rewrites=rewrites, secrets=secrets, log=None)
    pod_files = {claim: _changed(before[claim], _podman_volume_files(claim)) for claim in claims.values()}

    tasks = []
    for task_id in chosen:
        say(f"probe: {task_id}")
        local_view, pod_view = _probe(dag, task_id, specs[task_id], local_profile, pod_profile, rewrites, secrets)
        state = local.task_states.get(task_id, "not run")
        local_exit: int | str | None = 0 if state == "success" else _exit_of(local.failures.get(task_id), state)
        pod = pods.get(task_id)
        pod_exit = (pod.exit_code if pod.exit_code is not None else pod.state) if pod else "not run"
        pod_xcom = pod.xcom if pod else None
        diffs = []
        if local_exit != pod_exit:
            diffs.append(Difference(task_id, "exit code", str(local_exit), str(pod_exit)))
        if local.xcoms.get(task_id) != pod_xcom:
            diffs.append(Difference(task_id, "XCom value", _short(local.xcoms.get(task_id)), _short(pod_xcom)))
        diffs += compare_views(task_id, local_view, pod_view)
        tasks.append(TaskParity(task_id, local_exit, pod_exit, local.xcoms.get(task_id), pod_xcom, local_view,
                                pod_view, tuple(diffs)))
    volume_diffs = []
    for name, claim in claims.items():
        if local_files[name] != pod_files[claim]:
            only_local = sorted(set(local_files[name].items()) - set(pod_files[claim].items()))
            only_pod = sorted(set(pod_files[claim].items()) - set(local_files[name].items()))
            volume_diffs.append(Difference("-", f"files written to volume {name} (claim {claim})",
                                           _files(only_local), _files(only_pod)))
    return ParityReport(dag_id, tuple(tasks), tuple(volume_diffs))


# --- the probe pass ---------------------------------------------------------------------------------------


def probe_spec(spec: Any, image_config: Mapping[str, Any] | None = None) -> Any:
    """The task's container description run with the probe image: everything else kept.

    The task image's USER (``image_config`` is its inspect ``Config``) becomes the spec's user where it
    sets none, so the probe runs as the task would. Its WORKDIR is not carried over: the probe image may
    not have that folder, which Docker and Kubernetes create but podman refuses.
    """
    update: dict[str, Any] = {"image": PROBE_IMAGE, "entrypoint": PROBE_ENTRYPOINT, "command": None, "xcom": True,
                              "skip_on_exit_code": (), "timeout": spec.timeout or 120}
    config = image_config or {}
    if spec.security.user is None and config.get("User"):
        update["security"] = spec.security.model_copy(update={"user": str(config["User"])})
    return spec.model_copy(update=update)


def _image_config(image: str) -> dict[str, Any]:
    """The ``Config`` of a local Docker image (empty when it is not there)."""
    result = subprocess.run(["docker", "image", "inspect", "--format", "{{json .Config}}", image],
                            capture_output=True, text=True, timeout=60)
    return json.loads(result.stdout or "{}") if result.returncode == 0 else {}


def _probe(dag: Any, task_id: str, spec: Any, local_profile: Any, pod_profile: Any, rewrites: Mapping[str, str],
           secrets: Mapping[str, Mapping[str, str]]) -> tuple[dict[str, Any], dict[str, Any]]:
    from kubernetes.client import ApiClient

    from dockpod.operators import build_operator
    from dockpod.runtime.pod_leg import template_context
    from dockpod.runtime.podman import run_pod

    task = dag.get_task(task_id)  # the task's image as it runs, its template rendered (only the image)
    image = task.render_template(task.image, template_context(dag, task, "dockpod_parity", {}))
    probe = probe_spec(spec, _image_config(str(image)))
    local_op = build_operator(probe, local_profile, task_id=f"{task_id}-probe")
    local_op.render_template_fields(template_context(dag, local_op, "dockpod_parity", {}))
    try:
        local_view = runtime_view(local_op.execute({}))
    except DockpodError as exc:
        local_view = {"error": str(exc).splitlines()[0]}
    pod_op = build_operator(probe, pod_profile, task_id=f"{task_id}-probe")
    pod_op.render_template_fields(template_context(dag, copy.copy(pod_op), "dockpod_parity", {}))
    manifest = ApiClient().sanitize_for_serialization(pod_op.build_pod_request_obj(dry_run=True))
    run = run_pod(manifest, image_rewrites=rewrites, secrets=secrets)
    pod_view = runtime_view(run.xcom) if run.succeeded else {"error": run.reason}
    shares = kubelet_shares(manifest)
    if shares is not None and pod_view.get("cpu_shares") == DEFAULT_SHARES:
        # podman kube play (4.3) does not turn requests.cpu into shares; the kubelet does, by this rule.
        pod_view["cpu_shares"] = shares
    return local_view, pod_view


def kubelet_shares(manifest: Mapping[str, Any]) -> int | None:
    """The cgroup v1 CPU shares the kubelet gives the main container: requests.cpu in millicores x 1024/1000."""
    from dockpod.spec import parse_cpu

    for container in manifest.get("spec", {}).get("containers", []):
        if container.get("name") == "base":
            request = ((container.get("resources") or {}).get("requests") or {}).get("cpu")
            return None if request is None else max(2, parse_cpu(request, "cpu") * 1024 // 1000)
    return None


def runtime_view(report: Any) -> dict[str, Any]:
    """The probe's JSON report, decoded and normalized for comparison.

    Environment values become digests (some are secrets); mounts become ``{path: "ro" | "rw"}``
    without the runtime's own; CPU becomes millicores of quota (None: no limit) and shares.
    """
    if not isinstance(report, Mapping) or report.get("probe") != 1:
        return {"error": "the probe wrote no report"}
    text = {key: base64.b64decode(str(report.get(key) or "")).decode(errors="replace")
            for key in ("cwd", "environ", "mounts")}
    env = {}
    for item in text["environ"].split("\0"):
        name, _, value = item.partition("=")
        if name and name not in IGNORED_ENV and not name.startswith(IGNORED_ENV_PREFIXES):
            env[name] = hashlib.sha256(value.encode()).hexdigest()[:16]
    mounts = {}
    for line in text["mounts"].splitlines():
        parts = line.split()
        if len(parts) < 4:
            continue
        target = parts[1].encode().decode("unicode_escape")
        if any(target == p or target.startswith(p + "/") for p in IGNORED_MOUNTS):
            continue
        mounts[target] = "ro" if "ro" in parts[3].split(",") else "rw"
    quota, period = _int(report.get("cpu_quota")), _int(report.get("cpu_period"))
    memory = _int(report.get("memory_limit"))
    return {
        "uid": report.get("uid"),
        "gid": report.get("gid"),
        "groups": sorted(str(report.get("groups") or "").split()),
        "cwd": text["cwd"].strip(),
        "env": env,
        "mounts": mounts,
        "memory_limit": None if memory is None or memory >= UNLIMITED else memory,
        "cpu_limit_millicores": None if not quota or quota < 0 or not period else quota * 1000 // period,
        "cpu_shares": _int(report.get("cpu_shares")),
        "uid_named": report.get("uid_named"),
    }


def compare_views(task_id: str, local: Mapping[str, Any], pod: Mapping[str, Any]) -> list[Difference]:
    """The differences between two runtime views, each named."""
    if "error" in local or "error" in pod:
        return [Difference(task_id, "probe", str(local.get("error", "ran")), str(pod.get("error", "ran")))]
    diffs = []
    for key in ("uid", "gid", "groups", "cwd", "memory_limit", "cpu_limit_millicores", "cpu_shares"):
        if local.get(key) != pod.get(key):
            diffs.append(Difference(task_id, key.replace("_", " "), str(local.get(key)), str(pod.get(key))))
    lenv, penv = dict(local.get("env", {})), dict(pod.get("env", {}))
    lm, pm = dict(local.get("mounts", {})), dict(pod.get("mounts", {}))
    if local.get("uid_named") is False:
        for path in PODMAN_USER_FILES:
            pm.pop(path, None)
        lenv.pop("HOME", None)
        penv.pop("HOME", None)
    for name in sorted(set(lenv) | set(penv)):
        if lenv.get(name) != penv.get(name):
            shown = ("set" if name in lenv else "unset", "set" if name in penv else "unset")
            if shown == ("set", "set"):
                shown = ("a value", "another value")
            diffs.append(Difference(task_id, f"env {name}", *shown))
    for path in sorted(set(lm) | set(pm)):
        if lm.get(path) != pm.get(path):
            diffs.append(Difference(task_id, f"mount {path}", lm.get(path, "absent"), pm.get(path, "absent")))
    return diffs


# --- volumes ------------------------------------------------------------------------------------------------


def _claims(specs: Any) -> dict[str, str]:
    """Named volumes of the tasks: Docker volume name -> PersistentVolumeClaim name."""
    found = {}
    for spec in specs:
        for container in (spec, *spec.init_containers, *spec.sidecars):
            for volume in container.volumes:
                if volume.kind == "named" and not volume.read_only:
                    found[volume.source] = volume.claim_name
    return found


#: Each file's digest, then each file's modification time: a file rewritten with the same bytes counts as
#: written by the leg (the volume may hold it from an earlier run).
LIST_FILES = ("cd /v && find . -type f -exec sha256sum {} + 2>/dev/null; echo '--'; "
              "find . -type f -printf '%T@  %p\\n' 2>/dev/null; true")


def _docker_volume_files(name: str) -> dict[str, str]:
    return _volume_files(["docker"], name)


def _podman_volume_files(name: str) -> dict[str, str]:
    return _volume_files(["podman"], name, tls=True)


def _volume_files(tool: list[str], name: str, *, tls: bool = False) -> dict[str, str]:
    """``{path: sha256}`` of the files in a volume; empty when the volume does not exist."""
    if subprocess.run([*tool, "volume", "inspect", name], capture_output=True).returncode != 0:
        return {}
    args = [*tool, "run", "--rm", *(["--tls-verify=false"] if tls else []), "--entrypoint", "sh",
            "-v", f"{name}:/v:ro", PROBE_IMAGE, "-c", LIST_FILES]
    result = subprocess.run(args, capture_output=True, text=True, timeout=120)
    digests, _, times = result.stdout.partition("--\n")
    modified = {}
    for line in times.splitlines():
        stamp, _, path = line.partition("  ")
        modified[path.removeprefix("./")] = stamp
    files = {}
    for line in digests.splitlines():
        digest, _, path = line.partition("  ")
        if path:
            files[path.removeprefix("./")] = f"{digest[:16]}@{modified.get(path.removeprefix('./'), '')}"
    return files


def _changed(before: Mapping[str, str], after: Mapping[str, str]) -> dict[str, str]:
    """The files a leg wrote (new, or a new digest or time), by digest."""
    return {path: stamp.split("@")[0] for path, stamp in after.items() if before.get(path) != stamp}


# --- small helpers ----------------------------------------------------------------------------------------


class _environment:
    """Set AIRFLOW_ENVIRONMENT for a block, then restore it."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __enter__(self) -> None:
        self.old = os.environ.get("AIRFLOW_ENVIRONMENT")
        os.environ["AIRFLOW_ENVIRONMENT"] = self.name

    def __exit__(self, *_exc: object) -> None:
        if self.old is None:
            os.environ.pop("AIRFLOW_ENVIRONMENT", None)
        else:
            os.environ["AIRFLOW_ENVIRONMENT"] = self.old


def _check_in_dags_folder(dag_file: Path) -> None:
    """dag.test() runs a DAG from Airflow's DAGs folder (its bundle): refuse a file outside it."""
    from airflow.configuration import conf

    folder = Path(conf.get("core", "dags_folder")).resolve()
    if not dag_file.resolve().is_relative_to(folder):
        raise DockpodError(f"{dag_file} is not in Airflow's DAGs folder ({folder}), where dag.test() runs DAGs "
                           f"from; put it there, or run with AIRFLOW__CORE__DAGS_FOLDER={dag_file.resolve().parent}.")


def _only_dag_id(dag_file: Path) -> str:
    from airflow.dag_processing.dagbag import DagBag

    with _environment("local"):
        bag = DagBag(dag_folder=str(dag_file), load_op_links=False)
    if bag.import_errors:
        raise DockpodError(f"{dag_file} failed to import: {next(iter(bag.import_errors.values())).splitlines()[-1]}")
    if len(bag.dags) != 1:
        raise DockpodError(f"{dag_file} defines {len(bag.dags)} DAGs ({', '.join(sorted(bag.dags))}); name one "
                           "with --dag.")
    return next(iter(bag.dags))


def _derived_rewrites(specs: Any, local: Any, pod: Any) -> dict[str, str]:
    rewrites = {}
    for spec in specs:
        for container in (spec, *spec.init_containers, *spec.sidecars):
            there, here = pod.rewrite_image(container.image), local.rewrite_image(container.image)
            if there != here and "/" in there and "/" in here:
                rewrites[there.split("/", 1)[0]] = here.split("/", 1)[0]
    return rewrites


def _exit_of(failure: str | None, state: str) -> int | str:
    """The exit code named in a failure message (dockpod's say "exited with code N"), else the state."""
    import re

    match = re.search(r"exit(?:ed with)? code (\d+)", failure or "")
    return int(match.group(1)) if match else state


def _int(value: Any) -> int | None:
    try:
        return int(str(value).strip())
    except ValueError:
        return None


def _short(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, default=str)
    return text if len(text) <= 60 else text[:57] + "..."


def _files(items: Sequence[tuple[str, str]]) -> str:
    return ", ".join(f"{path} ({digest[:8]})" for path, digest in items[:5]) + (" ..." if len(items) > 5 else "") \
        or "nothing"
