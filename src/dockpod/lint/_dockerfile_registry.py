"""The local registry's digest of an image tag, asked over the registry's HTTP API (never guessed)."""

from __future__ import annotations

import urllib.error
import urllib.request

from dockpod.lint._dockerfile_parse import Image

__all__ = ["LOCAL_REGISTRIES", "registry_digest"]

#: Registries ``--fix`` may ask for digests: the plain-http registry that ``make setup`` runs.
LOCAL_REGISTRIES = frozenset({"localhost:5000", "127.0.0.1:5000"})
#: Every manifest type a registry may hold for a tag, so that it answers with the stored manifest's digest.
MANIFEST_TYPES = ("application/vnd.docker.distribution.manifest.v2+json",
                  "application/vnd.oci.image.manifest.v1+json",
                  "application/vnd.docker.distribution.manifest.list.v2+json",
                  "application/vnd.oci.image.index.v1+json")


def registry_digest(image: Image, timeout: float = 5.0) -> str | None:
    """``sha256:...`` of ``image``'s tag (``latest`` when untagged) in its local registry; None when absent."""
    if image.registry not in LOCAL_REGISTRIES or image.digest is not None:
        return None
    url = f"http://{image.registry}/v2/{image.path}/manifests/{image.tag or 'latest'}"
    request = urllib.request.Request(url, method="HEAD", headers={"Accept": ", ".join(MANIFEST_TYPES)})
    try:
        # no proxy: the registry is on this machine
        with urllib.request.build_opener(urllib.request.ProxyHandler({})).open(request, timeout=timeout) as response:
            digest = response.headers.get("Docker-Content-Digest")
    except (urllib.error.URLError, OSError, ValueError):
        return None
    return digest if digest and digest.startswith("sha256:") and len(digest) == 71 else None
