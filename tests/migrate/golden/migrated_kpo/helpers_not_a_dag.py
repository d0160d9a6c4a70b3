"""Shared helpers. Not a DAG: mentions DockerOperator only in this docstring and a comment."""
import os


def registry() -> str:
    # DockerOperator images come from here.
    return os.environ.get("REGISTRY", "registry.example.com")
