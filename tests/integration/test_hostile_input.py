"""Hostile input to the ingest API answered with 4xx naming the field, and nothing stored: text that is
not text (NUL, unpaired surrogates), dates out of any sensible range or given as numbers, counts and
amounts beyond any real one. Each case was a 500, a dropped connection or a poison pill for the
consumers downstream."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from shared.request_limits import MAX_JSON_BYTES
from tests.integration.ingest_fixtures import Ingest, disbursement

pytestmark = pytest.mark.postgres

TENURE = {"tenure_id": "t1", "unit_code": "hue", "leader_id": "L1", "leader_name": "Nguyễn Văn Ánh",
          "role": "head", "start_date": "2021-06-01"}  # fmt: skip
VOTE = {"unit_code": "hue", "leader_id": "L1", "vote_date": "2025-10-15", "voters": 30, "high": 10,
        "confidence": 15, "low": 5}  # fmt: skip


def _raw(body: dict[str, Any], replace: dict[str, str]) -> bytes:
    """`body` as JSON text with placeholders swapped for raw JSON escapes (\\u0000, \\ud800) that a
    Python dict cannot carry through json.dumps unchanged."""
    text = json.dumps(body, ensure_ascii=False)
    for placeholder, escape in replace.items():
        text = text.replace(placeholder, escape)
    return text.encode()


HOSTILE: list[tuple[str, str, dict[str, Any], dict[str, str], str]] = [
    # (name, path, body, raw replacements, the field the error must name)
    ("NUL in a unit code", "/v1/figures", {"disbursements": [disbursement(unit="lam@@")]}, {"@@": "\\u0000"},
     "unit_code"),
    ("NUL in a category", "/v1/figures", {"disbursements": [disbursement(category="central@@")]},
     {"@@": "\\u0000"}, "category"),
    ("NUL in a correction's reason", "/v1/figures",
     {"corrections": [disbursement(indicator="public_investment_disbursement", reason="thu hồi@@")]},
     {"@@": "\\u0000"}, "reason"),
    ("a lone surrogate in a project code", "/v1/figures", {"disbursements": [disbursement(project_code="DA@@")]},
     {"@@": "\\ud800"}, "project_code"),
    ("NUL in a leader's name", "/v1/tenures", {"tenures": [{**TENURE, "leader_name": "Ánh@@"}]}, {"@@": "\\u0000"},
     "leader_name"),
    ("a tenure in charge of no such indicator", "/v1/tenures",
     {"tenures": [{**TENURE, "role": "deputy_in_charge", "indicator": "xyz"}]}, {}, "indicator"),
    ("a deputy in charge of nothing", "/v1/tenures", {"tenures": [{**TENURE, "role": "deputy_in_charge"}]}, {},
     "tenures"),
    ("a lone surrogate in a unit name", "/v1/units",
     {"units": [{"unit_code": "x", "name": "Tỉnh@@", "level": "province", "committee": "UBKT"}]},
     {"@@": "\\udfff"}, "name"),
    ("a report dated as an epoch number", "/v1/figures",
     {"disbursements": [{**disbursement(), "as_of": 1751241600}]}, {}, "as_of"),
    ("a tenure from year 1", "/v1/tenures", {"tenures": [{**TENURE, "start_date": "0001-01-01"}]}, {},
     "start_date"),
    ("a vote dated 9999-12-31", "/v1/votes", {"votes": [{**VOTE, "vote_date": "9999-12-31"}]}, {}, "vote_date"),
    ("three billion voters", "/v1/votes", {"votes": [{**VOTE, "voters": 3_000_000_000}]}, {}, "voters"),
    ("a document dated in year 9999", "/v1/figures",
     {"disbursements": [disbursement(document_date="9999-01-01")]}, {}, "document_date"),
    ("an amount of 10^40", "/v1/figures", {"disbursements": [disbursement(amount=10**40)]}, {}, "amount"),
    ("an amount in Arabic-Indic digits", "/v1/figures", {"disbursements": [disbursement(amount="١٢٣")]}, {},
     "amount"),
]  # fmt: skip


@pytest.mark.parametrize(("path", "body", "replace", "field"), [case[1:] for case in HOSTILE],
                         ids=[case[0] for case in HOSTILE])  # fmt: skip
async def test_hostile_input_is_refused_naming_the_field_and_nothing_is_stored(
    ingest: Ingest, path: str, body: dict[str, Any], replace: dict[str, str], field: str
) -> None:
    before = await ingest.event_count()
    response = await ingest.client.post(
        path, content=_raw(body, replace), headers={**ingest.admin, "Content-Type": "application/json"}
    )
    assert response.status_code == 422, response.text
    fields = [error["field"] for error in response.json()["errors"]]
    assert any(f == field or f.endswith("." + field) for f in fields), fields
    assert await ingest.event_count() == before


async def test_a_json_body_over_the_limit_is_refused_at_the_door_declared_or_not(ingest: Ingest) -> None:
    big = json.dumps({"disbursements": [disbursement(project_code=f"P{i}") for i in range(1)]}).encode()
    huge = big[:-3] + b" " * (MAX_JSON_BYTES + 1) + big[-3:]  # valid JSON, padded past the limit
    headers = {**ingest.admin, "Content-Type": "application/json"}
    declared = await ingest.client.post("/v1/figures", content=huge, headers=headers)
    assert declared.status_code == 413 and "too large" in declared.json()["detail"]

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: counted as it streams
        for start in range(0, len(huge), 1 << 20):
            yield huge[start : start + (1 << 20)]

    streamed = await ingest.client.post("/v1/figures", content=chunks(), headers=headers)
    assert streamed.status_code == 413, streamed.text


@pytest.mark.parametrize(("encoding", "bom"), [("utf-16", b""), ("utf-16-le", b""), ("utf-32", b""),
                                               ("utf-8", b"\xef\xbb\xbf")])  # fmt: skip
async def test_json_that_is_not_utf8_is_refused_with_415(ingest: Ingest, encoding: str, bom: bytes) -> None:
    before = await ingest.event_count()
    body = bom + json.dumps({"disbursements": [disbursement()]}).encode(encoding)
    response = await ingest.client.post(
        "/v1/figures", content=body, headers={**ingest.admin, "Content-Type": "application/json"}
    )
    assert response.status_code == 415 and "UTF-8" in response.json()["detail"]
    assert await ingest.event_count() == before
