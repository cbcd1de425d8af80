"""The broker losing everything under the alerts service (the embedded broker restarted empty, twice): the
alert messages it had acknowledged are sent again, and new ones keep going out. Before, the idempotent
producer was refused for good (OutOfOrderSequenceNumber, 704 times in the fault probe) and the outbox, which
had marked those deliveries made, never sent them again."""

from __future__ import annotations

from datetime import date as dt_date

import asyncpg
import pytest
from aiokafka import ConsumerRecord

from services.alerts.runtime import AlertsRuntime
from shared.settings import Settings
from tests.integration.alert_fixtures import Clock, Facts, alerts_service
from tests.integration.test_projector import running
from tests.kafka_helpers import broker_of_its_own, read_topic

pytestmark = [pytest.mark.postgres, pytest.mark.kafka]


async def _kafka_keys(pool: asyncpg.Pool) -> set[bytes]:
    async with pool.acquire() as conn:
        rows = await conn.fetch("SELECT payload->>'idempotency_key' AS key FROM alert_outbox WHERE channel = 'kafka'")
    return {row["key"].encode() for row in rows}


def _keys(records: list[ConsumerRecord[bytes, bytes]]) -> set[bytes]:
    return {dict(record.headers)["idempotency-key"] for record in records}


async def test_alert_messages_a_lost_broker_held_are_sent_again_and_new_ones_still_go_out(
    infra: Settings, settings: Settings, pool: asyncpg.Pool
) -> None:
    async with broker_of_its_own(infra, settings) as (broker, own):
        facts = Facts(pool)
        await facts.registry()
        await facts.report("lam-dong", 3, 60)
        service = alerts_service(own, pool, Clock(dt_date(2025, 5, 3)))
        await service.evaluate("lam-dong", 2025)
        async with running(AlertsRuntime(own, pool, service).run()):
            first = await _kafka_keys(pool)
            assert first
            await read_topic(own, own.alerts_topic, lambda r: _keys(r) >= first, 60)

            async def da_lat_raised() -> None:
                await facts.report("da-lat", 4, 10)
                await service.evaluate("da-lat", 2025)

            async def lam_dong_acknowledged() -> None:
                await service.acknowledge("lam-dong/public_investment_disbursement/below_pace/2025", "ubkt", "đã nhận")

            for new_event in (da_lat_raised, lam_dong_acknowledged):
                await broker.lose_everything()
                await new_event()  # after the loss
                everything = await _kafka_keys(pool)
                assert everything > first

                def complete(records: list[ConsumerRecord[bytes, bytes]], every: set[bytes] = everything) -> bool:
                    return _keys(records) >= every

                records = await read_topic(own, own.alerts_topic, complete, 90)
                assert _keys(records) == everything
                first = everything
