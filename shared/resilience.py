"""What PIM does when a dependency (PostgreSQL, the broker, a delivery peer) goes away: wait and retry,
never exit; say what is down (`/ready`); answer HTTP clients 503 with Retry-After meanwhile.

A dependency being away is recognised by the errors it raises; anything else is a fault of PIM's own
and still stops the service loudly.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

import asyncpg
import httpx
from aiokafka.errors import KafkaError
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from shared.observability import SERVICE_WAITING

log = logging.getLogger(__name__)
T = TypeVar("T")

DATABASE_ERRORS: tuple[type[Exception], ...] = (
    asyncpg.PostgresConnectionError,  # the connection failed or was lost
    asyncpg.exceptions.OperatorInterventionError,  # shut down, restarting, "cannot connect now"
    asyncpg.exceptions.InsufficientResourcesError,  # too many connections, disk full
    asyncpg.InterfaceError,  # the pool's connection was closed under it
    # A pooled connection whose server is shutting down: the termination notice arrived while it was idle
    # and the next query finds it still consuming that error ("cannot switch to state 12; another
    # operation (2) is in progress"). Seen answered 500 in the fault suite while PostgreSQL restarted.
    asyncpg.exceptions.InternalClientError,
)
# OSError covers refused and reset connections and timeouts (TimeoutError is an OSError).
DEPENDENCY_ERRORS: tuple[type[Exception], ...] = (OSError, KafkaError, httpx.HTTPError, *DATABASE_ERRORS)
RETRY_AFTER_S = 5
UNAVAILABLE_BODY = {  # in the APIs' one error shape
    "detail": "Cơ sở dữ liệu tạm thời không sẵn sàng, vui lòng thử lại sau "
    f"{RETRY_AFTER_S} giây. / The database is unavailable for the moment: retry in {RETRY_AFTER_S} s.",
    "error_count": 0,
    "errors": [],
}
FIRST_BACKOFF_S, MAX_BACKOFF_S = 1.0, 30.0
HEALTHY_RUN_S = 60.0  # a run that lasted this long starts the backoff again from the first step
RECOVERED_AFTER_S = 5.0  # a run that lasted this long is no longer reported as waiting


async def when_available(what: str, attempt: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """`attempt()`'s result, trying again after a backoff while a dependency fails it: a service starting
    while PostgreSQL restarts (or the broker is away) waits for it, as a running one does, rather than exit.
    A refusal (a wrong password, a schema not made) is not a dependency away: it still stops the start."""
    backoff = FIRST_BACKOFF_S
    while True:
        try:
            return await attempt()
        except DEPENDENCY_ERRORS as error:
            log.warning("%s: waiting for a dependency (%s: %s); trying again in %.0f s",
                        what, type(error).__name__, error, backoff)  # fmt: skip
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, MAX_BACKOFF_S)


async def supervise(
    name: str, run: Callable[[], Coroutine[Any, Any, None]], waiting: dict[str, str], *,
    first_backoff_s: float = FIRST_BACKOFF_S,
) -> None:  # fmt: skip
    """Run `run()` until it returns; when a dependency fails it, log, note it in `waiting` (what
    `/ready` reports) and run it again after a backoff that doubles up to MAX_BACKOFF_S. A run that has
    lasted RECOVERED_AFTER_S is taken off `waiting`."""
    backoff = first_backoff_s
    while True:
        started = time.monotonic()
        attempt = asyncio.ensure_future(run())
        try:
            done, _ = await asyncio.wait({attempt}, timeout=RECOVERED_AFTER_S)
            if not done:
                waiting.pop(name, None)
                SERVICE_WAITING.labels(name).set(0)
            await attempt
            return
        except DEPENDENCY_ERRORS as error:
            if time.monotonic() - started > HEALTHY_RUN_S:
                backoff = first_backoff_s
            waiting[name] = f"{type(error).__name__}: {error}"
            SERVICE_WAITING.labels(name).set(1)
            log.warning("%s: a dependency failed (%s: %s); starting again in %.0f s",
                        name, type(error).__name__, error, backoff)  # fmt: skip
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, MAX_BACKOFF_S)
        except asyncio.CancelledError:
            attempt.cancel()
            raise


def answer_unavailable(app: FastAPI) -> None:
    """Requests that fail because PostgreSQL (or another dependency) is away get 503 with Retry-After,
    in the API's error shape, instead of 500."""

    async def unavailable(request: Request, error: Exception) -> JSONResponse:
        log.warning("%s %s: a dependency is unavailable (%s: %s)", request.method, request.url.path,
                    type(error).__name__, error)  # fmt: skip
        return JSONResponse(status_code=503, headers={"Retry-After": str(RETRY_AFTER_S)}, content=UNAVAILABLE_BODY)

    for error_class in DEPENDENCY_ERRORS:
        app.add_exception_handler(error_class, unavailable)
