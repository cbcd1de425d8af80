"""A generator of hostile input run over every route of both APIs (read from their OpenAPI documents) and
the upload: text that is not text, numbers past any range, wrong types, deep nesting, odd encodings, in
bodies, query parameters and path parameters. No answer may be a 5xx, and nothing refused is stored."""

from __future__ import annotations

import datetime as dt
import itertools
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import asyncpg
import httpx
import pytest

from services.alerts.api import create_alerts_app
from shared.auth import create_token
from shared.settings import Settings
from tests.integration.alert_fixtures import Clock, Facts, alerts_service
from tests.integration.ingest_fixtures import Ingest

pytestmark = pytest.mark.postgres

# Strings that are not text, or not what any field means, as JSON source (raw escapes included).
HOSTILE_TEXT = ['"a\\u0000b"', '"\\ud800"', '"\\udfff x"', '"' + "x" * 5000 + '"', '"=cmd|\' /C calc\'!A0"', '"١٢٣"',
                '"9999-12-31"', '"0001-01-01"', '""', '" "', '"lam-dong\\n"', '"../../etc/passwd"']  # fmt: skip
HOSTILE_VALUES = ["null", "true", "-1", "0", "1e400", "3000000000", str(10**40), "-0.0", "[]", "{}",
                  "[" * 60 + "]" * 60, '{"a":' * 60 + "1" + "}" * 60, *HOSTILE_TEXT]  # fmt: skip
HOSTILE_QUERY = ["%00", "%ED%A0%80", "x" * 3000, "-1", "99999", "2025-13-45", "%27%3B--", "1e400"]
HOSTILE_BODIES = [
    b"", b"{", b"[]", b"null", b"\x00\x00\x00{", b"\xff\xfe{\x00}\x00", "{}".encode("utf-32"),
    b'{"disbursements": ' + b"[" * 5000 + b"]" * 5000 + b"}", b'{"' + b"a" * 100_000 + b'": 1}',
]  # fmt: skip


def _bodies(example: dict[str, Any]) -> Iterator[bytes]:
    """An example body with each of its leaf values swapped, one at a time, for each hostile value."""
    text = json.dumps(example, ensure_ascii=False)
    leaves = [json.dumps(v, ensure_ascii=False) for v in _leaves(example)]
    for leaf, hostile in itertools.product(dict.fromkeys(leaves), HOSTILE_VALUES):
        yield text.replace(leaf, hostile, 1).encode("utf-8", "surrogatepass")
    yield from HOSTILE_BODIES


def _leaves(value: Any) -> Iterator[Any]:
    if isinstance(value, dict):
        for item in value.values():
            yield from _leaves(item)
    elif isinstance(value, list):
        for item in value:
            yield from _leaves(item)
    else:
        yield value


TENURE = {"tenure_id": "t1", "unit_code": "hue", "leader_id": "L1", "leader_name": "Nguyễn Văn Ánh", "role": "head",
          "start_date": "2021-06-01"}  # fmt: skip
DEPUTY = {**TENURE, "tenure_id": "t2", "leader_id": "L2", "role": "deputy_in_charge", "indicator": "budget_revenue"}
FIGURE = {"unit_code": "lam-dong", "plan_year": 2025, "category": "central_budget", "as_of": "2025-06-30",
          "amount": "1000"}  # fmt: skip
INGEST_EXAMPLES: dict[str, dict[str, Any]] = {
    "/v1/units": {"units": [{"unit_code": "x1", "name": "Tỉnh X", "level": "province", "committee": "UBKT"}]},
    "/v1/mergers": {
        "mergers": [{"unit_code": "lam-dong", "predecessor_codes": ["da-lat"], "effective_date": "2025-07-01"}]
    },
    "/v1/tenures": {"tenures": [TENURE, DEPUTY]},
    "/v1/departures": {"departures": [{"tenure_id": "t1", "unit_code": "hue", "end_date": "2025-05-31"}]},
    "/v1/votes": {
        "votes": [
            {
                "unit_code": "hue",
                "leader_id": "L1",
                "vote_date": "2025-10-15",
                "voters": 30,
                "high": 10,
                "confidence": 15,
                "low": 5,
            }
        ]
    },
    "/v1/categories": {"categories": [{"indicator": "budget_revenue", "code": "new_fee", "name": "Phí mới"}]},
    "/v1/targets": {
        "targets": [
            {
                "unit_code": "lam-dong",
                "indicator": "public_investment_disbursement",
                "plan_year": 2025,
                "amount": "10000",
            }
        ]
    },
    "/v1/figures": {
        "disbursements": [FIGURE],
        "corrections": [{**FIGURE, "indicator": "budget_revenue", "reason": "đối chiếu"}],
    },
}
ALERTS_EXAMPLES: dict[str, dict[str, Any]] = {
    "ack": {"note": "đã nhận"},
    "silence": {"until": "2025-12-31", "reason": "chờ kiểm tra"},
    "resolve": {"conclusion": "Đã kiểm điểm"},
}


Count = Callable[[], Awaitable[int]]


async def _no_5xx(
    client: httpx.AsyncClient, method: str, url: str, seen: list[str], stored: Count | None = None, **kwargs: Any
) -> None:
    """Send one request; note it in `seen` if it got a 5xx, or a refusal that stored something."""
    before = await stored() if stored else 0
    response = await client.request(method, url, **kwargs)
    what = f"{method} {url[:100]} {kwargs.get('content', b'')[:80]!r}"
    if response.status_code >= 500:
        seen.append(f"{what} → {response.status_code}")
    elif stored and response.status_code >= 400 and await stored() != before:
        seen.append(f"{what} → {response.status_code}, yet it stored something")


def _routes(app_openapi: dict[str, Any]) -> list[tuple[str, str]]:
    return [(method.upper(), path) for path, item in app_openapi["paths"].items() for method in item]


async def test_no_hostile_input_to_the_ingest_api_gets_a_5xx_or_stores_anything(ingest: Ingest) -> None:
    failures: list[str] = []
    routes = _routes(ingest.client._transport.app.openapi())  # type: ignore[attr-defined]
    assert {path for _, path in routes} >= set(INGEST_EXAMPLES), "a new route needs its example here"
    headers = {**ingest.admin, "Content-Type": "application/json"}
    for method, path in routes:
        if method == "POST" and path in INGEST_EXAMPLES:
            for body in _bodies(INGEST_EXAMPLES[path]):
                await _no_5xx(ingest.client, method, path, failures, ingest.event_count, content=body, headers=headers)
        # every query parameter a route might take, and one it does not, each alone (one refused would
        # hide the others)
        for hostile, name in itertools.product(HOSTILE_QUERY, ("as_of", "group", "indicator", "plan_year", "x")):
            await _no_5xx(ingest.client, method, f"{path}?{name}={hostile}", failures, headers=ingest.admin)
    for body in [*HOSTILE_BODIES, b"unit_code,amount\n\x00,\xff\xfe\n", "a,b\n١,٢\n".encode()]:
        await _no_5xx(ingest.client, "POST", "/v1/imports/figures", failures, ingest.event_count, content=body,
                      headers=ingest.admin)  # fmt: skip
    assert failures == []


ALERT = "lam-dong/public_investment_disbursement/below_pace/2025"


@pytest.fixture
async def alerts_client(settings: Settings, pool: asyncpg.Pool) -> AsyncIterator[tuple[httpx.AsyncClient, str]]:
    facts = Facts(pool)
    await facts.registry()
    await facts.report("lam-dong", 3, 60)
    service = alerts_service(settings, pool, Clock(dt.date(2025, 5, 3)))
    raised = await service.evaluate("lam-dong", 2025)
    # the actions must reach an alert that exists, or every hostile body would only meet a 404
    assert ALERT in [getattr(event, "fingerprint", None) for event in raised]
    async with pool.acquire() as conn:
        token = await create_token(conn, "ubkt", "committee", ["lam-dong"])
    transport = httpx.ASGITransport(app=create_alerts_app(pool, service))
    async with httpx.AsyncClient(transport=transport, base_url="http://alerts") as client:
        yield client, token


async def test_no_hostile_input_to_the_alerts_api_gets_a_5xx(alerts_client: tuple[httpx.AsyncClient, str]) -> None:
    client, token = alerts_client
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    failures: list[str] = []
    fingerprints = [ALERT, "%00", "a%00b", "%ED%A0%80",
                    "x" * 3000, "..%2F..%2F", "%FF%FE"]  # fmt: skip
    for fingerprint, (action, example) in itertools.product(fingerprints, ALERTS_EXAMPLES.items()):
        for body in _bodies(example):
            await _no_5xx(client, "POST", f"/v1/alerts/{fingerprint}/{action}", failures, content=body,
                          headers=headers)  # fmt: skip
    for hostile, name in itertools.product(HOSTILE_QUERY, ("committee", "status", "unit", "x")):
        await _no_5xx(client, "GET", f"/v1/alerts?{name}={hostile}", failures, headers=headers)
    assert failures == []
