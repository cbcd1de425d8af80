"""Ingest's own state rebuilt from the log equals the state its submissions built, after a mixed history."""

from __future__ import annotations

import asyncpg
import pytest

from services.ingest.rebuild import STATE_TABLES, rebuild_ingest_state
from tests.integration.ingest_fixtures import Ingest, disbursement

pytestmark = pytest.mark.postgres


async def _state(pool: asyncpg.Pool) -> dict[str, list[tuple[object, ...]]]:
    async with pool.acquire() as conn:
        return {
            table: sorted(tuple(r.values()) for r in await conn.fetch(f"SELECT * FROM {table}"))
            for table in STATE_TABLES
        }


async def _mixed_history(ingest: Ingest) -> None:
    admin = ingest.admin
    tenure = {
        "unit_code": "hue",
        "leader_id": "L1",
        "leader_name": "Nguyễn Văn Ánh",
        "role": "head",
        "start_date": "2021-06-01",
        "tenure_id": "t1",
    }
    second = {
        **tenure,
        "tenure_id": "t2",
        "leader_id": "L2",
        "leader_name": "Trần Thị Bình",
        "start_date": "2025-06-01",
    }
    deputy = {
        **tenure,
        "tenure_id": "t3",
        "leader_id": "L3",
        "leader_name": "Lê Hoàng Phúc",
        "role": "deputy_in_charge",
        "indicator": "budget_revenue",
        "start_date": "2024-01-01",
    }
    calls = [
        ("/v1/tenures", {"tenures": [tenure, deputy]}),
        ("/v1/departures", {"departures": [{"tenure_id": "t1", "unit_code": "hue", "end_date": "2025-05-31"}]}),
        ("/v1/tenures", {"tenures": [second]}),
        (
            "/v1/mergers",
            {"mergers": [{"unit_code": "lam-dong", "predecessor_codes": ["da-lat"], "effective_date": "2025-07-01"}]},
        ),
    ]
    for path, body in calls:
        response = await ingest.client.post(path, json=body, headers=admin)
        assert response.status_code == 201, response.text
    reports = [
        [disbursement(amount="1000", as_of="2025-05-31"), disbursement("da-lat", amount="70", as_of="2025-06-30")],
        [  # the later row of one date wins (a row that changes another needs its reason)
            disbursement(amount="1400"),
            disbursement(
                amount="1500", indicator="public_investment_disbursement", reason="gõ nhầm", kind="corrections"
            ),
        ],
        [
            disbursement(
                amount="1200",
                indicator="public_investment_disbursement",
                reason="đối chiếu kho bạc",
                kind="corrections",
            )
        ],
        [
            disbursement(
                "hue",
                amount="-5",
                amount_kind="period",
                indicator="public_investment_disbursement",
                reason="thu hồi vốn tạm ứng",
                kind="corrections",
            )
        ],
        [
            {
                "unit_code": "hue",
                "plan_year": 2025,
                "category": "taxes",
                "as_of": "2025-08-31",
                "amount": "9000",
                "kind": "revenues",
            }
        ],
        [disbursement(amount="1300", as_of="2025-07-31", project_code="DA-01")],
    ]
    for rows in reports:
        response = await ingest.figures(*rows)
        assert response.status_code == 201, response.text
    refused = await ingest.figures(disbursement(amount="1", as_of="2025-09-30"), disbursement("atlantis"))
    assert refused.status_code == 422  # nothing of it is stored, in the log or the state


async def test_the_rebuilt_state_equals_the_state_submissions_built(ingest: Ingest) -> None:
    await _mixed_history(ingest)
    built = await _state(ingest.pool)
    assert all(built[table] for table in STATE_TABLES)
    async with ingest.pool.acquire() as conn:  # damage each table as a bad restore would
        await conn.execute("DELETE FROM ingest_units WHERE unit_code = 'da-lat'")
        await conn.execute("UPDATE ingest_tenures SET end_date = NULL")
        await conn.execute("UPDATE ingest_figures SET amount = amount + 1")
    assert await _state(ingest.pool) != built

    rebuilt = await rebuild_ingest_state(ingest.pool)

    assert await _state(ingest.pool) == built
    assert (rebuilt.units, rebuilt.tenures, rebuilt.figures) == tuple(len(built[t]) for t in STATE_TABLES)


async def test_after_a_rebuild_ingest_refuses_what_it_refused_before(ingest: Ingest) -> None:
    await _mixed_history(ingest)
    async with ingest.pool.acquire() as conn:
        await conn.execute(f"TRUNCATE {', '.join(STATE_TABLES)}")
    await rebuild_ingest_state(ingest.pool)
    falling = await ingest.figures(disbursement(amount="1100", as_of="2025-08-31"))
    assert falling.status_code == 422 and "falls below 1.200 đ reported for 2025-06-30" in falling.text
    merged = await ingest.figures(disbursement("da-lat", as_of="2025-07-31"))
    assert merged.status_code == 422 and "merged into lam-dong" in merged.text
    overlapping = {
        "unit_code": "hue",
        "leader_id": "L9",
        "leader_name": "Phạm Minh",
        "role": "head",
        "start_date": "2025-09-01",
        "tenure_id": "t9",
    }
    response = await ingest.client.post("/v1/tenures", json={"tenures": [overlapping]}, headers=ingest.admin)
    assert response.status_code == 422 and "Trần Thị Bình" in response.text
