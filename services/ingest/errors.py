"""Errors a submitter can act on: which row, which field, what value, why."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from shared.api_errors import RowError, rejection_body, row_error_from_pydantic, shown_value
from shared.event_store import IdempotencyConflict

__all__ = [
    "ErrorLog", "RowError", "SubmissionRejected", "refusal", "row_error_from_pydantic", "shown_value",
    "spreadsheet_safe",
]  # fmt: skip


@dataclass
class ErrorLog:
    """Collects errors; keeps the first `keep` in memory (a bad million-row file must not fill memory)
    and counts them all. `on_error` sees every one (e.g. to stream a rejected-rows report)."""

    keep: int = 10_000
    count: int = 0
    kept: list[RowError] = field(default_factory=list)
    on_error: list[Callable[[RowError], None]] = field(default_factory=list)

    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, error: RowError) -> None:
        with self._lock:  # the parser thread and the event loop both report errors
            self.count += 1
            if len(self.kept) < self.keep:
                self.kept.append(error)
            for sink in self.on_error:
                sink(error)

    def __bool__(self) -> bool:
        return self.count > 0


class SubmissionRejected(Exception):
    """Nothing was stored; `errors` says why. `status` is the HTTP status that fits."""

    def __init__(self, errors: list[RowError], *, total: int | None = None, status: int = 422) -> None:
        self.errors = errors
        self.total = total if total is not None else len(errors)
        self.status = status
        first = errors[0] if errors else None
        where = f" (first: row {first.row}, {first.field}: {first.reason})" if first else ""
        super().__init__(f"{self.total} error(s){where}")


def refusal(error: SubmissionRejected | IdempotencyConflict) -> tuple[int, dict[str, Any]]:
    """The status and body (the one error shape) a refused submission is answered with, however it is sent:
    the API's exception handlers and an upload's progress stream both answer with this."""
    if isinstance(error, IdempotencyConflict):
        return 409, rejection_body([], 0, detail=str(error))
    return error.status, rejection_body(error.errors, error.total)


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(text: str) -> str:
    """A cell value a spreadsheet will show, not run: one that starts like a formula (`=cmd|' /C calc'!A0`)
    gets a leading apostrophe, as OWASP advises for CSV files; a plain negative number stays a number."""
    if text.startswith(_FORMULA_START) and not _is_number(text):
        return "'" + text
    return text


def _is_number(text: str) -> bool:
    try:
        float(text.replace(".", "").replace(",", "."))
    except ValueError:
        return False
    return True
