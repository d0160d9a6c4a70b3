"""Build a tiny image whose config says arm64 and whose entrypoint is an aarch64 ELF header.

What it is, truthfully: the file /app/run holds only a 64-byte ELF header for aarch64 (e_machine 183),
marked executable; no real program. The kernel refuses it exactly as it refuses a real arm64 binary on
an x86_64 host (execve: ENOEXEC, "exec format error"). The image's config gets ``architecture: arm64``
through ``docker save`` / edit / ``docker load`` (the 20.10 daemon ignores ``docker import --platform``).
Used by tests/integration/test_doctor.py and tests/doctor/capture_logs.py.
"""

from __future__ import annotations

import hashlib
import io
import json
import struct
import subprocess
import tarfile
import time

LABEL = "io.dockpod.test=doctor"


def aarch64_elf_header() -> bytes:
    """An ELF64 little-endian executable header for aarch64, nothing after it."""
    ident = b"\x7fELF" + bytes([2, 1, 1, 0]) + bytes(8)
    return ident + struct.pack("<HHIQQQIHHHHHH", 2, 183, 1, 0x400000, 64, 0, 0, 64, 56, 0, 64, 0, 0)


def build_foreign_arch_image(name: str) -> None:
    """Load ``name`` (repo:tag) into the Docker engine: arm64 in its config, /app/run its entrypoint."""
    header = aarch64_elf_header()
    layer = io.BytesIO()
    with tarfile.open(fileobj=layer, mode="w") as tar:
        for folder in ("app",):
            entry = tarfile.TarInfo(folder)
            entry.type, entry.mode = tarfile.DIRTYPE, 0o755
            tar.addfile(entry)
        entry = tarfile.TarInfo("app/run")
        entry.size, entry.mode, entry.mtime = len(header), 0o755, int(time.time())
        tar.addfile(entry, io.BytesIO(header))
    layer_bytes = layer.getvalue()
    diff_id = "sha256:" + hashlib.sha256(layer_bytes).hexdigest()
    config = {
        "architecture": "arm64", "variant": "v8", "os": "linux",
        "config": {"Entrypoint": ["/app/run"], "Labels": {"io.dockpod.test": "doctor"}, "User": "1000:1000",
                   "Env": ["PATH=/usr/local/bin:/usr/bin:/bin"]},
        "rootfs": {"type": "layers", "diff_ids": [diff_id]},
        "created": "2024-01-01T00:00:00Z", "history": [{"created": "2024-01-01T00:00:00Z"}],
    }
    config_bytes = json.dumps(config).encode()
    config_name = hashlib.sha256(config_bytes).hexdigest() + ".json"
    manifest = [{"Config": config_name, "RepoTags": [name], "Layers": ["layer/layer.tar"]}]
    archive = io.BytesIO()
    with tarfile.open(fileobj=archive, mode="w") as tar:
        for path, data in ((config_name, config_bytes), ("layer/layer.tar", layer_bytes),
                           ("manifest.json", json.dumps(manifest).encode())):
            entry = tarfile.TarInfo(path)
            entry.size = len(data)
            tar.addfile(entry, io.BytesIO(data))
    subprocess.run(["docker", "load"], input=archive.getvalue(), check=True, capture_output=True, timeout=120)
