"""Adapt a Kubernetes Pod manifest so that ``podman kube play`` (podman 4.3) runs it the way a cluster would.

Pure: no podman call and no file written. :func:`adapt_pod` returns the manifest to play and everything
the runner must create around it (per-run volume names, podman secrets, the files of Secret and ConfigMap
volumes), plus one note for every difference from Kubernetes it had to introduce.

What podman 4.3 cannot run as written, and what is done instead (each leaves a note):

* A native sidecar (an init container with ``restartPolicy: Always``): kube play runs init containers
  one after the other and waits for each to exit, so the sidecar would block the pod for ever. It becomes
  a regular container of the pod: it starts together with the main container instead of before it, and is
  stopped when the main container has exited (the runner watches only ``base``).
* ``secret`` volumes: kube play 4.3 crashes on them (a nil secrets manager in ``VolumeFromSecret``).
  ``configMap`` volumes need the ConfigMap in the played file. Both become a read-only ``hostPath`` of a
  private folder holding the keys as files (mode ``defaultMode``/``items[].mode``, default 0644).
* ``volumeMounts[].subPath``: podman 4.3 ignores it and mounts the whole volume. On hostPath-based
  volumes (which includes the two above) the mount becomes a hostPath of that one file or folder; on
  any other volume it is refused with an error.
* A pod name longer than 63 characters: the kernel refuses such a hostname. ``spec.hostname`` is set to
  the name's first 63 characters, which is what Kubernetes does.
* ``emptyDir`` with ``medium: Memory`` is disk-backed, and ``sizeLimit`` is not enforced.

Done on every run without a note, because the result behaves as in Kubernetes: ``activeDeadlineSeconds``
and ``runAsNonRoot``, which podman ignores, are enforced by the runner; emptyDir volumes get a per-run
name (podman makes each one a named volume, shared by every pod that uses the same name, while an
emptyDir belongs to one pod), and the runner creates them world-writable as Kubernetes does; Secrets
read by environment variables become podman secrets with a per-run name; init containers are kept after
they ran (podman's init type ``always``; ``once``, the default, removes them at once), so that their
logs can be read.
"""

from __future__ import annotations

import copy
import posixpath
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from dockpod.errors import DockpodError

#: KubernetesPodOperator's name for the main container.
BASE_CONTAINER = "base"
#: Pod annotation that sets podman's init container type.
INIT_TYPE_ANNOTATION = "io.podman.annotations.init.container.type"
HOSTNAME_MAX = 63
DEFAULT_FILE_MODE = 0o644

Values = Mapping[str, Mapping[str, str]]


@dataclass
class PodPlan:
    """A manifest adapted for podman, and what has to exist around it while it runs.

    ``volumes`` are the per-run podman volume names (emptyDirs, removed afterwards), ``claims`` the
    podman volumes standing for PersistentVolumeClaims (shared, kept), ``secrets`` the podman secrets to
    create (name -> key -> value), ``files`` the host files of Secret and ConfigMap volumes (path ->
    (content, mode)) inside ``folders``, ``config_maps`` the ConfigMap documents played with the pod,
    and ``problems`` what would keep the pod from starting in Kubernetes (a missing Secret or key).
    """

    manifest: dict[str, Any]
    notes: list[str] = field(default_factory=list)
    volumes: list[str] = field(default_factory=list)
    claims: list[str] = field(default_factory=list)
    secrets: dict[str, dict[str, str]] = field(default_factory=dict)
    folders: list[Path] = field(default_factory=list)
    files: dict[Path, tuple[bytes, int]] = field(default_factory=dict)
    config_maps: list[dict[str, Any]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    #: With native sidecars: every init container and sidecar in the pod's order, as (name, is_sidecar,
    #: startupProbe): the runner starts them one by one as the kubelet does.
    start_order: list[tuple[str, bool, dict[str, Any] | None]] = field(default_factory=list)

    @property
    def name(self) -> str:
        """The pod's name (podman names its containers ``<pod>-<container>``)."""
        return str(self.manifest["metadata"]["name"])

    @property
    def documents(self) -> list[dict[str, Any]]:
        """What ``podman kube play`` reads: the ConfigMaps, then the pod."""
        return [*self.config_maps, self.manifest]

    def container(self, name: str) -> dict[str, Any] | None:
        """The container (or init container) called ``name`` in the adapted manifest."""
        return next((c for c in all_containers(self.manifest["spec"]) if c.get("name") == name), None)


def adapt_pod(
    manifest: Mapping[str, Any],
    *,
    run_id: str,
    workdir: Path,
    image_rewrites: Mapping[str, str] | None = None,
    secrets: Values | None = None,
    config_maps: Values | None = None,
) -> PodPlan:
    """Adapt ``manifest`` (a v1 Pod as a dict) for ``podman kube play``; the input is not modified.

    ``run_id`` makes per-run names unique, ``workdir`` is the private folder where the runner writes the
    files of Secret and ConfigMap volumes. Raises :class:`DockpodError` for what podman cannot run at all.
    """
    plan = PodPlan(manifest=copy.deepcopy(dict(manifest)))
    spec = _check_pod(plan.manifest)
    for container in all_containers(spec):
        container["image"] = rewrite_image(str(container.get("image", "")), image_rewrites or {})
        _check_leading_blanks(container)
    _move_native_sidecars(spec, plan)
    if spec.get("initContainers"):
        plan.manifest["metadata"].setdefault("annotations", {})[INIT_TYPE_ANNOTATION] = "always"
    _limit_hostname(plan)
    _adapt_volumes(spec, plan, run_id, workdir, secrets or {}, config_maps or {})
    _adapt_sub_paths(spec, plan)
    _adapt_env(spec, plan, run_id, secrets or {}, config_maps or {})
    return plan


def all_containers(spec: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The pod's init containers, then its containers."""
    return [*(spec.get("initContainers") or []), *(spec.get("containers") or [])]


def rewrite_image(image: str, rewrites: Mapping[str, str]) -> str:
    """Apply ``rewrites`` (prefix -> prefix): the longest prefix ending at a ``/``, or the whole name, wins."""
    for prefix in sorted(rewrites, key=len, reverse=True):
        if image == prefix or image.startswith(prefix.rstrip("/") + "/"):
            return rewrites[prefix] + image[len(prefix):]
    return image


def _check_pod(doc: dict[str, Any]) -> dict[str, Any]:
    if doc.get("kind") != "Pod" or doc.get("apiVersion") != "v1":
        raise DockpodError(f"Expected a v1 Pod manifest, got kind {doc.get('kind')!r} "
                           f"apiVersion {doc.get('apiVersion')!r}.",
                           fix="Pass ApiClient().sanitize_for_serialization(pod) of a V1Pod.")
    if not (doc.get("metadata") or {}).get("name"):
        raise DockpodError("The pod manifest has no metadata.name.", fix="Name the pod.")
    spec = doc.get("spec") or {}
    if not any(c.get("name") == BASE_CONTAINER for c in spec.get("containers") or []):
        raise DockpodError(f"The pod has no container named {BASE_CONTAINER!r}, KubernetesPodOperator's "
                           "main container.", fix="Build the pod with KubernetesPodOperator.")
    return spec


def _check_leading_blanks(container: Mapping[str, Any]) -> None:
    """Refuse a command or argument that starts with a newline or a space: podman 4.3's kube play cannot read it.

    Kubernetes accepts it; podman reports only "error converting YAML to JSON", naming nothing. Say which.
    """
    for key in ("command", "args"):
        for index, value in enumerate(container.get(key) or ()):
            if isinstance(value, str) and value[:1] in ("\n", " ", "\t", "\r"):
                raise DockpodError(
                    f"Container {container.get('name')!r}: {key}[{index}] starts with "
                    f"{'a newline' if value[:1] in (chr(10), chr(13)) else 'a space or tab'}, which podman 4.3's "
                    "kube play cannot read (Kubernetes can).",
                    fix="Strip the leading whitespace, e.g. textwrap.dedent(script).strip().")


def _move_native_sidecars(spec: dict[str, Any], plan: PodPlan) -> None:
    init = spec.get("initContainers") or []
    sidecars = [c for c in init if c.get("restartPolicy") == "Always"]
    if not sidecars:
        return
    plan.start_order = [(c["name"], c.get("restartPolicy") == "Always", c.get("startupProbe")) for c in init]
    spec["initContainers"] = [c for c in init if c.get("restartPolicy") != "Always"]
    if not spec["initContainers"]:
        del spec["initContainers"]
    for sidecar in sidecars:
        del sidecar["restartPolicy"]
        spec["containers"].append(sidecar)
        plan.notes.append(
            f"native sidecar {sidecar.get('name')!r} (an init container with restartPolicy Always) is a regular "
            "container of the pod, which podman 4.3 would otherwise wait on for ever; dockpod starts the "
            "containers one by one in the kubelet's order (init containers to completion, each sidecar's "
            "startup probe awaited, then the main container)"
        )


def _limit_hostname(plan: PodPlan) -> None:
    spec = plan.manifest["spec"]
    if len(plan.name) > HOSTNAME_MAX and not spec.get("hostname"):
        spec["hostname"] = plan.name[:HOSTNAME_MAX].rstrip("-.")
        plan.notes.append(f"spec.hostname set to the pod name's first {HOSTNAME_MAX} characters, as Kubernetes "
                          "does: podman would use the whole name, which the kernel refuses")


def _adapt_volumes(spec: dict[str, Any], plan: PodPlan, run_id: str, workdir: Path,
                   secrets: Values, config_maps: Values) -> None:
    renames: dict[str, str] = {}
    read_only: set[str] = set()
    for volume in spec.get("volumes") or []:
        name = volume["name"]
        if "emptyDir" in volume:
            renames[name] = volume["name"] = f"dockpod-{run_id}-{name}"
            plan.volumes.append(volume["name"])
            if (volume["emptyDir"] or {}).get("medium") == "Memory":
                plan.notes.append(f"emptyDir {name!r} with medium Memory is disk-backed under podman 4.3")
            if (volume["emptyDir"] or {}).get("sizeLimit"):
                plan.notes.append(f"emptyDir {name!r}: sizeLimit is not enforced under podman 4.3")
        elif "persistentVolumeClaim" in volume:
            plan.claims.append(volume["persistentVolumeClaim"]["claimName"])
        elif "secret" in volume or "configMap" in volume:
            _files_volume(volume, plan, workdir, secrets, config_maps)
            read_only.add(name)
        elif "hostPath" not in volume:
            kinds = sorted(set(volume) - {"name"})
            raise DockpodError(f"Volume {name!r} of type {', '.join(kinds)} cannot run under podman 4.3, which "
                               "mounts only emptyDir, hostPath, persistentVolumeClaim, secret and configMap "
                               "volumes.", fix="Use one of those volume types for a podman run.")
    for container in all_containers(spec):
        for mount in container.get("volumeMounts") or []:
            if mount["name"] in read_only:
                mount["readOnly"] = True
            mount["name"] = renames.get(mount["name"], mount["name"])


def _files_volume(volume: dict[str, Any], plan: PodPlan, workdir: Path, secrets: Values,
                  config_maps: Values) -> None:
    """Turn a secret or configMap volume into a read-only hostPath of a folder holding its keys."""
    kind, source = ("Secret", volume["secret"]) if "secret" in volume else ("ConfigMap", volume["configMap"])
    source = source or {}
    object_name = source.get("secretName") if kind == "Secret" else source.get("name")
    values = (secrets if kind == "Secret" else config_maps).get(object_name or "")
    optional = bool(source.get("optional"))
    if values is None and not optional:
        plan.problems.append(f'{kind.lower()} "{object_name}" not found (volume {volume["name"]!r})')
    values = values or {}
    mode = int(source.get("defaultMode", DEFAULT_FILE_MODE)) & 0o777
    folder = workdir / f"{kind.lower()}-{volume['name']}"
    items = source.get("items") or [{"key": key, "path": key} for key in values]
    for item in items:
        if item["key"] not in values:
            if not optional:
                plan.problems.append(f"couldn't find key {item['key']} in {kind} {object_name}")
            continue
        path = _relative_path(item["path"], f"volume {volume['name']!r}")
        plan.files[folder / path] = (_as_bytes(values[item["key"]]), int(item.get("mode", mode)) & 0o777)
    plan.folders.append(folder)
    for key in [k for k in volume if k != "name"]:
        del volume[key]
    volume["hostPath"] = {"path": str(folder), "type": "Directory"}
    why = "podman 4.3 crashes on Secret volumes" if kind == "Secret" else "ConfigMaps are not podman objects"
    plan.notes.append(f"{kind} volume {volume['name']!r} ({object_name}) is mounted read-only from a private "
                      f"host folder holding its keys: {why}")


def _adapt_sub_paths(spec: dict[str, Any], plan: PodPlan) -> None:
    volumes = {v["name"]: v for v in spec.get("volumes") or []}
    for container in all_containers(spec):
        for index, mount in enumerate(container.get("volumeMounts") or []):
            if mount.get("subPathExpr"):
                raise DockpodError(f"Container {container.get('name')!r} mounts subPathExpr, which podman 4.3 "
                                   "cannot run.", fix="Use subPath with a fixed path, or mount the whole volume.")
            sub_path = mount.pop("subPath", None)
            if not sub_path:
                continue
            volume = volumes.get(mount["name"], {})
            if "hostPath" not in volume:
                raise DockpodError(
                    f"Container {container.get('name')!r} mounts subPath {sub_path!r} of volume "
                    f"{mount['name']!r}: podman 4.3 ignores subPath and would mount the whole volume.",
                    fix="Mount the whole volume, or use a hostPath, Secret or ConfigMap volume.")
            relative = _relative_path(sub_path, f"subPath of volume {mount['name']!r}")
            name = f"{mount['name']}-{container.get('name')}-{index}"
            spec["volumes"].append({"name": name, "hostPath": {"path": posixpath.join(
                volume["hostPath"]["path"], str(relative))}})
            plan.notes.append(f"{container.get('name')}: subPath {sub_path!r} of volume {mount['name']!r} is "
                              "mounted as a hostPath of that path: podman 4.3 ignores subPath")
            mount["name"] = name


def _adapt_env(spec: dict[str, Any], plan: PodPlan, run_id: str, secrets: Values,
               config_maps: Values) -> None:
    used_maps: set[str] = set()
    for container in all_containers(spec):
        for env in container.get("env") or []:
            source = env.get("valueFrom") or {}
            if source.get("secretKeyRef"):
                _secret_ref(source["secretKeyRef"], source["secretKeyRef"].get("key"), plan, run_id, secrets)
            if source.get("configMapKeyRef"):
                ref = source["configMapKeyRef"]
                used_maps.add(ref["name"])
                _check_ref("ConfigMap", ref, ref.get("key"), config_maps, plan)
        for env_from in container.get("envFrom") or []:
            if env_from.get("prefix"):
                raise DockpodError(f"Container {container.get('name')!r} uses envFrom.prefix, which podman 4.3 "
                                   "ignores.", fix="Reference the keys one by one with valueFrom instead.")
            if env_from.get("secretRef"):
                _secret_ref(env_from["secretRef"], None, plan, run_id, secrets)
            if env_from.get("configMapRef"):
                used_maps.add(env_from["configMapRef"]["name"])
                _check_ref("ConfigMap", env_from["configMapRef"], None, config_maps, plan)
    for name in sorted(used_maps & set(config_maps)):
        plan.config_maps.append({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name},
                                 "data": {k: str(v) for k, v in config_maps[name].items()}})


def _secret_ref(ref: dict[str, Any], key: str | None, plan: PodPlan, run_id: str, secrets: Values) -> None:
    """Point a secretKeyRef/secretRef at the podman secret holding the Secret's values for this run."""
    name = ref["name"]
    _check_ref("Secret", ref, key, secrets, plan)
    podman_name = f"dockpod-{run_id}-{name}"
    if name in secrets:
        plan.secrets[podman_name] = {k: str(v) for k, v in secrets[name].items()}
    ref["name"] = podman_name


def _check_ref(kind: str, ref: Mapping[str, Any], key: str | None, values: Values, plan: PodPlan) -> None:
    if ref.get("optional"):
        return
    namespace = plan.manifest["metadata"].get("namespace") or "default"
    if ref["name"] not in values:
        problem = f'{kind.lower()} "{ref["name"]}" not found'
    elif key is not None and key not in values[ref["name"]]:
        problem = f"couldn't find key {key} in {kind} {namespace}/{ref['name']}"
    else:
        return
    if problem not in plan.problems:
        plan.problems.append(problem)


def _relative_path(path: str, what: str) -> PurePosixPath:
    relative = PurePosixPath(path)
    if relative.is_absolute() or ".." in relative.parts or not relative.parts:
        raise DockpodError(f"The {what} path {path!r} must be relative and must not contain '..'.",
                           fix="Kubernetes rejects such a path too: use a plain relative path.")
    return relative


def _as_bytes(value: str | bytes) -> bytes:
    return value if isinstance(value, bytes) else str(value).encode()
