"""The ingest HTTP API against a real PostgreSQL: every validation case, idempotency, access control."""

from __future__ import annotations

import pytest

from shared.auth import create_token
from tests.integration.ingest_fixtures import Ingest, disbursement

pytestmark = pytest.mark.postgres


def only_error(response_json: dict) -> tuple:  # type: ignore[type-arg]
    [error] = response_json["errors"]
    return error["row"], error["field"], error["value"], error["reason"]


async def test_a_valid_report_is_stored_with_who_and_which_channel(ingest: Ingest) -> None:
    response = await ingest.figures(disbursement(amount="4.200.000.000.000".replace(".", "")), headers=ingest.lam_dong)
    assert response.status_code == 201, response.text
    assert response.json()["count"] == 1 and len(response.json()["event_ids"]) == 1
    async with ingest.pool.acquire() as conn:
        row = await conn.fetchrow("SELECT * FROM events ORDER BY position DESC LIMIT 1")
    assert (row["submitted_by"], row["channel"], row["event_type"]) == (
        "so-tai-chinh-lam-dong", "http", "DisbursementReported",
    )  # fmt: skip
    assert row["payload"]["amount"] == "4200000000000"


async def test_unknown_unit_is_refused_naming_row_field_value(ingest: Ingest) -> None:
    before = await ingest.event_count()
    response = await ingest.figures(disbursement(), disbursement(unit="atlantis"))
    assert response.status_code == 422
    assert only_error(response.json()) == (2, "unit_code", "atlantis", "unknown unit: register it first")
    assert await ingest.event_count() == before  # the valid first row was not stored either


async def test_a_misspelt_unit_code_gets_a_did_you_mean(ingest: Ingest) -> None:
    misspelt = await ingest.figures(disbursement(unit="da-latt"))
    assert misspelt.status_code == 422
    row, field, value, reason = only_error(misspelt.json())
    assert (row, field, value) == (1, "unit_code", "da-latt")
    assert "có phải 'da-lat'? / did you mean 'da-lat'?" in reason
    far_off = await ingest.figures(disbursement(unit="atlantis"))
    assert "did you mean" not in only_error(far_off.json())[3]


async def test_money_in_a_refusal_is_written_as_people_write_it(ingest: Ingest) -> None:
    assert (await ingest.figures(disbursement(amount="11000000000000", as_of="2025-10-31"))).status_code == 201
    falls = await ingest.figures(disbursement(amount="10", as_of="2025-11-14"))
    _, field, value, reason = only_error(falls.json())
    assert (field, value) == ("amount", "10") and "E+" not in reason
    assert "lũy kế giảm xuống dưới 11.000.000.000.000 đ đã báo cáo ngày 31/10/2025" in reason
    assert "cumulative falls below 11.000.000.000.000 đ reported for 2025-10-31" in reason


async def test_a_unit_merged_away_takes_no_figures_dated_from_the_merger(ingest: Ingest) -> None:
    merged = await ingest.client.post(
        "/v1/mergers",
        json={"mergers": [{"unit_code": "lam-dong", "predecessor_codes": ["da-lat"], "effective_date": "2025-07-01"}]},
        headers=ingest.admin,
    )
    assert merged.status_code == 201, merged.text
    assert (await ingest.figures(disbursement("da-lat", as_of="2025-06-30"))).status_code == 201
    response = await ingest.figures(disbursement("da-lat", as_of="2025-07-31"))
    assert response.status_code == 422
    assert "merged into lam-dong on 2025-07-01" in only_error(response.json())[3]


async def test_dates_outside_the_window_or_in_the_future_are_refused(ingest: Ingest) -> None:
    response = await ingest.figures(disbursement(as_of="2024-12-31"), disbursement(as_of="2025-11-30"))
    assert response.status_code == 422
    reasons = {(e["row"], e["field"]): e["reason"] for e in response.json()["errors"]}
    assert "outside the 2025 reporting window" in reasons[1, "as_of"]
    assert reasons[2, "as_of"] == "in the future (today is 2025-11-15)"


async def test_negative_amount_needs_an_explicit_correction(ingest: Ingest) -> None:
    response = await ingest.figures(disbursement(amount="-5", amount_kind="period"))
    assert response.status_code == 422
    assert only_error(response.json())[1] == "disbursements.amount"
    correction = disbursement(amount="-5", amount_kind="period", indicator="public_investment_disbursement",
                              reason="thu hồi vốn tạm ứng", kind="corrections")  # fmt: skip
    assert (await ingest.figures(correction)).status_code == 201


async def test_a_cumulative_may_not_fall_without_a_correction(ingest: Ingest) -> None:
    assert (await ingest.figures(disbursement(amount="1000", as_of="2025-05-31"))).status_code == 201
    response = await ingest.figures(disbursement(amount="900", as_of="2025-06-30"))
    assert response.status_code == 422
    row, field, value, reason = only_error(response.json())
    assert (row, field, value) == (1, "amount", "900")
    assert "falls below 1.000 đ reported for 2025-05-31" in reason  # money as people write it
    # nor may an earlier date exceed a later one already stored
    response = await ingest.figures(disbursement(amount="1100", as_of="2025-04-30"))
    assert response.status_code == 422 and "later date 2025-05-31" in only_error(response.json())[3]
    correction = disbursement(amount="900", as_of="2025-06-30", indicator="public_investment_disbursement",
                              reason="số liệu kho bạc đối chiếu lại", kind="corrections")  # fmt: skip
    assert (await ingest.figures(correction)).status_code == 201


async def test_a_changed_figure_is_a_correction_and_needs_its_reason(ingest: Ingest) -> None:
    """A figure re-sent as it was is a harmless duplicate; a changed one silently replaced the earlier
    figure: now it needs a correction reason, and with one it supersedes."""
    assert (await ingest.figures(disbursement(amount="1000"))).status_code == 201
    assert (await ingest.figures(disbursement(amount="1000.00"))).status_code == 201  # the same figure
    lower = await ingest.figures(disbursement(amount="800"))
    assert lower.status_code == 422
    row, field, value, reason = only_error(lower.json())
    assert (row, field, value) == (1, "correction_reason", "800")
    assert reason.startswith("ngày 30/06/2025 đã báo cáo 1.000 đ, nay gửi 800 đ")  # Vietnamese first
    assert "needs a correction_reason" in reason
    assert await ingest.event_count() == 5  # the registry's three, the figure and its duplicate; nothing of it
    correction = disbursement(amount="800", indicator="public_investment_disbursement",
                              reason="đối chiếu kho bạc", kind="corrections")  # fmt: skip
    assert (await ingest.figures(correction)).status_code == 201
    assert (await ingest.figures(disbursement(amount="800"))).status_code == 201  # now the stored figure


async def test_two_rows_of_one_report_that_disagree_on_a_figure_are_refused(ingest: Ingest) -> None:
    both = await ingest.figures(disbursement(amount="1000"), disbursement(amount="1200"))
    assert both.status_code == 422
    row, field, _, reason = only_error(both.json())
    assert (row, field) == (2, "correction_reason") and reason.startswith("dòng 1 gửi số khác")
    assert await ingest.event_count() == 3
    # each refused row names the earliest earlier row that says otherwise; a row repeating the first is fine
    rows = [disbursement(amount=a) for a in ("1000", "1000.00", "1200", "1000", "1300", "1200")]
    many = await ingest.figures(*rows)
    named = [(e["row"], e["reason"].split(" gửi số khác")[0]) for e in many.json()["errors"]]
    assert named == [(3, "dòng 1"), (4, "dòng 3"), (5, "dòng 1"), (6, "dòng 1")]


@pytest.mark.parametrize(
    ("amount", "reason"),
    [
        (1000.5, "floating-point"),
        ("1000.123", "decimal places"),
        ("1.234.567", "plain decimal"),
        ("1e6", "plain"),
        (10**40, "implausibly large"),
        (str(10**18), "implausibly large"),
        (-(10**19), "implausibly large"),
    ],
)
async def test_money_in_json_must_be_exact_and_plain(ingest: Ingest, amount: object, reason: str) -> None:
    response = await ingest.figures(disbursement(amount=amount))
    assert response.status_code == 422
    row, field, _, message = only_error(response.json())
    assert (row, field) == (1, "disbursements.amount") and reason in message


async def test_idempotent_resend_returns_the_original_and_a_changed_resend_conflicts(ingest: Ingest) -> None:
    key = {**ingest.lam_dong, "Idempotency-Key": "lam-dong/2025-06-30"}
    first = await ingest.figures(disbursement(), headers=key)
    again = await ingest.figures(disbursement(), headers=key)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["event_ids"] == first.json()["event_ids"] and again.json()["duplicate"]
    changed = await ingest.figures(disbursement(amount="2000"), headers=key)
    assert changed.status_code == 409


async def test_a_department_reports_for_its_units_and_those_below_only(ingest: Ingest) -> None:
    assert (await ingest.figures(disbursement("da-lat"), headers=ingest.lam_dong)).status_code == 201
    before = await ingest.event_count()
    response = await ingest.figures(disbursement("lam-dong"), disbursement("hue"), headers=ingest.lam_dong)
    assert response.status_code == 403
    assert only_error(response.json()) == (2, "unit_code", "hue", "outside the scope of so-tai-chinh-lam-dong")
    assert await ingest.event_count() == before


async def test_registry_and_targets_need_an_admin_token(ingest: Ingest) -> None:
    target = {"targets": [{"unit_code": "lam-dong", "indicator": "budget_revenue", "plan_year": 2025, "amount": "10"}]}
    assert (await ingest.client.post("/v1/targets", json=target, headers=ingest.lam_dong)).status_code == 403
    assert (await ingest.client.post("/v1/targets", json=target, headers=ingest.admin)).status_code == 201


async def test_no_token_or_a_revoked_token_is_refused(ingest: Ingest) -> None:
    assert (await ingest.figures(disbursement(), headers={})).status_code == 401
    assert (await ingest.figures(disbursement(), headers={"Authorization": "Bearer pim_x_y"})).status_code == 401
    token_id = ingest.lam_dong["Authorization"].split("_")[1]
    async with ingest.pool.acquire() as conn:
        await conn.execute("UPDATE api_tokens SET revoked_at = now() WHERE token_id = $1", token_id)
    response = await ingest.figures(disbursement(), headers=ingest.lam_dong)
    assert response.status_code == 401 and response.json()["detail"] == "revoked token"


async def test_tokens_are_stored_only_as_hashes(ingest: Ingest) -> None:
    secret = ingest.admin["Authorization"].split("_", 2)[2]
    async with ingest.pool.acquire() as conn:
        stored = await conn.fetch("SELECT * FROM api_tokens")
    assert all(secret.encode() not in bytes(r["secret_hash"]) and secret not in str(dict(r)) for r in stored)


TENURE = {
    "unit_code": "hue",
    "leader_id": "L1",
    "leader_name": "Nguyễn Văn Ánh",
    "role": "head",
    "start_date": "2021-06-01",
}


async def test_two_heads_of_one_unit_may_not_overlap(ingest: Ingest) -> None:
    first = {**TENURE, "tenure_id": "t1"}
    second = {
        **TENURE,
        "tenure_id": "t2",
        "leader_id": "L2",
        "leader_name": "Trần Thị Bình",
        "start_date": "2025-06-01",
    }
    assert (await ingest.client.post("/v1/tenures", json={"tenures": [first]}, headers=ingest.admin)).status_code == 201
    response = await ingest.client.post("/v1/tenures", json={"tenures": [second]}, headers=ingest.admin)
    assert response.status_code == 422
    row, field, value, reason = only_error(response.json())
    assert (row, field, value) == (1, "start_date", "2025-06-01")
    assert "Nguyễn Văn Ánh" in reason and "record their departure first" in reason
    departure = {"departures": [{"tenure_id": "t1", "unit_code": "hue", "end_date": "2025-05-31"}]}
    assert (await ingest.client.post("/v1/departures", json=departure, headers=ingest.admin)).status_code == 201
    assert (
        await ingest.client.post("/v1/tenures", json={"tenures": [second]}, headers=ingest.admin)
    ).status_code == 201


async def test_vietnamese_names_round_trip_through_the_api(ingest: Ingest) -> None:
    tenure = {**TENURE, "tenure_id": "t9", "leader_name": "Hoàng Thị Ánh Nguyệt"}
    assert (
        await ingest.client.post("/v1/tenures", json={"tenures": [tenure]}, headers=ingest.admin)
    ).status_code == 201
    async with ingest.pool.acquire() as conn:
        payload = await conn.fetchval("SELECT payload FROM events WHERE event_type = 'LeaderAppointed'")
    assert payload["leader_name"] == "Hoàng Thị Ánh Nguyệt"


async def test_a_mistyped_capital_source_is_refused_and_an_admin_can_declare_a_new_one(ingest: Ingest) -> None:
    """A typo must not become a category of its own, added to the unit's total."""
    before = await ingest.event_count()
    typo = await ingest.figures(disbursement(category="central_budjet"))
    assert typo.status_code == 422
    row, field, value, reason = only_error(typo.json())
    assert (row, field, value) == (1, "category", "central_budjet") and "did you mean 'central_budget'" in reason
    new = {"categories": [{"indicator": "public_investment_disbursement", "code": "provincial_bonds",
                           "name": "Trái phiếu chính quyền địa phương / Local government bonds"}]}  # fmt: skip
    assert (await ingest.client.post("/v1/categories", json=new, headers=ingest.lam_dong)).status_code == 403
    declared = await ingest.client.post("/v1/categories", json=new, headers=ingest.admin)
    assert declared.status_code == 201, declared.text
    listed = (await ingest.client.get("/v1/categories", headers=ingest.lam_dong)).json()
    assert "provincial_bonds" in listed["public_investment_disbursement"]
    assert "provincial_bonds" not in listed["budget_revenue"]
    assert (await ingest.figures(disbursement(category="provincial_bonds"))).status_code == 201
    assert await ingest.event_count() == before + 2  # the declaration and the figure


async def test_a_committee_token_inspects_but_cannot_report_figures_by_any_channel(ingest: Ingest) -> None:
    async with ingest.pool.acquire() as conn:
        committee = await create_token(conn, "ubkt-lam-dong", "committee", ["lam-dong"])
    headers = {"Authorization": f"Bearer {committee}"}
    before = await ingest.event_count()
    response = await ingest.figures(disbursement(), headers=headers)
    assert response.status_code == 403
    assert only_error(response.json())[1] == "authorization" and "committees inspect" in response.text
    upload = await ingest.client.post(
        "/v1/imports/figures", content=b"unit_code,indicator,plan_year,category,as_of,amount\n"
        b"lam-dong,giai ngan,2025,central_budget,2025-06-30,1000\n", headers=headers,
    )  # fmt: skip
    assert upload.status_code == 403, upload.text
    assert await ingest.event_count() == before
    assert (await ingest.client.get("/v1/categories", headers=headers)).status_code == 200  # reading is theirs


async def test_a_units_own_milestones_are_set_by_decision_and_bad_ones_refused_naming_the_field(
    ingest: Ingest,
) -> None:
    points = [{"by": "2025-10-31", "share": "0.75"}, {"by": "2025-11-30", "share": "0.85"}]
    decision = {"unit_code": "da-lat", "indicator": "public_investment_disbursement", "plan_year": 2025,
                "decision_number": "88/QĐ-UBND", "decision_date": "2025-10-01", "decision_authority": "UBND tỉnh",
                "milestones": points}  # fmt: skip
    stored = await ingest.client.post("/v1/targets", json={"milestones": [decision]}, headers=ingest.admin)
    assert stored.status_code == 201, stored.text
    async with ingest.pool.acquire() as conn:
        payload = await conn.fetchval("SELECT payload FROM events WHERE event_type = 'UnitMilestonesSet'")
    assert (payload["milestones"][0]["share"], payload["decision_number"]) == ("0.75", "88/QĐ-UBND")
    backwards = decision | {"milestones": list(reversed(points))}
    early = decision | {"milestones": [{"by": "2025-09-30", "share": "0.6"}]}
    for body, reason in ((backwards, "in date order"), (early, "must come after the decision")):
        refused = await ingest.client.post("/v1/targets", json={"milestones": [body]}, headers=ingest.admin)
        assert refused.status_code == 422
        (error,) = refused.json()["errors"]
        assert error["field"].startswith("milestones") and reason in error["reason"]
    department = await ingest.client.post("/v1/targets", json={"milestones": [decision]}, headers=ingest.lam_dong)
    assert department.status_code == 403


async def test_a_dissolved_unit_hands_over_to_registered_receivers_and_takes_no_later_figures(ingest: Ingest) -> None:
    def dissolution(*receivers: str) -> dict[str, object]:
        return {"dissolutions": [{"unit_code": "da-lat", "effective_date": "2025-07-01", "handovers": [
            {"receiver_code": code, "indicator": "public_investment_disbursement", "plan_year": 2025,
             "plan": "500", "year_to_date": "100"} for code in receivers]}]}  # fmt: skip

    unknown = await ingest.client.post("/v1/mergers", json=dissolution("lam-dong", "xa-moi"), headers=ingest.admin)
    assert unknown.status_code == 422
    assert only_error(unknown.json())[1:3] == ("handovers.receiver_code", "xa-moi")
    twice = await ingest.client.post("/v1/mergers", json=dissolution("hue", "hue"), headers=ingest.admin)
    assert twice.status_code == 422 and "named twice" in only_error(twice.json())[3]
    done = await ingest.client.post("/v1/mergers", json=dissolution("lam-dong", "hue"), headers=ingest.admin)
    assert done.status_code == 201, done.text
    assert (await ingest.figures(disbursement("da-lat", as_of="2025-06-30"))).status_code == 201
    later = await ingest.figures(disbursement("da-lat", as_of="2025-07-31"))
    assert later.status_code == 422 and "merged into hue, lam-dong on 2025-07-01" in only_error(later.json())[3]


async def test_a_unit_that_exists_from_a_date_takes_no_figures_dated_before_it(ingest: Ingest) -> None:
    """A commune formed on 1 July 2025: its June figure belongs to the units it was formed from."""
    formed = await ingest.client.post(
        "/v1/units",
        json={"units": [{"unit_code": "xa-moi", "name": "Xã Mới", "level": "commune", "parent_code": "lam-dong",
                         "committee": "UBKT Tỉnh ủy Lâm Đồng", "effective_from": "2025-07-01"}]},
        headers=ingest.admin,
    )  # fmt: skip
    assert formed.status_code == 201, formed.text
    before = await ingest.figures(disbursement("xa-moi", as_of="2025-06-30"), headers=ingest.admin)
    assert before.status_code == 422
    row, field, value, reason = only_error(before.json())
    assert (row, field, value) == (1, "unit_code", "xa-moi")
    assert "đơn vị chỉ có từ ngày 01/07/2025" in reason and "unit exists from 2025-07-01" in reason
    assert (await ingest.figures(disbursement("xa-moi", as_of="2025-07-31"), headers=ingest.admin)).status_code == 201
