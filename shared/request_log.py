"""One log line per HTTP request, and the request's id carried into what it causes.

Each request gets an id: the caller's `X-Request-ID` when it is a UUID (the portal passes its own on to the
APIs it calls), a new one otherwise; it is answered in `X-Request-ID` and stored as the correlation id of
the events the request appends, so one id leads from the clerk's upload to the relay's, the projector's and
the alerts service's lines. The line says who (once the token is read), what, the result, how long, and for
a refusal the reason and the first rows and fields the answer names: a clerk's failed upload can be traced.
The same middleware counts requests and their durations for Prometheus, by route template.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from prometheus_client import Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("pim.requests")

HTTP_REQUESTS = Counter("pim_http_requests", "HTTP requests answered", ["service", "route", "status"])
HTTP_SECONDS = Histogram("pim_http_request_seconds", "Time to answer an HTTP request", ["service", "route"])

REQUEST_ID_HEADER = "X-Request-ID"
_REFUSAL_BODY_MAX = 64 * 1024  # a refusal's answer read for its reason: the one error shape, small


@dataclass
class RequestNote:
    """What the handlers learn about the request, for its log line (shared, so a copied context sees it)."""

    request_id: uuid.UUID
    who: str | None = None
    outcome: str | None = None


_CURRENT: ContextVar[RequestNote | None] = ContextVar("pim_request", default=None)


def current_request_id() -> uuid.UUID | None:
    note = _CURRENT.get()
    return None if note is None else note.request_id


def note_who(name: str) -> None:
    note = _CURRENT.get()
    if note is not None:
        note.who = name


def note_outcome(text: str) -> None:
    note = _CURRENT.get()
    if note is not None:
        note.outcome = text


def request_id_from(value: str | None) -> uuid.UUID:
    """The caller's id when it is a UUID; a new one otherwise (a header is the caller's text: not trusted)."""
    if value:
        try:
            return uuid.UUID(value.strip())
        except ValueError:
            pass
    return uuid.uuid4()


def refusal_reason(body: bytes) -> str | None:
    """From an answer in the APIs' error shape: its detail and the first rows and fields it names."""
    try:
        answer = json.loads(body)
    except ValueError:
        return None
    if not isinstance(answer, dict) or "detail" not in answer:
        return None
    named = [
        " ".join(str(part) for part in (f"row {e['row']}" if e.get("row") else None, e.get("field")) if part)
        for e in answer.get("errors", [])[:3]
        if isinstance(e, dict)
    ]
    more = len(answer.get("errors", [])) - len(named)
    if more > 0:
        named.append(f"and {more} more")
    return str(answer["detail"])[:300] + (f" ({', '.join(named)})" if named else "")


class RequestLog:
    """ASGI middleware (not Starlette's BaseHTTPMiddleware: streamed answers stay streamed)."""

    def __init__(self, app: ASGIApp, service: str, secret_paths: tuple[str, ...] = ()) -> None:
        self.app = app
        self.service = service
        self.secret_paths = secret_paths  # paths that carry a capability (a signed link): logged without it

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        note = RequestNote(request_id_from(headers.get(REQUEST_ID_HEADER.lower())))
        token = _CURRENT.set(note)
        started = time.perf_counter()
        status = 500  # what the client gets if the app fails before it answers
        refusal = bytearray()

        async def answer(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []),
                                      (REQUEST_ID_HEADER.encode(), str(note.request_id).encode())]  # fmt: skip
            elif message["type"] == "http.response.body" and status >= 400 and len(refusal) < _REFUSAL_BODY_MAX:
                refusal.extend(message.get("body", b"")[: _REFUSAL_BODY_MAX - len(refusal)])
            await send(message)

        try:
            await self.app(scope, receive, answer)
        finally:
            _CURRENT.reset(token)
            seconds = time.perf_counter() - started
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            HTTP_REQUESTS.labels(self.service, route, str(status)).inc()
            HTTP_SECONDS.labels(self.service, route).observe(seconds)
            reason = refusal_reason(bytes(refusal)) if status >= 400 else None
            self._log(scope, note, status, seconds, route, note.outcome or reason)

    def _log(self, scope: Scope, note: RequestNote, status: int, seconds: float, route: str, what: str | None) -> None:
        extra: dict[str, Any] = {"service": self.service, "request_id": str(note.request_id), "status": status,
                                 "duration_ms": round(seconds * 1000, 1), "who": note.who, "route": route}  # fmt: skip
        by = f" by {note.who}" if note.who else ""
        path = next((f"{p}…" for p in self.secret_paths if scope["path"].startswith(p)), scope["path"][:200])
        log.log(
            logging.ERROR if status >= 500 else logging.INFO, "%s %s %s → %d in %.0f ms%s [request %s]%s",
            self.service, scope["method"], path, status, seconds * 1000, by, note.request_id,
            f": {what}" if what else "", extra=extra,
        )  # fmt: skip
