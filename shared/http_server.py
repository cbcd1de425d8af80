"""How PIM's HTTP servers run (uvicorn): one configuration for the services and the benchmarks' servers.

An idle keep-alive connection is closed by the client first: a server that closes it at the moment the
client sends on it makes the client's request fail (httpx keeps them 5 s, as uvicorn did: the national
bench's standings request after a 5-second weekly file met it; the portal's calls to the services could).
Proxies keep theirs 60 s. HTTP is parsed by httptools (C), not h11 (Python): less of a request's CPU.
Light on purpose: a benchmark's spawned server imports only this and its app.
"""

from __future__ import annotations

from typing import Any

import uvicorn

KEEP_ALIVE_S = 75


def http_server(app: Any, host: str, port: int) -> uvicorn.Server:
    return uvicorn.Server(
        uvicorn.Config(
            app,
            host=host,
            port=port,
            log_level="warning",
            lifespan="off",
            timeout_keep_alive=KEEP_ALIVE_S,
            http="httptools",
        )
    )
