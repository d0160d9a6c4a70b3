"""dockpod lint throughput: 1,000 Kubernetes manifests and 200 Dockerfiles, against a shell loop and checkov.

Goals (measured in the same run, on the same tree):

1. ``dockpod lint TREE`` at least 3x faster than what a team runs without it: a shell loop calling
   ``kubernetes-validate --strict`` once per manifest and ``hadolint`` once per Dockerfile, while reporting
   a superset of the loop's findings (every manifest kubernetes-validate rejects has a DP301 finding,
   every hadolint (file, rule id) is in dockpod's report: hadolint's ids pass through unchanged);
2. faster than checkov (``--framework kubernetes dockerfile``, offline), and no checkov finding on a pod or
   container security setting that dockpod misses without a stated reason.

Method:

* a deterministic (seeded) tree in a temporary folder: ``--manifests`` Kubernetes files (Deployments,
  StatefulSets, Pods, Jobs, CronJobs, Services, ConfigMaps, Roles with their bindings; a few files hold a
  Deployment and its Service), a mix of hardened pods and sloppy ones (no resources or probes, no or weak
  securityContext, privileged, added capabilities, host namespaces, hostPort, hostPath, latest tags,
  literal secrets in env) and about 6 % with schema errors (a misspelled field, a wrong type, a missing
  required field, a bad quantity); ``--dockerfiles`` Dockerfiles, each in its own folder (root and
  non-root, latest and pinned bases, apt without cleanup, unpinned pip and apk, multi-stage builds, ADD,
  MAINTAINER, relative WORKDIR, secrets in ENV, bases of the local registry ``localhost:5000``);
* the loop: one process per file, sequential, as ``for f in ...; do kubernetes-validate --strict -k V $f;
  done`` and ``hadolint --format json $f`` would run (``--format json`` only so that rule ids can be
  compared; it costs the same). It runs once (about 2-3 minutes here); ``--sample N`` times every N-th
  file instead and scales the time up, which the output says;
* dockpod: ``dockpod lint TREE --format json`` in a fresh process (wall time, imports included), and the
  library call ``lint_paths([TREE])`` in this process for reference (its later rounds reuse the schema
  validators cached by the first, so the library median is a warm figure);
* checkov: installed from PyPI into a venv of its own (``~/.cache/dockpod/bench-checkov-venv``, made once
  and reused; never into the project's venv, whose pins its own would break), run as ``checkov -d TREE
  --framework kubernetes dockerfile -o json --quiet --compact --skip-download`` with ``BC_SKIP_MAPPING``
  and ``CKV_SKIP_PACKAGE_UPDATE_CHECK`` set and no API key, so that it neither downloads policy metadata
  nor asks PyPI for a newer version;
* dockpod CLI, library and checkov run ``--runs`` interleaved rounds (the loop joins the first round);
  medians are reported, and the ratios loop / dockpod and checkov / dockpod of the medians;
* checkov's findings are matched to dockpod's by :data:`CHECKOV_MAP` (checkov id -> the dockpod rules
  that cover it, and the word of dockpod's message that must name the setting, or the reason dockpod does
  not report it): for each checkov check with findings, the count, how many of those (file, container)
  dockpod flags too, and the reason for the rest. Checks marked ``security`` are the pod and container
  security settings of goal 2.

Usage (``--quick``: 100 manifests and 20 Dockerfiles, one round, for development)::

    .venv/bin/python benches/lint_throughput.py [--manifests 1000] [--dockerfiles 200] [--runs 3] [--sample 1]
                                                [--seed 7] [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

CHECKOV_VENV = Path.home() / ".cache" / "dockpod" / "bench-checkov-venv"
CHECKOV_REQUIREMENT = "checkov"  # whatever PyPI has when the venv is made; the version is printed
OFFLINE_ENV = {"BC_SKIP_MAPPING": "TRUE", "CKV_SKIP_PACKAGE_UPDATE_CHECK": "true", "LOG_LEVEL": "ERROR"}

# ---------------------------------------------------------------------------------------------------------
# checkov id -> dockpod


@dataclass(frozen=True)
class Cover:
    """How dockpod answers a checkov check: its rules (and a word the message must hold), or why not."""

    rules: tuple[str, ...] = ()
    needle: str = ""  # a word of dockpod's message naming the setting ("" = any finding of the rules)
    reason: str = ""  # why dockpod does not report (all of) it
    security: bool = False  # a pod or container security setting (goal 2)
    gap: str = ""  # a security setting dockpod does not check and should: the rule to propose


_CONTROL_PLANE = Cover(reason="control-plane flags (kube-apiserver, kubelet, etcd, scheduler static pods): "
                       "out of scope for task and app manifests")
_PSP = Cover(reason="PodSecurityPolicy was removed in Kubernetes 1.25; dockpod reports the object itself "
             "as DP301 (no schema)", rules=("DP301",))

#: checkov check id -> dockpod's cover. The data of the comparison table.
CHECKOV_MAP: dict[str, Cover] = {
    **{f"CKV_K8S_{n}": _PSP for n in (1, 2, 3, 4, 5, 6, 7, 24, 32, 36)},
    "CKV_K8S_8": Cover(("DP303",), "livenessProbe",
                       reason="only long-running workloads: bare Pods are Airflow task pods that run to completion"),
    "CKV_K8S_9": Cover(("DP303",), "readinessProbe",
                       reason="only long-running workloads: bare Pods are Airflow task pods that run to completion"),
    "CKV_K8S_10": Cover(("DP302",), "requests"),
    "CKV_K8S_11": Cover(reason="a CPU limit is deliberately not required: it throttles (DP302 asks requests and "
                        "a memory limit)"),
    "CKV_K8S_12": Cover(("DP302",), "requests"),
    "CKV_K8S_13": Cover(("DP302",), "memory limit"),
    "CKV_K8S_14": Cover(("DP306",)),
    "CKV_K8S_15": Cover(reason="imagePullPolicy Always is not asked: with pinned tags (DP306) IfNotPresent is right"),
    "CKV_K8S_16": Cover(("DP305",), security=True),
    "CKV_K8S_17": Cover(("DP312",), "hostPID", security=True),
    "CKV_K8S_18": Cover(("DP312",), "hostIPC", security=True),
    "CKV_K8S_19": Cover(("DP312",), "hostNetwork", security=True),
    "CKV_K8S_20": Cover(("DP304",), "allowPrivilegeEscalation", security=True),
    "CKV_K8S_21": Cover(reason="the namespace is chosen at apply time (kubectl -n, kustomize, Helm); "
                        "a manifest without one is the norm"),
    "CKV_K8S_22": Cover(reason="readOnlyRootFilesystem is not asked: it is not in the restricted Pod Security "
                        "Standard, and task images often write to their filesystem", security=True),
    "CKV_K8S_23": Cover(("DP304",), "runAs", security=True),
    "CKV_K8S_25": Cover(("DP304",), "capabilities add", security=True),
    "CKV_K8S_26": Cover(("DP313",), security=True),
    "CKV_K8S_27": Cover(("DP307",), "hostPath", security=True),
    "CKV_K8S_28": Cover(("DP304",), "capabilities", security=True),
    "CKV_K8S_29": Cover(("DP304",), security=True,
                        reason="dockpod judges the effective settings (pod or container), not where they are "
                        "written: a pod without a pod-level securityContext whose containers are hardened is fine"),
    "CKV_K8S_30": Cover(("DP304",), security=True),
    "CKV_K8S_31": Cover(("DP314",), security=True),
    "CKV_K8S_33": Cover(reason="the Kubernetes dashboard image: not a task or app manifest"),
    "CKV_K8S_34": Cover(reason="Tiller (Helm 2): gone since 2020"),
    "CKV_K8S_35": Cover(reason="checkov prefers secrets as files over secretKeyRef env vars; dockpod asks for "
                        "secretKeyRef instead of literal values (DP309), which is how Airflow tasks take them"),
    "CKV_K8S_37": Cover(("DP304",), "capabilities", security=True),
    "CKV_K8S_38": Cover(("DP308",), security=True,
                        reason="a pod with its own serviceAccountName is taken to call the API (an Airflow "
                        "scheduler or worker launching pods), so its token is not flagged"),
    "CKV_K8S_39": Cover(("DP304",), "SYS_ADMIN", security=True),
    "CKV_K8S_40": Cover(("DP304",), "runAs", security=True,
                        reason="dockpod asks a non-root user, not a UID above 10000 (host UID overlap matters only "
                        "with hostPath or without user namespaces)"),
    "CKV_K8S_41": Cover(reason="the default ServiceAccount object itself: dockpod checks the pods using it (DP308)"),
    "CKV_K8S_42": Cover(reason="bindings of the default ServiceAccount: dockpod checks the pods using it (DP308)"),
    "CKV_K8S_43": Cover(("DP306",), reason="dockpod asks a tag or a digest (DP306), not a digest only"),
    "CKV_K8S_44": Cover(reason="Tiller (Helm 2): gone since 2020"),
    "CKV_K8S_45": Cover(reason="Tiller (Helm 2): gone since 2020"),
    "CKV_K8S_49": Cover(("DP310",), reason="only roles meant for Airflow are checked (name, labels, or bound to an "
                        "airflow ServiceAccount)"),
    **{f"CKV_K8S_{n}": _CONTROL_PLANE for n in (*range(68, 122), *range(138, 152))},
    "CKV_K8S_152": Cover(reason="ingress-nginx annotations: Ingress objects are out of scope"),
    "CKV_K8S_153": Cover(reason="ingress-nginx annotations: Ingress objects are out of scope"),
    "CKV_K8S_154": Cover(reason="ingress-nginx annotations: Ingress objects are out of scope"),
    "CKV_K8S_155": Cover(("DP310", "DP311"), reason="only roles meant for Airflow are checked"),
    "CKV_K8S_156": Cover(("DP310", "DP311"), reason="only roles meant for Airflow are checked"),
    "CKV_K8S_157": Cover(("DP310", "DP311"), reason="only roles meant for Airflow are checked"),
    "CKV_K8S_158": Cover(("DP310", "DP311"), reason="only roles meant for Airflow are checked"),
    "CKV_K8S_159": Cover(reason="git-sync: not generated here; DAG sync is the Airflow chart's concern"),
    "CKV2_K8S_1": Cover(("DP310", "DP311"), reason="only roles meant for Airflow are checked"),
    "CKV2_K8S_2": Cover(("DP310", "DP311"), reason="KubernetesPodOperator needs create on pods/exec (the XCom "
                        "sidecar); only roles meant for Airflow are checked"),
    "CKV2_K8S_3": Cover(("DP310", "DP311"), reason="only roles meant for Airflow are checked"),
    "CKV2_K8S_4": Cover(("DP310", "DP311"), reason="only roles meant for Airflow are checked"),
    "CKV2_K8S_5": Cover(("DP310", "DP311"), reason="only roles meant for Airflow are checked"),
    "CKV2_K8S_6": Cover(reason="NetworkPolicies are a namespace's concern, not a manifest's"),
    "CKV_DOCKER_1": Cover(reason="EXPOSE documents a port and publishes nothing; sshd in an image is not linted"),
    "CKV_DOCKER_2": Cover(("DP107",), reason="only images whose command starts a server: one-shot task images "
                          "need no HEALTHCHECK"),
    "CKV_DOCKER_3": Cover(("DP101",), reason="bases known to end with a non-root USER (apache/airflow, distroless "
                          ":nonroot) need none"),
    "CKV_DOCKER_4": Cover(("DL3020",), reason="hadolint's DL3020 flags ADD of local files only (ADD of an URL or "
                          "an archive is not flagged)"),
    "CKV_DOCKER_5": Cover(("DP105", "DL3009")),
    "CKV_DOCKER_6": Cover(("DL4000",)),
    "CKV_DOCKER_7": Cover(("DP102", "DL3006", "DL3007")),
    "CKV_DOCKER_8": Cover(("DP101", "DL3002")),
    "CKV_DOCKER_9": Cover(("DL3027",), reason="apt-get is fine; hadolint's DL3027 flags the interactive `apt` only"),
    "CKV_DOCKER_10": Cover(("DL3000",)),
    "CKV_DOCKER_11": Cover(("DL3024",)),
}

# ---------------------------------------------------------------------------------------------------------
# the tree


REGISTRIES = ("registry.example.com/data", "ghcr.io/acme", "docker.io/library", "localhost:5000/team")
APPS = ("etl", "api", "loader", "scorer", "report", "sync", "indexer", "exporter", "notifier", "crawler")
SECRET_VARS = ("DB_PASSWORD", "API_TOKEN", "AWS_SECRET_ACCESS_KEY", "SMTP_PASSWORD")


def _image(rng: random.Random, sloppy: bool) -> str:
    base = f"{rng.choice(REGISTRIES)}/{rng.choice(APPS)}"
    roll = rng.random()
    if sloppy and roll < 0.12:
        return f"{base}:latest"
    if sloppy and roll < 0.18:
        return base
    if roll > 0.85:
        return f"{base}@sha256:{rng.getrandbits(256):064x}"
    return f"{base}:{rng.randint(1, 4)}.{rng.randint(0, 20)}.{rng.randint(0, 9)}"


def _container(rng: random.Random, name: str, sloppy: bool, long_running: bool) -> dict[str, Any]:
    c: dict[str, Any] = {"name": name, "image": _image(rng, sloppy)}
    if rng.random() < 0.3:
        c["imagePullPolicy"] = rng.choice(["IfNotPresent", "Always"])
    if long_running:
        c["ports"] = [{"containerPort": 8080, "name": "http"}]
        if sloppy and rng.random() < 0.04:
            c["ports"][0]["hostPort"] = 8080
    env: list[dict[str, Any]] = [{"name": "LOG_LEVEL", "value": rng.choice(["INFO", "DEBUG"])}]
    if sloppy and rng.random() < 0.12:
        env.append({"name": rng.choice(SECRET_VARS), "value": f"s3cr3t-{rng.randint(100, 999)}"})
    elif rng.random() < 0.3:
        env.append({"name": rng.choice(SECRET_VARS),
                    "valueFrom": {"secretKeyRef": {"name": "app-secrets", "key": "value"}}})
    c["env"] = env
    if not sloppy or rng.random() < 0.55:
        resources: dict[str, Any] = {"requests": {"cpu": f"{rng.choice([100, 250, 500])}m",
                                                  "memory": f"{rng.choice([128, 256, 512])}Mi"}}
        if not sloppy or rng.random() < 0.6:
            resources["limits"] = {"memory": f"{rng.choice([512, 1024])}Mi"}
            if rng.random() < 0.5:
                resources["limits"]["cpu"] = "1"
        c["resources"] = resources
    if long_running and (not sloppy or rng.random() < 0.5):
        probe = {"httpGet": {"path": "/healthz", "port": 8080}, "periodSeconds": 10}
        c["readinessProbe"] = probe
        if not sloppy or rng.random() < 0.7:
            c["livenessProbe"] = dict(probe, initialDelaySeconds=10)
    security: dict[str, Any] = {}
    if not sloppy:
        security = {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                    "capabilities": {"drop": ["ALL"]}}
    else:
        roll = rng.random()
        if roll < 0.35:
            security = {}
        elif roll < 0.65:
            security = {"allowPrivilegeEscalation": False}
            if rng.random() < 0.5:
                security["capabilities"] = {"drop": ["ALL"]}
            if rng.random() < 0.3:
                security["readOnlyRootFilesystem"] = True
        else:
            security = {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}
            if rng.random() < 0.4:
                security["readOnlyRootFilesystem"] = True
        if rng.random() < 0.06:
            security["privileged"] = True
        if rng.random() < 0.07:  # added back after (or without) drop ALL
            caps = security.setdefault("capabilities", {})
            caps["add"] = [rng.choice(["NET_ADMIN", "SYS_ADMIN", "NET_RAW", "SYS_PTRACE"])]
        if rng.random() < 0.05:
            security["runAsUser"] = 0
    if security:
        c["securityContext"] = security
    return c


def _pod_spec(rng: random.Random, name: str, sloppy: bool, long_running: bool) -> dict[str, Any]:
    containers = [_container(rng, name, sloppy, long_running)]
    if rng.random() < 0.2:
        containers.append(_container(rng, "log-shipper", sloppy and rng.random() < 0.6, False))
    spec: dict[str, Any] = {"containers": containers}
    if rng.random() < 0.1:
        spec["initContainers"] = [_container(rng, "migrate", sloppy, False)]
    pod_security: dict[str, Any] = {}
    if not sloppy:
        pod_security = {"runAsNonRoot": True, "runAsUser": rng.choice([10001, 65532, 1000]), "fsGroup": 10001,
                        "seccompProfile": {"type": "RuntimeDefault"}}
    elif rng.random() < 0.45:
        pod_security = {"runAsNonRoot": True}
        if rng.random() < 0.5:
            pod_security["runAsUser"] = rng.choice([1000, 10001])
        if rng.random() < 0.35:
            pod_security["seccompProfile"] = {"type": "RuntimeDefault"}
    if pod_security:
        spec["securityContext"] = pod_security
    if not sloppy or rng.random() < 0.3:
        spec["automountServiceAccountToken"] = False
    elif rng.random() < 0.3:
        spec["serviceAccountName"] = f"{name}-sa"
    if sloppy:
        for key, share in (("hostNetwork", 0.05), ("hostPID", 0.03), ("hostIPC", 0.03)):
            if rng.random() < share:
                spec[key] = True
    volumes = [{"name": "scratch", "emptyDir": {}}]
    if sloppy and rng.random() < 0.07:
        path = rng.choice(["/var/run/docker.sock", "/var/log", "/etc/ssl/certs"])
        volumes.append({"name": "host", "hostPath": {"path": path}})
        containers[0]["volumeMounts"] = [{"name": "host", "mountPath": path}]
    spec["volumes"] = volumes
    if not long_running:
        spec["restartPolicy"] = rng.choice(["Never", "OnFailure"])
    return spec


def _metadata(rng: random.Random, name: str, labels: dict[str, str] | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "labels": labels or {"app": name, "team": f"team-{rng.randint(1, 9)}"}}
    if rng.random() < 0.7:
        meta["namespace"] = rng.choice(["data", "etl", "airflow", "apps"])
    return meta


def _workload(rng: random.Random, kind: str, name: str) -> dict[str, Any]:
    sloppy = rng.random() < 0.65
    long_running = kind in ("Deployment", "StatefulSet")
    spec = _pod_spec(rng, name, sloppy, long_running)
    labels = {"app": name}
    template = {"metadata": {"labels": labels}, "spec": spec}
    if kind == "Pod":
        return {"apiVersion": "v1", "kind": "Pod", "metadata": _metadata(rng, name), "spec": spec}
    if kind == "Job":
        return {"apiVersion": "batch/v1", "kind": "Job", "metadata": _metadata(rng, name),
                "spec": {"backoffLimit": 2, "template": template}}
    if kind == "CronJob":
        return {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": _metadata(rng, name),
                "spec": {"schedule": f"{rng.randint(0, 59)} * * * *",
                         "jobTemplate": {"spec": {"template": template}}}}
    body: dict[str, Any] = {"replicas": rng.choice([1, 2, 3]), "selector": {"matchLabels": labels},
                            "template": template}
    if kind == "StatefulSet":
        body["serviceName"] = name
    return {"apiVersion": "apps/v1", "kind": kind, "metadata": _metadata(rng, name), "spec": body}


def _service(rng: random.Random, name: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Service", "metadata": _metadata(rng, name),
            "spec": {"selector": {"app": name}, "ports": [{"port": 80, "targetPort": 8080, "name": "http"}],
                     "type": rng.choice(["ClusterIP", "ClusterIP", "NodePort"])}}


def _configmap(rng: random.Random, name: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": _metadata(rng, f"{name}-config"),
            "data": {"LOG_LEVEL": "INFO", "BATCH_SIZE": str(rng.randint(10, 1000)),
                     "settings.ini": "[main]\nretries = 3\n"}}


def _role(rng: random.Random, name: str) -> list[dict[str, Any]]:
    airflow = rng.random() < 0.6
    role_name = f"airflow-{name}" if airflow else f"{name}-reader"
    if airflow:
        rules: list[dict[str, Any]] = [
            {"apiGroups": [""], "resources": ["pods"], "verbs": ["create", "get", "list", "watch", "delete", "patch"]},
            {"apiGroups": [""], "resources": ["pods/log"], "verbs": ["get"]},
            {"apiGroups": [""], "resources": ["pods/exec"], "verbs": ["create", "get"]},
            {"apiGroups": [""], "resources": ["events"], "verbs": ["list", "watch"]},
        ]
        roll = rng.random()
        if roll < 0.15:
            rules = [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}]
        elif roll < 0.3:
            rules.append({"apiGroups": [""], "resources": ["secrets"], "verbs": ["get", "list"]})
        elif roll < 0.4:
            rules.append({"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["get", "update"]})
    else:
        rules = [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list"]}]
        if rng.random() < 0.3:
            rules.append({"apiGroups": [""], "resources": ["secrets"], "verbs": ["get", "list", "watch"]})
    account = f"{role_name}-sa"
    meta = _metadata(rng, role_name, {"app": name})
    binding_meta = {"name": role_name, **({"namespace": meta["namespace"]} if "namespace" in meta else {})}
    return [
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": meta, "rules": rules},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": binding_meta,
         "subjects": [{"kind": "ServiceAccount", "name": account}],
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": role_name}},
    ]


def _break_schema(rng: random.Random, obj: dict[str, Any]) -> str:
    """One schema error of the kinds people make; the name of the mistake."""
    spec = obj.get("spec", {})
    pod = (spec.get("template", {}).get("spec") if obj["kind"] != "Pod" else spec) or {}
    containers = pod.get("containers") or [{}]
    choice = rng.choice(["typo_pull_policy", "typo_limits", "replicas_string", "port_string", "typo_nonroot",
                         "no_selector", "bad_quantity"])
    if obj["kind"] not in ("Deployment", "StatefulSet") and choice in ("replicas_string", "no_selector"):
        choice = "typo_pull_policy"
    if choice == "typo_pull_policy":
        containers[0]["imagePulPolicy"] = containers[0].pop("imagePullPolicy", "IfNotPresent")
    elif choice == "typo_limits":
        containers[0].setdefault("resources", {})["limit"] = {"memory": "1Gi"}
    elif choice == "replicas_string":
        spec["replicas"] = str(spec.get("replicas", 1))
    elif choice == "port_string":
        containers[0]["ports"] = [{"containerPort": "8080"}]
    elif choice == "typo_nonroot":
        containers[0].setdefault("securityContext", {})["runAsNonroot"] = True
    elif choice == "no_selector":
        spec.pop("selector", None)
    else:  # a quantity the schema accepts (any string) but Kubernetes does not
        containers[0]["resources"] = {"requests": {"cpu": "250m", "memory": "2g"}, "limits": {"memory": "2g"}}
    return choice


def manifest(rng: random.Random, n: int) -> tuple[str, list[dict[str, Any]]]:
    """The file name and the objects of manifest number ``n``."""
    name = f"{rng.choice(APPS)}-{n:04d}"
    kind = rng.choices(["Deployment", "StatefulSet", "Pod", "Job", "CronJob", "Service", "ConfigMap", "Role"],
                       weights=[28, 8, 12, 10, 5, 15, 12, 10])[0]
    if kind == "Service":
        objects = [_service(rng, name)]
    elif kind == "ConfigMap":
        objects = [_configmap(rng, name)]
    elif kind == "Role":
        objects = _role(rng, name)
    else:
        objects = [_workload(rng, kind, name)]
        if kind == "Deployment" and rng.random() < 0.2:
            objects.append(_service(rng, name))
        if rng.random() < 0.07:
            _break_schema(rng, objects[0])
    return f"{name}-{kind.lower()}.yaml", objects


DOCKER_BASES = (
    "python:3.11.9-slim-bookworm", "python:3.12-slim", "debian:bookworm-20240513", "ubuntu:22.04", "ubuntu",
    "python:latest", "alpine:3.19", "alpine", "apache/airflow:2.9.3", "apache/airflow:3",
    "localhost:5000/team/base:1.0", "gcr.io/distroless/python3-debian12:nonroot", "node:20.14-bookworm-slim",
)


def dockerfile(rng: random.Random, n: int) -> tuple[str, str | None]:
    """The text of Dockerfile number ``n`` and, sometimes, a requirements.txt next to it."""
    base = rng.choice(DOCKER_BASES)
    alpine = base.startswith("alpine")
    distroless = "distroless" in base
    lines: list[str] = []
    requirements = None
    multi = not distroless and rng.random() < 0.3
    if multi or distroless:
        builder = "python:3.11.9-slim-bookworm"
        alias = "build"
        lines += [f"FROM {builder} AS {alias}", "WORKDIR /src",
                  "RUN apt-get update && apt-get install -y --no-install-recommends gcc=4:12.2.0-3 "
                  "&& rm -rf /var/lib/apt/lists/*",
                  "COPY requirements.txt .",
                  "RUN pip wheel --no-cache-dir --wheel-dir /wheels -r requirements.txt", ""]
        requirements = "pandas==2.2.2\nrequests==2.32.3\n" if rng.random() < 0.7 else "pandas\nrequests>=2\n"
        if rng.random() < 0.05:
            lines += [f"FROM {builder} AS {alias}", "RUN echo duplicate alias", ""]
    if rng.random() < 0.3:
        lines.insert(0, "# syntax=docker/dockerfile:1")
    lines.append(f"FROM {base}")
    if rng.random() < 0.08:
        lines.append("MAINTAINER data-team@example.com")
    if rng.random() < 0.3:
        lines.append('LABEL org.opencontainers.image.source="https://git.example.com/data/app"')
    lines.append("WORKDIR app" if rng.random() < 0.05 else "WORKDIR /app")
    if not distroless and not base.startswith("apache/airflow"):
        if alpine:
            lines.append(rng.choice(["RUN apk add --no-cache bash=5.2.21-r0 curl=8.5.0-r0",
                                     "RUN apk add curl bash", "RUN apk add --no-cache curl"]))
        else:
            roll = rng.random()
            if roll < 0.3:
                lines.append("RUN apt-get update && apt-get install -y --no-install-recommends "
                             "curl=7.88.1-10+deb12u5 ca-certificates=20230311 && rm -rf /var/lib/apt/lists/*")
            elif roll < 0.55:
                lines.append("RUN apt-get update && apt-get install -y curl git")
            elif roll < 0.7:
                lines += ["RUN apt-get update", "RUN apt-get install -y --no-install-recommends curl"]
            elif roll < 0.8:
                lines.append("RUN apt update && apt install -y curl")
            if rng.random() < 0.15:
                lines.append("RUN apt-get update && apt-get install -y --no-install-recommends gcc python3-dev "
                             "&& rm -rf /var/lib/apt/lists/*")
    if not distroless and not base.startswith(("node", "alpine", "ubuntu", "debian")):
        roll = rng.random()
        if multi:
            lines += ["COPY --from=build /wheels /wheels",
                      "RUN pip install --no-cache-dir --no-index --find-links /wheels /wheels/*.whl"]
        elif roll < 0.35:
            lines.append("RUN pip install --no-cache-dir pandas==2.2.2 requests==2.32.3")
        elif roll < 0.65:
            lines.append("RUN pip install pandas requests")
        elif roll < 0.8:
            lines += ["COPY requirements.txt .", "RUN pip install --no-cache-dir -r requirements.txt"]
            requirements = "pandas==2.2.2\nsqlalchemy\n" if rng.random() < 0.5 else "pandas==2.2.2\n"
        elif roll < 0.87:
            lines.append("RUN pip install --no-cache-dir apache-airflow-providers-amazon")
    elif distroless:
        lines += ["COPY --from=build /wheels /wheels"]
    if rng.random() < 0.05 and not distroless:
        lines.append("RUN cd /app && touch ready")
    lines.append(rng.choice(["ADD . /app", "ADD app.tar.gz /app"]) if rng.random() < 0.15 else "COPY . /app")
    if rng.random() < 0.06:
        lines.append(f"ENV {rng.choice(SECRET_VARS)}=s3cr3t-{rng.randint(100, 999)}")
    else:
        lines.append("ENV PYTHONUNBUFFERED=1")
    server = rng.random() < 0.35
    if server:
        lines.append("EXPOSE 22" if rng.random() < 0.08 else "EXPOSE 8080")
    if rng.random() < 0.3:
        lines.append('HEALTHCHECK CMD ["curl", "-fsS", "http://localhost:8080/healthz"]')
    roll = rng.random()
    if roll < 0.35:
        lines.append("USER 1000:1000")
    elif roll < 0.5 and not distroless and not alpine:
        lines += ["RUN useradd --create-home --uid 10001 app", "USER app"]
    elif roll < 0.58:
        lines.append("USER root")
    if server:
        lines.append('CMD ["gunicorn", "--bind", "0.0.0.0:8080", "app:wsgi"]')
    elif rng.random() < 0.1:
        lines.append("CMD python /app/etl.py")
    else:
        lines.append('CMD ["python", "/app/etl.py"]')
    return "\n".join(lines) + "\n", requirements


class _Dumper(yaml.SafeDumper):
    """YAML as people write it: no anchors and aliases for repeated values."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def write_tree(root: Path, manifests: int, dockerfiles: int, seed: int) -> tuple[list[Path], list[Path]]:
    """The manifests (folders of 50) and the Dockerfiles (a folder each), seeded."""
    rng = random.Random(seed)
    k8s, docker = [], []
    for n in range(manifests):
        folder = root / "deploy" / f"team_{n // 50:02d}"
        folder.mkdir(parents=True, exist_ok=True)
        name, objects = manifest(rng, n)
        path = folder / name
        path.write_text(yaml.dump_all(objects, Dumper=_Dumper, sort_keys=False, default_flow_style=False))
        k8s.append(path)
    for n in range(dockerfiles):
        folder = root / "images" / f"{APPS[n % len(APPS)]}_{n:03d}"
        folder.mkdir(parents=True)
        text, requirements = dockerfile(rng, n)
        (folder / "Dockerfile").write_text(text)
        if requirements is not None:
            (folder / "requirements.txt").write_text(requirements)
        docker.append(folder / "Dockerfile")
    return k8s, docker


# ---------------------------------------------------------------------------------------------------------
# the runs


def timed(action: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    result = action()
    return time.perf_counter() - start, result


@dataclass
class LoopResult:
    seconds: float  # scaled to all files when sampled
    measured: float
    k8s_seconds: float  # scaled
    docker_seconds: float  # scaled
    files: int
    invalid: dict[str, str]  # manifest -> kubernetes-validate's first error
    hadolint: set[tuple[str, str]]  # (Dockerfile, rule id)


def run_loop(k8s: list[Path], docker: list[Path], version: str, sample: int, cwd: Path) -> LoopResult:
    """One process per file, sequential: kubernetes-validate --strict, then hadolint."""
    bin_dir = Path(sys.executable).parent
    validate, hadolint = str(bin_dir / "kubernetes-validate"), str(bin_dir / "hadolint")
    k8s_part, docker_part = k8s[::sample], docker[::sample]
    invalid: dict[str, str] = {}
    found: set[tuple[str, str]] = set()
    start = time.perf_counter()
    for path in k8s_part:
        done = subprocess.run([validate, "--strict", "--quiet", "-k", version, str(path)], capture_output=True,
                              text=True, cwd=cwd, check=False)
        if done.returncode != 0:
            said = (done.stdout + done.stderr).strip().splitlines()
            invalid[str(path)] = said[0] if said else f"exit {done.returncode}"
    k8s_seconds = time.perf_counter() - start
    for path in docker_part:
        done = subprocess.run([hadolint, "--no-color", "--format", "json", str(path)], capture_output=True,
                              text=True, cwd=cwd, check=False)
        for item in json.loads(done.stdout or "[]"):
            found.add((str(path), str(item.get("code"))))
    measured = time.perf_counter() - start
    k8s_scaled = k8s_seconds * len(k8s) / max(1, len(k8s_part))
    docker_scaled = (measured - k8s_seconds) * len(docker) / max(1, len(docker_part))
    return LoopResult(k8s_scaled + docker_scaled, measured, k8s_scaled, docker_scaled, len(k8s_part) + len(docker_part),
                      invalid, found)


def run_dockpod_cli(root: Path, cwd: Path) -> dict[str, Any]:
    dockpod = Path(sys.executable).with_name("dockpod")
    command = [str(dockpod), "lint", str(root), "--format", "json", "--severity", "info"]  # every finding shown
    done = subprocess.run(command, capture_output=True, text=True, cwd=cwd, check=False)
    if done.returncode not in (0, 1):
        raise RuntimeError(f"dockpod lint failed ({done.returncode}): {done.stderr[-2000:]}")
    return json.loads(done.stdout)


def checkov_binary(log: Callable[[str], None]) -> Path:
    """checkov in its own cached venv (same Python as this one); installed from PyPI on first use."""
    binary = CHECKOV_VENV / "bin" / "checkov"
    if binary.is_file():
        return binary
    log(f"installing checkov into {CHECKOV_VENV} (once; later runs reuse it)...")
    base = getattr(sys, "_base_executable", sys.executable)
    subprocess.run([base, "-m", "venv", str(CHECKOV_VENV)], check=True)
    subprocess.run([str(CHECKOV_VENV / "bin" / "python"), "-m", "pip", "install", "--quiet", CHECKOV_REQUIREMENT],
                   check=True)
    return binary


def run_checkov(binary: Path, root: Path, cwd: Path) -> list[dict[str, Any]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BC_", "PRISMA_", "CKV_"))}
    env.update(OFFLINE_ENV)
    done = subprocess.run([str(binary), "-d", str(root), "--framework", "kubernetes", "dockerfile", "-o", "json",
                           "--quiet", "--compact", "--skip-download"], capture_output=True, text=True, cwd=cwd,
                          env=env, check=False)
    if done.returncode not in (0, 1):
        raise RuntimeError(f"checkov failed ({done.returncode}): {done.stderr[-2000:]}")
    data = json.loads(done.stdout)
    return data if isinstance(data, list) else [data]


# ---------------------------------------------------------------------------------------------------------
# the comparisons


def superset_misses(loop: LoopResult, findings: list[dict[str, Any]]) -> list[str]:
    """The loop's findings that dockpod does not report (on the files the loop ran on)."""
    have = {(f["path"], f["rule"]) for f in findings}
    misses = [f"{path}: kubernetes-validate: {message}" for path, message in sorted(loop.invalid.items())
              if (path, "DP301") not in have]
    for path, code in sorted(loop.hadolint):
        if (path, code) in have:
            continue
        if code == "DL1000" and (path, "DP002") in have:
            continue  # hadolint's parse error is DP002 in dockpod
        if code == "DL1000" and _local_registry_base(Path(path)):
            continue  # hadolint#355: the loop's hadolint cannot parse FROM localhost:5000/...; dockpod works around it
        misses.append(f"{path}: hadolint {code}")
    return misses


def _local_registry_base(path: Path) -> bool:
    return bool(re.search(r"^FROM\s+localhost:\d+/", path.read_text(), re.M))


def _container_names(path: Path) -> dict[tuple[str, str], dict[str, list[str]]]:
    """(kind, name) -> {"containers": [...], "initContainers": [...]} for the workloads of a manifest."""
    out = {}
    for obj in yaml.safe_load_all(path.read_text()):
        if not isinstance(obj, dict):
            continue
        spec = obj.get("spec") or {}
        if obj.get("kind") == "CronJob":
            spec = ((spec.get("jobTemplate") or {}).get("spec") or {})
        pod = spec if obj.get("kind") == "Pod" else ((spec.get("template") or {}).get("spec") or {})
        out[(obj.get("kind"), (obj.get("metadata") or {}).get("name"))] = {
            field: [str(c.get("name")) for c in pod.get(field) or [] if isinstance(c, dict)]
            for field in ("containers", "initContainers")}
    return out


_CONTAINER_KEY = re.compile(r"(initContainers|containers)/\[(\d+)\]")


def checkov_failures(reports: list[dict[str, Any]]) -> list[tuple[str, str, str | None]]:
    """(check id, file, container name or None) for every failed checkov check."""
    names_cache: dict[str, dict[tuple[str, str], dict[str, list[str]]]] = {}
    out = []
    for report in reports:
        for failed in report.get("results", {}).get("failed_checks", []):
            path = failed.get("file_abs_path") or failed.get("file_path")
            container = None
            if report.get("check_type") == "kubernetes":
                kind, _, rest = str(failed.get("resource", "")).partition(".")
                name = rest.partition(".")[2]
                keys = (failed.get("check_result") or {}).get("evaluated_keys") or []
                match = next((m for key in keys if (m := _CONTAINER_KEY.search(str(key)))), None)
                if match:
                    if path not in names_cache:
                        names_cache[path] = _container_names(Path(path))
                    listed = names_cache[path].get((kind, name), {}).get(match.group(1), [])
                    index = int(match.group(2))
                    container = listed[index] if index < len(listed) else None
            out.append((failed["check_id"], path, container))
    return out


@dataclass
class Row:
    check: str
    checkov: int = 0
    dockpod: int = 0
    security: bool = False
    reason: str = ""
    rules: str = ""
    gap: str = ""


def compare_checkov(failures: list[tuple[str, str, str | None]], findings: list[dict[str, Any]]) -> list[Row]:
    """For each checkov check with findings: its count, how many dockpod flags too, and the reason for the rest."""
    by_file: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for finding in findings:
        by_file[finding["path"]].append(finding)
    rows: dict[str, Row] = {}
    seen: set[tuple[str, str, str | None]] = set()
    for check, path, container in failures:
        if (check, path, container) in seen:
            continue  # checkov reports some checks once per evaluated key
        seen.add((check, path, container))
        cover = CHECKOV_MAP.get(check, Cover(reason="(not in the table)"))
        row = rows.setdefault(check, Row(check, security=cover.security, reason=cover.reason,
                                         rules=", ".join(cover.rules), gap=cover.gap))
        row.checkov += 1
        if any(_covers(f, cover, container) for f in by_file.get(path, ())):
            row.dockpod += 1
    return sorted(rows.values(), key=lambda r: _check_order(r.check))


def _covers(finding: dict[str, Any], cover: Cover, container: str | None) -> bool:
    if finding["rule"] not in cover.rules:
        return False
    message = finding["message"]
    if cover.needle and cover.needle not in message:
        return False
    return container is None or "container '" not in message or f"container {container!r}" in message


def _check_order(check: str) -> tuple[str, int]:
    prefix, _, number = check.rpartition("_")
    return prefix, int(number) if number.isdigit() else 0


# ---------------------------------------------------------------------------------------------------------
# main


def main() -> int:
    """Run the benchmark; print the times, the ratios, the superset check, the checkov table, a JSON line."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--manifests", type=int, default=1000)
    parser.add_argument("--dockerfiles", type=int, default=200)
    parser.add_argument("--runs", type=int, default=3, help="rounds of dockpod CLI, library and checkov")
    parser.add_argument("--sample", type=int, default=1, help="the loop runs every N-th file and is scaled up")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--quick", action="store_true", help="100 manifests, 20 Dockerfiles, one round")
    args = parser.parse_args()
    if args.quick:
        args.manifests, args.dockerfiles, args.runs = 100, 20, 1

    def log(text: str) -> None:
        print(text, file=sys.stderr, flush=True)

    from dockpod.lint import lint_paths
    from dockpod.render.validate import DEFAULT_K8S_VERSION

    os.environ.pop("DOCKPOD_CONFIG", None)
    checkov = checkov_binary(log)
    checkov_version = subprocess.run([str(checkov), "--version"], capture_output=True, text=True,
                                     env={**os.environ, **OFFLINE_ENV}, check=False).stdout.strip()
    k8s_version = f"{DEFAULT_K8S_VERSION}.0"
    times: dict[str, list[float]] = {"cli": [], "library": [], "checkov": []}
    with tempfile.TemporaryDirectory(prefix="dockpod-lint-bench-") as tmp:
        work = Path(tmp)
        root = work / "tree"
        k8s, docker = write_tree(root, args.manifests, args.dockerfiles, args.seed)
        cli_report: dict[str, Any] = {}
        checkov_reports: list[dict[str, Any]] = []
        loop: LoopResult | None = None
        library_findings = 0
        for round_ in range(args.runs):
            if round_ == 0:
                log(f"loop: kubernetes-validate x {len(k8s[::args.sample])}, "
                    f"hadolint x {len(docker[::args.sample])}...")
                loop = run_loop(k8s, docker, k8s_version, args.sample, work)
            log(f"round {round_ + 1}/{args.runs}: dockpod lint (CLI)...")
            elapsed, cli_report = timed(lambda: run_dockpod_cli(root, work))
            times["cli"].append(elapsed)
            log(f"round {round_ + 1}/{args.runs}: lint_paths (library)...")
            elapsed, report = timed(lambda: lint_paths([root]))
            times["library"].append(elapsed)
            library_findings = len(report.findings)
            log(f"round {round_ + 1}/{args.runs}: checkov...")
            elapsed, checkov_reports = timed(lambda: run_checkov(checkov, root, work))
            times["checkov"].append(elapsed)
        assert loop is not None
        findings = cli_report["findings"]
        assert library_findings == len(findings), (library_findings, len(findings))
        misses = superset_misses(loop, findings)
        failures = checkov_failures(checkov_reports)
        rows = compare_checkov(failures, findings)
        loop_k8s = {str(p) for p in k8s[::args.sample]}
        dp301 = {f["path"] for f in findings if f["rule"] == "DP301"} & loop_k8s
        extra_dp301 = sorted({f["message"].split(": ", 2)[-1] for f in findings
                              if f["rule"] == "DP301" and f["path"] in dp301 - set(loop.invalid)})
        dl1000_local = sum(1 for path, code in loop.hadolint if code == "DL1000" and _local_registry_base(Path(path)))
        loop_docker = {str(p) for p in docker[::args.sample]}
        extra_hadolint = {(f["path"], f["rule"]) for f in findings
                          if f["rule"][:2] in ("DL", "SC") and f["path"] in loop_docker} - loop.hadolint
        checkov_summary = {r.get("check_type"): r.get("summary", {}) for r in checkov_reports}

    medians = {name: statistics.median(values) for name, values in times.items()}
    files = len(k8s) + len(docker)
    sampled_note = "" if args.sample == 1 else (
        f" (SAMPLED: every {args.sample}th file, {loop.files} files in {loop.measured:.1f} s, SCALED to all files)")
    ratios = {"loop/cli": loop.seconds / medians["cli"], "loop/library": loop.seconds / medians["library"],
              "checkov/cli": medians["checkov"] / medians["cli"]}
    print(f"dockpod lint throughput: {len(k8s)} Kubernetes manifests + {len(docker)} Dockerfiles (seed {args.seed}), "
          f"Kubernetes {DEFAULT_K8S_VERSION}; dockpod and checkov: median of {args.runs} interleaved run(s); "
          f"the loop: one run{sampled_note}")
    print(f"{'variant':<40} {'time (s)':>9} {'files/s':>8} {'vs dockpod CLI':>15}")
    table = [("loop: kubernetes-validate + hadolint", loop.seconds, files),
             ("  kubernetes-validate --strict, per file", loop.k8s_seconds, len(k8s)),
             ("  hadolint, per file", loop.docker_seconds, len(docker)),
             ("dockpod lint (CLI, fresh process)", medians["cli"], files),
             ("dockpod lint_paths (library, warm)", medians["library"], files),
             (f"checkov {checkov_version} (offline)", medians["checkov"], files)]
    for name, seconds, count in table:
        print(f"{name:<40} {seconds:>9.2f} {count / seconds:>8.0f} {seconds / medians['cli']:>14.2f}x")
    print(f"dockpod: {len(findings)} findings; "
          + ", ".join(f"{rule} {count}" for rule, count in sorted(Counter(f['rule'] for f in findings).items())))
    print(f"loop: kubernetes-validate rejected {len(loop.invalid)} manifests; dockpod has DP301 on {len(dp301)}"
          + (f" (also: {'; '.join(extra_dp301)[:300]})" if extra_dp301 else ""))
    print(f"loop: hadolint reported {len(loop.hadolint)} (file, rule) pairs, {dl1000_local} of them DL1000 on "
          "FROM localhost:5000/... (hadolint#355; dockpod works around it); dockpod's hadolint ids add "
          f"{len(extra_hadolint)} pairs the loop did not get")
    if misses:
        print(f"superset: NOT met, {len(misses)} loop finding(s) missing from dockpod's report:")
        for miss in misses[:40]:
            print(f"  {miss}")
    else:
        print("superset: met: every loop finding is in dockpod's report")
    raw = {kind: summary.get("failed") for kind, summary in checkov_summary.items()}
    print(f"checkov: {sum(r.checkov for r in rows)} failed checks (raw: {raw}), deduplicated by "
          "(check, file, container); which of them dockpod reports too:")
    print(f"{'checkov check':<14} {'sec':>3} {'checkov':>7} {'dockpod':>7}  {'dockpod rules':<20} reason when not")
    gaps = []
    for row in rows:
        missing = row.checkov - row.dockpod
        reason = row.reason if missing else ""
        if missing and row.security and not row.reason:
            reason = "GAP: no dockpod rule, no stated reason (see below)"
            gaps.append(row)
        print(f"{row.check:<14} {'yes' if row.security else '':>3} {row.checkov:>7} {row.dockpod:>7}  "
              f"{row.rules or '-':<20} {reason}")
    for gap in dict.fromkeys(row.gap or "(no reason stated)" for row in gaps):
        checks = ", ".join(row.check for row in gaps if (row.gap or "(no reason stated)") == gap)
        print(f"gap ({checks}): {gap}")
    faster = {"loop": ratios["loop/cli"] >= 3, "checkov": ratios["checkov/cli"] > 1}
    print(f"goal 1: dockpod lint (CLI) at least 3x faster than the loop: {ratios['loop/cli']:.2f}x, "
          f"{'met' if faster['loop'] else 'NOT met'}; superset of its findings: "
          f"{'met' if not misses else 'NOT met'}")
    print(f"goal 2: faster than checkov: {ratios['checkov/cli']:.2f}x, {'met' if faster['checkov'] else 'NOT met'}; "
          f"checkov security findings dockpod misses without a stated reason: "
          f"{', '.join(f'{r.check} ({r.checkov - r.dockpod})' for r in gaps) or 'none'}: "
          f"{'NOT met' if gaps else 'met'}")
    print(json.dumps({
        "manifests": len(k8s), "dockerfiles": len(docker), "seed": args.seed, "runs": args.runs,
        "sample": args.sample, "seconds": {"loop": loop.seconds, "loop_measured": loop.measured, **medians},
        "ratios": ratios, "dockpod_findings": len(findings), "loop_invalid": len(loop.invalid),
        "loop_hadolint_pairs": len(loop.hadolint), "superset_misses": [m.replace(str(root) + "/", "") for m in misses],
        "checkov_version": checkov_version,
        "checkov": {r.check: {"checkov": r.checkov, "dockpod": r.dockpod, "security": r.security} for r in rows},
        "security_gaps": [r.check for r in gaps]}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
