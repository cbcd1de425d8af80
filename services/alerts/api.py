"""The committees' HTTP API: list alerts, and acknowledge, silence or resolve them. A committee token sees
and acts on the alerts of the units in its jurisdiction (its units and all below); an admin token on all."""

from __future__ import annotations

import asyncpg
from fastapi import FastAPI
from fastapi_offline import FastAPIOffline

from services.alerts import routes_alerts, routes_review
from services.alerts.service import AlertsService
from services.alerts.web import HEALTH_ERRORS, Alerts
from shared.api_errors import answer_invalid_requests
from shared.http_auth import serve_tokens, token_authenticator
from shared.request_limits import JsonBodyLimits
from shared.request_log import RequestLog
from shared.resilience import answer_unavailable


def create_alerts_app(pool: asyncpg.Pool, service: AlertsService) -> FastAPI:
    app = FastAPIOffline(title="PIM alerts", version="1", description=__doc__)  # docs render offline
    answer_unavailable(app)
    answer_invalid_requests(app)
    app.add_middleware(JsonBodyLimits)
    app.add_middleware(RequestLog, service="alerts")  # outermost: it sees every answer
    app.state.pool = pool
    serve_tokens(app, token_authenticator(pool))
    app.state.alerts = Alerts(pool, service)
    app.include_router(routes_alerts.router)
    app.include_router(routes_review.router)

    @app.get("/health", tags=["operations"], responses=HEALTH_ERRORS)
    async def health() -> dict[str, str]:
        async with pool.acquire() as conn:
            await conn.fetchval("SELECT 1")
        return {"status": "ok"}

    return app
