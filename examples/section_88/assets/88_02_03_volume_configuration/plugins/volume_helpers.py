"""Shared code for the DAGs, mounted read-only at /opt/airflow/plugins (Airflow puts it on sys.path)."""

from __future__ import annotations

import errno
import os
from pathlib import Path


def try_write(folder: str) -> str:
    """'' when a file can be created in ``folder``, else the error's symbolic name (EROFS, EACCES...)."""
    probe = Path(folder) / f".probe-{os.getpid()}"
    try:
        probe.write_text("probe")
    except OSError as exc:
        return errno.errorcode.get(exc.errno or 0, str(exc))
    probe.unlink()
    return ""
