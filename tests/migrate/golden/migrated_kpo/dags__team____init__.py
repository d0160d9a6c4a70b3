"""A package of team operators and a DAG, imported relatively (``from .base import ...``)."""
