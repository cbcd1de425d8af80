"""A request's log line says who did what, the result and how long, under the request's id; the id comes
back in `X-Request-ID` and is the correlation id of the events the request stored, so an operator follows a
clerk's upload (or its refusal) from the log into the store."""

from __future__ import annotations

import logging
import uuid

import pytest

from tests.integration.ingest_fixtures import Ingest, disbursement
from tests.integration.test_ingest_files import GOOD, csv_bytes, upload

pytestmark = pytest.mark.postgres


def _lines(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "pim.requests"]


async def test_a_stored_report_is_one_line_naming_who_what_and_its_positions(
    ingest: Ingest, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="pim.requests")
    request_id = uuid.uuid4()
    response = await ingest.client.post(
        "/v1/figures", json={"disbursements": [disbursement()]},
        headers={**ingest.lam_dong, "X-Request-ID": str(request_id)},
    )  # fmt: skip
    assert response.status_code == 201, response.text
    assert response.headers["X-Request-ID"] == str(request_id)
    [line] = _lines(caplog)
    assert (line.levelname, line.status, line.who, line.route) == (  # type: ignore[attr-defined]
        "INFO",
        201,
        "so-tai-chinh-lam-dong",
        "/v1/figures",
    )
    position = response.json()["first_position"]
    assert "POST /v1/figures → 201" in line.getMessage()
    assert f"stored 1 events at positions {position}–{position}" in line.getMessage()
    assert line.request_id == str(request_id)  # type: ignore[attr-defined]
    async with ingest.pool.acquire() as conn:
        stored = await conn.fetchval("SELECT correlation_id FROM events WHERE position = $1", position)
    assert stored == request_id


async def test_a_refused_upload_is_one_line_naming_the_rows_and_fields_and_a_new_id_when_none_is_sent(
    ingest: Ingest, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="pim.requests")
    bad = [*GOOD, ["lam-dong", "giải ngân", "2025", "oda", "2025-05-31", "1.234"]]
    response = await upload(ingest, csv_bytes(bad), headers={"X-Request-ID": "not-a-uuid; DROP TABLE"})
    assert response.status_code == 422
    request_id = uuid.UUID(response.headers["X-Request-ID"])  # the caller's text was not an id: a new one
    [line] = _lines(caplog)
    message = line.getMessage()
    assert line.request_id == str(request_id) and line.who == "so-tai-chinh-lam-dong"  # type: ignore[attr-defined]
    assert "→ 422" in message and "nothing was stored" in message and "row 5 amount" in message, message


async def test_a_file_stored_names_its_rows_and_the_events_carry_the_uploads_id(
    ingest: Ingest, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="pim.requests")
    response = await upload(ingest, csv_bytes(GOOD))
    assert response.status_code == 201
    [line] = _lines(caplog)
    assert "3 rows, 0 rejected; stored 3 events" in line.getMessage()
    async with ingest.pool.acquire() as conn:
        ids = await conn.fetch("SELECT DISTINCT correlation_id FROM events WHERE channel = 'http-upload'")
    assert [row["correlation_id"] for row in ids] == [uuid.UUID(response.headers["X-Request-ID"])]
