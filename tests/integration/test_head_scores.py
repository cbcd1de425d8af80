"""The heads' scores from the projector's own tables, through the boards' API: Đà Lạt's head in the third
quarter of 2025 — the figures against pace and the group, the months reported on time, a promise the figures
found missed and a conclusion with fault — each point traced to its figures; Lâm Đồng's two heads of the
second quarter each scored for their own months; a past quarter byte for byte the same after later facts;
a head reads only their own."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import asyncpg
import httpx
import pytest

from services.projector.api import create_projector_app
from services.projector.progress_rules import ProgressRules
from shared.auth import create_account, create_token
from shared.events import AlertResolved, CommitmentChecked, ExplanationRequested, Indicator
from tests.integration.alert_fixtures import DISB, Facts

pytestmark = pytest.mark.postgres
TODAY = dt.date(2025, 11, 10)
FINGERPRINT = f"da-lat/{DISB}/below_pace/2025"


async def _sample(facts: Facts) -> None:
    await facts.registry()
    for month, amount, late in ((6, 200, 0), (7, 250, 0), (8, 300, 6), (9, 350, 0)):
        await facts.report("da-lat", month, amount, late_days=late)  # August's report came 6 days late
    for month, amount in ((4, 150), (5, 200), (6, 300)):
        await facts.report("lam-dong", month, amount)
    await facts.add(
        ExplanationRequested(fingerprint=FINGERPRINT, unit_code="da-lat", leader_id="L3", leader_name="Trần Thị Hà",
                             on=dt.date(2025, 7, 10), due=dt.date(2025, 7, 17), by="UBKT"),
        CommitmentChecked(fingerprint=FINGERPRINT, unit_code="da-lat", leader_id="L3", commitment_position=1,
                          ordinal=1, indicator=Indicator.DISBURSEMENT, due=dt.date(2025, 8, 31), rate=Decimal("0.5"),
                          kept=False, figures_as_of=dt.date(2025, 8, 31), reached=Decimal("0.3")),
        AlertResolved(fingerprint=FINGERPRINT, unit_code="da-lat", as_of=dt.date(2025, 9, 20), reason="kết luận",
                      resolved_by="UBKT", conclusion="Phê bình", outcome="criticism"),
    )  # fmt: skip


async def _get(client: httpx.AsyncClient, token: str, path: str, **params: str) -> httpx.Response:
    return await client.get(path, params=params, headers={"Authorization": f"Bearer {token}"})


async def test_a_heads_quarter_scored_point_by_point_and_a_past_quarter_never_moves(pool: asyncpg.Pool) -> None:
    facts = Facts(pool)
    await _sample(facts)
    async with pool.acquire() as conn:
        board = await create_token(conn, "board", "board")
    app = create_projector_app(pool, ProgressRules(), today=lambda: TODAY)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://boards") as client:
        answer = await _get(client, board, "/v1/scores", period="2025-Q3")
        assert answer.status_code == 200, answer.text
        scores = {s["leader_id"]: s for s in answer.json()["scores"]}
        ha = scores["L3"]
        criteria = {c["criterion"]: c for c in ha["criteria"]}
        # September's report: 350 of 1.000 against the pace the plan expects on 30/09 (the projector's row)
        async with pool.acquire() as conn:
            row = await conn.fetchrow(
                "SELECT rate, expected_pace FROM unit_progress_history WHERE unit_code = 'da-lat'"
                " AND as_of = '2025-09-30' AND category = ''"
            )
        (disbursed,) = criteria["disbursement_vs_plan"]["inputs"]
        assert (disbursed["rate"], disbursed["expected_pace"]) == (str(row["rate"]), str(row["expected_pace"]))
        share = min(Decimal(1), Decimal(row["rate"]) / Decimal(row["expected_pace"]))
        assert Decimal(criteria["disbursement_vs_plan"]["points"]) == (Decimal(20) * share).quantize(Decimal("0.01"))
        # months due in the quarter: June's (due 5 July), July's, August's (late); September's is due in October
        months = [(r["month"], r["received_on"] <= r["due_on"]) for r in criteria["reporting_on_time"]["inputs"]]
        assert months == [("2025-06", True), ("2025-07", True), ("2025-08", False)]
        assert Decimal(criteria["reporting_on_time"]["points"]) == Decimal("13.33")
        assert Decimal(criteria["commitments_kept"]["points"]) == 0
        assert criteria["commitments_kept"]["inputs"] == [
            {"fingerprint": FINGERPRINT, "decided_on": "2025-08-31", "outcome": "missed"}
        ]
        assert Decimal(criteria["conclusions_with_fault"]["points"]) == 10  # 15 − 5 for one criticism
        assert "revenue_vs_plan" not in criteria  # no revenue plan: left out, the rest scaled to 100
        counted = sum((Decimal(c["weight"]) for c in ha["criteria"]), Decimal(0))
        total = sum((Decimal(c["points"]) for c in ha["criteria"]), Decimal(0)) * 100 / counted
        assert Decimal(ha["score"]) == total.quantize(Decimal("0.01"))
        assert Decimal(ha["late_share"]) == Decimal(1) / 3
        assert ha["band"] == "not_complete"  # a third of the reports late: more than the 20 % "complete" allows

        # Lâm Đồng changed heads on 1 June: each is scored for their own months of the second quarter
        q2 = {s["leader_id"]: s for s in (await _get(client, board, "/v1/scores", period="2025-Q2")).json()["scores"]}
        tu = {c["criterion"]: c for c in q2["L1"]["criteria"]}
        mai = {c["criterion"]: c for c in q2["L2"]["criteria"]}
        assert [r["month"] for r in tu["reporting_on_time"]["inputs"] if r["unit_code"] == "lam-dong"] == [
            "2025-03", "2025-04"
        ]  # due 5 April and 5 May, while he held the post  # fmt: skip
        assert [r["month"] for r in mai["reporting_on_time"]["inputs"]] == ["2025-05"]  # due 5 June: hers
        before = (await _get(client, board, "/v1/scores", period="2025-Q3")).content

        # later facts about later dates: the third quarter's scores do not move by a byte
        await facts.report("da-lat", 10, 500)
        await facts.add(AlertResolved(fingerprint=FINGERPRINT, unit_code="da-lat", as_of=dt.date(2025, 10, 20),
                                      reason="kết luận lại", resolved_by="UBKT", outcome="self_criticism"))  # fmt: skip
        assert (await _get(client, board, "/v1/scores", period="2025-Q3")).content == before

        wrong = await _get(client, board, "/v1/scores", period="2025-Q5")
        assert wrong.status_code == 422 and "a quarter" in wrong.text


async def test_a_head_reads_only_their_own_scores(pool: asyncpg.Pool) -> None:
    await _sample(Facts(pool))
    async with pool.acquire() as conn:
        portal = await create_token(conn, "portal", "portal")
        ha = await create_account(conn, "ha@dalat.gov.vn", "Trần Thị Hà", "head", ["da-lat"], leader_id="L3")
    app = create_projector_app(pool, ProgressRules(), today=lambda: TODAY)
    as_ha: dict[str, Any] = {"Authorization": f"Bearer {portal}", "X-PIM-Account": ha.account_id}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://boards") as client:
        own = await client.get("/v1/scores/L3", params={"year": "2025"}, headers=as_ha)
        assert own.status_code == 200, own.text
        assert [p["period"] for p in own.json()["periods"]] == ["2025-Q1", "2025-Q2", "2025-Q3", "2025-Q4"]
        assert (await client.get("/v1/scores/L1", params={"year": "2025"}, headers=as_ha)).status_code == 404
        listed = (await client.get("/v1/scores", params={"period": "2025-Q3"}, headers=as_ha)).json()["scores"]
        assert [s["leader_id"] for s in listed] == ["L3"]
