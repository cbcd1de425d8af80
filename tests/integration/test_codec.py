"""One codec for events: what the SQL fast paths write is what the models write, and what they read is only
the shape the code knows. A figure event stored at another schema version is read through the models — an
older one brought to the current shape by its upcaster, a newer one refused loudly — never misread by the SQL."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import asyncpg
import pytest

from services.ingest.rebuild import rebuild_ingest_state
from services.projector.fact_tables import write_ledger_messages
from shared import events
from shared.events import EVENT_ADAPTER, FIGURE_EVENT_TYPES, RecordedEvent
from tests.integration.ingest_fixtures import Ingest, disbursement

pytestmark = pytest.mark.postgres


async def test_the_payloads_the_sql_builds_are_the_models_own(ingest: Ingest) -> None:
    response = await ingest.figures(
        disbursement(amount="1234567000"),
        disbursement(unit="da-lat", amount="5000", project_code="DA-01", document_date="2025-07-03"),
        {"kind": "revenues", "unit_code": "hue", "plan_year": 2025, "category": "fees_and_charges",
         "as_of": "2025-06-30", "amount": "12000000", "amount_kind": "period"},
        {"kind": "corrections", "unit_code": "lam-dong", "indicator": "public_investment_disbursement",
         "plan_year": 2025, "category": "central_budget", "as_of": "2025-06-30", "amount": "1200000000",
         "reason": "Kho bạc đối chiếu lại số liệu tháng 6"},
    )  # fmt: skip
    assert response.status_code == 201, response.text
    async with ingest.pool.acquire() as conn:
        stored = await conn.fetch(
            "SELECT event_type, schema_version, payload FROM events WHERE event_type = ANY($1::text[])"
            " ORDER BY position",
            sorted(FIGURE_EVENT_TYPES),
        )
    assert len(stored) == 4
    for row in stored:  # decoded by the model and encoded again: the same JSON, key for key
        model = EVENT_ADAPTER.validate_python(row["payload"])
        assert model.model_dump(mode="json") == row["payload"], row["event_type"]
        assert row["schema_version"] == events.figure_schema_version()


def _message(schema_version: int, payload: dict[str, Any], position: int = 7) -> bytes:
    return RecordedEvent(
        event_id=uuid.uuid4(), position=position, stream_id="lam-dong", stream_version=position,
        event_type="DisbursementReported", schema_version=schema_version,
        recorded_at=dt.datetime(2025, 7, 2, tzinfo=dt.UTC), submitted_by="test", channel="test", correlation_id=None,
        payload=payload,
    ).model_dump_json().encode()  # fmt: skip


FIGURE = {"type": "DisbursementReported", "unit_code": "lam-dong", "plan_year": 2025, "category": "central_budget",
          "as_of": "2025-06-30", "amount_kind": "cumulative", "amount": "700", "project_code": None,
          "document_date": None}  # fmt: skip


@pytest.fixture
def figures_at_version_2(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """As if the figure events were at version 2 now, version 1 having named the amount `so_tien`."""
    for event_type in FIGURE_EVENT_TYPES:
        monkeypatch.setitem(events.CURRENT_SCHEMA_VERSIONS, event_type, 2)
        monkeypatch.setitem(events.UPCASTERS, (event_type, 1), lambda p: {
            ("amount" if k == "so_tien" else k): v for k, v in p.items()})  # fmt: skip
    yield


async def test_the_projector_refuses_a_figure_newer_than_its_code_and_writes_nothing(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        with pytest.raises(ValueError, match="DisbursementReported version 2 is newer than this code"):
            async with conn.transaction():
                await write_ledger_messages(conn, [_message(2, {**FIGURE, "so_tien_moi": "1"})])
        assert await conn.fetchval("SELECT count(*) FROM figures") == 0


async def test_the_projector_reads_an_older_figure_through_its_upcaster(
    pool: asyncpg.Pool, figures_at_version_2: None
) -> None:
    old = {k: v for k, v in FIGURE.items() if k != "amount"} | {"so_tien": "700"}
    async with pool.acquire() as conn, conn.transaction():
        await write_ledger_messages(conn, [_message(1, old)])
        amount = await conn.fetchval("SELECT amount FROM figures WHERE position = 7")
    assert amount == Decimal(700)  # the SQL would have read no `amount` at all


async def test_ingests_rebuild_refuses_a_newer_figure_and_upcasts_an_older_one(
    ingest: Ingest, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert (await ingest.figures(disbursement(amount="700"))).status_code == 201
    async with ingest.pool.acquire() as conn, conn.transaction():
        # As a later version of PIM would have written it: the store is append-only, so the test sets its
        # trigger aside for this one statement (session_replication_role, the operator's login).
        await conn.execute("SET LOCAL session_replication_role = replica")
        await conn.execute(
            "UPDATE events SET schema_version = 2, payload = payload - 'amount' || '{\"so_tien\": \"700\"}'"
            " WHERE event_type = 'DisbursementReported'"
        )
    with pytest.raises(ValueError, match="version 2 is newer than this code"):
        await rebuild_ingest_state(ingest.pool)
    for event_type in FIGURE_EVENT_TYPES:  # and now this code is that version, its upcaster from version 1
        monkeypatch.setitem(events.CURRENT_SCHEMA_VERSIONS, event_type, 3)
        monkeypatch.setitem(events.UPCASTERS, (event_type, 2), lambda p: {
            ("amount" if k == "so_tien" else k): v for k, v in p.items()})  # fmt: skip
    rebuilt = await rebuild_ingest_state(ingest.pool)
    async with ingest.pool.acquire() as conn:
        amounts = [r["amount"] for r in await conn.fetch("SELECT amount FROM ingest_figures")]
    assert rebuilt.figures == 1 and amounts == [Decimal(700)]
