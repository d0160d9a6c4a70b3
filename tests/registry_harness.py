"""A real docker-registry with htpasswd auth on a free loopback port, for tests of pulls that need a login."""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import textwrap
import time
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

USER = "tester"
PASSWORD = "pw-123456"


@contextlib.contextmanager
def auth_registry(folder: Path) -> Iterator[str]:
    """Serve a registry that requires ``USER``/``PASSWORD`` from ``folder``; yield its address once it answers."""
    if shutil.which("docker-registry") is None:
        pytest.fail("docker-registry is not installed (make setup installs it)")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        try:
            import crypt
        except ImportError:
            pytest.fail("the crypt module (bcrypt for htpasswd) is not available in this Python")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    (folder / "htpasswd").write_text(f"{USER}:{crypt.crypt(PASSWORD, crypt.mksalt(crypt.METHOD_BLOWFISH))}\n")
    (folder / "config.yml").write_text(textwrap.dedent(f"""
        version: 0.1
        log: {{level: error}}
        http: {{addr: 127.0.0.1:{port}}}
        storage: {{filesystem: {{rootdirectory: {folder / "data"}}}}}
        auth: {{htpasswd: {{realm: dockpod-test, path: {folder / "htpasswd"}}}}}
    """))
    server = subprocess.Popen(["docker-registry", "serve", str(folder / "config.yml")],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    address = f"127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while "no basic auth credentials" not in subprocess.run(
                ["docker", "pull", f"{address}/none:0"], capture_output=True, text=True, timeout=60).stderr:
            assert time.monotonic() < deadline, "the test registry did not start"
            time.sleep(0.2)
        yield address
    finally:
        server.terminate()
        server.wait(timeout=10)
