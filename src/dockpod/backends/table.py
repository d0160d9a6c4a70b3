"""The translation rules as data: spec fields, DockerOperator arguments and profile settings.

This module is the one source for docs/translation.md (:func:`render_markdown`, checked by a test),
for the reverse translation used by the migration tool (:data:`DOCKER_ARGUMENTS`, each with a reader)
and for the test that every DockerOperator argument is covered.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

Verdict = Literal["translated", "profile", "runtime", "rejected"]


@dataclass(frozen=True)
class FieldRule:
    """How one spec field reaches each backend."""

    field: str
    docker: str
    kubernetes: str
    note: str = ""


@dataclass(frozen=True)
class DockerArgument:
    """What becomes of one DockerOperator argument when a DAG moves to dockpod.

    ``translated``: read into the spec by ``reader``. ``profile``: belongs to the environment
    profile. ``runtime``: dockpod's runtime does it its own way (``note`` says how). ``rejected``:
    no counterpart; a value outside ``accepts`` stops the translation with ``fix``.
    """

    name: str
    verdict: Verdict
    spec_field: str
    note: str
    fix: str = ""
    reader: Callable[[dict[str, Any], Any], str | None] | None = None
    accepts: Callable[[Any], bool] = lambda value: True


FIELDS: tuple[FieldRule, ...] = (
    FieldRule("image", "`image`", "`image`", "The profile's registry rewrites apply on both sides."),
    FieldRule("entrypoint", "`entrypoint` (Config.Entrypoint)", "`cmds` (container `command`)",
              "Replaces the image's ENTRYPOINT in both modes."),
    FieldRule("command", "`command` (Config.Cmd)", "`arguments` (container `args`)",
              "Replaces the image's CMD; the ENTRYPOINT still runs, in both modes."),
    FieldRule("working_dir", "`working_dir`", "container `workingDir`"),
    FieldRule("env", "`environment` (templated)", "`env_vars` (templated)"),
    FieldRule("secrets (env)", "private environment, value read at run time from the profile's secret "
              "source", "`secrets` -> `secretKeyRef` (one key) or `envFrom` (all keys)",
              "Never passes through a templated field, a log line or XCom."),
    FieldRule("secrets (file)", "read-only per-run volume filled at run time", "Secret volume "
              "(`subPath` for one key)", "Files are mode 0444, owned by root."),
    FieldRule("volumes: named", "Mount type=volume", "`persistentVolumeClaim` (claim = `claim` or the "
              "name with `_` as `-`)"),
    FieldRule("volumes: bind", "Mount type=bind", "`hostPath`", "The profile's `host_path` allows, warns "
              "about or rejects it (production warns)."),
    FieldRule("volumes: tmpfs", "Mount type=tmpfs (size)", "`emptyDir` medium Memory (sizeLimit)"),
    FieldRule("volumes: empty_dir", "per-run volume, removed after the run", "`emptyDir` (sizeLimit)"),
    FieldRule("volumes: config", "read-only bind of `{config_dir}/{name}[/{key}]`", "`configMap` volume "
              "(`subPath` for one key)"),
    FieldRule("volumes: secret", "as secrets (file)", "as secrets (file)"),
    FieldRule("resources.cpu_request", "`cpus` -> CpuShares = cpus x 1024 (relative weight)",
              "requests.cpu", "A weight under contention, as a request is."),
    FieldRule("resources.cpu_limit", "HostConfig.NanoCpus (hard quota)", "limits.cpu"),
    FieldRule("resources.memory_request", "HostConfig.MemoryReservation (soft)", "requests.memory"),
    FieldRule("resources.memory_limit", "`mem_limit` -> HostConfig.Memory", "limits.memory",
              "Exceeding it is an OOM kill in both modes; the failure names the limit."),
    FieldRule("resources.ephemeral_storage_*", "not enforced by Docker", "requests/limits "
              "ephemeral-storage", "Kubernetes only; shown in `dockpod render --env local` output notes."),
    FieldRule("resources.shm_size", "`shm_size`", "`emptyDir` medium Memory at /dev/shm (sizeLimit)"),
    FieldRule("resources.gpus", "`device_requests` (capabilities gpu)", "limits `nvidia.com/gpu`"),
    FieldRule("security.user", "`user` uid:gid", "runAsUser / runAsGroup; pod fsGroup = gid"),
    FieldRule("security.run_as_non_root", "checked against the image's USER before start",
              "runAsNonRoot", "Default True; both refuse to start a root image."),
    FieldRule("security.read_only_root_filesystem", "HostConfig.ReadonlyRootfs", "readOnlyRootFilesystem"),
    FieldRule("security.capabilities_add", "`cap_add`", "capabilities.add"),
    FieldRule("security.capabilities_drop", "HostConfig.CapDrop", "capabilities.drop", "Default ALL."),
    FieldRule("security.privileged", "`privileged`", "privileged"),
    FieldRule("security.allow_privilege_escalation", "False -> SecurityOpt no-new-privileges",
              "allowPrivilegeEscalation", "Default False."),
    FieldRule("security.fs_group", "none: the image must own its mount points", "pod fsGroup",
              "Defaults to the gid of `user`."),
    FieldRule("hostname", "`hostname`", "`hostname`"),
    FieldRule("extra_hosts", "`extra_hosts`", "`host_aliases`"),
    FieldRule("dns", "`dns`", "`dns_config.nameservers` with dnsPolicy None",
              "Docker replaces the resolvers; so does dnsPolicy None."),
    FieldRule("dns_search", "`dns_search`", "`dns_config.searches`"),
    FieldRule("labels", "`labels`", "`labels`"),
    FieldRule("annotations", "labels `io.dockpod.annotation/<key>`", "`annotations`"),
    FieldRule("image_pull_policy", "Always -> `force_pull`; IfNotPresent pulls when missing; Never "
              "never pulls", "`image_pull_policy`"),
    FieldRule("init_containers", "containers run in order, each to exit 0, in the task's network namespace "
              "(a holder container all join) with the shared scratch volumes", "`init_containers`"),
    FieldRule("sidecars", "containers started before the main one (readiness awaited), stopped and removed "
              "after it", "`init_containers` with restartPolicy Always (native sidecars, Kubernetes 1.29+)",
              "A readiness probe without a startup probe is also the sidecar's startupProbe, so that the "
              "kubelet awaits it too."),
    FieldRule("liveness_probe / readiness_probe / startup_probe", "the Docker healthcheck (exec probes only; "
              "one check per container); an unhealthy main container is stopped and fails the task",
              "`livenessProbe` / `readinessProbe` / `startupProbe`", "Same period, timeout, failure threshold "
              "and initial delay (Docker's start period)."),
    FieldRule("xcom", "JSON read from /airflow/xcom/return.json after exit (a per-run host directory on a "
              "local engine, else a per-run volume)",
              "`do_xcom_push` (the XCom sidecar reads the same file)", "JSON only; nothing is unpickled."),
    FieldRule("timeout", "container stopped after that many seconds; the task fails", "`active_deadline_seconds`"),
    FieldRule("termination_grace_period", "seconds between SIGTERM and SIGKILL when the task is stopped "
              "(`docker stop`, also the container's StopTimeout); default 30", "`termination_grace_period` "
              "(the pod's terminationGracePeriodSeconds)", "SIGTERM reaches the workload locally even as PID "
              "1: every container runs under an init (`docker run --init`)."),
    FieldRule("pod_template_file", "the template's init containers, sidecars, env, volumes and pod security "
              "context run locally too, merged under the task's own (dockpod.backends.pod_template)",
              "`pod_template_file` (merged by the provider)", "Per task; else the profile's. The task's own "
              "values win, as in KubernetesPodOperator's merge."),
    FieldRule("skip_on_exit_code", "`skip_on_exit_code`", "`skip_on_exit_code`"),
)

PROFILE_SETTINGS: tuple[FieldRule, ...] = (
    FieldRule("docker_url / docker_conn_id", "`docker_url` / `docker_conn_id`", "-"),
    FieldRule("network", "`network_mode` (a user-defined network)", "- (pods share the cluster network)"),
    FieldRule("registry_rewrites", "image prefix rewrite", "image prefix rewrite"),
    FieldRule("default_resources / default_security", "under the task's own settings", "the same"),
    FieldRule("secrets", "where secret values come from locally", "- (the cluster's Secrets)"),
    FieldRule("config_dir", "folder holding one sub-folder per ConfigMap", "-"),
    FieldRule("namespace, in_cluster, config_file, cluster_context, kubernetes_conn_id", "-",
              "the KubernetesPodOperator arguments of the same names"),
    FieldRule("service_account", "-", "`service_account_name`"),
    FieldRule("pod_template_file", "-", "`pod_template_file`"),
    FieldRule("node_selector, tolerations, affinity, priority_class", "-",
              "`node_selector`, `tolerations`, `affinity`, `priority_class_name`"),
    FieldRule("image_pull_secrets", "-", "`image_pull_secrets`"),
    FieldRule("pause_image", "image of the container holding a multi-container task's network namespace "
              "(default: the task's image; it needs `sleep`)", "-"),
    FieldRule("xcom_sidecar_image", "-", "image of the `airflow-xcom-sidecar` container (air-gapped clusters)"),
    FieldRule("startup_timeout, on_finish_action", "-", "`startup_timeout_seconds`, `on_finish_action`"),
    FieldRule("labels", "container labels", "pod labels"),
)


# --- readers: DockerOperator argument -> spec ---------------------------------------------------


def _setter(path: str) -> Callable[[dict[str, Any], Any], None]:
    def read(spec: dict[str, Any], value: Any) -> None:
        if value is None:
            return
        *parents, leaf = path.split(".")
        target = spec
        for parent in parents:
            target = target.setdefault(parent, {})
        target[leaf] = value

    return read


def _read_cpus(spec: dict[str, Any], value: Any) -> None:
    if value is not None and float(value) != 1.0:
        spec.setdefault("resources", {})["cpu_request"] = float(value)


def _read_mounts(spec: dict[str, Any], value: Any) -> str | None:
    from dockpod.spec import Volume

    volumes = spec.setdefault("volumes", [])
    notes = []
    for mount in value or []:
        data = dict(mount)
        kind, target = data.get("Type", "volume"), data.get("Target")
        source, read_only = data.get("Source"), bool(data.get("ReadOnly"))
        if kind == "bind":
            volumes.append(Volume.bind(source, target, read_only=read_only))
            notes.append(f"bind mount {source} becomes a hostPath volume in Kubernetes")
        elif kind == "tmpfs":
            size = (data.get("TmpfsOptions") or {}).get("SizeBytes")
            volumes.append(Volume.tmpfs(target, size=size))
        elif source:
            volumes.append(Volume.named(source, target, read_only=read_only))
        else:
            volumes.append(Volume.empty_dir(target))
    return "; ".join(notes) or None


def _read_env_file(spec: dict[str, Any], value: Any) -> str | None:
    if not value:
        return None
    env = spec.setdefault("env", {})
    for line in str(value).splitlines():
        key, sep, val = line.strip().partition("=")
        if sep and not key.startswith("#"):
            env.setdefault(key.strip(), val.strip().strip("'\""))
    return "env_file was read into env"


def _read_privileged(spec: dict[str, Any], value: Any) -> None:
    if value:
        spec.setdefault("security", {}).update(privileged=True, allow_privilege_escalation=True)


def _read_pull(spec: dict[str, Any], value: Any) -> None:
    if value:
        spec["image_pull_policy"] = "Always"


def _read_skip(spec: dict[str, Any], value: Any) -> None:
    if value is not None:
        spec["skip_on_exit_code"] = [value] if isinstance(value, int) else list(value)


def _read_devices(spec: dict[str, Any], value: Any) -> str | None:
    for request in value or []:
        data = dict(request)
        if ["gpu"] in (data.get("Capabilities") or []):
            count = data.get("Count", -1)
            spec.setdefault("resources", {})["gpus"] = 1 if count in (-1, None) else int(count)
            return "a GPU request becomes limits nvidia.com/gpu (all GPUs, -1, becomes 1)" if count == -1 else None
    return None


def _read_xcom(spec: dict[str, Any], value: Any) -> str | None:
    spec["xcom"] = bool(value)
    if value:
        return ("do_xcom_push: DockerOperator pushed the last log line; dockpod pushes the JSON the container "
                "writes to /airflow/xcom/return.json")
    return None


def _read_labels(spec: dict[str, Any], value: Any) -> None:
    if isinstance(value, list):
        value = dict.fromkeys(value, "")
    if value:
        spec["labels"] = dict(value)


def _is_falsy(value: Any) -> bool:
    return not value


def _local_engine(value: Any) -> bool:
    return value is None or str(value).startswith(("unix://", "npipe://"))


def is_plain_network(value: Any) -> bool:
    """True for Docker's default network: nothing to carry over to a profile or a pod."""
    return value in (None, "", "bridge", "default")


DOCKER_ARGUMENTS: dict[str, DockerArgument] = {
    rule.name: rule
    for rule in (
        DockerArgument("image", "translated", "image", "", reader=_setter("image")),
        DockerArgument("command", "translated", "command", "Docker's CMD -> Kubernetes args.",
                       reader=_setter("command")),
        DockerArgument("entrypoint", "translated", "entrypoint", "Docker's ENTRYPOINT -> Kubernetes command.",
                       reader=_setter("entrypoint")),
        DockerArgument("environment", "translated", "env", "", reader=_setter("env")),
        DockerArgument("env_file", "translated", "env", "Lines KEY=VALUE read into env.", reader=_read_env_file),
        DockerArgument("working_dir", "translated", "working_dir", "", reader=_setter("working_dir")),
        DockerArgument("user", "translated", "security.user", "Numeric uid[:gid] only.",
                       reader=_setter("security.user")),
        DockerArgument("mounts", "translated", "volumes", "Bind mounts become hostPath volumes.",
                       reader=_read_mounts),
        DockerArgument("mem_limit", "translated", "resources.memory_limit", "",
                       reader=_setter("resources.memory_limit")),
        DockerArgument("cpus", "translated", "resources.cpu_request", "cpus sets CPU shares, a request.",
                       reader=_read_cpus),
        DockerArgument("shm_size", "translated", "resources.shm_size", "", reader=_setter("resources.shm_size")),
        DockerArgument("cap_add", "translated", "security.capabilities_add", "",
                       reader=_setter("security.capabilities_add")),
        DockerArgument("dns", "translated", "dns", "", reader=_setter("dns")),
        DockerArgument("dns_search", "translated", "dns_search", "", reader=_setter("dns_search")),
        DockerArgument("extra_hosts", "translated", "extra_hosts", "", reader=_setter("extra_hosts")),
        DockerArgument("hostname", "translated", "hostname", "", reader=_setter("hostname")),
        DockerArgument("labels", "translated", "labels", "", reader=_read_labels),
        DockerArgument("force_pull", "translated", "image_pull_policy", "True -> Always.", reader=_read_pull),
        DockerArgument("skip_on_exit_code", "translated", "skip_on_exit_code", "", reader=_read_skip),
        DockerArgument("device_requests", "translated", "resources.gpus", "GPU requests only.",
                       reader=_read_devices),
        DockerArgument("do_xcom_push", "translated", "xcom",
                       "dockpod pushes return.json as JSON, not the last log line.", reader=_read_xcom),
        DockerArgument("privileged", "rejected", "security.privileged",
                       "a privileged container has no safe counterpart in a shared cluster",
                       fix="Add the capabilities the task needs (security.capabilities_add) instead.",
                       reader=_read_privileged, accepts=_is_falsy),
        DockerArgument("docker_url", "rejected", "profile.docker_url",
                       "a task bound to a remote Docker engine has no pod counterpart",
                       fix="Run the task on the cluster, or set docker_url in the local profile of dockpod.toml.",
                       accepts=_local_engine),
        DockerArgument("docker_conn_id", "profile", "profile.docker_conn_id",
                       "the registry login connection belongs in the profile"),
        DockerArgument("api_version", "runtime", "-", "dockpod negotiates the Engine API itself (1.41+)."),
        DockerArgument("network_mode", "rejected", "profile.network",
                       "host, none and container: network modes have no pod counterpart",
                       fix="Drop network_mode, or name a user-defined network in the profile's `network`.",
                       accepts=lambda v: is_plain_network(v) or not str(v).startswith(("host", "none", "container:"))),
        DockerArgument("tls_ca_cert", "profile", "profile.docker_conn_id", "TLS to the engine: use the "
                       "Docker connection of the profile.", accepts=_is_falsy),
        DockerArgument("tls_client_cert", "profile", "profile.docker_conn_id", "as tls_ca_cert",
                       accepts=_is_falsy),
        DockerArgument("tls_client_key", "profile", "profile.docker_conn_id", "as tls_ca_cert",
                       accepts=_is_falsy),
        DockerArgument("tls_verify", "profile", "profile.docker_conn_id", "as tls_ca_cert",
                       accepts=lambda v: v in (None, True)),
        DockerArgument("tls_hostname", "profile", "profile.docker_conn_id", "as tls_ca_cert",
                       accepts=_is_falsy),
        DockerArgument("tls_ssl_version", "profile", "profile.docker_conn_id", "as tls_ca_cert",
                       accepts=_is_falsy),
        DockerArgument("container_name", "runtime", "-", "dockpod names containers per run, so retries and "
                       "parallel runs never collide.", accepts=_is_falsy),
        DockerArgument("auto_remove", "runtime", "-", "dockpod always removes the container after reading "
                       "its exit state and result.", accepts=lambda v: v in (None, "force", "success")),
        DockerArgument("mount_tmp_dir", "runtime", "-", "no host temporary directory is mounted; use "
                       "Volume.empty_dir for scratch space.", accepts=lambda v: True),
        DockerArgument("tmp_dir", "runtime", "-", "as mount_tmp_dir", accepts=lambda v: v in (None, "/tmp/airflow")),
        DockerArgument("host_tmp_dir", "runtime", "-", "as mount_tmp_dir", accepts=_is_falsy),
        DockerArgument("timeout", "runtime", "-", "the Engine API client timeout; the task's own limit is "
                       "`timeout` in the spec.", accepts=lambda v: True),
        DockerArgument("tty", "runtime", "-", "no terminal is allocated; logs are streamed line by line.",
                       accepts=_is_falsy),
        DockerArgument("log_opts_max_size", "runtime", "-", "log rotation is the engine's (and the "
                       "kubelet's) setting.", accepts=_is_falsy),
        DockerArgument("log_opts_max_file", "runtime", "-", "as log_opts_max_size", accepts=_is_falsy),
        DockerArgument("xcom_all", "rejected", "xcom", "dockpod pushes the JSON result, not log lines",
                       fix="Write the value as JSON to /airflow/xcom/return.json.", accepts=_is_falsy),
        DockerArgument("retrieve_output", "rejected", "xcom", "DockerOperator unpickles that file on the "
                       "worker, running code from the image",
                       fix="Write the result as JSON to /airflow/xcom/return.json and set xcom=True.",
                       accepts=_is_falsy),
        DockerArgument("retrieve_output_path", "rejected", "xcom", "as retrieve_output",
                       fix="Write the result as JSON to /airflow/xcom/return.json.", accepts=_is_falsy),
        DockerArgument("private_environment", "rejected", "secrets", "it holds secret values in the DAG",
                       fix="Put the value in a Kubernetes Secret (and the local secret source) and declare "
                       "Secret(name, key, env=VAR).", accepts=_is_falsy),
        DockerArgument("ipc_mode", "rejected", "-", "IPC namespaces are not a pod setting per container",
                       fix="Drop ipc_mode; containers of one pod can share memory through an emptyDir.",
                       accepts=_is_falsy),
        DockerArgument("port_bindings", "rejected", "-", "a task that publishes host ports has no pod "
                       "counterpart", fix="Drop port_bindings; expose long-running services with a Service.",
                       accepts=_is_falsy),
        DockerArgument("ulimits", "rejected", "-", "Kubernetes has no per-container ulimits",
                       fix="Drop ulimits, or set them in the image or the node's container runtime.",
                       accepts=_is_falsy),
    )
}

#: BaseOperator arguments the migration passes through untouched.
BASE_OPERATOR_PASSTHROUGH = frozenset(
    """task_id owner email email_on_retry email_on_failure retries retry_delay retry_exponential_backoff
    max_retry_delay start_date end_date depends_on_past ignore_first_depends_on_past
    wait_for_past_depends_before_skipping wait_for_downstream dag params default_args priority_weight
    weight_rule queue pool pool_slots sla
    execution_timeout on_execute_callback on_failure_callback on_success_callback on_retry_callback
    on_skipped_callback pre_execute post_execute trigger_rule resources run_as_user task_concurrency
    max_active_tis_per_dag max_active_tis_per_dagrun executor executor_config inlets outlets task_group
    doc doc_md doc_json doc_yaml doc_rst logger_name allow_nested_operators map_index_template
    multiple_outputs task_display_name retry_policy""".split()
)


def render_markdown() -> str:
    """docs/translation.md, generated from the tables above."""
    lines = [
        "# Translation table",
        "",
        "Generated by `dockpod docs translation` from `src/dockpod/backends/table.py`; do not edit by hand.",
        "",
        "## Task description -> Docker and Kubernetes",
        "",
        "| spec field | local (DockerOperator / Engine API) | production (KubernetesPodOperator / Pod) | note |",
        "|---|---|---|---|",
    ]
    lines += [f"| `{r.field}` | {r.docker} | {r.kubernetes} | {r.note} |" for r in FIELDS]
    lines += [
        "",
        "## Profile settings",
        "",
        "| setting | local | production | note |",
        "|---|---|---|---|",
    ]
    lines += [f"| `{r.field}` | {r.docker} | {r.kubernetes} | {r.note} |" for r in PROFILE_SETTINGS]
    lines += [
        "",
        "## Every DockerOperator argument (providers-docker 4.6)",
        "",
        "`translated`: read into the spec. `profile`: set in the environment profile. `runtime`: dockpod's",
        "runtime does it its own way. `rejected`: no counterpart; a non-default value stops the migration",
        "with the fix shown. BaseOperator arguments pass through untouched.",
        "",
        "| argument | verdict | spec field | note | fix |",
        "|---|---|---|---|---|",
    ]
    for rule in sorted(DOCKER_ARGUMENTS.values(), key=lambda r: (r.verdict, r.name)):
        lines.append(f"| `{rule.name}` | {rule.verdict} | `{rule.spec_field}` | {rule.note} | {rule.fix} |")
    return "\n".join(lines) + "\n"
