"""Run tasks for real on this machine: production pods under podman, DAGs with ``dag.test()``."""
