"""A figure file (CSV or XLSX) through the figure intake: the path both `pim import` and the HTTP upload take."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from pathlib import Path

from services.ingest.errors import ErrorLog
from services.ingest.figure_intake import Intake, IntakeResult
from services.ingest.figure_rows import FigureCellParser, FigureRow
from services.ingest.files import FIGURE_COLUMNS, read_rows
from shared.auth import Principal
from shared.event_store import Submitter
from shared.request_log import current_request_id


def file_digest(path: Path) -> bytes:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while block := stream.read(1 << 20):
            digest.update(block)
    return digest.digest()


def figure_rows(
    path: Path, errors: ErrorLog, on_rows: Callable[[int, bool], None] | None = None
) -> Iterator[FigureRow | None]:
    """The file's rows parsed; None for a row whose problems went to `errors`. `on_rows` hears how many
    have been read (from the parsing thread)."""
    parse = FigureCellParser([c.key for c in FIGURE_COLUMNS])
    for row_no, cells, problems in read_rows(path, FIGURE_COLUMNS, on_rows):
        for problem in problems:
            errors.add(problem)
        figure = parse(cells, row_no, errors)
        yield None if problems else figure


async def import_figure_file(
    intake: Intake,
    path: Path,
    principal: Principal,
    *,
    channel: str,
    idempotency_key: str | None = None,
    store_valid: bool = False,
    errors: ErrorLog | None = None,
    on_rows: Callable[[int, bool], None] | None = None,
) -> IntakeResult:
    """Import a figure file. Without an explicit key, the file's own hash is the key: importing the same
    file twice stores it once."""
    digest = file_digest(path)
    errors = errors if errors is not None else ErrorLog()
    submitter = Submitter(
        submitted_by=principal.name,
        channel=channel,
        source=principal.name,
        idempotency_key=idempotency_key or f"file:{digest.hex()}",
        correlation_id=current_request_id(),  # the upload's request, when it came over HTTP
    )
    rows = figure_rows(path, errors, on_rows)
    return await intake.submit(rows, principal, submitter, digest, errors=errors, store_valid=store_valid)
