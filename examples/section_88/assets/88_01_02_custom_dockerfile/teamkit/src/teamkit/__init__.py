"""Naming helpers a team shares between its DAGs: one place decides how warehouse tables are named."""

from __future__ import annotations

__version__ = "0.1.0"


def table_name(layer: str, dataset: str, ds: str) -> str:
    """``table_name("raw", "Sales Orders", "2024-01-31")`` -> ``"raw_sales_orders_20240131"``."""
    words = "_".join(dataset.lower().split())
    return f"{layer}_{words}_{ds.replace('-', '')}"
