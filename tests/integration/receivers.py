"""Real peers for the delivery tests: a uvicorn server on a free loopback port that records every request and
answers with what the test says; an SMTP server (aiosmtpd's protocol) that keeps every e-mail, and refuses
the addresses a test names."""

from __future__ import annotations

import asyncio
import contextlib
import email
import email.policy
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

from aiosmtpd.smtp import SMTP
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from shared.http_server import http_server


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
    server = http_server(app, "127.0.0.1", 0)
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


class SmtpInbox:
    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []
        self.refused: set[str] = set()  # RCPT TO these is answered 550 (a mailbox that is full, say)

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: list[str]) -> str:
        if address in self.refused:
            return "550 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
        return "250 OK"

    def to(self, address: str) -> list[email.message.EmailMessage]:
        return [m for m in self.messages if m["To"] == address]


@contextlib.asynccontextmanager
async def smtp_inbox() -> AsyncIterator[tuple[int, SmtpInbox]]:
    """An SMTP server on a free loopback port of the test's own event loop: its port and its inbox."""
    inbox = SmtpInbox()
    server = await asyncio.get_running_loop().create_server(lambda: SMTP(inbox), "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1], inbox
    finally:
        server.close()
        await server.wait_closed()
