"""The request log middleware on a small app: a failure is logged at ERROR with status 500, a signed link's
path is never logged, requests are counted by route template, and JSON lines carry the request's fields."""

from __future__ import annotations

import json
import logging

import httpx
import pytest
from prometheus_client import REGISTRY
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from shared.observability import JsonFormatter
from shared.request_log import RequestLog


async def _fails(_: Request) -> PlainTextResponse:
    raise RuntimeError("a fault of our own")


async def _link(request: Request) -> PlainTextResponse:
    return PlainTextResponse(request.path_params["token"][:3])


def _client(service: str) -> httpx.AsyncClient:
    app = Starlette(routes=[Route("/fails", _fails), Route("/act/{token}", _link)])
    logged = RequestLog(app, service=service, secret_paths=("/act/",))
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=logged, raise_app_exceptions=False), base_url="http://t")


async def test_a_failure_is_an_error_line_with_status_500(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="pim.requests")
    async with _client("unit-fails") as client:
        assert (await client.get("/fails")).status_code == 500
    [line] = [r for r in caplog.records if r.name == "pim.requests"]
    assert line.levelname == "ERROR" and line.status == 500  # type: ignore[attr-defined]


async def test_a_signed_links_path_is_not_logged_and_requests_are_counted_by_route(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="pim.requests")
    labels = {"service": "unit-links", "route": "/act/{token}", "status": "200"}
    before = REGISTRY.get_sample_value("pim_http_requests_total", labels) or 0
    async with _client("unit-links") as client:
        for token in ("secret-capability-1", "secret-capability-2"):
            assert (await client.get(f"/act/{token}")).status_code == 200
    assert REGISTRY.get_sample_value("pim_http_requests_total", labels) == before + 2
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "GET /act/… → 200" in text and "secret-capability" not in text


def test_a_json_line_carries_the_requests_fields() -> None:
    record = logging.LogRecord("pim.requests", logging.INFO, __file__, 1, "ingest POST /v1/figures → 201", (), None)
    for field, value in {"request_id": "5f0c", "status": 201, "who": "Sở Tài chính", "duration_ms": 12.5}.items():
        setattr(record, field, value)
    entry = json.loads(JsonFormatter().format(record))
    assert (entry["request_id"], entry["status"], entry["who"], entry["duration_ms"]) == (
        "5f0c",
        201,
        "Sở Tài chính",
        12.5,
    )
