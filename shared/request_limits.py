"""Bodies are checked at the door, before anything parses them: a JSON body larger than the limit is
refused with 413 (a 110 MB body raised ingest's memory by 320 MB before its 422), and JSON that is not
UTF-8 (RFC 8259 requires it; Python's json would quietly read UTF-16 and UTF-32) with 415. File uploads
have their own, larger limit, enforced while they stream (`services/ingest/routes_figures.py`)."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from starlette.exceptions import HTTPException

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

MAX_JSON_BYTES = 20 * 1024 * 1024  # 10,000 figures in JSON take about 2 MB
_NOT_UTF8_STARTS = (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")  # byte-order marks: UTF-8 with BOM, UTF-16


class _Refused(HTTPException):
    """Raised while the app reads the body: FastAPI passes an HTTPException on to the app's handlers (any
    other error there becomes its 400 "error parsing the body")."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(status_code=status, detail=detail)
        self.status = status


class JsonBodyLimits:
    """ASGI middleware: JSON request bodies at most `max_bytes`, in UTF-8 with no byte-order mark; other
    bodies (file uploads) at most `other_max_bytes` when given, counted as they stream."""

    def __init__(self, app: ASGIApp, max_bytes: int = MAX_JSON_BYTES, other_max_bytes: int | None = None) -> None:
        self._app = app
        self._json_max = max_bytes
        self._other_max = other_max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        is_json = _is_json(scope)
        limit = self._json_max if is_json else self._other_max
        if limit is None:
            await self._app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await _answer(send, 413, _too_large(declared, limit))
            return
        seen = 0
        first = True
        started = False

        async def checked_receive() -> Message:
            nonlocal seen, first
            message = await receive()
            if message["type"] == "http.request":
                chunk: bytes = message.get("body", b"")
                seen += len(chunk)
                if seen > limit:
                    raise _Refused(413, _too_large(seen, limit))
                if is_json and first and chunk:
                    first = False
                    if chunk.startswith(_NOT_UTF8_STARTS) or b"\x00" in chunk[:4]:
                        raise _Refused(415, NOT_UTF8)
            return message

        async def tracked_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self._app(scope, checked_receive, tracked_send)
        except _Refused as refused:
            if started:
                raise
            await _answer(send, refused.status, refused.detail)


def _too_large(size: int, limit: int) -> str:
    return (
        f"Nội dung quá lớn ({size:,} byte, tối đa {limit:,}): chia thành nhiều lần gửi, hoặc tải tệp lên"
        f" /v1/imports/figures / the body is too large ({size:,} bytes, the limit is {limit:,}): send it in"
        " parts, or a JSON body as a file to /v1/imports/figures"
    )


NOT_UTF8 = (
    "JSON phải mã hóa UTF-8, không có BOM / JSON must be UTF-8, without a byte-order mark (RFC 8259);"
    " this body looks like UTF-16, UTF-32 or UTF-8 with a BOM"
)


def _is_json(scope: Scope) -> bool:
    for name, value in scope.get("headers", []):
        if name == b"content-type":
            return b"json" in value.lower()
    return False


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _answer(send: Send, status: int, detail: str) -> None:
    body = json.dumps({"detail": detail, "error_count": 0, "errors": []}, ensure_ascii=False).encode()
    headers = [(b"content-type", b"application/json; charset=utf-8"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
