"""The ingest API's submission handlers over fakes: no PostgreSQL, no server, milliseconds each.

What the handlers themselves decide is held here: who may call, what a body or file becomes (the rows the
intake is handed, numbered as the clerk counts them, money exact), which key and digest make a re-send
safe, and how the intake's answer becomes the caller's (201, a repeat's 200, a refusal naming the row,
the field and the reason). What the intake decides against stored state (scope, merged units, falling
cumulatives) is tested against PostgreSQL (tests/integration/test_ingest_api.py)."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, cast

import asyncpg
import httpx
import pytest

from services.ingest.api import ingest_api
from services.ingest.errors import ErrorLog, RowError, SubmissionRejected
from services.ingest.figure_intake import IntakeResult
from services.ingest.figure_rows import FigureRow
from services.ingest.files import MAX_FILE_BYTES
from services.ingest.web import Ingest
from shared.auth import Principal, Unauthenticated
from shared.event_store import AppendResult, Submitter
from shared.events import DomainEvent, Indicator

TOKENS = {
    "pim_clerk_1": Principal("Sở Tài chính Lâm Đồng", "department", ("lam-dong",)),
    "pim_admin_1": Principal("quản trị", "admin", ()),
}


async def tokens(token: str, account_id: str | None) -> Principal:
    if account_id is not None:
        raise Unauthenticated("only the portal's token may act for a person")
    if token not in TOKENS:
        raise Unauthenticated("unknown token")
    return TOKENS[token]


@dataclass
class Submitted:
    rows: list[FigureRow | None]
    principal: Principal
    submitter: Submitter
    digest: bytes
    errors: ErrorLog | None
    store_valid: bool


@dataclass
class FakeIntake:
    """Takes what it is handed and answers as told: stores everything at the next positions, or refuses."""

    refuse: SubmissionRejected | None = None
    reject_rows: Sequence[RowError] = ()  # with store_valid: these rows are kept out, the others stored
    seen: dict[bytes, AppendResult] = field(default_factory=dict)
    calls: list[Submitted] = field(default_factory=list)
    next_position: int = 1

    async def submit(
        self, rows: Iterable[FigureRow | None], principal: Principal, submitter: Submitter, digest: bytes, *,
        errors: ErrorLog | None = None, store_valid: bool = False,
    ) -> IntakeResult:  # fmt: skip
        taken = list(rows)  # a file's rows are a generator: read them as the real intake does
        self.calls.append(Submitted(taken, principal, submitter, digest, errors, store_valid))
        if self.refuse is not None:
            raise self.refuse
        if digest in self.seen:
            earlier = self.seen[digest]
            return IntakeResult(earlier.count, earlier.count, 0, [], AppendResult(*self._span(earlier), True))
        stored = len(taken) - len(self.reject_rows)
        if stored == 0:
            return IntakeResult(len(taken), 0, len(taken), list(self.reject_rows), None)
        append = AppendResult(self.next_position, self.next_position + stored - 1, False)
        self.next_position += stored
        self.seen[digest] = append
        return IntakeResult(len(taken), stored, len(self.reject_rows), list(self.reject_rows), append)

    @staticmethod
    def _span(result: AppendResult) -> tuple[int, int]:
        return result.first_position, result.last_position


class FakeStore:
    async def event_ids(self, result: AppendResult) -> list[uuid.UUID]:
        return [uuid.UUID(int=position) for position in result.positions]


class FakeRegistry:
    async def submit(self, events: Sequence[DomainEvent], submitter: Submitter) -> AppendResult:
        raise AssertionError("a figure handler wrote registry facts")


class NoDatabase:
    """The handlers under test read nothing themselves: a read would fail the test here."""

    def acquire(self) -> Any:
        raise AssertionError("the handler read the database")


@pytest.fixture
def intake() -> FakeIntake:
    return FakeIntake()


@pytest.fixture
async def client(intake: FakeIntake) -> AsyncIterator[httpx.AsyncClient]:
    ingest = Ingest(cast(asyncpg.Pool, NoDatabase()), FakeStore(), FakeRegistry(), intake)
    app = ingest_api(ingest, tokens)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://ingest") as http:
        yield http


CLERK = {"Authorization": "Bearer pim_clerk_1"}
DISBURSEMENT = Indicator.DISBURSEMENT.value


def figure(unit: str = "lam-dong", amount: str = "1234567890", **more: str) -> dict[str, Any]:
    return {"unit_code": unit, "plan_year": 2025, "category": "central_budget", "as_of": "2025-10-31",
            "amount": amount, **more}  # fmt: skip


async def test_a_report_is_handed_over_row_by_row_in_the_order_the_clerk_wrote_it(
    client: httpx.AsyncClient, intake: FakeIntake
) -> None:
    body = {
        "disbursements": [figure(amount="1234567890"), figure(project_code="DA-Đà-Lạt-01", amount="5")],
        "revenues": [figure(category="taxes", amount="999999999999999999")],
        "corrections": [
            figure(indicator=DISBURSEMENT, amount="-7", amount_kind="period", reason="thu hồi vốn tạm ứng")
        ],
    }
    response = await client.post("/v1/figures", json=body, headers=CLERK | {"Idempotency-Key": "bao-cao-10"})
    assert response.status_code == 201, response.text
    assert response.json() == {
        "first_position": 1, "last_position": 4, "count": 4, "duplicate": False,
        "event_ids": [str(uuid.UUID(int=p)) for p in (1, 2, 3, 4)],
    }  # fmt: skip
    (call,) = intake.calls
    rows = [row for row in call.rows if row is not None]
    assert [r.row for r in rows] == [1, 2, 3, 4]  # disbursements, then revenues, then corrections
    disbursement, revenue = Indicator.DISBURSEMENT, Indicator.BUDGET_REVENUE
    assert [r.indicator for r in rows] == [disbursement, disbursement, revenue, disbursement]
    assert [r.amount for r in rows] == [Decimal(1234567890), Decimal(5), Decimal(999999999999999999), Decimal(-7)]
    assert rows[1].project_code == "DA-Đà-Lạt-01" and rows[0].project_code == ""
    assert [r.correction_reason for r in rows] == [None, None, None, "thu hồi vốn tạm ứng"]
    assert rows[0].as_of == dt.date(2025, 10, 31)
    assert call.principal == TOKENS["pim_clerk_1"] and not call.store_valid
    clerk = "Sở Tài chính Lâm Đồng"
    expected = Submitter(clerk, "http", clerk, "bao-cao-10", correlation_id=call.submitter.correlation_id)
    assert call.submitter == expected
    assert call.submitter.correlation_id is not None  # the request's id, in the events' metadata


async def test_the_same_report_sent_again_is_answered_as_a_repeat_and_another_one_is_not(
    client: httpx.AsyncClient, intake: FakeIntake
) -> None:
    body = {"disbursements": [figure()]}
    first = await client.post("/v1/figures", json=body, headers=CLERK)
    again = await client.post("/v1/figures", json=body, headers=CLERK)
    other = await client.post("/v1/figures", json={"disbursements": [figure(amount="2")]}, headers=CLERK)
    assert (first.status_code, again.status_code, other.status_code) == (201, 200, 201)
    assert again.json()["duplicate"] and again.json()["first_position"] == first.json()["first_position"]
    digests = [call.digest for call in intake.calls]
    assert digests[0] == digests[1] != digests[2]  # the digest is the content's, whatever the key


async def test_a_refusal_names_the_row_the_field_and_the_reason(client: httpx.AsyncClient, intake: FakeIntake) -> None:
    reason = "unit was merged into lam-dong on 2025-07-01: report for lam-dong"
    intake.refuse = SubmissionRejected([RowError(2, "unit_code", "da-lat", reason)], total=3)
    response = await client.post("/v1/figures", json={"disbursements": [figure(), figure("da-lat")]}, headers=CLERK)
    assert response.status_code == 422
    assert response.json() == {
        "detail": "3 error(s); nothing was stored", "error_count": 3,
        "errors": [{"row": 2, "field": "unit_code", "value": "da-lat", "reason": reason}],
    }  # fmt: skip


async def test_store_valid_is_passed_on_and_nothing_stored_is_still_a_refusal(
    client: httpx.AsyncClient, intake: FakeIntake
) -> None:
    intake.reject_rows = [RowError(1, "amount", "5", "lũy kế giảm / cumulative falls")]
    response = await client.post("/v1/figures?store_valid=true", json={"disbursements": [figure()]}, headers=CLERK)
    assert intake.calls[0].store_valid
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "amount"


async def test_a_scope_refusal_keeps_its_status(client: httpx.AsyncClient, intake: FakeIntake) -> None:
    intake.refuse = SubmissionRejected([RowError(1, "unit_code", "ha-noi", "outside the scope")], status=403)
    response = await client.post("/v1/figures", json={"disbursements": [figure("ha-noi")]}, headers=CLERK)
    assert response.status_code == 403 and response.json()["errors"][0]["value"] == "ha-noi"


@pytest.mark.parametrize(
    ("headers", "says"),
    [
        ({}, "send Authorization: Bearer <token>"),
        ({"Authorization": "Bearer pim_nobody_1"}, "unknown token"),
        (CLERK | {"X-PIM-Account": "a-person"}, "only the portal's token may act for a person"),
    ],
)
async def test_no_valid_token_no_submission(
    client: httpx.AsyncClient, intake: FakeIntake, headers: dict[str, str], says: str
) -> None:
    response = await client.post("/v1/figures", json={"disbursements": [figure()]}, headers=headers)
    assert response.status_code == 401 and says in response.json()["detail"]
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert intake.calls == []


@pytest.mark.parametrize(
    ("row", "field"),
    [
        (figure(amount="-5"), "disbursements.amount"),  # a negative amount needs a correction
        (figure(amount="1,5"), "disbursements.amount"),  # no fractions of a đồng
        (figure(as_of="31/13/2025"), "disbursements.as_of"),
        (figure(plan_year="hai nghìn"), "disbursements.plan_year"),
        ({**figure(), "extra": "x"}, "disbursements.extra"),
    ],
)
async def test_a_body_the_models_refuse_never_reaches_the_intake(
    client: httpx.AsyncClient, intake: FakeIntake, row: dict[str, Any], field: str
) -> None:
    response = await client.post("/v1/figures", json={"disbursements": [figure(), row]}, headers=CLERK)
    assert response.status_code == 422
    assert [(e["row"], e["field"]) for e in response.json()["errors"]] == [(2, field)]
    assert intake.calls == []


CSV = (
    "Mã đơn vị,Chỉ tiêu,Năm kế hoạch,Nguồn vốn / khoản thu,Số liệu đến ngày,Số tiền (đồng)\n"
    "lam-dong,giải ngân,2025,central_budget,31/10/2025,4.200.000.000.000\n"
    "lam-dong,giải ngân,2025,central_budget,30/11/2025,không rõ\n"
    'lam-dong,thu ngân sách,2025,taxes,2025-10-31,"1,234,567"\n'
)


async def test_an_uploaded_file_is_read_row_by_row_and_its_report_says_what_was_kept(
    client: httpx.AsyncClient, intake: FakeIntake
) -> None:
    intake.reject_rows = [RowError(3, "amount", "không rõ", "not an amount")]
    upload = await client.post(
        "/v1/imports/figures?store_valid=true", content=CSV.encode(), headers=CLERK | {"Content-Type": "text/csv"}
    )
    assert upload.status_code == 201, upload.text
    (call,) = intake.calls
    assert call.submitter.channel == "http-upload" and call.store_valid
    assert call.submitter.idempotency_key == f"file:{call.digest.hex()}"  # the file's own hash: sent twice, once
    parsed = {row.row: row for row in call.rows if row is not None}
    assert sorted(parsed) == [2, 4] and len(call.rows) == 3  # the header is row 1; row 3 failed parsing
    assert parsed[2].amount == Decimal(4_200_000_000_000) and parsed[2].as_of == dt.date(2025, 10, 31)
    assert parsed[4].indicator == Indicator.BUDGET_REVENUE and parsed[4].amount == Decimal(1_234_567)
    assert call.errors is not None and [(e.row, e.field) for e in call.errors.kept] == [(3, "amount")]
    report = upload.json()
    assert (report["rows"], report["stored"], report["rejected"]) == (3, 2, 1)


async def test_the_upload_of_a_file_over_the_limit_is_refused_before_it_is_read(
    client: httpx.AsyncClient, intake: FakeIntake
) -> None:
    declared = {"Content-Length": str(MAX_FILE_BYTES + 1), "Content-Type": "text/csv"}
    response = await client.post("/v1/imports/figures", content=b"x", headers=CLERK | declared)
    assert response.status_code == 413
    assert response.json()["errors"] == [
        {"row": None, "field": "file", "value": None, "reason": f"the file is {MAX_FILE_BYTES + 1:,} bytes; the limit"
         f" is {MAX_FILE_BYTES:,}"}
    ]  # fmt: skip
    await asyncio.sleep(0)
    assert intake.calls == []
