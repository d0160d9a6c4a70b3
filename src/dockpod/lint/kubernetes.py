"""Lint rules for Kubernetes manifests and pod templates (YAML, multi-document, or JSON).

Workloads (Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet, Job, CronJob, PodTemplate) are checked
through their pod spec; Roles and ClusterRoles meant for Airflow are compared with what
KubernetesPodOperator really calls. Every finding points at the line of the offending key (ruamel.yaml's
round-trip loader keeps them). The schema check reuses :func:`dockpod.render.validate.validate_manifest`,
behind a per-kind cache of the schema validator so that linting many files loads each schema once.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from functools import lru_cache
from typing import Any

from dockpod.lint._k8s_yaml import YAMLError, as_map, as_seq, item_line, key_line, load_documents, node_line
from dockpod.lint._model import Finding, LintFile, Rule, Severity
from dockpod.lint._names import is_secret_name

__all__ = ["KPO_RBAC", "RULES", "check"]

#: What KubernetesPodOperator needs from the API, derived from the calls of apache-airflow-providers-cncf-kubernetes
#: 10.25 (resource -> verbs; all in the core API group ""):
#: pods: create (PodManager.run_pod_async: create_namespaced_pod), get (read_pod, hook.get_pod:
#: read_namespaced_pod), list (KubernetesPodOperator.find_pod: list_namespaced_pod), watch
#: (hook.get_namespaced_pod_list(watch=...)), delete (PodManager.delete_pod: delete_namespaced_pod), patch
#: (KubernetesPodOperator.patch_already_checked: patch_namespaced_pod); pods/log: get (read_namespaced_pod_log,
#: also streamed with follow); pods/exec: create and get (connect_get_namespaced_pod_exec reads the XCom sidecar;
#: a websocket GET, authorized as ``get`` and as ``create`` on clusters that check the upgrade as a create);
#: events: list (PodManager.read_pod_events: list_namespaced_event) and watch (the async hook's event watch in
#: deferrable mode). No other resource, no ``get`` of single events, and no secrets: a task's secrets are
#: mounted by the kubelet, not read by the operator.
KPO_RBAC: dict[str, frozenset[str]] = {
    "pods": frozenset({"create", "get", "list", "watch", "delete", "patch"}),
    "pods/log": frozenset({"get"}),
    "pods/exec": frozenset({"create", "get"}),
    "events": frozenset({"list", "watch"}),
}
_KPO_TEXT = "; ".join(f"{res}: {', '.join(sorted(verbs))}" for res, verbs in KPO_RBAC.items())

DP301 = Rule("DP301", Severity.ERROR, "kubernetes", "the object does not match the Kubernetes schema",
             "Fix the field the message names (a typo, a wrong type, a missing required field); pick the cluster's "
             "version with --k8s-version or `k8s_version` under [lint].",
             why="The API server rejects the object at apply time (or, for a pod template, when the task starts). "
             "The check is strict: an unknown field is usually a misspelled one whose setting is silently lost. "
             "Objects of non-Kubernetes API groups (custom resources) are not checked.",
             example="resources:\n  limit:        # flagged: unknown field, the schema has `limits`\n    memory: 1Gi")
DP302 = Rule("DP302", Severity.WARNING, "kubernetes", "a container without resource requests or a memory limit",
             "Set resources.requests (cpu, memory) and resources.limits.memory on every container.",
             why="Without requests the scheduler places the pod blindly and it is the first to be evicted; without a "
             "memory limit one container can exhaust the node. A CPU limit is not required (it throttles).",
             example="resources:\n  requests: {cpu: 250m, memory: 256Mi}\n  limits: {memory: 512Mi}")
DP303 = Rule("DP303", Severity.WARNING, "kubernetes", "a long-running container without liveness or readiness probe",
             "Add a readinessProbe and a livenessProbe (and a startupProbe when it starts slowly).",
             why="A Deployment, StatefulSet, DaemonSet or ReplicaSet keeps its pods running: without a readiness probe "
             "traffic reaches pods that are not ready, without a liveness probe a hung process is never restarted. "
             "Jobs, CronJobs and bare Pods (Airflow's task pods) run to completion, so they are not checked, nor are "
             "init containers; a startupProbe alone does not count, and none is required.")
DP304 = Rule("DP304", Severity.WARNING, "kubernetes", "a container's securityContext is missing or weak",
             "Set runAsNonRoot: true (pod or container), and on each container allowPrivilegeEscalation: false and "
             "capabilities: {drop: [ALL]} (adding NET_BIND_SERVICE at most).",
             why="These three are the restricted Pod Security Standard's core: a root process with its default "
             "capabilities that can gain privileges turns a bug in the task's code into a node compromise.",
             example="securityContext:\n  allowPrivilegeEscalation: false\n  capabilities: {drop: [ALL]}")
DP305 = Rule("DP305", Severity.ERROR, "kubernetes", "a privileged container",
             "Remove privileged: true; add the one capability the container needs instead, if any.",
             why="A privileged container has every capability and the host's devices: it is root on the node.")
DP306 = Rule("DP306", Severity.WARNING, "kubernetes", "an image without a pinned tag (latest or none)",
             "Pin the image to a version tag or a digest: image: registry.example.com/etl:1.4.2.",
             why="`latest` is whatever was pushed last: two pods of the same workload can run different code, and a "
             "rollback has nothing to roll back to.")
DP307 = Rule("DP307", Severity.WARNING, "kubernetes", "a hostPath volume",
             "Use a PersistentVolumeClaim, a ConfigMap, a Secret or an emptyDir.",
             why="A hostPath reads whichever node the pod lands on, ties the pod to that node's files, and is a "
             "classic escape route to the host (the Docker socket, /etc, /var/lib/kubelet).")
DP308 = Rule("DP308", Severity.WARNING, "kubernetes",
             "the pod mounts a service account token it has no use for",
             "Set automountServiceAccountToken: false in the pod spec (or give the pod its own serviceAccountName "
             "when it does call the API).",
             why="Every container of the pod can read the token and call the Kubernetes API with it. What is checked: "
             "a pod spec that runs as the namespace's `default` service account (no serviceAccountName, or "
             "`default`) and does not set automountServiceAccountToken: false. A pod with its own "
             "serviceAccountName is taken to need the API (an Airflow scheduler or worker launching pods) and is "
             "not flagged.")
DP309 = Rule("DP309", Severity.ERROR, "kubernetes", "a secret-looking environment variable with a literal value",
             "Use valueFrom.secretKeyRef: {name: db-creds, key: password} instead of value:.",
             why="A value in the manifest is in the repository, in `kubectl get -o yaml` for anyone who can read the "
             "object, and in the pod spec; a Secret reference keeps it in the secret store.",
             example="env:\n  - name: DB_PASSWORD\n    value: hunter2        # flagged")
DP310 = Rule("DP310", Severity.ERROR, "kubernetes", "an Airflow role with wildcards or access to secrets",
             "List the exact resources and verbs KubernetesPodOperator needs: " + _KPO_TEXT + ".",
             why="A wildcard grants every current and future verb or resource, secrets included; reading secrets "
             "from the API gives the Airflow worker every credential in the namespace, and KubernetesPodOperator "
             "never reads them (the kubelet mounts a task's secrets). Roles are checked when they look meant for "
             "Airflow: `airflow` in their name or in a label key or value, or bound in the same file to a "
             "ServiceAccount whose name contains `airflow`.")
DP311 = Rule("DP311", Severity.WARNING, "kubernetes",
             "an Airflow role grants more than KubernetesPodOperator needs",
             "Keep only: " + _KPO_TEXT + " (API group \"\"); move other permissions to a role of their own.",
             why="KubernetesPodOperator's calls (cncf.kubernetes provider: pod_manager.py, operators/pod.py, "
             "hooks/kubernetes.py) need exactly " + _KPO_TEXT + ". Anything more is reachable by every DAG author "
             "whose code runs on the worker. Same Airflow-role heuristic as DP310.")
DP312 = Rule("DP312", Severity.ERROR, "kubernetes", "a pod sharing the node's network, PID or IPC namespace",
             "Remove hostNetwork, hostPID and hostIPC (or set them to false); expose ports through a Service.",
             why="A pod in the node's namespaces sees and can reach every process, socket and shared memory segment "
             "of the node; the restricted and baseline Pod Security Standards forbid it.",
             example="spec:\n  hostNetwork: true   # flagged")
DP313 = Rule("DP313", Severity.WARNING, "kubernetes", "a container port bound on the node (hostPort)",
             "Drop hostPort and reach the container through a Service (a NodePort Service when it must be the node).",
             why="A hostPort ties the pod to nodes where that port is free, and opens the node's interface to the "
             "container; the baseline Pod Security Standard forbids it.")
DP314 = Rule("DP314", Severity.INFO, "kubernetes",
             "no seccomp profile (the restricted standard asks for RuntimeDefault)",
             "Set securityContext.seccompProfile: {type: RuntimeDefault} on the pod (or each container).",
             why="Without a profile most kubelets run the container unconfined (RuntimeDefault only applies with "
             "the kubelet's --seccomp-default); the restricted Pod Security Standard requires RuntimeDefault or "
             "Localhost. Info only: a cluster may set the default for every pod.")
RULES = (DP301, DP302, DP303, DP304, DP305, DP306, DP307, DP308, DP309, DP310, DP311, DP312, DP313, DP314)
#: The only capability the restricted Pod Security Standard lets a container add.
ALLOWED_ADD = frozenset({"NET_BIND_SERVICE"})

#: kind -> the path from the object to its pod spec.
POD_SPEC_PATHS: dict[str, tuple[str, ...]] = {
    "Pod": ("spec",),
    "PodTemplate": ("template", "spec"),
    "Deployment": ("spec", "template", "spec"),
    "StatefulSet": ("spec", "template", "spec"),
    "DaemonSet": ("spec", "template", "spec"),
    "ReplicaSet": ("spec", "template", "spec"),
    "ReplicationController": ("spec", "template", "spec"),
    "Job": ("spec", "template", "spec"),
    "CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
}
LONG_RUNNING = frozenset({"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "ReplicationController"})
_ROLE_KINDS = frozenset({"Role", "ClusterRole"})
_BINDING_KINDS = frozenset({"RoleBinding", "ClusterRoleBinding"})
_PATH = re.compile(r'^(\(document\)|(?:\.?[A-Za-z_$][\w$-]*|\[\d+\]|\["[^"]*"\])+): ')
_PATH_PART = re.compile(r'\.?([A-Za-z_$][\w$-]*)|\[(\d+)\]|\["([^"]*)"\]')


def check(file: LintFile, context: Any = None) -> Iterator[Finding]:
    """The findings of one manifest file."""
    try:
        documents = load_documents(file)
    except YAMLError as exc:
        if "{{" in file.text:
            return  # a Helm or Jinja template, not a manifest: nothing can be said before it is rendered
        from dockpod.lint._registry import rule

        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        yield rule("DP002").at(file, mark.line + 1 if mark else 0, f"YAML: {problem}")
        return
    version = getattr(context, "k8s_version", None)
    objects = [obj for doc in documents for obj in _objects(doc)]
    airflow_roles = _roles_bound_to_airflow(objects)
    for obj in objects:
        yield from _schema(file, obj, version)
        if not isinstance(obj, Mapping):
            continue
        kind = obj.get("kind")
        if kind in POD_SPEC_PATHS:
            located = _pod_spec(obj, POD_SPEC_PATHS[kind])
            if located is not None:
                yield from _pod(file, kind, *located)
        elif kind in _ROLE_KINDS and _meant_for_airflow(obj, airflow_roles):
            yield from _role(file, obj)


def _objects(doc: Any) -> Iterator[Any]:
    """The objects of a document; a ``kind: List`` stands for its items."""
    if isinstance(doc, Mapping) and doc.get("kind") == "List" and isinstance(doc.get("items"), list):
        for item in doc["items"]:
            yield from _objects(item)
    else:
        yield doc


# --- schema -------------------------------------------------------------------------------------------------------

def _schema(file: LintFile, obj: Any, k8s_version: str | None) -> Iterator[Finding]:
    if isinstance(obj, Mapping) and _not_a_cluster_object(obj.get("apiVersion"), obj.get("kind"), k8s_version):
        return
    for problem in _schema_problems(obj, k8s_version):
        match = _PATH.match(problem)
        line = _path_line(obj, match.group(1)) if match else node_line(obj, 1)
        yield DP301.at(file, line or node_line(obj, 1), f"schema: {problem}")


def _schema_problems(obj: Any, k8s_version: str | None) -> list[str]:
    """validate_manifest's problems; a cached validator answers first, so valid objects never reload schemas."""
    from dockpod.render import validate

    version = k8s_version or validate.DEFAULT_K8S_VERSION
    if isinstance(obj, Mapping):
        api, kind = obj.get("apiVersion"), obj.get("kind")
        if isinstance(api, str) and isinstance(kind, str) and api and kind:
            checker = _cached_validator(api, kind, validate._schema_version(version))
            if checker is not None and checker.is_valid(obj) and not _quantity_problems(obj):
                return []
    return validate.validate_manifest(obj, k8s_version=version)


@lru_cache(maxsize=256)
def _cached_validator(api: str, kind: str, version: str) -> Any:
    from dockpod.render import validate

    try:
        return validate._validator({"apiVersion": api, "kind": kind}, version, True)
    except Exception:  # no schema for it, or the library's layout changed: validate_manifest says which
        return None


def _quantity_problems(obj: Mapping[str, Any]) -> list[str]:
    from dockpod.render import validate

    return validate._quantity_problems(obj)


def _not_a_cluster_object(api_version: Any, kind: Any, k8s_version: str | None) -> bool:
    """True for what the schemas cannot know: custom resources and tool configuration files.

    A group with a domain is checked only when it is Kubernetes' own (``*.k8s.io``) and the installed schemas
    have it: ``keda.sh``, ``gateway.networking.k8s.io`` (a CRD) or ``kustomize.config.k8s.io`` are skipped,
    while ``apps/v1beta1`` (a removed version of a known group) is still reported. A kubeconfig
    (``v1``/``Config``) is not an API object either.
    """
    if not isinstance(api_version, str):
        return False
    if (api_version, kind) == ("v1", "Config"):
        return True
    if "/" not in api_version:
        return False
    group = api_version.split("/", 1)[0]
    if "." not in group:
        return False
    return not group.endswith(".k8s.io") or group.split(".", 1)[0] not in _schema_groups(k8s_version)


@lru_cache(maxsize=8)
def _schema_groups(k8s_version: str | None) -> frozenset[str]:
    """The short API group names (``apps``, ``rbac``, ``networking``) the schemas of this version know."""
    from importlib.resources import files

    from dockpod.render import validate

    folder = files("kubernetes_validate") / "kubernetes-json-schema" / \
        f"v{validate._schema_version(k8s_version or validate.DEFAULT_K8S_VERSION)}-local-strict"
    groups = set()
    for entry in folder.iterdir():
        parts = entry.name.removesuffix(".json").split("-")
        if len(parts) == 3:  # kind-group-version; core kinds are kind-version
            groups.add(parts[1])
    return frozenset(groups)


def _path_line(doc: Any, path: str) -> int:
    """The line of the deepest part of ``path`` (``spec.containers[0].image``) that exists in ``doc``.

    A problem of the whole document (``(document)``: no schema for its kind) is put on its ``kind``.
    """
    node, line = doc, node_line(doc, 1)
    if path == "(document)":
        return key_line(doc, "kind", line) if isinstance(doc, Mapping) else line
    for match in _PATH_PART.finditer(path):
        name, index, quoted = match.groups()
        if index is not None:
            position = int(index)
            if not isinstance(node, list) or position >= len(node):
                break
            line, node = item_line(node, position, line), node[position]
        else:
            key = name if name is not None else quoted
            if not isinstance(node, Mapping) or key not in node:
                break
            line, node = key_line(node, key, line), node[key]
    return line


# --- pods ---------------------------------------------------------------------------------------------------------

def _pod_spec(obj: Mapping[str, Any], path: tuple[str, ...]) -> tuple[Mapping[str, Any], Mapping[str, Any]] | None:
    """(the mapping holding the pod spec, the pod spec), or None when the object has none."""
    parent: Any = obj
    for key in path[:-1]:
        parent = parent.get(key) if isinstance(parent, Mapping) else None
    spec = parent.get(path[-1]) if isinstance(parent, Mapping) else None
    return (parent, spec) if isinstance(spec, Mapping) else None


def _pod(file: LintFile, kind: str, parent: Mapping[str, Any], spec: Mapping[str, Any]) -> Iterator[Finding]:
    pod_line = key_line(parent, "spec", node_line(spec, 1))
    pod_security = as_map(spec.get("securityContext"))
    for field in ("initContainers", "containers"):
        containers = as_seq(spec.get(field))
        for index, container in enumerate(containers):
            if not isinstance(container, Mapping):
                continue
            line = key_line(container, "name", item_line(containers, index, pod_line))
            name = container.get("name", f"{field}[{index}]")
            yield from _resources(file, container, name, line)
            if kind in LONG_RUNNING and field == "containers":
                yield from _probes(file, container, name, line)
            yield from _security(file, container, name, line, pod_security)
            yield from _image(file, container, name)
            yield from _env(file, container, name)
            for port in as_seq(container.get("ports")):
                if isinstance(port, Mapping) and port.get("hostPort"):
                    yield DP313.at(file, key_line(port, "hostPort", line),
                                   f"container {name!r} binds port {port.get('hostPort')} on the node")
    for key in ("hostNetwork", "hostPID", "hostIPC"):
        if spec.get(key) is True:
            yield DP312.at(file, key_line(spec, key, pod_line), f"{key}: true shares the node's namespace")
    volumes = as_seq(spec.get("volumes"))
    for volume in volumes:
        if isinstance(volume, Mapping) and "hostPath" in volume:
            path = as_map(volume.get("hostPath")).get("path", "?")
            yield DP307.at(file, key_line(volume, "hostPath", pod_line),
                           f"volume {volume.get('name', '?')!r} mounts the node's {path!r} (hostPath)")
    yield from _token(file, spec, pod_line)


def _resources(file: LintFile, container: Mapping[str, Any], name: str, line: int) -> Iterator[Finding]:
    resources = container.get("resources")
    if not isinstance(resources, Mapping) or not resources:
        yield DP302.at(file, line, f"container {name!r} has no resources (requests and a memory limit)")
        return
    missing = []
    if not as_map(resources.get("requests")):
        missing.append("requests")
    if "memory" not in as_map(resources.get("limits")):
        missing.append("memory limit")
    if missing:
        yield DP302.at(file, key_line(container, "resources", line),
                       f"container {name!r} has no {' and no '.join(missing)}")


def _probes(file: LintFile, container: Mapping[str, Any], name: str, line: int) -> Iterator[Finding]:
    missing = [probe for probe in ("livenessProbe", "readinessProbe") if not container.get(probe)]
    if missing:
        yield DP303.at(file, line, f"container {name!r} of a long-running workload has no {' and no '.join(missing)}")


def _security(file: LintFile, container: Mapping[str, Any], name: str, line: int,
              pod_security: Mapping[str, Any]) -> Iterator[Finding]:
    security = as_map(container.get("securityContext"))
    if security.get("privileged") is True:
        yield DP305.at(file, key_line(security, "privileged", line), f"container {name!r} runs privileged")
    weak = []
    non_root = security.get("runAsNonRoot", pod_security.get("runAsNonRoot"))
    if non_root is not True:
        weak.append("runAsNonRoot is not true (pod or container)")
    if security.get("runAsUser", pod_security.get("runAsUser")) == 0:
        weak.append("runAsUser is 0 (root)")
    if security.get("allowPrivilegeEscalation") is not False:
        weak.append("allowPrivilegeEscalation is not false")
    capabilities = as_map(security.get("capabilities"))
    drop = as_seq(capabilities.get("drop"))
    if not any(isinstance(cap, str) and cap.upper() == "ALL" for cap in drop):
        weak.append("capabilities do not drop ALL")
    added = sorted(str(cap).upper() for cap in as_seq(capabilities.get("add")) if str(cap).upper() not in ALLOWED_ADD)
    if added:
        weak.append(f"capabilities add {', '.join(added)} (only NET_BIND_SERVICE is allowed)")
    if weak:
        where = key_line(container, "securityContext", line)
        yield DP304.at(file, where, f"container {name!r}: {'; '.join(weak)}")
    profile = as_map(security.get("seccompProfile")) or as_map(pod_security.get("seccompProfile"))
    if profile.get("type") not in ("RuntimeDefault", "Localhost"):
        yield DP314.at(file, key_line(container, "securityContext", line),
                       f"container {name!r} has no seccompProfile RuntimeDefault or Localhost (pod or container)")


def _image(file: LintFile, container: Mapping[str, Any], name: str) -> Iterator[Finding]:
    image = container.get("image")
    if not isinstance(image, str) or not image or "{{" in image or "@sha256:" in image:
        return
    line = key_line(container, "image")
    last = image.rsplit("/", 1)[-1]
    if ":" not in last:
        yield DP306.at(file, line, f"container {name!r}: image {image!r} has no tag, so it means {image}:latest")
    elif last.endswith(":latest"):
        yield DP306.at(file, line, f"container {name!r}: image {image!r} uses the latest tag")


def _env(file: LintFile, container: Mapping[str, Any], name: str) -> Iterator[Finding]:
    for variable in as_seq(container.get("env")):
        if not isinstance(variable, Mapping):
            continue
        var, value = variable.get("name"), variable.get("value")
        if isinstance(var, str) and is_secret_name(var) and value not in (None, ""):
            yield DP309.at(file, key_line(variable, "value"),
                           f"container {name!r}: env {var} has a literal value instead of valueFrom.secretKeyRef")


def _token(file: LintFile, spec: Mapping[str, Any], pod_line: int) -> Iterator[Finding]:
    account = spec.get("serviceAccountName") or spec.get("serviceAccount") or "default"
    automount = spec.get("automountServiceAccountToken")
    if account == "default" and automount is not False:
        line = key_line(spec, "automountServiceAccountToken", pod_line)
        yield DP308.at(file, line, "the pod runs as the `default` service account and still mounts its API token "
                       "(automountServiceAccountToken is not false)")


# --- RBAC ---------------------------------------------------------------------------------------------------------

def _roles_bound_to_airflow(objects: list[Any]) -> set[tuple[str, str]]:
    """(kind, name) of the roles that a binding in the same file gives to a ServiceAccount named *airflow*."""
    bound = set()
    for obj in objects:
        if not isinstance(obj, Mapping) or obj.get("kind") not in _BINDING_KINDS:
            continue
        subjects = [s for s in as_seq(obj.get("subjects")) if isinstance(s, Mapping)]
        if any(s.get("kind") == "ServiceAccount" and "airflow" in str(s.get("name", "")).lower() for s in subjects):
            ref = as_map(obj.get("roleRef"))
            bound.add((str(ref.get("kind", "")), str(ref.get("name", ""))))
    return bound


def _meant_for_airflow(role: Mapping[str, Any], bound: set[tuple[str, str]]) -> bool:
    metadata = as_map(role.get("metadata"))
    name = str(metadata.get("name", ""))
    labels = as_map(metadata.get("labels"))
    words = [name, *map(str, labels.keys()), *map(str, labels.values())]
    return any("airflow" in word.lower() for word in words) or (str(role.get("kind")), name) in bound


def _role(file: LintFile, role: Mapping[str, Any]) -> Iterator[Finding]:
    name = as_map(role.get("metadata")).get("name", "?")
    rules = as_seq(role.get("rules"))
    for index, entry in enumerate(rules):
        if not isinstance(entry, Mapping):
            continue
        line = item_line(rules, index, node_line(role, 1))
        groups = [str(g) for g in as_seq(entry.get("apiGroups"))]
        resources = [str(r) for r in as_seq(entry.get("resources"))]
        verbs = [str(v) for v in as_seq(entry.get("verbs"))]
        where = {key: key_line(entry, key, line) for key in ("apiGroups", "resources", "verbs", "nonResourceURLs")}
        prefix = f"{role.get('kind')} {name!r}"
        for key, values in (("apiGroups", groups), ("resources", resources), ("verbs", verbs)):
            if "*" in values:
                yield DP310.at(file, where[key], f"{prefix} grants {key} '*'")
        if "secrets" in resources:
            yield DP310.at(file, where["resources"], f"{prefix} grants access to secrets")
        if entry.get("nonResourceURLs"):
            yield DP311.at(file, where["nonResourceURLs"], f"{prefix} grants nonResourceURLs")
        other_groups = sorted(g for g in groups if g not in ("", "*"))
        if other_groups:
            yield DP311.at(file, where["apiGroups"], f"{prefix} grants API groups {', '.join(other_groups)} "
                           "(KubernetesPodOperator uses only the core group \"\")")
        extra_resources = sorted(r for r in resources if r not in KPO_RBAC and r not in ("*", "secrets"))
        if extra_resources:
            yield DP311.at(file, where["resources"], f"{prefix} grants {', '.join(extra_resources)}, which "
                           "KubernetesPodOperator does not use")
        if "*" not in verbs:
            extra = {r: sorted(set(verbs) - KPO_RBAC[r]) for r in resources if r in KPO_RBAC}
            extra = {r: more for r, more in extra.items() if more}
            if extra:
                yield DP311.at(file, where["verbs"], f"{prefix} grants " + "; ".join(
                    f"{', '.join(more)} on {r} (KubernetesPodOperator needs {', '.join(sorted(KPO_RBAC[r]))})"
                    for r, more in extra.items()))
