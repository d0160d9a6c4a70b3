"""GET each URL given on the command line from inside a container; print one JSON object of outcomes."""

from __future__ import annotations

import json
import socket
import sys
import urllib.error
import urllib.request


def probe(url: str) -> str:
    try:
        with urllib.request.urlopen(url, timeout=3) as response:
            return "ok " + json.loads(response.read())["service"]
    except urllib.error.URLError as exc:
        reason = exc.reason
        if isinstance(reason, socket.gaierror):
            return "name not found"
        return f"unreachable ({type(reason).__name__})"
    except (TimeoutError, OSError) as exc:
        return f"unreachable ({type(exc).__name__})"


if __name__ == "__main__":
    print(json.dumps({url: probe(url) for url in sys.argv[1:]}))
