"""Real HTTP peers for the delivery tests: a uvicorn server on a free loopback port that records every
request and answers with what the test says."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route


@dataclass
class Received:
    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    url: str
    requests: list[Received] = field(default_factory=list)

    async def wait_for(self, condition: Callable[[list[Received]], bool], timeout_s: float = 30) -> None:
        deadline = time.monotonic() + timeout_s
        while not condition(self.requests):
            if time.monotonic() > deadline:
                raise TimeoutError(f"condition not met; received: {[(r.method, r.path) for r in self.requests]}")
            await asyncio.sleep(0.05)


Responder = Callable[[Received, list[Received]], Response]


def ok(_: Received, __: list[Received]) -> Response:
    return JSONResponse({"ok": True})


@contextlib.asynccontextmanager
async def http_receiver(respond: Responder = ok) -> AsyncIterator[Receiver]:
    receiver = Receiver("")

    async def handle(request: Request) -> Response:
        received = Received(
            request.method, request.url.path, request.url.query, dict(request.headers), await request.body()
        )
        receiver.requests.append(received)
        return respond(received, receiver.requests)

    app = Starlette(routes=[Route("/{path:path}", handle, methods=["GET", "POST", "PUT", "PATCH", "DELETE"])])
    async with serving(app) as url:
        receiver.url = url
        yield receiver


@contextlib.asynccontextmanager
async def serving(app: Any) -> AsyncIterator[str]:
    """`app` served by uvicorn on a free loopback port; its base URL."""
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off"))
    task = asyncio.create_task(server.serve())
    try:
        deadline = time.monotonic() + 10
        while not server.started:
            if task.done() or time.monotonic() > deadline:
                raise RuntimeError("server did not start")
            await asyncio.sleep(0.01)
        port = server.servers[0].sockets[0].getsockname()[1]
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


def json_response(payload: Any, status_code: int = 200) -> Response:
    return JSONResponse(payload, status_code=status_code)
