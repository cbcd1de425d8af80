"""An upload's progress while the server reads it, for a client that asks (`Accept: application/x-ndjson`):
a JSON line every half second while the file is read, then checked and stored
(`{"progress": {"phase": "reading", "rows_read": 41000, "rows_total": 400000}}`; the phase becomes
"storing" once every row is read), then the answer as the last line
(`{"status": 422, "body": {…}}`): the status and body the plain request would have got."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

from services.ingest.errors import SubmissionRejected, refusal
from services.ingest.figure_intake import IntakeResult
from shared.event_store import IdempotencyConflict
from shared.resilience import DEPENDENCY_ERRORS, UNAVAILABLE_BODY

log = logging.getLogger(__name__)

NDJSON = "application/x-ndjson"
EVERY_S = 0.5


def wants_progress(accept: str) -> bool:
    return NDJSON in accept


class RowsRead:
    """How many rows the parser has read, and whether it is done; set from its thread (plain assignments)."""

    def __init__(self) -> None:
        self.rows = 0
        self.done = False

    def __call__(self, rows: int, done: bool) -> None:
        self.rows, self.done = rows, done


async def progress_lines(
    work: asyncio.Future[IntakeResult],
    read: RowsRead,
    rows_total: int | None,
    answer: Callable[[IntakeResult], tuple[int, dict[str, Any]]],
) -> AsyncIterator[bytes]:
    """Lines of progress until `work` is done, then its answer. A client that leaves does not stop the
    import: it ends as it would have (all or nothing), and sending the file again is answered from it."""
    while not work.done():
        await asyncio.wait({work}, timeout=EVERY_S)
        if not work.done():
            phase = "storing" if read.done else "reading"
            yield _line({"progress": {"phase": phase, "rows_read": read.rows, "rows_total": rows_total}})
    status, body = outcome(work, answer)
    yield _line({"status": status, "body": body})


def outcome(
    work: asyncio.Future[IntakeResult], answer: Callable[[IntakeResult], tuple[int, dict[str, Any]]]
) -> tuple[int, dict[str, Any]]:
    """The status and body of a finished import, in the API's one error shape when it failed."""
    try:
        return answer(work.result())
    except (SubmissionRejected, IdempotencyConflict) as refused:
        return refusal(refused)
    except DEPENDENCY_ERRORS as error:
        log.warning("an upload's import failed: a dependency is unavailable (%s: %s)", type(error).__name__, error)
        return 503, UNAVAILABLE_BODY


def _line(value: dict[str, Any]) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode() + b"\n"
