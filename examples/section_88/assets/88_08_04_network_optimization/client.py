"""Run in a task container next to the counting server: DNS settings and a cached lookup, then N requests
with a new TCP connection each versus N requests over one kept-alive connection. Prints one JSON object."""

from __future__ import annotations

import functools
import http.client
import json
import socket
import sys
import time

HOST, N = (sys.argv[1], int(sys.argv[2])) if __name__ == "__main__" else ("localhost", 1)


def stats() -> dict[str, int]:
    conn = http.client.HTTPConnection(HOST, 8000, timeout=5)
    conn.request("GET", "/stats")
    data = json.loads(conn.getresponse().read())
    conn.close()
    return data


def lookup(name: str) -> str:
    return socket.getaddrinfo(name, 8000, type=socket.SOCK_STREAM)[0][4][0]


cached_lookup = functools.lru_cache(maxsize=128)(lookup)


def timed(fn, *args) -> float:
    start = time.perf_counter()
    for _ in range(N):
        fn(*args)
    return time.perf_counter() - start


def new_connection_each() -> None:
    conn = http.client.HTTPConnection(HOST, 8000, timeout=5)  # resolves, connects, one request, closes
    conn.request("GET", "/work", headers={"Connection": "close"})
    conn.getresponse().read()
    conn.close()


POOL = http.client.HTTPConnection(HOST, 8000, timeout=5)


def pooled() -> None:
    POOL.request("GET", "/work")  # HTTP/1.1 keep-alive: the same socket every time
    POOL.getresponse().read()


if __name__ == "__main__":
    with open("/etc/resolv.conf") as handle:
        resolv = [line.strip() for line in handle if line.strip() and not line.startswith("#")]
    dns_plain, dns_cached = timed(lookup, HOST), timed(cached_lookup, HOST)
    start = stats()
    t_new = timed(new_connection_each)
    mid = stats()
    t_pooled = timed(pooled)
    POOL.close()
    end = stats()
    print(json.dumps({
        "resolv_conf": resolv,
        "dns": {"lookups": N, "uncached_s": dns_plain, "cached_s": dns_cached,
                "cache_hits": cached_lookup.cache_info().hits},
        "new_connection_each": {"requests": mid["requests"] - start["requests"],
                                "connections": mid["connections"] - start["connections"], "seconds": t_new},
        "pooled": {"requests": end["requests"] - mid["requests"],
                   "connections": end["connections"] - mid["connections"], "seconds": t_pooled},
    }))
