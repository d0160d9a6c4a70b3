"""The top-level keys of the official Apache Airflow Helm chart's values, as data.

Source: ``chart/values.yaml`` of apache/airflow at commit d6ba4817823e8ffd2d3f676fc92aa7381e7d30f0 (the chart
whose defaults are Airflow 3.1.3, chart 1.18), read key by key; ``global`` is Helm's own. Keys of older
charts that the 1.x line still accepts (``webserver``, ``webserverSecretKey``, ``registry``...) are in the
same file and therefore here. Update this list together with the chart version the project deploys.
"""

from __future__ import annotations

__all__ = ["CHART_SOURCE", "CHART_TOP_LEVEL_KEYS"]

CHART_SOURCE = "apache/airflow chart/values.yaml @ d6ba4817 (chart 1.18, Airflow 3.1.3)"

CHART_TOP_LEVEL_KEYS: frozenset[str] = frozenset({
    # naming and identity
    "fullnameOverride", "nameOverride", "useStandardNaming", "revisionHistoryLimit", "uid", "gid",
    "securityContext", "securityContexts", "containerLifecycleHooks", "airflowHome",
    # images and versions
    "defaultAirflowRepository", "defaultAirflowTag", "defaultAirflowDigest", "airflowVersion", "images",
    # scheduling and metadata of every pod
    "nodeSelector", "affinity", "tolerations", "topologySpreadConstraints", "schedulerName", "labels",
    "imagePullSecrets", "ingress", "networkPolicies", "airflowPodAnnotations", "airflowConfigAnnotations",
    "airflowLocalSettings", "rbac", "executor", "allowPodLaunching", "allowJobLaunching",
    # environment, volumes and secrets of every Airflow container
    "env", "volumes", "volumeMounts", "secret", "enableBuiltInSecretEnvVars", "priorityClasses",
    "extraSecrets", "extraConfigMaps", "extraEnv", "extraEnvFrom", "data",
    "fernetKey", "fernetKeySecretName", "fernetKeySecretAnnotations",
    "apiSecretKey", "apiSecretAnnotations", "apiSecretKeySecretName",
    "jwtSecret", "jwtSecretAnnotations", "jwtSecretName",
    "webserverSecretKey", "webserverSecretAnnotations", "webserverSecretKeySecretName", "kerberos",
    # components
    "workers", "scheduler", "createUserJob", "migrateDatabaseJob", "apiServer", "webserver", "triggerer",
    "dagProcessor", "flower", "statsd", "pgbouncer", "redis", "registry", "elasticsearch", "opensearch",
    "ports", "quotas", "limits", "cleanup", "databaseCleanup", "postgresql",
    # Airflow configuration, pod template, DAGs and logs
    "config", "multiNamespaceMode", "podTemplate", "dags", "logs",
    # Helm's own
    "global",
})
