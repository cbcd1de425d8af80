"""The one error shape both HTTP APIs answer with: `{"detail", "error_count", "errors": [{row, field,
value, reason}]}`; each error names the row (1-based; None for the request as a whole), the field, the
value (cut short, with what is not text escaped, so the answer itself encodes) and the reason."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from fastapi import FastAPI, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException


@dataclass(frozen=True)
class RowError:
    row: int | None  # 1-based; in files the header is row 1, so the first data row is row 2
    field: str
    value: str | None
    reason: str

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def shown_value(text: str, limit: int = 200) -> str:
    """A refused value as an error message may echo it: cut short, and with what is not text (a NUL, an
    unpaired surrogate) written as an escape, so the answer itself can be encoded and read."""
    return text[:limit].replace("\x00", "\\x00").encode("utf-8", "backslashreplace").decode("utf-8")


def row_error_from_pydantic(error: dict[str, Any]) -> RowError:
    """A pydantic validation error as a RowError: the first list index is the row."""
    location = [part for part in error["loc"] if part != "body"]
    row = next((part + 1 for part in location if isinstance(part, int)), None)
    field = ".".join(str(part) for part in location if not isinstance(part, int)) or "body"
    value = error.get("input")
    shown = None if isinstance(value, dict | list) or value is None else shown_value(str(value))
    return RowError(row, field, shown, shown_value(str(error["msg"]), 500))


def rejection(errors: Sequence[RowError], total: int, status_code: int, detail: str | None = None) -> JSONResponse:
    return JSONResponse(status_code=status_code, content=rejection_body(errors, total, detail))


def rejection_body(errors: Sequence[RowError], total: int, detail: str | None = None) -> dict[str, Any]:
    """The one error shape (`ErrorBody`)."""
    return {
        "detail": detail or f"{total} error(s); nothing was stored",
        "error_count": total,
        "errors": [e.as_dict() for e in errors],
    }


def answer_invalid_requests(app: FastAPI) -> None:
    """A request FastAPI cannot validate (body, query, path) answers 422 in the shape above (FastAPI's own
    answer echoes the input as it came, and fails to encode an infinite number or a lone surrogate: 500),
    and every refusal (401, 403, 404, 409, 413 …) answers in the same shape."""

    async def invalid(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        errors = [row_error_from_pydantic(dict(e)) for e in exc.errors()]
        return rejection(errors, len(errors), status.HTTP_422_UNPROCESSABLE_CONTENT)

    async def refused(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        response = rejection([], 0, exc.status_code, detail=str(exc.detail))
        response.headers.update(exc.headers or {})
        return response

    app.add_exception_handler(RequestValidationError, invalid)
    app.add_exception_handler(StarletteHTTPException, refused)  # 401, 403, 404, 409 …: the same shape


class ErrorItem(BaseModel):
    row: int | None
    field: str
    value: str | None
    reason: str


class ErrorBody(BaseModel):
    """The one error shape (see the module's docstring)."""

    detail: str
    error_count: int
    errors: list[ErrorItem]


MEANINGS = {
    401: "no token, or one unknown or revoked (the answer carries WWW-Authenticate: Bearer)",
    403: "the token's role or scope does not allow it (alone: any other problem is answered 422 with it)",
    404: "nothing of that name within the token's jurisdiction",
    409: "the same Idempotency-Key with other content, or an alert already closed",
    413: "the body is larger than accepted (JSON 20 MB; files 100 MB)",
    415: "JSON that is not UTF-8, or a file that is neither CSV (UTF-8) nor XLSX",
    422: "refused rows, fields or parameters: each error names the row, the field, the value and the reason",
    503: "PostgreSQL or the broker is unavailable: try again after Retry-After seconds",
}


def error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` for the error statuses a route answers with, each in the one error shape."""
    return {code: {"model": ErrorBody, "description": MEANINGS[code]} for code in codes}
