"""The ingest HTTP API: finance departments and registry clerks submit facts.

Authentication is a bearer token (`pim tokens create`). Each request is one submission: its events are
stored together or not at all. An `Idempotency-Key` header makes re-sending safe: the same key returns
the original events (200), the same key with other content is refused (409). Errors name the row, the
field, the value and the reason.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi_offline import FastAPIOffline

from services.ingest import routes_figures, routes_registry
from services.ingest.errors import SubmissionRejected, refusal
from services.ingest.files import MAX_FILE_BYTES
from services.ingest.web import Ingest
from shared.api_errors import answer_invalid_requests, error_responses
from shared.event_store import IdempotencyConflict
from shared.http_auth import Authenticator, serve_tokens
from shared.request_limits import JsonBodyLimits
from shared.request_log import RequestLog
from shared.resilience import answer_unavailable

HEALTH_ERRORS = error_responses(503)


def ingest_api(ingest: Ingest, authenticate: Authenticator) -> FastAPI:
    """The API over its collaborators, handed in (services/ingest/bootstrap.py wires the real ones)."""
    app = FastAPIOffline(  # /docs and /redoc with their scripts served by PIM: they render with no internet
        title="PIM ingest",
        version="1",
        description="Budget-revenue and public-investment disbursement figures, targets and the unit registry.",
    )
    app.state.ingest = ingest
    serve_tokens(app, authenticate)
    answer_unavailable(app)
    app.add_middleware(JsonBodyLimits, other_max_bytes=MAX_FILE_BYTES + (1 << 20))  # a form's envelope
    app.add_middleware(RequestLog, service="ingest")  # outermost: it sees every answer, refusals included
    answer_invalid_requests(app)

    @app.exception_handler(SubmissionRejected)
    async def on_rejected(_: Request, exc: SubmissionRejected) -> JSONResponse:
        code, body = refusal(exc)
        return JSONResponse(status_code=code, content=body)

    @app.exception_handler(IdempotencyConflict)
    async def on_conflict(_: Request, exc: IdempotencyConflict) -> JSONResponse:
        code, body = refusal(exc)
        return JSONResponse(status_code=code, content=body)

    app.include_router(routes_registry.router)
    app.include_router(routes_figures.router)

    @app.get("/health", tags=["operations"], responses=HEALTH_ERRORS)
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    return app
