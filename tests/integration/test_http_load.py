"""The benches' load generator (pim/bench/http_load.py) against a real uvicorn server: answers' statuses,
bodies sent whole, keep-alive connections reused, and a server that hangs up reported, not waited on."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from pim.bench.http_load import Poster, ServerClosed, poster
from pim.embedded import free_port
from shared.http_server import http_server
from tests.kafka_helpers import eventually


class Echo:
    """An ASGI app noting each POST's body and client port, answering 201 or the status it is asked for."""

    def __init__(self) -> None:
        self.clients: set[int] = set()
        self.bodies: list[bytes] = []

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        self.clients.add(scope["client"][1])
        self.bodies.append(body)
        status = int(dict(scope["headers"]).get(b"x-answer", b"201"))
        await send({"type": "http.response.start", "status": status, "headers": [(b"content-type", b"text/plain")]})
        await send({"type": "http.response.body", "body": b"noted " * 2000})


@contextlib.asynccontextmanager
async def served(app: Any) -> AsyncIterator[int]:
    port = free_port()
    server = http_server(app, "127.0.0.1", port)
    task = asyncio.create_task(server.serve())

    async def started() -> bool:
        return server.started

    await eventually(started, timeout_s=10, what="the server started")
    try:
        yield port
    finally:
        server.should_exit = True
        await task


async def test_statuses_come_back_and_one_connection_serves_requests_in_turn() -> None:
    echo = Echo()
    async with served(echo) as port, poster("127.0.0.1", port, [("authorization", "Bearer t")]) as posting:
        body = json.dumps({"đơn_vị": "Xã Đạ Tẻh" * 1000}).encode()
        statuses = [await posting.post("/v1/figures", body, [("x-answer", str(code))]) for code in (201, 422, 200)]
    assert statuses == [201, 422, 200]
    assert echo.bodies == [body] * 3
    assert len(echo.clients) == 1  # kept alive


async def test_requests_at_once_each_take_a_connection_of_their_own() -> None:
    echo = Echo()
    async with served(echo) as port, poster("127.0.0.1", port, []) as posting:
        statuses = await asyncio.gather(*(posting.post("/v1/figures", b"{}") for _ in range(5)))
        again = await posting.post("/v1/figures", b"{}")
    assert statuses == [201] * 5 and again == 201
    assert len(echo.clients) == 5  # the sixth reused one of them


async def test_a_server_that_hangs_up_is_reported_and_the_next_request_opens_a_new_connection() -> None:
    hung_up = 0

    async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal hung_up
        await reader.read(1)
        hung_up += 1
        writer.close()

    server = await asyncio.start_server(hang_up, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    posting = Poster("127.0.0.1", port, [])
    try:
        for _ in range(2):
            with pytest.raises(ServerClosed):
                await asyncio.wait_for(posting.post("/v1/figures", b"{}"), 10)
    finally:
        posting.close()
        server.close()
    assert hung_up == 2
